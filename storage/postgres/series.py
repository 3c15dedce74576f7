"""Repeating tasks (series), as storage/sqlite/series.py does them.

A change returns the row as that statement left it (UPDATE ... RETURNING in one statement),
and re-checks in its WHERE that the series is not stopped, so a concurrent stop wins.
"""

from __future__ import annotations

from datetime import datetime

from storage.models import Series, SeriesStatus, TaskKind
from storage.postgres.codec import at
from storage.postgres.database import PgDatabase, Record

_SELECT = (
    "SELECT s.*, c.name AS client_name FROM series s LEFT JOIN clients c ON c.id = s.client_id"
)
# The changed (or new) row of a CTE named s, with its client's name.
_CHANGED = "SELECT s.*, c.name AS client_name FROM s LEFT JOIN clients c ON c.id = s.client_id"


def series_from_row(row: Record) -> Series:
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


class PgSeriesRepo:
    def __init__(self, database: PgDatabase) -> None:
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
        stamp = at(now)
        row = await self._db.fetchrow(
            "WITH s AS (INSERT INTO series (owner_id, client_id, text, kind, rule, timezone,"
            " source, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)"
            f" RETURNING *) {_CHANGED}",
            owner_id, client_id, text, kind.value, rule, timezone, source, stamp,
        )
        assert row is not None
        return series_from_row(row)

    async def get(self, owner_id: int, series_id: int) -> Series | None:
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE s.id = $1 AND s.owner_id = $2", series_id, owner_id
        )
        return None if row is None else series_from_row(row)

    async def list_live(self, owner_id: int) -> list[Series]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE s.owner_id = $1 AND s.status != 'stopped'"
            " AND (s.client_id IS NULL OR c.deleted_at IS NULL) ORDER BY s.id",
            owner_id,
        )
        return [series_from_row(row) for row in rows]

    async def for_client(self, owner_id: int, client_id: int, source: str) -> list[Series]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE s.owner_id = $1 AND s.client_id = $2 AND s.source = $3"
            " AND s.status != 'stopped' ORDER BY s.id",
            owner_id, client_id, source,
        )
        return [series_from_row(row) for row in rows]

    async def set_status(
        self, owner_id: int, series_id: int, status: SeriesStatus, now: datetime
    ) -> Series | None:
        row = await self._db.fetchrow(
            "WITH s AS (UPDATE series SET status = $1, updated_at = $2"
            " WHERE id = $3 AND owner_id = $4 AND status != 'stopped' RETURNING *)"
            f" {_CHANGED}",
            status.value, at(now), series_id, owner_id,
        )
        return None if row is None else series_from_row(row)

    async def set_rule(
        self, owner_id: int, series_id: int, rule: str, timezone: str, now: datetime
    ) -> Series | None:
        row = await self._db.fetchrow(
            "WITH s AS (UPDATE series SET rule = $1, timezone = $2, updated_at = $3"
            " WHERE id = $4 AND owner_id = $5 AND status != 'stopped' RETURNING *)"
            f" {_CHANGED}",
            rule, timezone, at(now), series_id, owner_id,
        )
        return None if row is None else series_from_row(row)

    async def needing_next(self, now: datetime, limit: int) -> list[Series]:
        """Active series with no open occurrence still ahead: the next one is due to appear."""
        rows = await self._db.fetch(
            f"{_SELECT} WHERE s.status = 'active' AND (s.client_id IS NULL OR"
            " (c.deleted_at IS NULL AND c.status = 'active')) AND NOT EXISTS ("
            "  SELECT 1 FROM tasks t WHERE t.series_id = s.id AND t.status = 'open'"
            "  AND t.due_at >= $1) ORDER BY s.id LIMIT $2",
            at(now), limit,
        )
        return [series_from_row(row) for row in rows]

    async def last_occurrence(self, series_id: int) -> datetime | None:
        value: datetime | None = await self._db.fetchval(
            "SELECT max(occurrence_at) FROM tasks WHERE series_id = $1", series_id
        )
        return value

    async def previous_due(self, owner_id: int, series_id: int, task_id: int) -> (
        datetime | None
    ):
        """The latest moment of the series' other occurrences (done, skipped or missed)."""
        value: datetime | None = await self._db.fetchval(
            "SELECT max(due_at) FROM tasks WHERE owner_id = $1 AND series_id = $2 AND id != $3",
            owner_id, series_id, task_id,
        )
        return value

    async def next_open_task_id(self, owner_id: int, series_id: int, now: datetime) -> (
        int | None
    ):
        value = await self._db.fetchval(
            "SELECT id FROM tasks WHERE owner_id = $1 AND series_id = $2 AND status = 'open'"
            " AND due_at >= $3 ORDER BY due_at, id LIMIT 1",
            owner_id, series_id, at(now),
        )
        return None if value is None else int(value)
