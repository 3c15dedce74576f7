"""The sending runtime runs in one process at a time: at once with SQLite; with PostgreSQL in
the worker holding the leader lock, and in another within seconds when that one's session
dies. Wake-ups announced by any worker reach the leader's runtime."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import cast

import asyncpg

from bot.leadership import Leadership
from bot.runtime import Runtime
from bot.wakeups import ALERTS, REMINDERS, Notifier
from storage.interfaces import Storage
from storage.local_coordination import LocalCoordination
from storage.postgres import open_postgres_storage


@dataclass
class Waker:
    woken: int = 0

    def wake(self) -> None:
        self.woken += 1


@dataclass
class FakeRuntime:
    """What Leadership uses of a Runtime: start, stop, and the two wake-ups."""

    name: str
    log: list[str]
    reminders: Waker = field(default_factory=Waker)
    alerts: Waker = field(default_factory=Waker)

    async def start(self) -> None:
        self.log.append(f"{self.name} start")

    async def stop(self, *, stop_sender: bool | None = None) -> None:
        self.log.append(f"{self.name} stop" + (" final" if stop_sender else ""))


def builder(name: str, log: list[str], made: list[FakeRuntime]) -> Callable[[], Runtime]:
    def build() -> Runtime:
        runtime = FakeRuntime(f"{name}{len(made) + 1}", log)
        made.append(runtime)
        return cast(Runtime, runtime)

    return build


async def eventually(check: Callable[[], bool], seconds: float = 10) -> float:
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > seconds:
            raise AssertionError(f"not within {seconds:.0f} s")
        await asyncio.sleep(0.05)
    return time.monotonic() - started


async def test_with_one_process_the_runtime_starts_at_once_and_wakes_in_process() -> None:
    log: list[str] = []
    made: list[FakeRuntime] = []
    coordination = LocalCoordination()
    leadership = Leadership(coordination, builder("a", log, made))
    await leadership.start()
    assert leadership.leading and log == ["a1 start"]  # started before start() returned

    notifier = Notifier(coordination)
    notifier.wake(REMINDERS)
    notifier.wake(REMINDERS)  # coalesced while the first is on its way
    notifier.wake(ALERTS)
    await asyncio.sleep(0.05)
    assert (made[0].reminders.woken, made[0].alerts.woken) == (1, 1)

    await leadership.stop()
    await coordination.close()
    assert log == ["a1 start", "a1 stop final"]


@asynccontextmanager
async def worker_storages(url: str, count: int) -> AsyncIterator[list[Storage]]:
    opened = [await open_postgres_storage(url, max_size=3) for _ in range(count)]
    try:
        yield opened
    finally:
        for storage in opened:
            await storage.coordination.close()
            await storage.backend.close()


async def test_one_worker_leads_and_another_takes_over_when_its_session_dies(
    postgres_url: str,
) -> None:
    log: list[str] = []
    made: list[FakeRuntime] = []
    async with worker_storages(postgres_url, 3) as storages:
        leaderships = [
            Leadership(storage.coordination, builder(name, log, made), retry_seconds=0.2)
            for name, storage in zip("abc", storages, strict=True)
        ]
        for leadership in leaderships:
            await leadership.start()
        assert [leadership.leading for leadership in leaderships] == [True, False, False]
        assert log == ["a1 start"]

        # Any worker's announcement wakes the leader's runtime.
        Notifier(storages[2].coordination).wake(REMINDERS)
        await eventually(lambda: made[0].reminders.woken == 1)

        # The leader's database session dies (its host lost, or kill -9 of the process).
        admin = await asyncpg.connect(postgres_url)
        try:
            await admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_locks"
                " WHERE locktype = 'advisory' AND granted"
            )
        finally:
            await admin.close()
        took = await eventually(lambda: sum(other.leading for other in leaderships[1:]) == 1)
        assert took < 3
        await eventually(lambda: not leaderships[0].leading)
        assert "a1 stop" in log
        assert sum(leadership.leading for leadership in leaderships) == 1

        new_leader = made[-1]
        Notifier(storages[0].coordination).wake(ALERTS)
        await eventually(lambda: new_leader.alerts.woken == 1)
        for leadership in leaderships:
            await leadership.stop()
        assert f"{made[-1].name} stop final" in log  # the last term ends with the process
