"""The daily digest: today's tasks, what is overdue, clients not heard from; sent at the
user's chosen time on working days, and on demand with /digest."""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ListPage
from bot.clock import Clock
from bot.domain.money import format_money
from bot.domain.recurrence import next_occurrence
from bot.domain.timezones import user_zone
from bot.i18n import pick_language
from bot.sender import Outcome, Priority, Sender
from bot.settings import Settings
from bot.views.agenda import day_bounds, today_page
from bot.views.keyboards import list_keyboard
from bot.views.render import format_duration, shorten
from storage.interfaces import ClientRepo, InvoiceRepo, SeriesRepo, TaskRepo, UserRepo
from storage.models import ClientStatus, Series, StaleClient, UserProfile, WorkingHours

logger = logging.getLogger(__name__)

STALE_ACTIVE = timedelta(days=30)
STALE_FORMER = timedelta(days=90)
STALE_SHOWN = 5
# A client's name in the digest's one-line lists: a full page of today's tasks with the
# longest names plus these lists must still fit one message (4,096 characters).
LIST_NAME_CHARS = 40
# A morning digest that could not go out by then is noise later in the day: skip it.
TOO_LATE = timedelta(hours=3)
BATCH = 200


def cadence_periods(items: list[Series], now: datetime) -> dict[int, timedelta]:
    """For clients with a cadence ("every Monday"), the time between two of its occurrences."""
    periods: dict[int, timedelta] = {}
    for item in items:
        if item.client_id is None or item.source != "cadence":
            continue
        tz = ZoneInfo(item.timezone)
        first = next_occurrence(item.rule, tz, now)
        second = next_occurrence(item.rule, tz, first) if first else None
        if first is not None and second is not None:
            periods[item.client_id] = second - first
    return periods


async def stale_clients(
    owner_id: int, now: datetime, clients: ClientRepo, series: SeriesRepo | None
) -> list[StaleClient]:
    """Clients silent for longer than their cadence (a day's grace), else than 30 days
    (90 for former clients)."""
    periods = cadence_periods(await series.list_live(owner_id), now) if series else {}
    shortest = min([STALE_ACTIVE, *periods.values()])
    stale = []
    for item in await clients.last_contacts(owner_id, now - shortest):
        default = STALE_FORMER if item.client.status is ClientStatus.FORMER else STALE_ACTIVE
        limit = periods[item.client.id] + timedelta(days=1) if item.client.id in periods else (
            default
        )
        if now - item.last_contact > limit:
            stale.append(item)
    return stale[:STALE_SHOWN]


def next_digest_at(now: datetime, tz: ZoneInfo, minute: int, hours: WorkingHours) -> datetime:
    """The next digest moment strictly after now: the chosen local time on a working day."""
    days = set(hours.days) or set(range(7))
    local_now = now.astimezone(tz)
    at = time(minute // 60, minute % 60)
    day = local_now.date()
    for _step in range(9):
        candidate = datetime.combine(day, at, tzinfo=tz)
        if day.weekday() in days and candidate > local_now:
            return candidate.astimezone(now.tzinfo)
        day += timedelta(days=1)
    return (local_now + timedelta(days=1)).astimezone(now.tzinfo)


async def build_digest(
    *,
    owner_id: int,
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    tasks: TaskRepo,
    clients: ClientRepo,
    morning: bool,
    invoices: InvoiceRepo | None = None,
    series: SeriesRepo | None = None,
) -> tuple[str, InlineKeyboardMarkup | None]:
    agenda = await today_page(tasks, owner_id, tz, locale, now, 0)
    greeting = _("☀️ Good morning!") if morning else _("📋 Your digest")
    lines = [html.bold(greeting), agenda.text]
    stale = await stale_clients(owner_id, now, clients, series)
    if stale:
        names = ", ".join(
            _("{name} ({duration})").format(
                name=html.quote(shorten(item.client.name, LIST_NAME_CHARS)),
                duration=format_duration(now - item.last_contact, locale),
            )
            for item in stale
        )
        lines += ["", "🕰 " + _("Haven't talked to: {names}").format(names=names)]
    if invoices is not None:
        _start, end_of_today = day_bounds(now, tz)
        owed = [item for item in await invoices.unpaid(owner_id) if
                (item.promised_at or item.due_at) < end_of_today]
        if owed:
            listed = ", ".join(
                _("{amount} ({client})").format(
                    amount=format_money(item.amount_minor - item.paid_minor, item.currency,
                                        locale),
                    client=html.quote(shorten(item.client_name, LIST_NAME_CHARS)),
                )
                for item in owed[:STALE_SHOWN]
            )
            lines += ["", "💰 " + _("Invoices to collect: {count} — {list} · /invoices").format(
                count=len(owed), list=listed
            )]
    markup = list_keyboard("today", agenda.page, agenda.pages, agenda.tasks)
    overdue = InlineKeyboardButton(
        text=_("⚠️ Overdue"), callback_data=ListPage(view="overdue", page=0).pack()
    )
    rows = [*(markup.inline_keyboard if markup else []), [overdue]]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


class DigestDelivery:
    def __init__(
        self,
        *,
        users: UserRepo,
        tasks: TaskRepo,
        clients: ClientRepo,
        invoices: InvoiceRepo,
        series: SeriesRepo,
        sender: Sender,
        i18n: I18n,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._users = users
        self._tasks = tasks
        self._clients = clients
        self._invoices = invoices
        self._series = series
        self._sender = sender
        self._i18n = i18n
        self._clock = clock
        self._settings = settings

    def _zone(self, user: UserProfile) -> ZoneInfo:
        return user_zone(user.timezone, self._settings.timezone)

    def _next(self, user: UserProfile, now: datetime) -> datetime:
        return next_digest_at(now, self._zone(user), user.digest_minute, user.hours)

    async def run(self) -> int:
        """Plan digests not planned yet, and send the ones due; returns how many were sent."""
        now = self._clock.now()
        while unplanned := await self._users.digest_unplanned(BATCH):
            for user in unplanned:
                await self._users.plan_digest(user.id, None, self._next(user, now))
            if len(unplanned) < BATCH:
                break
        sent = 0
        for user, due_at in await self._users.digest_due(now, BATCH):
            # Moving the next moment forward is the claim: one worker, one digest.
            if not await self._users.plan_digest(user.id, due_at, self._next(user, now)):
                continue
            if now - due_at > TOO_LATE:
                logger.info("skipped a digest for user %s: %s late", user.id, now - due_at)
                continue
            sent += await self._send(user, now)
        return sent

    async def _send(self, user: UserProfile, now: datetime) -> int:
        locale = pick_language(
            user.language, user.telegram_language, self._settings.default_language
        )
        with self._i18n.context(), self._i18n.use_locale(locale):
            text, markup = await build_digest(
                owner_id=user.id, tz=self._zone(user), locale=locale, now=now,
                tasks=self._tasks, clients=self._clients, morning=True,
                invoices=self._invoices, series=self._series,
            )
        delivery = await self._sender.send(
            user.id, text, reply_markup=markup, priority=Priority.BULK
        )
        return int(delivery.outcome is Outcome.SENT)
