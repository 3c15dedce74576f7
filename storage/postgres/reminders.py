"""Reminder rows in PostgreSQL: planned per task, claimed before sending, marked sent after.

The SQLite repository's behaviour, made safe for several workers on one database:
- claiming takes pending rows with FOR UPDATE SKIP LOCKED, so two workers claim disjoint
  sets and never wait for each other;
- re-planning a task (replace, snooze, cancel) first locks the task's row (tasks in id
  order, so two re-plans of overlapping sets cannot deadlock): two workers re-planning the
  same task run one after the other, and the task ends with exactly one plan;
- every change of a claimed reminder re-checks `status = 'claimed'` in its WHERE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.models import (
    Client,
    DueReminder,
    PlannedReminder,
    ReminderPurpose,
    Task,
    TaskReminderPlan,
    UserProfile,
)
from storage.postgres.clients import client_columns, client_from_row
from storage.postgres.codec import at, at_optional
from storage.postgres.database import Connection, PgDatabase
from storage.postgres.tasks import TASK_COLUMNS, task_from_row
from storage.postgres.users import user_from_row

# A pending reminder is stale when its task is no longer open, or has moved since planning.
# Rows another transaction holds are skipped (it is claiming or re-planning them).
_STALE = (
    "SELECT r.id FROM reminders r JOIN tasks t ON t.id = r.task_id"
    " WHERE r.status = 'pending' AND r.fire_at <= $1"
    " AND (t.status != 'open' OR t.due_at IS DISTINCT FROM r.for_due_at)"
    " FOR UPDATE OF r SKIP LOCKED"
)

# Due, pending, of an active user and of a live task (open, not moved since planning: what
# SQLite's stale pass leaves), oldest first; rows another worker holds are skipped.
_CLAIMABLE = (
    "SELECT r.id FROM reminders r JOIN users u ON u.id = r.owner_id"
    " JOIN tasks t ON t.id = r.task_id"
    " WHERE r.status = 'pending' AND r.fire_at <= $3 AND u.active"
    " AND t.status = 'open' AND t.due_at IS NOT DISTINCT FROM r.for_due_at"
    " ORDER BY r.fire_at, r.id LIMIT $4 FOR UPDATE OF r SKIP LOCKED"
)


async def _lock_tasks(conn: Connection, task_ids: Sequence[int]) -> None:
    """Row locks on the tasks, in id order (two re-plans never wait for each other in a
    cycle); held to the end of the transaction."""
    await conn.execute(
        "SELECT id FROM tasks WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE",
        sorted(set(task_ids)),
    )


class PgReminderRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def replace_for_task(
        self,
        owner_id: int,
        task_id: int,
        planned: Sequence[PlannedReminder],
        now: datetime,
        *,
        keep_snoozes: bool = False,
    ) -> None:
        """Cancel the task's pending reminders and plan these instead, atomically."""
        await self.replace_for_tasks(
            [TaskReminderPlan(owner_id, task_id, tuple(planned))], now, keep_snoozes=keep_snoozes
        )

    async def replace_for_tasks(
        self,
        plans: Sequence[TaskReminderPlan],
        now: datetime,
        *,
        keep_snoozes: bool = False,
    ) -> None:
        """`replace_for_task` for many tasks in one transaction (start-up reconcile)."""
        if not plans:
            return
        stamp = at(now)
        snooze_clause = " AND r.purpose != 'snooze'" if keep_snoozes else ""
        items = [(plan, item) for plan in plans for item in plan.planned]
        async with self._db.transaction() as conn:
            await _lock_tasks(conn, [plan.task_id for plan in plans])
            await conn.execute(
                "UPDATE reminders r SET status = 'cancelled'"
                " FROM unnest($1::bigint[], $2::bigint[]) AS p(task_id, owner_id)"
                " WHERE r.task_id = p.task_id AND r.owner_id = p.owner_id"
                " AND r.status = 'pending'" + snooze_clause,
                [plan.task_id for plan in plans],
                [plan.owner_id for plan in plans],
            )
            if not items:
                return
            await conn.execute(
                "INSERT INTO reminders (owner_id, task_id, purpose, fire_at, for_due_at,"
                " held_over_from, created_at)"
                " SELECT owner_id, task_id, purpose, fire_at, for_due_at, held_from, $7"
                " FROM unnest($1::bigint[], $2::bigint[], $3::text[], $4::timestamptz[],"
                " $5::timestamptz[], $6::timestamptz[])"
                " WITH ORDINALITY AS p(owner_id, task_id, purpose, fire_at, for_due_at,"
                " held_from, n) ORDER BY n",
                [plan.owner_id for plan, _ in items],
                [plan.task_id for plan, _ in items],
                [item.purpose.value for _, item in items],
                [at(item.fire_at) for _, item in items],
                [at_optional(item.for_due_at) for _, item in items],
                [at_optional(item.held_from) for _, item in items],
                stamp,
            )

    async def snooze(
        self, owner_id: int, task_id: int, planned: PlannedReminder, now: datetime
    ) -> None:
        """One pending snooze per task: a new snooze replaces the previous one."""
        async with self._db.transaction() as conn:
            await _lock_tasks(conn, [task_id])
            await conn.execute(
                "UPDATE reminders SET status = 'cancelled' WHERE task_id = $1 AND owner_id = $2"
                " AND status = 'pending' AND purpose = 'snooze'",
                task_id,
                owner_id,
            )
            await conn.execute(
                "INSERT INTO reminders (owner_id, task_id, purpose, fire_at, for_due_at,"
                " created_at) VALUES ($1, $2, 'snooze', $3, $4, $5)",
                owner_id,
                task_id,
                at(planned.fire_at),
                at_optional(planned.for_due_at),
                at(now),
            )

    async def cancel_for_task(self, owner_id: int, task_id: int) -> None:
        async with self._db.transaction() as conn:
            await _lock_tasks(conn, [task_id])
            await conn.execute(
                "UPDATE reminders SET status = 'cancelled'"
                " WHERE task_id = $1 AND owner_id = $2 AND status = 'pending'",
                task_id,
                owner_id,
            )

    async def pending_for_task(self, owner_id: int, task_id: int) -> list[PlannedReminder]:
        rows = await self._db.fetch(
            "SELECT purpose, fire_at, for_due_at, held_over_from FROM reminders"
            " WHERE task_id = $1 AND owner_id = $2 AND status = 'pending' ORDER BY fire_at",
            task_id,
            owner_id,
        )
        return [
            PlannedReminder(
                purpose=ReminderPurpose(row["purpose"]),
                fire_at=row["fire_at"],
                for_due_at=row["for_due_at"],
                held_from=row["held_over_from"],
            )
            for row in rows
        ]

    async def count_pending(self) -> int:
        value = await self._db.fetchval("SELECT count(*) FROM reminders WHERE status = 'pending'")
        return int(value or 0)

    async def next_fire_at(self) -> datetime | None:
        value: datetime | None = await self._db.fetchval(
            "SELECT min(fire_at) FROM reminders WHERE status = 'pending'"
        )
        return value

    async def claim_due(self, now: datetime, token: str, limit: int) -> list[DueReminder]:
        """Claim up to `limit` reminders due by now, oldest first, for live open tasks."""
        stamp = at(now)
        async with self._db.transaction() as conn:
            await conn.execute(
                f"UPDATE reminders SET status = 'cancelled' WHERE id IN ({_STALE})"
                " AND status = 'pending'",
                stamp,
            )
            await conn.execute(
                "UPDATE reminders SET status = 'claimed', claim_token = $1, claimed_at = $2,"
                f" attempts = attempts + 1 WHERE id IN ({_CLAIMABLE})",
                token,
                stamp,
                stamp,
                limit,
            )
        rows = await self._db.fetch(
            "SELECT r.id AS reminder_id, r.purpose, r.fire_at, r.held_over_from,"
            f" r.attempts, {TASK_COLUMNS}"
            " FROM reminders r JOIN tasks t ON t.id = r.task_id"
            " LEFT JOIN clients c ON c.id = t.client_id"
            " WHERE r.claim_token = $1 AND r.status = 'claimed' ORDER BY r.fire_at, r.id",
            token,
        )
        if not rows:
            return []
        tasks = [task_from_row(row) for row in rows]
        users = await self._users({task.owner_id for task in tasks})
        clients = await self._clients({t.client_id for t in tasks if t.client_id is not None})
        return [
            DueReminder(
                id=row["reminder_id"],
                purpose=ReminderPurpose(row["purpose"]),
                fire_at=row["fire_at"],
                held_over_from=row["held_over_from"],
                attempts=row["attempts"],
                task=task,
                user=users[task.owner_id],
                client=clients.get(task.client_id) if task.client_id is not None else None,
            )
            for row, task in zip(rows, tasks, strict=True)
        ]

    async def _users(self, ids: set[int]) -> dict[int, UserProfile]:
        rows = await self._db.fetch(
            "SELECT * FROM users WHERE id = ANY($1::bigint[])", sorted(ids)
        )
        return {row["id"]: user_from_row(row) for row in rows}

    async def _clients(self, ids: set[int]) -> dict[int, Client]:
        if not ids:
            return {}
        rows = await self._db.fetch(
            f"SELECT {client_columns()} FROM clients WHERE id = ANY($1::bigint[])", sorted(ids)
        )
        return {row["id"]: client_from_row(row) for row in rows}

    async def mark_sent(self, reminder_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE reminders SET status = 'sent', sent_at = $1"
            " WHERE id = $2 AND status = 'claimed'",
            at(now),
            reminder_id,
        )

    async def discard(self, reminder_id: int) -> None:
        """A claimed reminder that no longer makes sense (its moment has passed): not sent."""
        await self._db.execute(
            "UPDATE reminders SET status = 'cancelled' WHERE id = $1 AND status = 'claimed'",
            reminder_id,
        )

    async def mark_failed(self, reminder_id: int) -> None:
        await self._db.execute(
            "UPDATE reminders SET status = 'failed' WHERE id = $1 AND status = 'claimed'",
            reminder_id,
        )

    async def hold_over(self, reminder_id: int, until: datetime, original: datetime) -> None:
        """Back to pending, to fire at the start of the next working period."""
        await self._db.execute(
            "UPDATE reminders SET status = 'pending', fire_at = $1,"
            " held_over_from = coalesce(held_over_from, $2), claim_token = NULL,"
            " attempts = attempts - 1 WHERE id = $3 AND status = 'claimed'",
            at(until),
            at(original),
            reminder_id,
        )

    async def release(self, reminder_id: int, retry_at: datetime) -> None:
        await self._db.execute(
            "UPDATE reminders SET status = 'pending', fire_at = $1, claim_token = NULL"
            " WHERE id = $2 AND status = 'claimed'",
            at(retry_at),
            reminder_id,
        )

    async def renew_claims(self, token: str, now: datetime) -> int:
        """A live sender still holds these claims: keep them from being taken as stale."""
        return await self._db.execute(
            "UPDATE reminders SET claimed_at = $1 WHERE claim_token = $2 AND status = 'claimed'",
            at(now),
            token,
        )

    async def release_claims(self, tokens: Sequence[str]) -> int:
        """A stopping process hands back what it claimed but did not send, so the next start
        sends it at once instead of waiting for the claim to go stale."""
        if not tokens:
            return 0
        return await self._db.execute(
            "UPDATE reminders SET status = 'pending', claim_token = NULL"
            " WHERE status = 'claimed' AND claim_token = ANY($1::text[])",
            list(tokens),
        )

    async def release_stale_claims(self, claimed_before: datetime) -> int:
        """Claims left by a process that died mid-send go back to pending (sent again)."""
        return await self._db.execute(
            "UPDATE reminders SET status = 'pending', claim_token = NULL"
            " WHERE status = 'claimed' AND claimed_at < $1",
            at(claimed_before),
        )

    async def tasks_without_reminders(
        self, now: datetime, limit: int, *, after_id: int = 0
    ) -> list[Task]:
        """Open tasks due in the future with no reminder planned for their due moment.

        Planning happens right after a task is written; if the process died in between,
        start-up finds the task here and plans it.
        """
        rows = await self._db.fetch(
            f"SELECT {TASK_COLUMNS} FROM tasks t"
            " LEFT JOIN clients c ON c.id = t.client_id"
            " WHERE t.status = 'open' AND t.due_at > $1 AND NOT EXISTS ("
            "   SELECT 1 FROM reminders r WHERE r.task_id = t.id AND r.purpose = 'due'"
            "   AND r.for_due_at = t.due_at AND r.status != 'cancelled')"
            " AND t.id > $2 ORDER BY t.id LIMIT $3",
            at(now),
            after_id,
            limit,
        )
        return [task_from_row(row) for row in rows]
