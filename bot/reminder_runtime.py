"""The reminder machinery of a running bot: sender, delivery, scheduler, started together."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from aiogram import Bot
from aiogram.utils.i18n import I18n

from bot.backup import ScheduledBackups
from bot.clock import Clock
from bot.idempotency import PruneAppliedUpdates
from bot.reminder_scheduler import ReminderScheduler
from bot.sender import Sender
from bot.services.alerts import AlertEngine, AlertService
from bot.services.digest import DigestDelivery
from bot.services.reminder_delivery import ReminderDelivery
from bot.services.reminders import ReminderPlanner
from bot.services.series import SeriesService
from bot.settings import Settings
from storage.interfaces import Storage, UserRepo

logger = logging.getLogger(__name__)


def user_blocked(users: UserRepo) -> Callable[[int], Awaitable[None]]:
    """The sender's on_blocked: a user who blocked the bot is marked inactive."""

    async def user_blocked_us(chat_id: int) -> None:
        # Keep their data; stop sending until they write to the bot again.
        await users.set_active(chat_id, False)
        logger.info("user %s blocked the bot: marked inactive", chat_id)

    return user_blocked_us


class ReminderRuntime:
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
        alert_service: AlertService | None = None,
        sender: Sender | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._planner = planner
        # The bot's one outbound stream, built in the composition root (bot/app.py
        # create_sender) so replies share it; started and stopped with the runtime. Tests
        # and benchmarks that drive only the runtime get one of their own.
        self.sender = sender or Sender(
            bot, on_blocked=user_blocked(storage.users), sleep=sleep, monotonic=monotonic
        )
        self.delivery = ReminderDelivery(
            storage.reminders, storage.users, self.sender, i18n, clock, settings,
            teams=storage.teams,
        )
        self._series = series
        self.digests = DigestDelivery(
            users=storage.users, tasks=storage.tasks, clients=storage.clients,
            invoices=storage.invoices, series=storage.series,
            sender=self.sender, i18n=i18n, clock=clock, settings=settings,
        )
        periodic: list[Callable[[], Awaitable[object]]] = [self.digests.run]
        if series is not None:
            periodic.insert(0, series.advance_all)
        if settings.backup_every_hours:
            # Returns at once on most sweeps; backs up when the newest backup is old enough.
            periodic.append(ScheduledBackups.from_settings(settings, clock).run)
        # Applied Telegram updates are remembered for a week (bot/idempotency.py).
        periodic.append(PruneAppliedUpdates(storage.updates, clock).run)
        self.scheduler = ReminderScheduler(
            self.delivery, storage.reminders, clock, periodic=periodic
        )
        planner.on_change(self.scheduler.wake)
        # Alerts share the sender, in its urgent lane, ahead of any reminder burst.
        self.alerts = AlertEngine(
            alerts=storage.alerts, users=storage.users, teams=storage.teams,
            clients=storage.clients, sender=self.sender, i18n=i18n, clock=clock,
            settings=settings,
        )
        if alert_service is not None:
            alert_service.engine = self.alerts

    async def start(self) -> None:
        await self.sender.start()
        await self._planner.reconcile()
        if self._series is not None:
            await self._series.advance_all()
        await self.scheduler.start()
        await self.alerts.start()

    async def stop(self) -> None:
        await self.alerts.stop()
        self.scheduler.shutdown()
        self.delivery.stop_claiming()
        await self.sender.stop()
        # What was claimed but not sent goes back now: a restart sends it at once.
        await self.delivery.release_held_claims()
