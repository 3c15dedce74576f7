"""The feed's calendar (RFC 5545), as Google Calendar, Apple Calendar and Outlook read it.

What it holds:
- each open task with a time, overdue ones included: a 30-minute event at its moment;
- each active series: ONE event with the series' own rule as an RRULE, in the series' zone
  (TZID + VTIMEZONE), so 10:00 stays 10:00 across a daylight-saving change. The series'
  open occurrence (the task the bot made for it) is not repeated as an event of its own
  when it sits where the rule puts it; moved by hand, it is a task event beside the rule;
- each unpaid invoice: an ALL-DAY event on its due date in the user's zone ("Invoice #12
  due: Acme"), marked free (it takes no time); its payment task, which has a time, is a task
  event like any other.

UIDs are stable (`task-<id>@<host>`, `series-<id>@<host>`, `invoice-<id>@<host>`), so an
edit in the bot moves the calendar's event instead of adding another. Times are in the
user's zone with its VTIMEZONE. Nothing in the body depends on the time of the request: the
same data gives the same bytes, so its hash is an honest ETag, and DTSTAMP is the moment the
content last changed (its Last-Modified).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from dateutil.rrule import rrule, rrulestr
from icalendar import Calendar, Event, vRecur

from bot.domain.money import format_money
from bot.domain.recurrence import is_occurrence
from bot.domain.timezones import user_zone
from bot.i18n import pick_language
from bot.settings import Settings
from bot.views.render import kind_label
from storage.interfaces import Storage
from storage.models import Invoice, Series, SeriesStatus, Task, TaskKind, UserProfile

logger = logging.getLogger(__name__)

EVENT_LENGTH = timedelta(minutes=30)
# How often a subscriber is asked to look again (Google keeps its own schedule, hours).
REFRESH = timedelta(hours=1)
# Unpaid invoices in the feed at most (the list in chat shows 500).
INVOICE_LIMIT = 10_000
# DTSTAMP while the body is hashed; replaced by the moment the content became this.
_STAMP_PLACEHOLDER = datetime(1970, 1, 1, tzinfo=UTC)
_PLACEHOLDER_LINE = b"\r\nDTSTAMP:19700101T000000Z\r\n"


@dataclass(frozen=True, slots=True)
class FeedContent:
    """What goes into one user's feed."""

    tasks: Sequence[Task]
    series: Sequence[Series]
    invoices: Sequence[Invoice]
    tz: ZoneInfo
    locale: str
    host: str


@dataclass(frozen=True, slots=True)
class Feed:
    """A serialised calendar with its DTSTAMPs left open, and its version (a hash of the
    bytes): the same data always gives the same version."""

    body: bytes
    version: str
    events: int

    def render(self, stamp: datetime) -> bytes:
        line = f"\r\nDTSTAMP:{stamp.astimezone(UTC):%Y%m%dT%H%M%SZ}\r\n".encode()
        return self.body.replace(_PLACEHOLDER_LINE, line)


def build_feed(content: FeedContent, i18n: I18n) -> Feed:
    """The calendar in the user's language (CPU only: may run on a worker thread)."""
    with i18n.context(), i18n.use_locale(content.locale):
        calendar, events = build_calendar(content)
    body: bytes = calendar.to_ical()
    return Feed(body, hashlib.sha256(body).hexdigest()[:40], events)


