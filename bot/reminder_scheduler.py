"""APScheduler wakes reminder delivery at the next moment the database says is due.

The database holds every pending reminder; the scheduler holds only one date job (the
earliest pending reminder) plus a periodic sweep, so start-up costs the same with 10 or
100,000 pending reminders. A second worker process could run the same loop: the database
hands each reminder to one claimer, and claims are leases renewed while they wait to be
sent, so another worker's sweep does not take them back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.services.reminder_delivery import ReminderDelivery
from storage.faults import StorageFault, describe, storage_fault
from storage.interfaces import ReminderRepo

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 30
WAKE_JOB = "deliver-reminders"


class ReminderScheduler:
    def __init__(
        self,
        delivery: ReminderDelivery,
        reminders: ReminderRepo,
        clock: Clock,
        periodic: Sequence[Callable[[], Awaitable[object]]] = (),
    ) -> None:
        self._delivery = delivery
        # Jobs for each sweep besides delivery (recurring series create their next task).
        self._periodic = tuple(periodic)
        self._reminders = reminders
        self._clock = clock
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._background: set[asyncio.Task[None]] = set()
        # The storage fault being waited out (disk full, read-only): logged once, not per sweep.
        self._fault: StorageFault | None = None

    def _failed(self, exc: Exception, message: str, *args: object) -> bool:
        """Log a failed step; a storage fault once per outage, in one line. True if a fault."""
        fault = storage_fault(exc)
        if fault is None:
            logger.exception(message, *args)
            return False
        if fault is self._fault:
            logger.debug("%s: storage still unavailable (%s)", message % args, fault)
        else:
            self._fault = fault
            logger.error(
                "%s: storage unavailable (%s): %s; retrying every %ss",
                message % args, fault, describe(exc), SWEEP_SECONDS,
            )
        return True

    def _recovered(self) -> None:
        if self._fault is not None:
            logger.warning("storage accepts writes again (was %s): reminders resume", self._fault)
            self._fault = None

    async def start(self) -> None:
        try:
            await self._delivery.release_stale_claims()
        except Exception as exc:
            # A read-only or full disk must not keep the bot from answering; the sweep retries.
            self._failed(exc, "releasing stale reminder claims failed")
        self._scheduler.add_job(
            self._sweep, "interval", seconds=SWEEP_SECONDS, id="sweep",
            coalesce=True, max_instances=1,
        )
        self._scheduler.start()
        await self._arm()

    def shutdown(self) -> None:
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for task in self._background:
            task.cancel()

    def wake(self) -> None:
        """Reminders changed: re-arm the wake-up (called from handlers, never blocks them)."""
        if not self._scheduler.running:
            return
        task = asyncio.get_running_loop().create_task(self._arm())
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _arm(self) -> None:
        if self._delivery.busy:
            # The running delivery re-arms when it finishes (`_run`); a wake-up due meanwhile
            # would only be skipped by APScheduler (one instance), with a warning each time.
            return
        moment = await self._reminders.next_fire_at()
        if moment is None:
            job = self._scheduler.get_job(WAKE_JOB)
            if job is not None:
                job.remove()
            return
        # Never in the past: APScheduler would treat it as a misfire.
        run_at = max(moment, self._clock.now() + timedelta(milliseconds=10))
        self._scheduler.add_job(
            self._run, "date", run_date=run_at, id=WAKE_JOB, replace_existing=True,
            misfire_grace_time=None, coalesce=True,
        )

    async def _run(self) -> None:
        if self._delivery.busy:
            # The running delivery claims what is due and re-arms when it finishes;
            # waiting on it here would only pile up sweeps.
            return
        try:
            await self._delivery.deliver_due()
        except Exception as exc:
            if self._failed(exc, "reminder delivery failed; the sweep will try again"):
                # Re-arming now would wake again at once for the same due reminder.
                return
        else:
            self._recovered()
        try:
            await self._arm()
        except Exception as exc:
            self._failed(exc, "planning the next reminder wake-up failed")

    async def _sweep(self) -> None:
        """Belt and braces: releases interrupted claims and delivers anything missed."""
        try:
            await self._delivery.release_stale_claims()
        except Exception as exc:
            self._failed(exc, "releasing stale reminder claims failed")
        for job in self._periodic:
            try:
                await job()
            except Exception as exc:
                self._failed(exc, "periodic job %s failed", getattr(job, "__name__", job))
        await self._run()


