"""Several workers on one PostgreSQL database: one leader at a time, taken over when its
session dies; wake-ups reach every worker; the pace and flood state is one for all."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import asyncpg
import pytest

from storage.interfaces import Storage
from storage.local_coordination import LocalCoordination
from storage.postgres import open_postgres_storage


@asynccontextmanager
async def workers(url: str, count: int) -> AsyncIterator[list[Storage]]:
    opened = [await open_postgres_storage(url, max_size=4) for _ in range(count)]
    try:
        yield opened
    finally:
        for storage in opened:
            await storage.coordination.close()
            await storage.backend.close()


async def test_one_leader_at_a_time_and_another_takes_over_when_it_resigns(
    postgres_url: str,
) -> None:
    async with workers(postgres_url, 3) as (first, second, third):
        assert await first.coordination.try_lead()
        assert await first.coordination.try_lead()  # still leading: idempotent
        assert not await second.coordination.try_lead()
        assert not await third.coordination.try_lead()

        await first.coordination.resign()
        assert await second.coordination.try_lead()
        assert not await first.coordination.try_lead()
        assert not await third.coordination.try_lead()


async def test_a_leader_whose_session_dies_learns_it_and_another_takes_over(
    postgres_url: str,
) -> None:
    async with workers(postgres_url, 2) as (first, second):
        assert await first.coordination.try_lead()
        lost = asyncio.create_task(first.coordination.wait_lost())
        await asyncio.sleep(0.1)
        assert not lost.done()

        # What a kill -9 of the leader's host looks like from the server: the session ends.
        admin = await asyncpg.connect(postgres_url)
        try:
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted"
            )
        finally:
            await admin.close()
        assert ended == 1

        started = time.monotonic()
        await asyncio.wait_for(lost, timeout=10)
        assert time.monotonic() - started < 3  # checked every LEAD_CHECK_SECONDS
        assert await second.coordination.try_lead()
        assert not await first.coordination.try_lead()


async def test_a_notification_wakes_the_listeners_of_every_worker(postgres_url: str) -> None:
    async with workers(postgres_url, 2) as (leader, webhook_worker):
        heard: list[str] = []
        woken = asyncio.Event()

        def wake(name: str) -> Callable[[], None]:
            def call() -> None:
                heard.append(name)
                woken.set()

            return call

        await leader.coordination.listen("reminders", wake("leader"))
        await leader.coordination.listen("alerts", wake("leader-alerts"))
        await webhook_worker.coordination.notify("reminders")
        await asyncio.wait_for(woken.wait(), timeout=5)
        await asyncio.sleep(0.2)
        assert heard == ["leader"]  # that topic only, once


async def test_the_pace_is_one_for_all_workers(postgres_url: str) -> None:
    async with workers(postgres_url, 2) as (first, second):
        assert first.shared_limits is not None and second.shared_limits is not None
        slot, interval = 0.5, 1.0
        # The first take of a chat goes at once; the second worker must wait for the slot.
        assert await first.shared_limits.pace_take("chat:1", slot, interval) == (0.0, False)
        wait, chat_only = await second.shared_limits.pace_take("chat:2", slot, interval)
        assert 0.3 < wait <= slot and not chat_only
        # After the slot, the same chat waits for its own interval only.
        await asyncio.sleep(wait + 0.01)
        wait, chat_only = await second.shared_limits.pace_take("chat:1", slot, interval)
        assert chat_only and 0 < wait < interval
        # A 429 seen by one worker holds the other.
        assert await first.shared_limits.pace_pause(3.0) > 2.5
        assert await second.shared_limits.pace_paused_for() > 2.5
        wait, chat_only = await second.shared_limits.pace_take("chat:3", slot, interval)
        assert wait > 2.5 and not chat_only


async def test_a_flood_is_counted_across_workers(postgres_url: str) -> None:
    async with workers(postgres_url, 2) as (first, second):
        assert first.shared_limits is not None and second.shared_limits is not None
        burst, rate = 3, 1.0
        results = [
            await limits.flood_reserve(7, burst, rate)
            for limits in (first.shared_limits, second.shared_limits) * 3
        ]
        waits = [wait for wait, _warn in results]
        warns = [warn for _wait, warn in results]
        assert waits[:3] == [0.0, 0.0, 0.0]
        assert all(wait > 0 for wait in waits[3:])
        assert waits[3] < waits[4] < waits[5]  # each later update waits longer
        assert warns == [False, False, False, True, False, False]  # told once per flood
        # Another user is not slowed by it.
        assert await second.shared_limits.flood_reserve(8, burst, rate) == (0.0, False)


@pytest.mark.parametrize("rounds", [2])
async def test_the_local_coordination_always_leads_and_wakes_in_process(rounds: int) -> None:
    local = LocalCoordination()
    heard: list[int] = []
    await local.listen("reminders", lambda: heard.append(1))
    for _ in range(rounds):
        assert await local.try_lead()
        await local.notify("reminders")
    await local.notify("alerts")
    assert heard == [1] * rounds
    lost = asyncio.create_task(local.wait_lost())
    await asyncio.sleep(0)
    assert not lost.done()
    await local.close()
    await asyncio.wait_for(lost, 1)


async def test_a_slot_taken_a_little_early_keeps_the_schedule_from_drifting(
    postgres_url: str,
) -> None:
    """A sender asks a few milliseconds late for each slot; with a lead the next slot
    counts from the one due, not from when it was asked."""
    async with workers(postgres_url, 1) as (worker,):
        limits = worker.shared_limits
        assert limits is not None
        slot, lead = 0.2, 0.05
        assert await limits.pace_take("chat:1", slot, 1.0, lead) == (0.0, False)
        first = time.monotonic()
        wait, _ = await limits.pace_take("chat:2", slot, 1.0, lead)
        assert 0.1 < wait <= slot - lead  # may come back `lead` before the slot is due
        await asyncio.sleep(wait + 0.03)  # and does, a little late (30 ms)
        assert await limits.pace_take("chat:2", slot, 1.0, lead) == (0.0, False)
        wait, _ = await limits.pace_take("chat:3", slot, 1.0, lead)
        # The third slot is due two slots after the first, not a slot after the second was
        # taken (which would push it back by the 30 ms of lateness).
        due = time.monotonic() + wait - first
        assert abs(due - (2 * slot - lead)) < 0.02, due
        # A 429's pause is never taken early.
        await limits.pace_pause(0.3)
        wait, _ = await limits.pace_take("chat:4", slot, 1.0, lead)
        assert wait > 0.25