def build_calendar(content: FeedContent) -> tuple[Calendar, int]:
    """The calendar and how many events it has; texts through the active i18n locale."""
    calendar = Calendar()
    calendar.add("prodid", "-//am-assistant//calendar feed//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", _("Assistant: tasks and invoices"))
    calendar.add("x-wr-timezone", content.tz.key)
    calendar.add("refresh-interval", REFRESH, parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", "PT1H")
    events = 0
    rules = _active_rules(content.series)
    for task in content.tasks:
        if task.due_at is None or _on_its_rule(task, rules):
            continue
        calendar.add_component(_task_event(task, content))
        events += 1
    for series, tz in rules.values():
        event = _series_event(series, tz, content.host)
        if event is not None:
            calendar.add_component(event)
            events += 1
    for invoice in content.invoices:
        calendar.add_component(_invoice_event(invoice, content))
        events += 1
    calendar.add_missing_timezones()
    return calendar, events


def summary(text: str, client_name: str | None) -> str:
    return f"{client_name}: {text}" if client_name else text


def _stamped(event: Event, uid: str) -> Event:
    event.add("uid", uid)
    event.add("dtstamp", _STAMP_PLACEHOLDER)
    return event


def _task_event(task: Task, content: FeedContent) -> Event:
    assert task.due_at is not None
    event = _stamped(Event(), f"task-{task.id}@{content.host}")
    event.add("dtstart", task.due_at.astimezone(content.tz))
    # Added in UTC, then shown on the user's clock: 30 real minutes even across a change.
    event.add("dtend", (task.due_at.astimezone(UTC) + EVENT_LENGTH).astimezone(content.tz))
    event.add("summary", summary(task.text, task.client_name))
    event.add("description", f"#{task.number} · {kind_label(task.kind)}")
    event.add("categories", [kind_label(task.kind)])
    return event


def _active_rules(series: Sequence[Series]) -> dict[int, tuple[Series, ZoneInfo]]:
    """Active series whose rule and zone this code can read (a paused one makes no tasks:
    it has no events ahead; its open occurrence, if any, stays a task event)."""
    found: dict[int, tuple[Series, ZoneInfo]] = {}
    for one in series:
        if one.status is not SeriesStatus.ACTIVE:
            continue
        try:
            tz = ZoneInfo(one.timezone)
            rrulestr(one.rule)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            logger.warning("calendar feed: series %s has a rule or zone it cannot read", one.id)
            continue
        found[one.id] = (one, tz)
    return found


def _on_its_rule(task: Task, rules: dict[int, tuple[Series, ZoneInfo]]) -> bool:
    """The task is its series' occurrence where the rule puts it (the RRULE shows it)."""
    if task.series_id is None or task.series_id not in rules or task.due_at is None:
        return False
    series, tz = rules[task.series_id]
    return is_occurrence(series.rule, task.due_at.astimezone(tz).replace(tzinfo=None))


def _series_event(series: Series, tz: ZoneInfo, host: str) -> Event | None:
    rule = rrulestr(series.rule)
    first = next(iter(rule), None) if isinstance(rule, rrule) else None
    recurrences = [
        line.partition(":")[2] for line in series.rule.splitlines() if line.startswith("RRULE:")
    ]
    if first is None or not recurrences:
        return None
    # DTSTART is the first occurrence (RFC 5545: a DTSTART off the rule is one more), on the
    # series' clock; each later one is placed on that clock too by the subscriber.
    start = first.replace(tzinfo=tz)
    event = _stamped(Event(), f"series-{series.id}@{host}")
    event.add("dtstart", start)
    event.add("dtend", (start.astimezone(UTC) + EVENT_LENGTH).astimezone(tz))
    for text in recurrences:
        event.add("rrule", _recurrence(text, tz))
    event.add("summary", summary(series.text, series.client_name))
    event.add("description", _("Recurring · {kind}").format(kind=kind_label(series.kind)))
    event.add("categories", [kind_label(series.kind)])
    return event


def _recurrence(text: str, tz: ZoneInfo) -> vRecur:
    """The rule's RRULE; an UNTIL written on the series' clock becomes UTC (RFC 5545 wants
    UTC with a zoned DTSTART)."""
    recurrence: vRecur = vRecur.from_ical(text)
    until = recurrence.get("UNTIL")
    if until:
        moments = until if isinstance(until, list) else [until]
        recurrence["UNTIL"] = [
            moment.replace(tzinfo=tz).astimezone(UTC)
            if isinstance(moment, datetime) and moment.tzinfo is None
            else moment
            for moment in moments
        ]
    return recurrence


def _invoice_event(invoice: Invoice, content: FeedContent) -> Event:
    day: date = invoice.due_at.astimezone(content.tz).date()
    event = _stamped(Event(), f"invoice-{invoice.id}@{content.host}")
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("transp", "TRANSPARENT")
    event.add(
        "summary",
        _("Invoice #{number} due: {client}").format(
            number=invoice.number, client=invoice.client_name
        ),
    )
    owed = format_money(invoice.amount_minor - invoice.paid_minor, invoice.currency,
                        content.locale)
    lines = [_("Owed: {amount}").format(amount=owed)]
    if invoice.promised_at is not None:
        promised = invoice.promised_at.astimezone(content.tz).date().isoformat()
        lines.append(_("Promised for {day}").format(day=promised))
    if invoice.note:
        lines.append(invoice.note)
    event.add("description", "\n".join(lines))
    event.add("categories", [kind_label(TaskKind.INVOICE)])
    return event


async def load_content(storage: Storage, profile: UserProfile, settings: Settings) -> FeedContent:
    """The user's feed data from storage, in three queries."""
    return FeedContent(
        tasks=await storage.tasks.open_dated(profile.id),
        series=await storage.series.list_live(profile.id),
        invoices=await storage.invoices.unpaid(profile.id, limit=INVOICE_LIMIT),
        tz=user_zone(profile.timezone, settings.timezone),
        locale=pick_language(
            profile.language, profile.telegram_language, settings.default_language
        ),
        host=feed_host(settings),
    )


def feed_host(settings: Settings) -> str:
    """The right-hand side of UIDs: the bot's public host, else a fixed name."""
    origin = settings.public_origin
    host = urlsplit(origin).hostname if origin else None
    return host or "am-assistant"
