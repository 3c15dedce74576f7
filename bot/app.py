"""Building the application: Bot, Dispatcher with its routers and middlewares, command menu."""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.session.base import BaseSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import (
    BotCommand,
    MenuButtonCommands,
    MenuButtonWebApp,
    TelegramObject,
    WebAppInfo,
)
from aiogram.utils.i18n import I18n

from bot.chat_isolation import SharedEventIsolation
from bot.clock import Clock
from bot.domain.dates import DateParser
from bot.fsm_storage import DatabaseFSMStorage
from bot.i18n import UserLocaleMiddleware, mark
from bot.idempotency import ApplyOnceMiddleware
from bot.middlewares import AccessMiddleware, CommandEndsPromptMiddleware, UserMiddleware
from bot.outbound import pace
from bot.sender import GLOBAL_RATE, PER_CHAT_INTERVAL, Priority, Sender
from bot.services.alerts import AlertEngine, AlertService
from bot.services.catalog import Services
from bot.services.invoices import InvoiceService
from bot.services.reminders import PlannedTasks, ReminderPlanner
from bot.services.series import SeriesService
from bot.settings import Settings
from bot.shared_budget import SharedBudget
from bot.throttling import ThrottlingMiddleware
from bot.views.board_button import webapp_url
from bot.wakeups import ALERTS, REMINDERS
from handlers import (
    alerts,
    calendar,
    clients,
    common,
    digest,
    errors,
    export,
    fallback,
    invoices,
    lists,
    notes,
    reminders,
    series,
    tasks,
    team,
)
from handlers import settings as settings_handlers
from storage.interfaces import SharedLimits, Storage

logger = logging.getLogger(__name__)


def create_bot(settings: Settings, session: BaseSession | None = None) -> Bot:
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    if session is None:
        # Sending calls get their pacing and retries once create_sender routes them.
        session = AiohttpSession(timeout=settings.telegram_timeout)
        if settings.telegram_api_url:
            session.api = TelegramAPIServer.from_base(settings.telegram_api_url)
    return Bot(token, session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML))


def create_sender(
    bot: Bot,
    settings: Settings,
    *,
    on_blocked: Callable[[int], Awaitable[None]] | None = None,
    unpaced: bool = False,
    shared_limits: SharedLimits | None = None,
) -> Sender:
    """The one outbound stream of this bot: every sending call of ``bot`` (handlers' replies
    included) goes through the returned Sender, which the reminder runtime shares.
    ``unpaced``: no rate limits (the local shell, one person at a keyboard).
    ``shared_limits``: the pace is the database's, one for every worker on it."""
    global_rate = math.inf if unpaced else GLOBAL_RATE
    per_chat_interval = 0.0 if unpaced else PER_CHAT_INTERVAL
    budget = None
    if shared_limits is not None and not unpaced:
        budget = SharedBudget(
            shared_limits, global_rate=global_rate, per_chat_interval=per_chat_interval
        )
    sender = Sender(
        bot,
        global_rate=global_rate,
        per_chat_interval=per_chat_interval,
        budget=budget,
        on_blocked=on_blocked,
        deadlines={Priority.INTERACTIVE: float(settings.reply_deadline_seconds)},
    )
    pace(bot, sender)
    return sender


