from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.errors import DuplicateOccurrenceError
from storage.models import Task, TaskKind, TaskStatus
from storage.sqlite.clients import is_live_client
from storage.sqlite.codec import decode_optional, decode_time, encode_time
from storage.sqlite.database import ConstraintError, Database

_SELECT = (
    "SELECT t.*, c.name AS client_name FROM tasks t"
    " LEFT JOIN clients c ON c.id = t.client_id"
)


def task_from_row(row: aiosqlite.Row) -> Task:
    return Task(
        id=row["id"],
        owner_id=row["owner_id"],
        number=row["number"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        text=row["text"],
        kind=TaskKind(row["kind"]),
        due_at=decode_optional(row["due_at"]),
        status=TaskStatus(row["status"]),
        created_at=decode_time(row["created_at"]),
        done_at=decode_optional(row["done_at"]),
        remind_ahead_minutes=row["remind_ahead_minutes"],
        series_id=row["series_id"],
        invoice_id=row["invoice_id"],
    )


class SqliteTaskRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        owner_id: int,
        *,
        client_id: int | None,
        text: str,
        kind: TaskKind,
        due_at: datetime | None,
        now: datetime,
        series_id: int | None = None,
        invoice_id: int | None = None,
    ) -> Task:
        """A new task; with series_id, the occurrence of that series due at due_at.

        Raises DuplicateOccurrenceError if that occurrence exists already.
        """
        stamp = encode_time(now)
        due = None if due_at is None else encode_time(due_at)
        try:
            task_id = await self._insert(
                owner_id, client_id, text, kind, due, stamp, series_id, invoice_id
            )
        except ConstraintError as exc:
            if series_id is not None and "tasks.series_id" in str(exc):
                raise DuplicateOccurrenceError from exc
            raise
        task = await self._get_any(owner_id, task_id)
        assert task is not None
        return task

    async def _insert(
        self,
        owner_id: int,
        client_id: int | None,
        text: str,
        kind: TaskKind,
        due: str | None,
        stamp: str,
        series_id: int | None,
        invoice_id: int | None,
    ) -> int:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO tasks (owner_id, number, client_id, text, kind, due_at,"
                " created_at, updated_at, series_id, occurrence_at, invoice_id)"
                " VALUES (?, (SELECT coalesce(max(number), 0) + 1 FROM tasks WHERE owner_id = ?),"
                " ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (
                    owner_id,
                    owner_id,
                    client_id,
                    text,
                    kind.value,
                    due,
                    stamp,
                    stamp,
                    series_id,
                    due if series_id is not None else None,
                    invoice_id,
                ),
            )
            row = await cursor.fetchone()
            await cursor.close()
            assert row is not None
            if client_id is not None:
                await conn.execute(
                    "UPDATE clients SET last_used_at = ? WHERE id = ? AND owner_id = ?",
                    (stamp, client_id, owner_id),
                )
        return int(row[0])

    async def _get_any(self, owner_id: int, task_id: int) -> Task | None:
        row = await self._db.fetchone(
            f"{_SELECT} WHERE t.id = ? AND t.owner_id = ?", (task_id, owner_id)
        )
        return None if row is None else task_from_row(row)

    async def get(self, owner_id: int, task_id: int) -> Task | None:
        task = await self._get_any(owner_id, task_id)
        return None if task is None or task.status is TaskStatus.DELETED else task

    async def get_by_number(self, owner_id: int, number: int) -> Task | None:
        row = await self._db.fetchone(
            f"{_SELECT} WHERE t.owner_id = ? AND t.number = ? AND t.status != 'deleted'",
            (owner_id, number),
        )
        return None if row is None else task_from_row(row)

    async def due_between(self, owner_id: int, start: datetime, end: datetime) -> list[Task]:
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE t.owner_id = ? AND t.status = 'open'"
            f" AND t.due_at >= ? AND t.due_at < ? ORDER BY t.due_at, t.number",
            (owner_id, encode_time(start), encode_time(end)),
        )
        return [task_from_row(row) for row in rows]

    async def overdue(
        self, owner_id: int, now: datetime, *, offset: int = 0, limit: int = 1000
    ) -> list[Task]:
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE t.owner_id = ? AND t.status = 'open' AND t.due_at < ?"
            f" ORDER BY t.due_at, t.number LIMIT ? OFFSET ?",
            (owner_id, encode_time(now), limit, offset),
        )
        return [task_from_row(row) for row in rows]

    async def count_overdue(self, owner_id: int, now: datetime) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM tasks WHERE owner_id = ? AND status = 'open' AND due_at < ?",
            (owner_id, encode_time(now)),
        )
        return int(row[0]) if row else 0

    async def count_undated(self, owner_id: int) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM tasks WHERE owner_id = ? AND status = 'open' AND due_at IS NULL",
            (owner_id,),
        )
        return int(row[0]) if row else 0

    async def count_open_for_client(self, owner_id: int, client_id: int) -> int:
        row = await self._db.fetchone(
            "SELECT count(*) FROM tasks WHERE owner_id = ? AND client_id = ? AND status = 'open'",
            (owner_id, client_id),
        )
        return int(row[0]) if row else 0

    async def undated(self, owner_id: int, *, offset: int, limit: int) -> list[Task]:
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE t.owner_id = ? AND t.status = 'open' AND t.due_at IS NULL"
            " ORDER BY t.number LIMIT ? OFFSET ?",
            (owner_id, limit, offset),
        )
        return [task_from_row(row) for row in rows]

    async def open_for_client(self, owner_id: int, client_id: int, limit: int) -> list[Task]:
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE t.owner_id = ? AND t.client_id = ? AND t.status = 'open'"
            " ORDER BY t.due_at IS NULL, t.due_at, t.number LIMIT ?",
            (owner_id, client_id, limit),
        )
        return [task_from_row(row) for row in rows]

    async def _update(self, owner_id: int, task_id: int, sql: str, params: tuple[object, ...]) -> (
        Task | None
    ):
        """Run one guarded UPDATE; return the task as it is now, or None if nothing matched."""
        changed = await self._db.execute(sql, params)
        if not changed:
            return None
        return await self._get_any(owner_id, task_id)

    async def complete(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        stamp = encode_time(now)
        return await self._update(
            owner_id,
            task_id,
            # done_seq orders completions exactly, even two within one second (for /undo).
            "UPDATE tasks SET status = 'done', done_at = ?, updated_at = ?,"
            " done_seq = (SELECT coalesce(max(done_seq), 0) + 1 FROM tasks WHERE owner_id = ?)"
            " WHERE id = ? AND owner_id = ? AND status = 'open'",
            (stamp, stamp, owner_id, task_id, owner_id),
        )

    async def reopen(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        return await self._update(
            owner_id,
            task_id,
            "UPDATE tasks SET status = 'open', done_at = NULL, updated_at = ?"
            " WHERE id = ? AND owner_id = ? AND status = 'done'",
            (encode_time(now), task_id, owner_id),
        )

    async def reopen_last_completed(self, owner_id: int, now: datetime) -> Task | None:
        row = await self._db.fetchone(
            "SELECT id FROM tasks WHERE owner_id = ? AND status = 'done'"
            " ORDER BY done_seq DESC, done_at DESC, id DESC LIMIT 1",
            (owner_id,),
        )
        if row is None:
            return None
        return await self.reopen(owner_id, int(row[0]), now)

    async def delete(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        stamp = encode_time(now)
        # The status it had is kept in done_at: a restored done task comes back done.
        return await self._update(
            owner_id,
            task_id,
            "UPDATE tasks SET status = 'deleted', deleted_at = ?, updated_at = ?"
            " WHERE id = ? AND owner_id = ? AND status != 'deleted'",
            (stamp, stamp, task_id, owner_id),
        )

    async def restore(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        return await self._update(
            owner_id,
            task_id,
            "UPDATE tasks SET status = CASE WHEN done_at IS NULL THEN 'open' ELSE 'done' END,"
            " deleted_at = NULL, updated_at = ?"
            # A task hidden with its client comes back only with the client.
            " WHERE id = ? AND owner_id = ? AND status = 'deleted' AND hidden_with_client = 0",
            (encode_time(now), task_id, owner_id),
        )

    async def _set(
        self, owner_id: int, task_id: int, column: str, value: object, now: datetime
    ) -> Task | None:
        return await self._update(
            owner_id,
            task_id,
            f"UPDATE tasks SET {column} = ?, updated_at = ?"
            " WHERE id = ? AND owner_id = ? AND status != 'deleted'",
            (value, encode_time(now), task_id, owner_id),
        )

    async def set_text(self, owner_id: int, task_id: int, text: str, now: datetime) -> Task | None:
        return await self._set(owner_id, task_id, "text", text, now)

    async def set_kind(
        self, owner_id: int, task_id: int, kind: TaskKind, now: datetime
    ) -> Task | None:
        return await self._set(owner_id, task_id, "kind", kind.value, now)

    async def set_due(
        self, owner_id: int, task_id: int, due_at: datetime | None, now: datetime
    ) -> Task | None:
        encoded = None if due_at is None else encode_time(due_at)
        return await self._set(owner_id, task_id, "due_at", encoded, now)

    async def set_client(
        self, owner_id: int, task_id: int, client_id: int | None, now: datetime
    ) -> Task | None:
        if client_id is not None and not await is_live_client(self._db, owner_id, client_id):
            return None
        return await self._set(owner_id, task_id, "client_id", client_id, now)

    async def set_remind_ahead(
        self, owner_id: int, task_id: int, minutes: int | None, now: datetime
    ) -> Task | None:
        return await self._set(owner_id, task_id, "remind_ahead_minutes", minutes, now)

    async def open_with_due_after(self, owner_id: int, moment: datetime) -> list[Task]:
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE t.owner_id = ? AND t.status = 'open' AND t.due_at > ?"
            " ORDER BY t.due_at",
            (owner_id, encode_time(moment)),
        )
        return [task_from_row(row) for row in rows]

    async def open_dated(self, owner_id: int) -> list[Task]:
        """Every open task with a due moment, overdue ones included (the calendar feed)."""
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE t.owner_id = ? AND t.status = 'open' AND t.due_at IS NOT NULL"
            " ORDER BY t.due_at, t.number",
            (owner_id,),
        )
        return [task_from_row(row) for row in rows]
