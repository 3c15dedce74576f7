"""The reminders job: APScheduler wakes reminder delivery at the next moment the database
says is due.

The database holds every pending reminder; the scheduler holds only one date job (the
earliest pending reminder) plus a periodic sweep, so start-up costs the same with 10 or
100,000 pending reminders. One process runs it at a time (bot/leadership.py); claims are
leases renewed while they wait to be sent, and a runtime that starts (a takeover, a restart)
takes back at once the claims of the runtime before it.

The scheduler is the runtime's (bot/runtime.py), shared with the other named jobs.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.outage import OutageLog
from bot.services.reminder_delivery import ReminderDelivery
from storage.interfaces import ReminderRepo

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 30
WAKE_JOB = "deliver-reminders"
SWEEP_JOB = "sweep-reminders"


class ReminderScheduler:
    def __init__(
        self,
        delivery: ReminderDelivery,
        reminders: ReminderRepo,
        clock: Clock,
        scheduler: AsyncIOScheduler,
    ) -> None:
        self._delivery = delivery
        self._reminders = reminders
        self._clock = clock
        self._scheduler = scheduler
        self._background: set[asyncio.Task[None]] = set()
        # A read-only or full disk: one line when it starts, one when it ends.
        self._outage = OutageLog(logger, what="reminders", retrying=f"every {SWEEP_SECONDS}s")

    async def start(self) -> None:
        """Register the sweep and arm the wake-up; the runtime starts the scheduler."""
        try:
            await self._delivery.release_stale_claims(taking_over=True)
        except Exception as exc:
            # A read-only or full disk must not keep the bot from answering; the sweep retries.
            self._outage.failed(exc, "releasing stale reminder claims failed")
        self._scheduler.add_job(
            self._sweep, "interval", seconds=SWEEP_SECONDS, id=SWEEP_JOB,
            coalesce=True, max_instances=1,
        )
        await self._arm()

    def shutdown(self) -> None:
        """Cancel wake-ups being planned (the runtime shuts the scheduler down)."""
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
            if self._outage.failed(exc, "reminder delivery failed; the sweep will try again"):
                # Re-arming now would wake again at once for the same due reminder.
                return
        else:
            self._outage.recovered()
        try:
            await self._arm()
        except Exception as exc:
            self._outage.failed(exc, "planning the next reminder wake-up failed")

    async def _sweep(self) -> None:
        """Belt and braces: releases interrupted claims and delivers anything missed."""
        try:
            await self._delivery.release_stale_claims()
        except Exception as exc:
            self._outage.failed(exc, "releasing stale reminder claims failed")
        await self._run()