class InFlightUpdates(BaseMiddleware):
    """Counts updates being handled so shutdown can let them finish before closing storage."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        self._count += 1
        self._idle.clear()
        try:
            return await handler(event, data)
        finally:
            self._count -= 1
            if self._count == 0:
                self._idle.set()

    async def wait_idle(self, seconds: float) -> bool:
        try:
            await asyncio.wait_for(self._idle.wait(), seconds)
        except TimeoutError:
            return False
        return True


def create_services(
    *,
    settings: Settings,
    storage: Storage,
    clock: Clock,
    i18n: I18n,
    sender: Sender | None = None,
    wake: Callable[[str], None] | None = None,
) -> Services:
    """The composition root of the services. ``sender``: the bot's outbound stream
    (create_sender); with it the alert service gets its engine, which pages through it.
    ``wake``: how a change the sending runtime must act on is announced ("reminders",
    "alerts"; bot/leadership.py Notifier), so the leading process hears of it whichever
    process made it."""
    planner = ReminderPlanner(
        storage.reminders, clock, settings.invoice_ladder_days, storage.users,
        default_tz=settings.timezone,
    )
    if wake is not None:
        planner.on_change(lambda: wake(REMINDERS))
    planned_tasks = PlannedTasks(storage.tasks, planner, storage.backend.atomic)
    series = SeriesService(storage.series, planned_tasks, clock)
    planned_tasks.after_close.append(series.after_task_closed)
    invoices = InvoiceService(storage.invoices, planned_tasks, clock)
    planned_tasks.after_close.append(invoices.after_task_closed)
    planned_tasks.after_reopen.append(invoices.after_task_reopened)
    engine = None
    if sender is not None:
        # Alerts share the sender, in its urgent lane, ahead of any reminder burst.
        engine = AlertEngine(
            alerts=storage.alerts, users=storage.users, teams=storage.teams,
            clients=storage.clients, sender=sender, i18n=i18n, clock=clock,
            settings=settings,
        )
    alerts = AlertService(
        alerts=storage.alerts, teams=storage.teams, users=storage.users,
        clients=storage.clients, engine=engine, clock=clock, settings=settings,
        wake_engine=(lambda: wake(ALERTS)) if wake is not None else None,
    )
    return Services(
        planner=planner, tasks=planned_tasks, series=series, invoices=invoices,
        alerts=alerts, sender=sender, alert_engine=engine,
    )


def create_dispatcher(
    *,
    settings: Settings,
    storage: Storage,
    clock: Clock,
    dates: DateParser,
    i18n: I18n,
    fsm_storage: BaseStorage | None = None,
    services: Services | None = None,
) -> Dispatcher:
    """The Dispatcher with its routers and middlewares; ``services`` from create_services
    (built here without a sender when not given: handler tests)."""
    in_flight = InFlightUpdates()
    services = services or create_services(
        settings=settings, storage=storage, clock=clock, i18n=i18n
    )
    dispatcher = Dispatcher(
        storage=fsm_storage or DatabaseFSMStorage(storage.dialogs, clock),
        # One update at a time per chat: two quick taps must not race through a dialog (with
        # several workers, in the database: two taps may reach two workers).
        events_isolation=(
            SimpleEventIsolation()
            if storage.shared_limits is None
            else SharedEventIsolation(storage.shared_limits)
        ),
        settings=settings,
        # Handlers name what they use: every repository (repos.clients, repos.notes...) and
        # every service (services.tasks, services.invoices...), built once above.
        repos=storage,
        services=services,
        clock=clock,
        dates=dates,
        i18n=i18n,
        in_flight=in_flight,
    )
    dispatcher.update.outer_middleware(in_flight)
    # A redelivered update (lost webhook answer, crash after the commit) is skipped.
    dispatcher.update.outer_middleware(ApplyOnceMiddleware(storage.updates, clock))
    dispatcher.update.outer_middleware(AccessMiddleware(settings, i18n))
    dispatcher.update.outer_middleware(UserMiddleware(storage.users, settings, clock))
    dispatcher.update.outer_middleware(
        ThrottlingMiddleware(settings, i18n, shared=storage.shared_limits)
    )
    dispatcher.update.outer_middleware(UserLocaleMiddleware(i18n))
    dispatcher.message.outer_middleware(CommandEndsPromptMiddleware())
    dispatcher.include_routers(
        errors.create_router(),
        # Before common: /start join-<code> is an invite, not a greeting.
        team.create_router(),
        common.create_router(),
        clients.create_router(),
        tasks.create_router(),
        lists.create_router(),
        reminders.create_router(),
        series.create_router(),
        digest.create_router(),
        invoices.create_router(),
        settings_handlers.create_router(),
        export.create_router(),
        calendar.create_router(),
        alerts.create_router(),
        # Last but the fallback: plain text that no dialog is waiting for becomes a note.
        notes.create_router(),
        fallback.create_router(),
    )
    return dispatcher


_MENU = (
    ("today", mark("What is due today")),
    ("task", mark("Add a task")),
    ("overdue", mark("Overdue tasks")),
    ("week", mark("The next 7 days")),
    ("clients", mark("All clients")),
    ("client", mark("A client card")),
    ("newclient", mark("Add a client")),
    ("nodate", mark("Tasks without a time")),
    ("recurring", mark("Recurring tasks")),
    ("done", mark("Complete a task by its number")),
    ("undo", mark("Reopen the last completed task")),
    ("invoices", mark("Unpaid invoices")),
    ("currency", mark("Your currency for invoices")),
    ("digest", mark("The daily digest")),
    ("hours", mark("Working hours for reminders")),
    ("settings", mark("Settings")),
    ("notes", mark("Latest notes")),
    ("find", mark("Search clients, tasks and notes")),
    ("export", mark("Your data as files")),
    ("calendar", mark("Your tasks in your calendar app")),
    ("import", mark("Import clients from a CSV file")),
    ("forget_me", mark("Delete all your data")),
    ("urgent", mark("Raise an urgent alert")),
    ("alerts", mark("Open and recent alerts")),
    ("team", mark("Your team")),
    ("tz", mark("Your timezone")),
    ("lang", mark("Language")),
    ("help", mark("Help")),
)


def command_menu(i18n: I18n, locale: str) -> list[BotCommand]:
    return [
        BotCommand(command=command, description=i18n.gettext(description, locale=locale))
        for command, description in _MENU
    ]


async def register_commands(bot: Bot, i18n: I18n) -> None:
    """The command menu in English (default) and Russian."""
    await bot.set_my_commands(command_menu(i18n, "en"))
    await bot.set_my_commands(command_menu(i18n, "ru"), language_code="ru")


async def register_menu_button(bot: Bot, i18n: I18n, settings: Settings) -> None:
    """The chat's menu button opens the Mini App board, when the bot has a public https
    origin to serve it from; otherwise Telegram's default (the command list)."""
    origin = settings.public_origin
    if origin is None or not origin.startswith("https://"):
        await bot.set_chat_menu_button(menu_button=MenuButtonCommands())
        return
    # One label for every chat (Telegram's default button has no per-language variant).
    label = i18n.gettext("Board", locale=settings.default_language)
    await bot.set_chat_menu_button(
        menu_button=MenuButtonWebApp(text=label, web_app=WebAppInfo(url=webapp_url(origin)))
    )
