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
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from dateutil.rrule import rrule, rrulestr

from bot.calendar_feed.writer import day, fold, is_utc, moment, text, vtimezone
from bot.domain.money import format_money
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
_PLACEHOLDER = "DTSTAMP:19700101T000000Z"
_PLACEHOLDER_LINE = f"\r\n{_PLACEHOLDER}\r\n".encode()
# An UNTIL without a zone in a stored rule: the series' wall clock.
_LOCAL_UNTIL = re.compile(r"UNTIL=([0-9]{8}T[0-9]{6})(?![0-9Z])")


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
        lines, events = calendar_lines(content)
    body = ("\r\n".join(lines) + "\r\n").encode()
    return Feed(body, hashlib.sha256(body).hexdigest()[:40], events)


def calendar_lines(content: FeedContent) -> tuple[list[str], int]:
    """The calendar's content lines (folded) and how many events it has; texts through the
    active i18n locale."""
    head = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//am-assistant//calendar feed//EN",
        "CALSCALE:GREGORIAN",
        "METHOD:PUBLISH",
        fold("X-WR-CALNAME:" + text(_("Assistant: tasks and invoices"))),
        f"X-WR-TIMEZONE:{content.tz.key}",
        "REFRESH-INTERVAL;VALUE=DURATION:PT1H",
        "X-PUBLISHED-TTL:PT1H",
    ]
    body: list[str] = []
    zones: set[str] = set()
    events = 0
    rules = _active_rules(content.series)
    kinds = {kind: kind_label(kind) for kind in TaskKind}
    for task in content.tasks:
        if task.due_at is None or _on_its_rule(task, rules):
            continue
        _task_event(body, task, content, kinds)
        events += 1
    if events:
        zones.add(content.tz.key)
    for rule in rules.values():
        if _series_event(body, rule, content.host, kinds):
            zones.add(rule.tz.key)
            events += 1
    for invoice in content.invoices:
        _invoice_event(body, invoice, content, kinds)
        events += 1
    timezones = [vtimezone(key) for key in sorted(zones) if not is_utc(ZoneInfo(key))]
    return [*head, *timezones, *body, "END:VCALENDAR"], events


def summary(title: str, client_name: str | None) -> str:
    return f"{client_name}: {title}" if client_name else title


def _begin(lines: list[str], uid: str) -> None:
    lines.append("BEGIN:VEVENT")
    lines.append(fold(f"UID:{text(uid)}"))
    lines.append(_PLACEHOLDER)


def _task_event(
    lines: list[str], task: Task, content: FeedContent, kinds: dict[TaskKind, str]
) -> None:
    assert task.due_at is not None
    kind = text(kinds[task.kind])
    _begin(lines, f"task-{task.id}@{content.host}")
    lines.append(moment("DTSTART", task.due_at, content.tz))
    # 30 real minutes, shown on the user's clock (even across a change of the clocks).
    lines.append(moment("DTEND", task.due_at.astimezone(UTC) + EVENT_LENGTH, content.tz))
    lines.append(fold("SUMMARY:" + text(summary(task.text, task.client_name))))
    lines.append(fold(f"DESCRIPTION:#{task.number} · {kind}"))
    lines.append(fold(f"CATEGORIES:{kind}"))
    lines.append("END:VEVENT")


@dataclass(frozen=True, slots=True)
class _Rule:
    series: Series
    tz: ZoneInfo
    parsed: rrule


def _active_rules(series: Sequence[Series]) -> dict[int, _Rule]:
    """Active series whose rule and zone this code can read (a paused one makes no tasks:
    it has no events ahead; its open occurrence, if any, stays a task event)."""
    found: dict[int, _Rule] = {}
    for one in series:
        if one.status is not SeriesStatus.ACTIVE:
            continue
        try:
            tz = ZoneInfo(one.timezone)
            parsed = rrulestr(one.rule)
        except (ZoneInfoNotFoundError, ValueError, TypeError):
            logger.warning("calendar feed: series %s has a rule or zone it cannot read", one.id)
            continue
        if isinstance(parsed, rrule):
            found[one.id] = _Rule(one, tz, parsed)
    return found


def _on_its_rule(task: Task, rules: dict[int, _Rule]) -> bool:
    """The task is its series' occurrence where the rule puts it (the RRULE shows it): as
    bot.domain.recurrence.is_occurrence, with the rule parsed once."""
    if task.series_id is None or task.series_id not in rules or task.due_at is None:
        return False
    rule = rules[task.series_id]
    wall = task.due_at.astimezone(rule.tz).replace(tzinfo=None)
    found: datetime | None = rule.parsed.after(wall - timedelta(seconds=1), inc=False)
    return found == wall


def _series_event(
    lines: list[str], rule: _Rule, host: str, kinds: dict[TaskKind, str]
) -> bool:
    series, tz = rule.series, rule.tz
    first = next(iter(rule.parsed), None)
    recurrences = [
        line.partition(":")[2] for line in series.rule.splitlines() if line.startswith("RRULE:")
    ]
    if first is None or not recurrences:
        return False
    # DTSTART is the first occurrence (RFC 5545: a DTSTART off the rule is one more), on the
    # series' clock; the subscriber places each later one on that clock too.
    start = first.replace(tzinfo=tz)
    kind = kinds[series.kind]
    _begin(lines, f"series-{series.id}@{host}")
    lines.append(moment("DTSTART", start, tz))
    lines.append(moment("DTEND", start.astimezone(UTC) + EVENT_LENGTH, tz))
    lines.extend(fold("RRULE:" + _recurrence(line, tz)) for line in recurrences)
    lines.append(fold("SUMMARY:" + text(summary(series.text, series.client_name))))
    lines.append(fold("DESCRIPTION:" + text(_("Recurring · {kind}").format(kind=kind))))
    lines.append(fold("CATEGORIES:" + text(kind)))
    lines.append("END:VEVENT")
    return True


def _recurrence(rule: str, tz: ZoneInfo) -> str:
    """The rule's RRULE; an UNTIL written on the series' clock becomes UTC (RFC 5545 wants
    UTC with a zoned DTSTART)."""

    def in_utc(found: re.Match[str]) -> str:
        local = datetime.strptime(found.group(1), "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        return f"UNTIL={local.astimezone(UTC):%Y%m%dT%H%M%SZ}"

    return _LOCAL_UNTIL.sub(in_utc, rule)


def _invoice_event(
    lines: list[str], invoice: Invoice, content: FeedContent, kinds: dict[TaskKind, str]
) -> None:
    due: date = invoice.due_at.astimezone(content.tz).date()
    _begin(lines, f"invoice-{invoice.id}@{content.host}")
    lines.append(day("DTSTART", due))
    lines.append(day("DTEND", due + timedelta(days=1)))
    lines.append("TRANSP:TRANSPARENT")
    title = _("Invoice #{number} due: {client}").format(
        number=invoice.number, client=invoice.client_name
    )
    lines.append(fold("SUMMARY:" + text(title)))
    owed = format_money(invoice.amount_minor - invoice.paid_minor, invoice.currency,
                        content.locale)
    about = [_("Owed: {amount}").format(amount=owed)]
    if invoice.promised_at is not None:
        promised = invoice.promised_at.astimezone(content.tz).date().isoformat()
        about.append(_("Promised for {day}").format(day=promised))
    if invoice.note:
        about.append(invoice.note)
    lines.append(fold("DESCRIPTION:" + text("\n".join(about))))
    lines.append(fold("CATEGORIES:" + text(kinds[TaskKind.INVOICE])))
    lines.append("END:VEVENT")


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
