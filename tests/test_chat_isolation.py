"""One update of a chat at a time across workers: two workers' isolations on one PostgreSQL
database serialise the same chat, leave other chats alone, and never block for good."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import pytest
from aiogram.fsm.storage.base import StorageKey

from bot import chat_isolation
from bot.chat_isolation import SharedEventIsolation
from storage.errors import StorageUnavailableError
from storage.interfaces import SharedLimits, Storage
from storage.postgres import open_postgres_storage

ANNA = StorageKey(bot_id=42, chat_id=5001, user_id=5001)
BORIS = StorageKey(bot_id=42, chat_id=5002, user_id=5002)


@asynccontextmanager
async def two_workers(url: str) -> AsyncIterator[list[Storage]]:
    opened = [await open_postgres_storage(url, max_size=4) for _ in range(2)]
    try:
        yield opened
    finally:
        for storage in opened:
            await storage.coordination.close()
            await storage.backend.close()


def isolation(storage: Storage) -> SharedEventIsolation:
    assert storage.shared_limits is not None
    return SharedEventIsolation(storage.shared_limits)


async def test_one_chat_is_handled_by_one_worker_at_a_time(postgres_url: str) -> None:
    async with two_workers(postgres_url) as (first, second):
        workers = [isolation(first), isolation(second)]
        events: list[str] = []

        async def handle(worker: SharedEventIsolation, name: str, key: StorageKey) -> None:
            async with worker.lock(key):
                events.append(f"{name} in")
                await asyncio.sleep(0.3)
                events.append(f"{name} out")

        started = time.monotonic()
        await asyncio.gather(
            handle(workers[0], "a1", ANNA), handle(workers[1], "a2", ANNA),
            handle(workers[1], "b", BORIS),
        )
        # Anna's two updates one after the other, whichever worker went first; Boris's
        # ran beside them.
        anna = [event for event in events if event.startswith("a")]
        assert anna in (
            ["a1 in", "a1 out", "a2 in", "a2 out"], ["a2 in", "a2 out", "a1 in", "a1 out"]
        )
        assert events.index("b in") < events.index("b out") < len(events) - 1
        assert time.monotonic() - started < 1.5


async def test_a_lease_left_by_a_killed_worker_expires(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_isolation, "LEASE_SECONDS", 0.5)
    async with two_workers(postgres_url) as (first, second):
        assert first.shared_limits is not None
        # A worker took the lease and died without giving it back.
        assert await first.shared_limits.chat_lock("42:5001:0", "dead", 0.5)
        started = time.monotonic()
        async with isolation(second).lock(ANNA):
            waited = time.monotonic() - started
        assert 0.3 < waited < 2


class DownLimits:
    """A database that cannot be asked."""

    async def chat_lock(self, key: str, holder: str, lease_seconds: float) -> bool:
        raise StorageUnavailableError("down")

    async def chat_unlock(self, key: str, holder: str) -> None:
        raise StorageUnavailableError("down")


async def test_with_the_database_down_the_update_is_still_handled() -> None:
    down = SharedEventIsolation(DownLimits())  # type: ignore[arg-type]
    handled = False
    async with down.lock(ANNA):
        handled = True
    assert handled


async def test_a_stuck_lease_delays_an_update_but_never_drops_it(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(chat_isolation, "WAIT_SECONDS", 0.4)
    async with two_workers(postgres_url) as (first, second):
        limits: SharedLimits | None = first.shared_limits
        assert limits is not None
        assert await limits.chat_lock("42:5001:0", "stuck", 600)
        handled = False
        async with isolation(second).lock(ANNA):
            handled = True
        assert handled
