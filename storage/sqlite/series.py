from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import Series, SeriesStatus, TaskKind
from storage.sqlite.codec import decode_optional, encode_time
from storage.sqlite.database import Database

_SELECT = (
    "SELECT s.*, c.name AS client_name FROM series s LEFT JOIN clients c ON c.id = s.client_id"
)


def series_from_row(row: aiosqlite.Row) -> Series:
    return Series(
        id=row["id"],
        owner_id=row["owner_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        text=row["text"],
        kind=TaskKind(row["kind"]),
        rule=row["rule"],
        timezone=row["timezone"],
        source=row["source"],
        status=SeriesStatus(row["status"]),
    )


class SqliteSeriesRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        owner_id: int,
        *,
        client_id: int | None,
        text: str,
        kind: TaskKind,
        rule: str,
        timezone: str,
        source: str,
        now: datetime,
    ) -> Series:
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO series (owner_id, client_id, text, kind, rule, timezone, source,"
                " created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (owner_id, client_id, text, kind.value, rule, timezone, source, stamp, stamp),
            )
            row = await cursor.fetchone()
            await cursor.close()
        assert row is not None
        created = await self.get(owner_id, int(row[0]))
        assert created is not None
        return created

    async def get(self, owner_id: int, series_id: int) -> Series | None:
        row = await self._db.fetchone(
            f"{_SELECT} WHERE s.id = ? AND s.owner_id = ?", (series_id, owner_id)
        )
        return None if row is None else series_from_row(row)

    async def list_live(self, owner_id: int) -> list[Series]:
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE s.owner_id = ? AND s.status != 'stopped'"
            " AND (s.client_id IS NULL OR c.deleted_at IS NULL) ORDER BY s.id",
            (owner_id,),
        )
        return [series_from_row(row) for row in rows]

    async def for_client(self, owner_id: int, client_id: int, source: str) -> list[Series]:
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE s.owner_id = ? AND s.client_id = ? AND s.source = ?"
            " AND s.status != 'stopped'",
            (owner_id, client_id, source),
        )
        return [series_from_row(row) for row in rows]

    async def set_status(
        self, owner_id: int, series_id: int, status: SeriesStatus, now: datetime
    ) -> Series | None:
        changed = await self._db.execute(
            "UPDATE series SET status = ?, updated_at = ? WHERE id = ? AND owner_id = ?"
            " AND status != 'stopped'",
            (status.value, encode_time(now), series_id, owner_id),
        )
        return await self.get(owner_id, series_id) if changed else None

    async def set_rule(
        self, owner_id: int, series_id: int, rule: str, timezone: str, now: datetime
    ) -> Series | None:
        changed = await self._db.execute(
            "UPDATE series SET rule = ?, timezone = ?, updated_at = ?"
            " WHERE id = ? AND owner_id = ? AND status != 'stopped'",
            (rule, timezone, encode_time(now), series_id, owner_id),
        )
        return await self.get(owner_id, series_id) if changed else None

    async def needing_next(self, now: datetime, limit: int) -> list[Series]:
        """Active series with no open occurrence still ahead: the next one is due to appear."""
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE s.status = 'active' AND (s.client_id IS NULL OR"
            " (c.deleted_at IS NULL AND c.status = 'active')) AND NOT EXISTS ("
            "  SELECT 1 FROM tasks t WHERE t.series_id = s.id AND t.status = 'open'"
            "  AND t.due_at >= ?) ORDER BY s.id LIMIT ?",
            (encode_time(now), limit),
        )
        return [series_from_row(row) for row in rows]

    async def last_occurrence(self, series_id: int) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT max(occurrence_at) FROM tasks WHERE series_id = ?", (series_id,)
        )
        return None if row is None else decode_optional(row[0])

    async def previous_due(self, owner_id: int, series_id: int, task_id: int) -> (
        datetime | None
    ):
        """The latest moment of the series' other occurrences (done, skipped or missed)."""
        row = await self._db.fetchone(
            "SELECT max(due_at) FROM tasks WHERE owner_id = ? AND series_id = ? AND id != ?",
            (owner_id, series_id, task_id),
        )
        return None if row is None else decode_optional(row[0])

    async def next_open_task_id(self, owner_id: int, series_id: int, now: datetime) -> (
        int | None
    ):
        row = await self._db.fetchone(
            "SELECT id FROM tasks WHERE owner_id = ? AND series_id = ? AND status = 'open'"
            " AND due_at >= ? ORDER BY due_at LIMIT 1",
            (owner_id, series_id, encode_time(now)),
        )
        return None if row is None else int(row[0])
