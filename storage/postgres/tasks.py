"""Tasks in PostgreSQL: the SQLite repository's behaviour, safe with several writers.

Numbers ("#12") and the order of completions (done_seq) come from the per-owner counters
inside the writing transaction, never from max() + 1. A series occurrence made twice (two
workers planning the same series) hits the partial unique index and is reported as
DuplicateOccurrenceError, as SQLite reports it.
"""

from __future__ import annotations

from datetime import datetime

from storage.errors import DuplicateOccurrenceError
from storage.models import Task, TaskKind, TaskStatus
from storage.postgres.clients import is_live_client
from storage.postgres.codec import at, at_optional
from storage.postgres.counters import next_number
from storage.postgres.database import Connection, PgDatabase, Record

# The task's own columns (not the search vector) plus its client's name.
TASK_COLUMNS = (
    "t.id, t.owner_id, t.number, t.client_id, t.text, t.kind, t.due_at, t.status,"
    " t.created_at, t.done_at, t.remind_ahead_minutes, t.series_id, t.invoice_id,"
    " c.name AS client_name"
)
_SELECT = f"SELECT {TASK_COLUMNS} FROM tasks t LEFT JOIN clients c ON c.id = t.client_id"


def task_from_row(row: Record) -> Task:
    return Task(
        id=row["id"],
        owner_id=row["owner_id"],
        number=row["number"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        text=row["text"],
        kind=TaskKind(row["kind"]),
        due_at=row["due_at"],
        status=TaskStatus(row["status"]),
        created_at=row["created_at"],
        done_at=row["done_at"],
        remind_ahead_minutes=row["remind_ahead_minutes"],
        series_id=row["series_id"],
        invoice_id=row["invoice_id"],
    )


class PgTaskRepo:
    def __init__(self, database: PgDatabase) -> None:
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
        stamp = at(now)
        due = at_optional(due_at)
        async with self._db.transaction() as conn:
            number = await next_number(conn, owner_id, "task")
            # A concurrent insert of the same occurrence waits for the other transaction and
            # then inserts nothing; the whole transaction (the number too) is rolled back.
            task_id = await conn.fetchval(
                "INSERT INTO tasks (owner_id, number, client_id, text, kind, due_at,"
                " created_at, updated_at, series_id, occurrence_at, invoice_id)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $7, $8, $9, $10)"
                " ON CONFLICT (series_id, occurrence_at)"
                " WHERE series_id IS NOT NULL AND status != 'deleted' DO NOTHING"
                " RETURNING id",
                owner_id,
                number,
                client_id,
                text,
                kind.value,
                due,
                stamp,
                series_id,
                due if series_id is not None else None,
                invoice_id,
            )
            if task_id is None:
                raise DuplicateOccurrenceError
            if client_id is not None:
                await conn.execute(
                    "UPDATE clients SET last_used_at = $1 WHERE id = $2 AND owner_id = $3",
                    stamp,
                    client_id,
                    owner_id,
                )
            task = await _get_any(conn, owner_id, int(task_id))
        assert task is not None
        return task

    async def _get_any(self, owner_id: int, task_id: int) -> Task | None:
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE t.id = $1 AND t.owner_id = $2", task_id, owner_id
        )
        return None if row is None else task_from_row(row)

    async def get(self, owner_id: int, task_id: int) -> Task | None:
        task = await self._get_any(owner_id, task_id)
        return None if task is None or task.status is TaskStatus.DELETED else task

    async def get_by_number(self, owner_id: int, number: int) -> Task | None:
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE t.owner_id = $1 AND t.number = $2 AND t.status != 'deleted'",
            owner_id,
            number,
        )
        return None if row is None else task_from_row(row)

    async def due_between(self, owner_id: int, start: datetime, end: datetime) -> list[Task]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE t.owner_id = $1 AND t.status = 'open'"
            " AND t.due_at >= $2 AND t.due_at < $3 ORDER BY t.due_at, t.number",
            owner_id,
            at(start),
            at(end),
        )
        return [task_from_row(row) for row in rows]

    async def overdue(
        self, owner_id: int, now: datetime, *, offset: int = 0, limit: int = 1000
    ) -> list[Task]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE t.owner_id = $1 AND t.status = 'open' AND t.due_at < $2"
            " ORDER BY t.due_at, t.number LIMIT $3 OFFSET $4",
            owner_id,
            at(now),
            limit,
            offset,
        )
        return [task_from_row(row) for row in rows]

    async def count_overdue(self, owner_id: int, now: datetime) -> int:
        value = await self._db.fetchval(
            "SELECT count(*) FROM tasks WHERE owner_id = $1 AND status = 'open' AND due_at < $2",
            owner_id,
            at(now),
        )
        return int(value or 0)

    async def count_undated(self, owner_id: int) -> int:
        value = await self._db.fetchval(
            "SELECT count(*) FROM tasks"
            " WHERE owner_id = $1 AND status = 'open' AND due_at IS NULL",
            owner_id,
        )
        return int(value or 0)

    async def count_open_for_client(self, owner_id: int, client_id: int) -> int:
        value = await self._db.fetchval(
            "SELECT count(*) FROM tasks"
            " WHERE owner_id = $1 AND client_id = $2 AND status = 'open'",
            owner_id,
            client_id,
        )
        return int(value or 0)

    async def undated(self, owner_id: int, *, offset: int, limit: int) -> list[Task]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE t.owner_id = $1 AND t.status = 'open' AND t.due_at IS NULL"
            " ORDER BY t.number LIMIT $2 OFFSET $3",
            owner_id,
            limit,
            offset,
        )
        return [task_from_row(row) for row in rows]

    async def open_for_client(self, owner_id: int, client_id: int, limit: int) -> list[Task]:
        rows = await self._db.fetch(
            f"{_SELECT} WHERE t.owner_id = $1 AND t.client_id = $2 AND t.status = 'open'"
            " ORDER BY t.due_at IS NULL, t.due_at, t.number LIMIT $3",
            owner_id,
            client_id,
            limit,
        )
        return [task_from_row(row) for row in rows]

    async def _update(self, sql: str, *args: object) -> Task | None:
        """Run one guarded UPDATE (its WHERE checks the expected state); the task as it is
        now, or None if nothing matched. `sql` is the UPDATE without RETURNING."""
        row = await self._db.fetchrow(
            f"WITH t AS ({sql} RETURNING *) SELECT {TASK_COLUMNS}"
            " FROM t LEFT JOIN clients c ON c.id = t.client_id",
            *args,
        )
        return None if row is None else task_from_row(row)

    async def complete(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        stamp = at(now)
        async with self._db.transaction() as conn:
            # The row is locked first: only a task still open takes a completion number.
            locked = await conn.fetchval(
                "SELECT id FROM tasks WHERE id = $1 AND owner_id = $2 AND status = 'open'"
                " FOR UPDATE",
                task_id,
                owner_id,
            )
            if locked is None:
                return None
            # done_seq orders completions exactly, even two within one second (for /undo).
            done_seq = await next_number(conn, owner_id, "done")
            return await self._update(
                "UPDATE tasks SET status = 'done', done_at = $1, updated_at = $1, done_seq = $2"
                " WHERE id = $3 AND owner_id = $4 AND status = 'open'",
                stamp,
                done_seq,
                task_id,
                owner_id,
            )

    async def reopen(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        return await self._update(
            "UPDATE tasks SET status = 'open', done_at = NULL, updated_at = $1"
            " WHERE id = $2 AND owner_id = $3 AND status = 'done'",
            at(now),
            task_id,
            owner_id,
        )

    async def reopen_last_completed(self, owner_id: int, now: datetime) -> Task | None:
        # NULLS LAST: SQLite sorts NULL lowest, so a descending order puts it last.
        task_id = await self._db.fetchval(
            "SELECT id FROM tasks WHERE owner_id = $1 AND status = 'done'"
            " ORDER BY done_seq DESC NULLS LAST, done_at DESC NULLS LAST, id DESC LIMIT 1",
            owner_id,
        )
        if task_id is None:
            return None
        return await self.reopen(owner_id, int(task_id), now)

    async def delete(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        # The status it had is kept in done_at: a restored done task comes back done.
        return await self._update(
            "UPDATE tasks SET status = 'deleted', deleted_at = $1, updated_at = $1"
            " WHERE id = $2 AND owner_id = $3 AND status != 'deleted'",
            at(now),
            task_id,
            owner_id,
        )

    async def restore(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        return await self._update(
            "UPDATE tasks SET status = CASE WHEN done_at IS NULL THEN 'open' ELSE 'done' END,"
            " deleted_at = NULL, updated_at = $1"
            # A task hidden with its client comes back only with the client.
            " WHERE id = $2 AND owner_id = $3 AND status = 'deleted'"
            " AND NOT hidden_with_client",
            at(now),
            task_id,
            owner_id,
        )

    async def _set(
        self, owner_id: int, task_id: int, column: str, value: object, now: datetime
    ) -> Task | None:
        return await self._update(
            f"UPDATE tasks SET {column} = $1, updated_at = $2"
            " WHERE id = $3 AND owner_id = $4 AND status != 'deleted'",
            value,
            at(now),
            task_id,
            owner_id,
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
        return await self._set(owner_id, task_id, "due_at", at_optional(due_at), now)

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
        rows = await self._db.fetch(
            f"{_SELECT} WHERE t.owner_id = $1 AND t.status = 'open' AND t.due_at > $2"
            " ORDER BY t.due_at",
            owner_id,
            at(moment),
        )
        return [task_from_row(row) for row in rows]

    async def open_dated(self, owner_id: int) -> list[Task]:
        """Every open task with a due moment, overdue ones included (the calendar feed)."""
        rows = await self._db.fetch(
            f"{_SELECT} WHERE t.owner_id = $1 AND t.status = 'open' AND t.due_at IS NOT NULL"
            " ORDER BY t.due_at, t.number",
            owner_id,
        )
        return [task_from_row(row) for row in rows]


async def _get_any(conn: Connection, owner_id: int, task_id: int) -> Task | None:
    row = await conn.fetchrow(
        f"{_SELECT} WHERE t.id = $1 AND t.owner_id = $2", task_id, owner_id
    )
    return None if row is None else task_from_row(row)
