"""The background work of a running bot: one scheduler with named jobs, started and stopped
in one place, over the bot's one outbound stream.

The jobs, by name (APScheduler job ids):
- reminders (``deliver-reminders`` and ``sweep-reminders``): a date job at the earliest
  pending reminder, re-armed whenever reminders change, and a sweep every SWEEP_SECONDS
  that takes back interrupted claims and delivers anything missed (bot/reminder_scheduler.py);
- series, digests, backups, applied-updates: every SWEEP_SECONDS, each a callable that
  returns at once until something is due (a series' next task, a person's morning digest, a
  database backup, forgetting week-old Telegram update ids);
- alerts: the alert engine's own loop (AlertEngine in bot/services/alerts.py), started and
  stopped here with the rest. It is not an APScheduler job because a new alert is paged the
  moment it is stored and the loop sleeps exactly until the next alert falls due; an
  interval job would page up to a tick late and drop a wake-up that comes mid-turn.

Shutdown hands back what was claimed but not sent (reminders and alerts), so a restart
sends it at once instead of after the claim's lease.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import UTC
from typing import TYPE_CHECKING

from aiogram import Bot
from aiogram.utils.i18n import I18n
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.clock import Clock
from bot.database_backup import ScheduledBackups
from bot.idempotency import PruneAppliedUpdates
from bot.outage import OutageLog
from bot.reminder_scheduler import SWEEP_SECONDS, ReminderScheduler
from bot.sender import Sender
from bot.services.alerts import AlertEngine
from bot.services.digest import DigestDelivery
from bot.services.reminder_delivery import ReminderDelivery
from bot.services.reminders import ReminderPlanner
from bot.services.series import SeriesService
from bot.settings import Settings
from storage.interfaces import Storage, UserRepo

if TYPE_CHECKING:
    from bot.services.catalog import Services

logger = logging.getLogger(__name__)


def user_blocked(users: UserRepo) -> Callable[[int], Awaitable[None]]:
    """The sender's on_blocked: a user who blocked the bot is marked inactive."""

    async def user_blocked_us(chat_id: int) -> None:
        # Keep their data; stop sending until they write to the bot again.
        await users.set_active(chat_id, False)
        logger.info("user %s blocked the bot: marked inactive", chat_id)

    return user_blocked_us


class Job:
    """A periodic job: ``run`` is called every SWEEP_SECONDS and returns at once when
    nothing is due. A failure is logged and retried on the next run; a storage outage
    once, not every run."""

    def __init__(self, name: str, run: Callable[[], Awaitable[object]]) -> None:
        self.name = name
        self._run = run
        self._outage = OutageLog(logger, what=f"job {name}", retrying=f"every {SWEEP_SECONDS}s")

    async def run_once(self) -> None:
        try:
            await self._run()
        except Exception as exc:
            self._outage.failed(exc, "job %s failed", self.name)
        else:
            self._outage.recovered()


class Runtime:
    def __init__(
        self,
        *,
        bot: Bot,
        storage: Storage,
        planner: ReminderPlanner,
        i18n: I18n,
        clock: Clock,
        settings: Settings,
        series: SeriesService | None = None,
        sender: Sender | None = None,
        alert_engine: AlertEngine | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
        owns_sender: bool = True,
        wake_on_plan: bool = True,
    ) -> None:
        """owns_sender: start and stop the sender with the runtime (else the app runs it:
        replies need it in every worker, leading or not). wake_on_plan: re-arm the reminder
        wake-up on the planner's changes directly (else the app routes them through the
        storage's coordination, so another worker's change wakes this one too)."""
        self._planner = planner
        self._owns_sender = owns_sender
        self._series = series
        # The bot's one outbound stream, built in the composition root (bot/app.py
        # create_sender) so replies share it; started and stopped with the runtime. Tests
        # and benchmarks that drive only the runtime get one of their own.
        self.sender = sender or Sender(
            bot, on_blocked=user_blocked(storage.users), sleep=sleep, monotonic=monotonic
        )
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self.delivery = ReminderDelivery(
            storage.reminders, storage.users, self.sender, i18n, clock, settings,
            teams=storage.teams,
        )
        self.reminders = ReminderScheduler(
            self.delivery, storage.reminders, clock, self.scheduler
        )
        if wake_on_plan:
            planner.on_change(self.reminders.wake)
        self.digests = DigestDelivery(
            users=storage.users, tasks=storage.tasks, clients=storage.clients,
            invoices=storage.invoices, series=storage.series,
            sender=self.sender, i18n=i18n, clock=clock, settings=settings,
        )
        self.jobs = self._periodic_jobs(storage, clock, settings)
        # Alerts share the sender, in its urgent lane, ahead of any reminder burst.
        self.alerts = alert_engine or AlertEngine(
            alerts=storage.alerts, users=storage.users, teams=storage.teams,
            clients=storage.clients, sender=self.sender, i18n=i18n, clock=clock,
            settings=settings,
        )

    @classmethod
    def for_app(
        cls,
        *,
        bot: Bot,
        storage: Storage,
        i18n: I18n,
        clock: Clock,
        settings: Settings,
        services: Services,
        owns_sender: bool = True,
        wake_on_plan: bool = True,
    ) -> Runtime:
        """The running bot's runtime, over the services of its composition root (bot/app.py
        create_services): the same planner, series, outbound stream and alert engine."""
        return cls(
            bot=bot, storage=storage, planner=services.planner, i18n=i18n, clock=clock,
            settings=settings, series=services.series, sender=services.sender,
            alert_engine=services.alert_engine, owns_sender=owns_sender,
            wake_on_plan=wake_on_plan,
        )

    def _periodic_jobs(self, storage: Storage, clock: Clock, settings: Settings) -> list[Job]:
        jobs = []
        if self._series is not None:
            jobs.append(Job("series", self._series.advance_all))
        jobs.append(Job("digests", self.digests.run))
        if settings.backups_scheduled:
            # Returns at once on most runs; backs up when the newest backup is old enough.
            jobs.append(Job("backups", ScheduledBackups.from_settings(settings, clock).run))
        # Applied Telegram updates are remembered for a week (bot/idempotency.py).
        jobs.append(Job("applied-updates", PruneAppliedUpdates(storage.updates, clock).run))
        return jobs

    async def start(self) -> None:
        if self._owns_sender:
            await self.sender.start()
        await self._planner.reconcile()
        if self._series is not None:
            await self._series.advance_all()
        self.scheduler.start()
        await self.reminders.start()
        for job in self.jobs:
            self.scheduler.add_job(
                job.run_once, "interval", seconds=SWEEP_SECONDS, id=job.name,
                coalesce=True, max_instances=1,
            )
        await self.alerts.start()

    async def run_jobs(self) -> None:
        """Every periodic job once, one after another, as the scheduler runs them."""
        for job in self.jobs:
            await job.run_once()

    async def stop(self, *, stop_sender: bool | None = None) -> None:
        """stop_sender (default: owns_sender): drain and stop the outbound stream before the
        unsent claims go back, so what it still sends is not sent again after a restart.
        A leader that only loses its term keeps the stream: replies need it."""
        await self.alerts.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        self.reminders.shutdown()
        self.delivery.stop_claiming()
        if self._owns_sender if stop_sender is None else stop_sender:
            await self.sender.stop()
        # What was claimed but not sent goes back now: a restart sends it at once.
        await self.delivery.release_held_claims()
