"""Which process sends: the sending runtime (reminders, alert pages, digests, series) runs in
exactly one process at a time, the one the storage's coordination lets lead.

With SQLite that is the one process there is (leading is granted at once, for good). With
PostgreSQL every worker tries; the one holding the database's leader lock runs the runtime,
the others serve webhooks and retry every `retry_seconds`; when the leader's database session
ends (kill -9, a lost host) the next try of another worker takes over, and the old leader,
if it still lives, stops its runtime as soon as it notices. Claims carry leases, so even a
short overlap sends nothing twice that was not already in flight.

Wake-ups. A change that the sending runtime must act on (a reminder planned, an alert raised)
may be made by any worker: it is announced through the coordination (`Notifier`), and the
leader's listeners wake its runtime. Within one process (SQLite) the announcement calls the
listener directly.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from bot.runtime import Runtime
from bot.wakeups import ALERTS, REMINDERS
from storage.errors import StorageError
from storage.interfaces import Coordination

logger = logging.getLogger(__name__)

RETRY_SECONDS = 1.0


class Leadership:
    """Runs a fresh Runtime (from `build_runtime`) for each term this process leads."""

    def __init__(
        self,
        coordination: Coordination,
        build_runtime: Callable[[], Runtime],
        *,
        retry_seconds: float = RETRY_SECONDS,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        self._coordination = coordination
        self._build_runtime = build_runtime
        self._retry_seconds = retry_seconds
        self._sleep = sleep
        self.runtime: Runtime | None = None
        self._task: asyncio.Task[None] | None = None
        self.terms = 0  # how many times this process became the leader

    async def start(self) -> None:
        """Listen for wake-ups, then lead at once if nobody does (SQLite: always), so a
        runtime that fails to start fails start-up; else keep trying in the background."""
        await self._coordination.listen(REMINDERS, self._wake_reminders)
        await self._coordination.listen(ALERTS, self._wake_alerts)
        if await self._try_lead():
            await self._begin_term()
        self._task = asyncio.create_task(self._lead_forever(), name="leadership")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        # The process is stopping: the stream drains before the unsent claims go back.
        await self._end_term(final=True)
        with contextlib.suppress(StorageError):
            await self._coordination.resign()

    @property
    def leading(self) -> bool:
        return self.runtime is not None

    async def _try_lead(self) -> bool:
        try:
            return await self._coordination.try_lead()
        except StorageError as exc:
            logger.warning("could not try to lead: %s", type(exc).__name__)
            return False

    async def _begin_term(self) -> None:
        runtime = self._build_runtime()
        await runtime.start()
        self.runtime = runtime
        self.terms += 1
        logger.info("leading: this process sends reminders, alerts and digests")

    async def _end_term(self, *, final: bool = False) -> None:
        runtime, self.runtime = self.runtime, None
        if runtime is not None:
            await runtime.stop(stop_sender=final)

    async def _lead_forever(self) -> None:
        while True:
            if self.runtime is None:
                if not await self._try_lead():
                    await self._sleep(self._retry_seconds)
                    continue
                try:
                    await self._begin_term()
                except StorageError as exc:
                    # Let another worker (or this one, next time) try with a working database.
                    logger.error("could not start sending: %s", type(exc).__name__)
                    with contextlib.suppress(StorageError):
                        await self._coordination.resign()
                    await self._sleep(self._retry_seconds)
                    continue
            await self._coordination.wait_lost()
            logger.error("no longer leading: stopping reminders, alerts and digests here")
            await self._end_term()

    def _wake_reminders(self) -> None:
        if self.runtime is not None:
            self.runtime.reminders.wake()

    def _wake_alerts(self) -> None:
        if self.runtime is not None:
            self.runtime.alerts.wake()
