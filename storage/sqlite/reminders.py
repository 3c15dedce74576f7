"""Reminder rows: planned per task, claimed before sending, marked sent after.

Claiming is one UPDATE over pending rows inside a write transaction, so two workers (or a
PostgreSQL backend with SKIP LOCKED) never send the same reminder. A claim is a lease: the
claimer renews it while its messages wait in the sender's queue, and a claim nobody renewed
for a while (its process died mid-send) is released and sent again: at most one duplicate,
never a loss.
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
from storage.sqlite.clients import client_from_row
from storage.sqlite.codec import decode_optional, decode_time, encode_time
from storage.sqlite.database import Database
from storage.sqlite.tasks import task_from_row
from storage.sqlite.users import user_from_row

# A pending reminder is stale when its task is no longer open, or has moved since planning.
_STALE = (
    "SELECT r.id FROM reminders r JOIN tasks t ON t.id = r.task_id"
    " WHERE r.status = 'pending' AND r.fire_at <= ?"
    " AND (t.status != 'open' OR NOT (t.due_at IS r.for_due_at))"
)


def _encode_optional(moment: datetime | None) -> str | None:
    return None if moment is None else encode_time(moment)


class SqliteReminderRepo:
    def __init__(self, database: Database) -> None:
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
        stamp = encode_time(now)
        snooze_clause = " AND purpose != 'snooze'" if keep_snoozes else ""
        async with self._db.transaction() as conn:
            await conn.executemany(
                "UPDATE reminders SET status = 'cancelled'"
                " WHERE task_id = ? AND owner_id = ? AND status = 'pending'" + snooze_clause,
                [(plan.task_id, plan.owner_id) for plan in plans],
            )
            await conn.executemany(
                "INSERT INTO reminders (owner_id, task_id, purpose, fire_at, for_due_at,"
                " held_over_from, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        plan.owner_id,
                        plan.task_id,
                        item.purpose.value,
                        encode_time(item.fire_at),
                        _encode_optional(item.for_due_at),
                        _encode_optional(item.held_from),
                        stamp,
                    )
                    for plan in plans
                    for item in plan.planned
                ],
            )

    async def snooze(
        self, owner_id: int, task_id: int, planned: PlannedReminder, now: datetime
    ) -> None:
        """One pending snooze per task: a new snooze replaces the previous one."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE reminders SET status = 'cancelled' WHERE task_id = ? AND owner_id = ?"
                " AND status = 'pending' AND purpose = 'snooze'",
                (task_id, owner_id),
            )
            await conn.execute(
                "INSERT INTO reminders (owner_id, task_id, purpose, fire_at, for_due_at,"
                " created_at) VALUES (?, ?, 'snooze', ?, ?, ?)",
                (
                    owner_id,
                    task_id,
                    encode_time(planned.fire_at),
                    _encode_optional(planned.for_due_at),
                    encode_time(now),
                ),
            )

    async def cancel_for_task(self, owner_id: int, task_id: int) -> None:
        await self._db.execute(
            "UPDATE reminders SET status = 'cancelled'"
            " WHERE task_id = ? AND owner_id = ? AND status = 'pending'",
            (task_id, owner_id),
        )

    async def pending_for_task(self, owner_id: int, task_id: int) -> list[PlannedReminder]:
        rows = await self._db.fetchall(
            "SELECT purpose, fire_at, for_due_at, held_over_from FROM reminders"
            " WHERE task_id = ? AND owner_id = ? AND status = 'pending' ORDER BY fire_at",
            (task_id, owner_id),
        )
        return [
            PlannedReminder(
                purpose=ReminderPurpose(row["purpose"]),
                fire_at=decode_time(row["fire_at"]),
                for_due_at=decode_optional(row["for_due_at"]),
                held_from=decode_optional(row["held_over_from"]),
            )
            for row in rows
        ]

    async def count_pending(self) -> int:
        row = await self._db.fetchone("SELECT count(*) FROM reminders WHERE status = 'pending'")
        return 0 if row is None else int(row[0])

    async def next_fire_at(self) -> datetime | None:
        row = await self._db.fetchone(
            "SELECT min(fire_at) FROM reminders WHERE status = 'pending'"
        )
        return None if row is None or row[0] is None else decode_time(row[0])

    async def claim_due(self, now: datetime, token: str, limit: int) -> list[DueReminder]:
        """Claim up to `limit` reminders due by now, oldest first, for live open tasks."""
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            await conn.execute(
                f"UPDATE reminders SET status = 'cancelled' WHERE id IN ({_STALE})", (stamp,)
            )
            await conn.execute(
                "UPDATE reminders SET status = 'claimed', claim_token = ?, claimed_at = ?,"
                " attempts = attempts + 1"
                " WHERE id IN (SELECT r.id FROM reminders r JOIN users u ON u.id = r.owner_id"
                " WHERE r.status = 'pending' AND r.fire_at <= ? AND u.active = 1"
                " ORDER BY r.fire_at, r.id LIMIT ?)",
                (token, stamp, stamp, limit),
            )
        rows = await self._db.fetchall(
            "SELECT r.id AS reminder_id, r.purpose, r.fire_at, r.held_over_from,"
            " r.attempts, t.*, c.name AS client_name"
            " FROM reminders r JOIN tasks t ON t.id = r.task_id"
            " LEFT JOIN clients c ON c.id = t.client_id"
            " WHERE r.claim_token = ? AND r.status = 'claimed' ORDER BY r.fire_at, r.id",
            (token,),
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
                fire_at=decode_time(row["fire_at"]),
                held_over_from=decode_optional(row["held_over_from"]),
                attempts=row["attempts"],
                task=task,
                user=users[task.owner_id],
                client=clients.get(task.client_id) if task.client_id is not None else None,
            )
            for row, task in zip(rows, tasks, strict=True)
        ]

    async def _users(self, ids: set[int]) -> dict[int, UserProfile]:
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetchall(f"SELECT * FROM users WHERE id IN ({marks})", tuple(ids))
        return {row["id"]: user_from_row(row) for row in rows}

    async def _clients(self, ids: set[int]) -> dict[int, Client]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetchall(
            f"SELECT * FROM clients WHERE id IN ({marks})", tuple(ids)
        )
        return {row["id"]: client_from_row(row) for row in rows}

    async def mark_sent(self, reminder_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE reminders SET status = 'sent', sent_at = ?"
            " WHERE id = ? AND status = 'claimed'",
            (encode_time(now), reminder_id),
        )

    async def discard(self, reminder_id: int) -> None:
        """A claimed reminder that no longer makes sense (its moment has passed): not sent."""
        await self._db.execute(
            "UPDATE reminders SET status = 'cancelled' WHERE id = ? AND status = 'claimed'",
            (reminder_id,),
        )

    async def mark_failed(self, reminder_id: int) -> None:
        await self._db.execute(
            "UPDATE reminders SET status = 'failed' WHERE id = ? AND status = 'claimed'",
            (reminder_id,),
        )

    async def hold_over(self, reminder_id: int, until: datetime, original: datetime) -> None:
        """Back to pending, to fire at the start of the next working period."""
        await self._db.execute(
            "UPDATE reminders SET status = 'pending', fire_at = ?,"
            " held_over_from = coalesce(held_over_from, ?), claim_token = NULL,"
            " attempts = attempts - 1 WHERE id = ? AND status = 'claimed'",
            (encode_time(until), encode_time(original), reminder_id),
        )

    async def release(self, reminder_id: int, retry_at: datetime) -> None:
        await self._db.execute(
            "UPDATE reminders SET status = 'pending', fire_at = ?, claim_token = NULL"
            " WHERE id = ? AND status = 'claimed'",
            (encode_time(retry_at), reminder_id),
        )

    async def renew_claims(self, token: str, now: datetime) -> int:
        """A live sender still holds these claims: keep them from being taken as stale."""
        return await self._db.execute(
            "UPDATE reminders SET claimed_at = ? WHERE claim_token = ? AND status = 'claimed'",
            (encode_time(now), token),
        )

    async def release_claims(self, tokens: Sequence[str]) -> int:
        """A stopping process hands back what it claimed but did not send, so the next start
        sends it at once instead of waiting for the claim to go stale."""
        if not tokens:
            return 0
        marks = ",".join("?" * len(tokens))
        return await self._db.execute(
            "UPDATE reminders SET status = 'pending', claim_token = NULL"
            f" WHERE status = 'claimed' AND claim_token IN ({marks})",
            tuple(tokens),
        )

    async def release_stale_claims(self, claimed_before: datetime) -> int:
        """Claims left by a process that died mid-send go back to pending (sent again)."""
        return await self._db.execute(
            "UPDATE reminders SET status = 'pending', claim_token = NULL"
            " WHERE status = 'claimed' AND claimed_at < ?",
            (encode_time(claimed_before),),
        )

    async def tasks_without_reminders(
        self, now: datetime, limit: int, *, after_id: int = 0
    ) -> list[Task]:
        """Open tasks due in the future with no reminder planned for their due moment.

        Planning happens right after a task is written; if the process died in between,
        start-up finds the task here and plans it.
        """
        rows = await self._db.fetchall(
            "SELECT t.*, c.name AS client_name FROM tasks t"
            " LEFT JOIN clients c ON c.id = t.client_id"
            " WHERE t.status = 'open' AND t.due_at > ? AND NOT EXISTS ("
            "   SELECT 1 FROM reminders r WHERE r.task_id = t.id AND r.purpose = 'due'"
            "   AND r.for_due_at = t.due_at AND r.status != 'cancelled')"
            " AND t.id > ? ORDER BY t.id LIMIT ?",
            (encode_time(now), after_id, limit),
        )
        return [task_from_row(row) for row in rows]
