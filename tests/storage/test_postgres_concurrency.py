"""What SQLite's single writer gave for free, proved on PostgreSQL with real concurrency:
many pooled connections of one process, and two pools standing for two worker processes."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Sequence
from datetime import timedelta

import asyncpg
import pytest

from storage.errors import DuplicateOccurrenceError
from storage.interfaces import Storage
from storage.models import PlannedReminder, ReminderPurpose, TaskKind, TaskReminderPlan
from storage.postgres import open_postgres_storage
from tests.fakes.clock import NOW

OWNER = 7
POOL_SIZE = 20


@pytest.fixture
async def workers(postgres_url: str) -> AsyncIterator[tuple[Storage, Storage]]:
    """Two storages on one database: two pools, as two worker processes would have."""
    first = await open_postgres_storage(postgres_url, max_size=POOL_SIZE)
    try:
        second = await open_postgres_storage(postgres_url, max_size=POOL_SIZE)
        try:
            await first.users.ensure(OWNER, NOW)
            yield first, second
        finally:
            await second.backend.close()
    finally:
        await first.backend.close()


async def test_a_thousand_concurrent_creates_number_tasks_one_to_a_thousand(
    workers: tuple[Storage, Storage],
) -> None:
    storage, _ = workers
    results = await asyncio.gather(
        *(
            storage.tasks.create(
                OWNER, client_id=None, text=f"task {n}", kind=TaskKind.OTHER, due_at=None, now=NOW
            )
            for n in range(1000)
        ),
        return_exceptions=True,
    )
    failures = [result for result in results if isinstance(result, BaseException)]
    assert failures == []
    numbers = sorted(result.number for result in results if not isinstance(result, BaseException))
    assert numbers == list(range(1, 1001))
    assert await storage.tasks.count_undated(OWNER) == 1000


async def test_concurrent_completions_take_distinct_done_seq(
    workers: tuple[Storage, Storage], postgres_url: str
) -> None:
    first, second = workers
    tasks = [
        await first.tasks.create(
            OWNER, client_id=None, text=f"t{n}", kind=TaskKind.CALL, due_at=None, now=NOW
        )
        for n in range(100)
    ]
    done = await asyncio.gather(
        *(
            (first if n % 2 else second).tasks.complete(OWNER, task.id, NOW)
            for n, task in enumerate(tasks)
        ),
        # Each task completed twice at once: the second finds it done already.
        *(
            (second if n % 2 else first).tasks.complete(OWNER, task.id, NOW)
            for n, task in enumerate(tasks)
        ),
    )
    assert sorted(task.id for task in done if task is not None) == sorted(t.id for t in tasks)
    connection = await asyncpg.connect(postgres_url)
    try:
        seqs = await connection.fetch("SELECT done_seq FROM tasks ORDER BY done_seq")
    finally:
        await connection.close()
    assert [row["done_seq"] for row in seqs] == list(range(1, 101))


async def test_one_series_occurrence_made_twice_at_once_exists_once(
    workers: tuple[Storage, Storage], postgres_url: str
) -> None:
    first, second = workers
    connection = await asyncpg.connect(postgres_url)
    try:
        series_id = await connection.fetchval(
            "INSERT INTO series (owner_id, text, kind, rule, timezone, created_at, updated_at)"
            " VALUES ($1, 'weekly', 'report', 'FREQ=WEEKLY', 'UTC', $2, $2) RETURNING id",
            OWNER,
            NOW,
        )
    finally:
        await connection.close()
    due = NOW + timedelta(days=1)
    results = await asyncio.gather(
        *(
            storage.tasks.create(
                OWNER,
                client_id=None,
                text="weekly",
                kind=TaskKind.REPORT,
                due_at=due,
                now=NOW,
                series_id=series_id,
            )
            for storage in (first, second) * 5
        ),
        return_exceptions=True,
    )
    made = [result for result in results if not isinstance(result, BaseException)]
    refused = [result for result in results if isinstance(result, BaseException)]
    assert len(made) == 1
    assert len(refused) == 9
    assert all(isinstance(error, DuplicateOccurrenceError) for error in refused)
    assert made[0].series_id == series_id
    assert made[0].due_at == due
    # The refused inserts' numbers went back with their transactions: numbering goes on.
    later = await first.tasks.create(
        OWNER, client_id=None, text="after", kind=TaskKind.OTHER, due_at=None, now=NOW
    )
    assert later.number > made[0].number


async def _due_reminders(storage: Storage, tasks: int, per_task: int) -> set[int]:
    """`tasks` open tasks due in a day, each with `per_task` reminders due already."""
    due = NOW + timedelta(days=1)
    plans = []
    for n in range(tasks):
        task = await storage.tasks.create(
            OWNER, client_id=None, text=f"t{n}", kind=TaskKind.CALL, due_at=due, now=NOW
        )
        planned = tuple(
            PlannedReminder(ReminderPurpose.AHEAD, NOW - timedelta(minutes=k + 1), due)
            for k in range(per_task)
        )
        plans.append(TaskReminderPlan(OWNER, task.id, planned))
    await storage.reminders.replace_for_tasks(plans, NOW)
    return {task.task_id for task in plans}


async def test_two_workers_claim_each_due_reminder_exactly_once(
    workers: tuple[Storage, Storage], postgres_url: str
) -> None:
    first, second = workers
    await _due_reminders(first, tasks=50, per_task=10)
    assert await first.reminders.count_pending() == 500
    tokens = itertools.count()

    async def drain(storage: Storage, name: str) -> list[int]:
        claimed: list[int] = []
        while True:
            # A token per claim, as each delivery run has its own: a batch is only its own.
            batch = await storage.reminders.claim_due(NOW, f"{name}-{next(tokens)}", 7)
            if not batch:
                return claimed
            claimed.extend(item.id for item in batch)
            await asyncio.gather(*(storage.reminders.mark_sent(item.id, NOW) for item in batch))

    # Several claimers per worker, so claims also race inside each pool.
    runs = await asyncio.gather(
        *(drain(first, f"a{n}") for n in range(4)), *(drain(second, f"b{n}") for n in range(4))
    )
    by_first = [reminder for run in runs[:4] for reminder in run]
    by_second = [reminder for run in runs[4:] for reminder in run]
    every = by_first + by_second
    assert len(every) == len(set(every)) == 500
    assert not set(by_first) & set(by_second)
    assert by_first and by_second
    assert await first.reminders.count_pending() == 0
    connection = await asyncpg.connect(postgres_url)
    try:
        rows = await connection.fetch("SELECT id, status, attempts FROM reminders")
    finally:
        await connection.close()
    assert {row["id"] for row in rows} == set(every)
    assert {(row["status"], row["attempts"]) for row in rows} == {("sent", 1)}


async def test_a_claimed_reminder_changes_only_while_claimed(
    workers: tuple[Storage, Storage],
) -> None:
    first, second = workers
    await _due_reminders(first, tasks=1, per_task=1)
    [item] = await first.reminders.claim_due(NOW, "one", 10)
    assert await second.reminders.claim_due(NOW, "two", 10) == []
    # Two workers settle the same claim at once: one wins, the other changes nothing.
    await asyncio.gather(
        first.reminders.mark_sent(item.id, NOW),
        second.reminders.release(item.id, NOW),
    )
    pending = await first.reminders.count_pending()
    claimed_again = await second.reminders.claim_due(NOW, "three", 10)
    # Either it was sent (nothing pending) or released first and then not marked sent.
    assert (pending, len(claimed_again)) in {(0, 0), (1, 1)}


def _by_fire_at(plan: Sequence[PlannedReminder]) -> list[PlannedReminder]:
    """A plan as pending_for_task returns it."""
    return sorted(plan, key=lambda reminder: reminder.fire_at)


async def test_concurrent_replans_of_one_task_leave_exactly_one_plan(
    workers: tuple[Storage, Storage],
) -> None:
    first, second = workers
    due = NOW + timedelta(days=2)
    task = await first.tasks.create(
        OWNER, client_id=None, text="call", kind=TaskKind.CALL, due_at=due, now=NOW
    )
    # Twenty different plans: 1 to 3 reminders ahead (at times no other plan has), and one due.
    plans = [
        (
            *(
                PlannedReminder(
                    ReminderPurpose.AHEAD, due - timedelta(hours=n + 1, minutes=k), due
                )
                for k in range(1 + n % 3)
            ),
            PlannedReminder(ReminderPurpose.DUE, due, due),
        )
        for n in range(20)
    ]
    for _round in range(10):
        await asyncio.gather(
            *(
                (first if n % 2 else second).reminders.replace_for_task(
                    OWNER, task.id, plan, NOW
                )
                for n, plan in enumerate(plans)
            )
        )
        pending = await first.reminders.pending_for_task(OWNER, task.id)
        assert any(pending == _by_fire_at(plan) for plan in plans), pending
    # A snooze and a cancel racing re-plans keep the same rule: one coherent state.
    await asyncio.gather(
        first.reminders.replace_for_task(OWNER, task.id, plans[0], NOW),
        second.reminders.snooze(
            OWNER, task.id, PlannedReminder(ReminderPurpose.SNOOZE, NOW, due), NOW
        ),
        second.reminders.replace_for_task(OWNER, task.id, plans[1], NOW),
    )
    pending = await first.reminders.pending_for_task(OWNER, task.id)
    snoozes = [r for r in pending if r.purpose is ReminderPurpose.SNOOZE]
    assert len(snoozes) <= 1
    # Whichever re-plan ran last stands whole; the snooze survives only if it came after.
    rest = [r for r in pending if r.purpose is not ReminderPurpose.SNOOZE]
    assert rest in (_by_fire_at(plans[0]), _by_fire_at(plans[1]))
    await asyncio.gather(
        first.reminders.cancel_for_task(OWNER, task.id),
        second.reminders.cancel_for_task(OWNER, task.id),
    )
    assert await first.reminders.pending_for_task(OWNER, task.id) == []
