"""Turning models into HTML text for Telegram, in the user's language and timezone.

Every piece of user text passes through html.quote here; callers never build markup
out of raw user input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import get_i18n
from aiogram.utils.i18n import gettext as _
from babel.dates import format_date, format_datetime
from babel.units import format_unit

from bot.domain.reminder_plan import ahead_minutes, plan_reminders
from storage.models import (
    Channel,
    Client,
    ClientStatus,
    DueReminder,
    Note,
    ReminderPurpose,
    Segment,
    Task,
    TaskKind,
    WorkingHours,
)
from storage.stemming import matches

MESSAGE_LIMIT = 4096
_WORD_RE = re.compile(r"\w+", re.UNICODE)
# Room left under the limit for a page header and footer.
PAGE_BODY_LIMIT = 3500
LINE_TEXT_LIMIT = 120
# Aliases listed on a client card (each up to a name's 100 characters); the rest are counted.
CARD_ALIASES = 10

KIND_ICONS = {
    TaskKind.CALL: "📞",
    TaskKind.REPORT: "📄",
    TaskKind.INVOICE: "💰",
    TaskKind.MEETING: "🤝",
    TaskKind.DOCUMENT: "📑",
    TaskKind.OTHER: "📝",
}


def kind_label(kind: TaskKind) -> str:
    labels = {
        TaskKind.CALL: _("call"),
        TaskKind.REPORT: _("report"),
        TaskKind.INVOICE: _("invoice"),
        TaskKind.MEETING: _("meeting"),
        TaskKind.DOCUMENT: _("document"),
        TaskKind.OTHER: _("other"),
    }
    return labels[kind]


def channel_label(channel: Channel) -> str:
    labels = {
        Channel.PHONE: _("phone"),
        Channel.MESSENGER: _("messenger"),
        Channel.EMAIL: _("email"),
        Channel.TASK_MANAGER: _("task manager"),
    }
    return labels[channel]


def segment_label(segment: Segment) -> str:
    return "B2B" if segment is Segment.B2B else "B2C"


def status_label(status: ClientStatus) -> str:
    return _("active") if status is ClientStatus.ACTIVE else _("former")


def local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz)


def format_moment(
    moment: datetime, tz: ZoneInfo, locale: str, now: datetime | None = None
) -> str:
    """'Fri 27 Nov, 10:00' / 'пт 27 нояб., 10:00' in the user's timezone; with the year
    ('Wed 1 Dec 2027, 10:00') when it is not the current one."""
    shown = local(moment, tz)
    pattern = "EEE d MMM, HH:mm"
    if now is not None and shown.year != local(now, tz).year:
        pattern = "EEE d MMM y, HH:mm"
    return str(format_datetime(shown, pattern, locale=locale))


def format_clock(moment: datetime, tz: ZoneInfo) -> str:
    return local(moment, tz).strftime("%H:%M")


def format_day(day: date, locale: str) -> str:
    """'Thu 26 November' / 'чт 26 ноября'."""
    return str(format_date(day, "EEE d MMMM", locale=locale))


def format_duration(delta: timedelta, locale: str) -> str:
    """'25 days', '2 hours', '5 minutes': whole days once past a day (never weeks, which
    hide how late a task really is), else hours, else minutes."""
    if delta >= timedelta(days=1):
        amount, unit = delta.days, "duration-day"
    elif delta >= timedelta(hours=1):
        amount, unit = delta.seconds // 3600, "duration-hour"
    else:
        amount, unit = max(1, delta.seconds // 60), "duration-minute"
    return str(format_unit(amount, unit, locale=locale))


def shorten(text: str, limit: int = LINE_TEXT_LIMIT) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def task_line(
    task: Task,
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    *,
    with_client: bool = True,
    with_day: bool = False,
    with_lateness: bool = False,
) -> str:
    """One list line: '10:00 📞 Acme — call about the budget  #41'."""
    parts: list[str] = []
    if task.due_at is not None:
        when = (
            format_moment(task.due_at, tz, locale, now)
            if with_day
            else format_clock(task.due_at, tz)
        )
        if task.due_at < now:
            when = "⚠️ " + when
        parts.append(html.bold(when))
    parts.append(KIND_ICONS[task.kind])
    text = html.quote(shorten(task.text))
    if with_client and task.client_name:
        text = f"{html.quote(task.client_name)} — {text}"
    parts.append(text)
    line = " ".join(parts) + f"  <code>#{task.number}</code>"
    if with_lateness and task.due_at is not None and task.due_at < now:
        line += " · " + _("{duration} late").format(
            duration=format_duration(now - task.due_at, locale)
        )
    return line


def paginate(blocks: Sequence[str], *, max_items: int, max_chars: int = PAGE_BODY_LIMIT) -> list[
    list[int]
]:
    """Split block indexes into pages at block boundaries; no page is empty or too long.

    A single block longer than max_chars gets a page of its own (callers keep blocks short).
    """
    pages: list[list[int]] = []
    current: list[int] = []
    size = 0
    for index, block in enumerate(blocks):
        length = len(block) + 1
        if current and (len(current) >= max_items or size + length > max_chars):
            pages.append(current)
            current, size = [], 0
        current.append(index)
        size += length
    if current:
        pages.append(current)
    return pages


def split_message(lines: Sequence[str], limit: int = MESSAGE_LIMIT) -> list[str]:
    """Join lines into as few messages as fit, breaking only between lines."""
    messages: list[str] = []
    current = ""
    for line in lines:
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > limit and current:
            messages.append(current)
            candidate = line
        while len(candidate) > limit:
            # A single line longer than a message: cut it at a safe space (plain text only).
            cut = candidate.rfind(" ", 0, limit)
            cut = cut if cut > 0 else limit
            messages.append(candidate[:cut])
            candidate = candidate[cut:].lstrip()
        current = candidate
    if current:
        messages.append(current)
    return messages


def client_card(
    client: Client,
    tasks: Sequence[Task],
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    *,
    notes: Sequence[Note] = (),
    last_contact: datetime | None = None,
) -> str:
    empty = "—"

    def value(text: str | None) -> str:
        return html.quote(text) if text else empty

    lines = [f"👤 {html.bold(html.quote(client.name))}"]
    if client.status is ClientStatus.FORMER:
        lines[0] += " · " + _("former client")
    if client.aliases:
        # One line, so bounded: a card's lines split between messages, a line does not.
        shown = ", ".join(html.quote(alias) for alias in client.aliases[:CARD_ALIASES])
        if len(client.aliases) > CARD_ALIASES:
            shown += " " + _("…and {count} more.").format(
                count=len(client.aliases) - CARD_ALIASES
            )
        lines.append(_("Also known as: {aliases}").format(aliases=shown))
    lines += [
        _("Contact person: {value}").format(value=value(client.contact_person)),
        _("Phone: {value}").format(value=value(client.phone)),
        _("Email: {value}").format(value=value(client.email)),
        _("Preferred channel: {value}").format(
            value=channel_label(client.channel) if client.channel else empty
        ),
        _("Report cadence: {value}").format(value=value(client.report_cadence)),
        _("Emergency contact: {value}").format(value=value(client.emergency_contact)),
        _("Telegram: {value}").format(value=value(client.contact_telegram)),
        _("Segment: {value} · Status: {status}").format(
            value=segment_label(client.segment), status=status_label(client.status)
        ),
        "",
    ]
    if tasks:
        lines.append(html.bold(_("Open tasks:")))
        lines += [
            task_line(task, tz, locale, now, with_client=False, with_day=True) for task in tasks
        ]
    else:
        lines.append(_("No open tasks."))
    if notes:
        lines += ["", html.bold(_("Latest notes:"))]
        lines += [note_line(note, tz, locale, now, with_client=False) for note in notes]
    if last_contact is not None:
        lines += ["", _("Last contact: {moment}").format(
            moment=format_moment(last_contact, tz, locale, now)
        )]
    return "\n".join(lines)


def quoted(text: str) -> str:
    """User text in the language's quotation marks, escaped for HTML."""
    return _("“{text}”").format(text=html.quote(text))


def plain_quoted(text: str) -> str:
    """The same for plain-text places (popups), which show no HTML and need no escaping."""
    return _("“{text}”").format(text=text)


def days_label(days: Sequence[int], locale: str | None = None) -> str:
    """Working days as people say them: 'Mon–Fri', 'Mon–Sat', 'Mon, Wed, Fri', 'every day'."""
    if tuple(days) == (0, 1, 2, 3, 4):
        return _("Mon–Fri")
    if len(set(days)) == 7:
        return _("every day")
    if locale is None:
        try:
            locale = get_i18n().current_locale
        except LookupError:
            locale = "en"
    monday = date(2026, 11, 23)

    def name(day: int) -> str:
        return str(format_date(monday + timedelta(days=day), "EEE", locale=locale))

    ordered = sorted(set(days))
    if len(ordered) > 2 and ordered == list(range(ordered[0], ordered[-1] + 1)):
        return f"{name(ordered[0])}–{name(ordered[-1])}"
    return ", ".join(name(day) for day in ordered)


def day_and_clock(moment: datetime, tz: ZoneInfo, locale: str, now: datetime) -> str:
    """'today at 09:00', 'tomorrow at 09:00', else the full moment: when a reminder comes."""
    shown, today = local(moment, tz), local(now, tz).date()
    clock = f"{shown:%H:%M}"
    if shown.date() == today:
        return _("today at {time}").format(time=clock)
    if shown.date() == today + timedelta(days=1):
        return _("tomorrow at {time}").format(time=clock)
    return format_moment(moment, tz, locale, now)


def held_notes(
    task: Task,
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    hours: WorkingHours,
    ahead_defaults: Mapping[TaskKind, int] | None = None,
) -> list[str]:
    """What working hours do to this task's reminders, said at once: a reminder the bot
    holds comes later, and the user knows when. (An invoice's ladder is shown with the
    invoice.)"""
    if task.invoice_id is not None:
        return []
    planned = plan_reminders(task, now, defaults=ahead_defaults, tz=tz, hours=hours)
    notes = []
    for item in planned:
        if item.held_from is None:
            continue
        moment = day_and_clock(item.fire_at, tz, locale, now)
        notes.append("🌙 " + (
            _("The early reminder comes {moment}, after your working hours start.")
            if item.purpose is ReminderPurpose.AHEAD
            else _("The reminder comes {moment}, after your working hours start.")
        ).format(moment=moment))
    ahead = ahead_minutes(task, ahead_defaults)
    if (
        task.due_at is not None
        and ahead > 0
        and task.due_at - timedelta(minutes=ahead) > now
        and not any(item.purpose is ReminderPurpose.AHEAD for item in planned)
    ):
        notes.append("🌙 " + _(
            "The early reminder would come outside your working hours: only the one at the "
            "time."
        ))
    return notes


def task_card(
    task: Task,
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    *,
    created: bool,
    ahead_defaults: Mapping[TaskKind, int] | None = None,
    hours: WorkingHours | None = None,
) -> str:
    """What the bot understood: number, client, kind, text, due moment with weekday."""
    head = _("✅ Task #{number}").format(number=task.number) if created else _(
        "Task #{number}"
    ).format(number=task.number)
    head_parts = [html.bold(head)]
    if task.client_name:
        head_parts.append(html.quote(task.client_name))
    head_parts.append(f"{KIND_ICONS[task.kind]} {kind_label(task.kind)}")
    lines = [" · ".join(head_parts)]
    if task.due_at is not None:
        lines.append(f"{quoted(task.text)} — {format_moment(task.due_at, tz, locale, now)}")
    else:
        lines.append(quoted(task.text))
    if task.status.value == "open" and task.due_at is not None and task.due_at > now:
        ahead = ahead_minutes(task, ahead_defaults)
        lines.append(
            "🔔 " + (
                _("Reminder: at the time")
                if ahead == 0
                else _("Reminder: {duration} before and at the time").format(
                    duration=format_duration(timedelta(minutes=ahead), locale)
                )
            )
        )
        if hours is not None:
            lines += held_notes(task, tz, locale, now, hours, ahead_defaults)
    if task.status.value == "done":
        lines.append(_("Done."))
    elif task.due_at is None:
        lines.append(_("No due time yet. When should it be done?"))
    elif task.due_at < now:
        lines.append(
            "⚠️ " + _("This moment has passed: the task is already overdue.")
        )
    return "\n".join(lines)


def reminder_text(
    reminder: DueReminder, tz: ZoneInfo, locale: str, now: datetime, *, late: bool
) -> str:
    """🔔 📞 Acme — call about the budget, when it is due, and how to reach the client."""
    task = reminder.task
    title = html.quote(shorten(task.text, 300))
    if task.client_name:
        title = f"{html.bold(html.quote(task.client_name))} — {title}"
    lines = [f"🔔 {KIND_ICONS[task.kind]} {title}"]
    if reminder.covering_for is not None:
        lines.append(
            "🤝 " + _("You are covering for {name}.").format(
                name=html.quote(reminder.covering_for.display_name)
            )
        )
    if task.due_at is not None:
        due = format_moment(task.due_at, tz, locale, now)
        if reminder.purpose is ReminderPurpose.AHEAD and task.due_at > now:
            lines.append(
                _("{due} · in {duration}").format(
                    due=due, duration=format_duration(task.due_at - now, locale)
                )
            )
        elif task.due_at <= now - timedelta(minutes=1):
            lines.append(
                _("{due} · {duration} ago").format(
                    due=due, duration=format_duration(now - task.due_at, locale)
                )
            )
        else:
            lines.append(_("{due} · now").format(due=due))
    if reminder.purpose is ReminderPurpose.SNOOZE:
        lines.append("⏰ " + _("Snoozed reminder."))
    if reminder.held_over_from is not None:
        lines.append(
            "🌙 "
            + _("Held over from {moment}, outside your working hours.").format(
                moment=format_moment(reminder.held_over_from, tz, locale)
            )
        )
    elif late:
        lines.append(
            "⚠️ "
            + _("Late: this reminder was due at {moment}.").format(
                moment=format_moment(reminder.fire_at, tz, locale)
            )
        )
    client = reminder.client
    if client is not None:
        contact = [
            html.quote(part) for part in (client.contact_person, client.phone) if part
        ]
        if client.channel is not None:
            contact.append(_("prefers: {channel}").format(channel=channel_label(client.channel)))
        if contact:
            lines.append(_("Contact: {contact}").format(contact=", ".join(contact)))
    lines.append(f"<code>#{task.number}</code>")
    return "\n".join(lines)


def highlight(text: str, words: Sequence[str]) -> str:
    """Escaped text with every word the search found in bold: it starts with a searched
    prefix or shares its stem (case- and ё-insensitive, as the search itself)."""
    terms = [w for w in words if w]
    out: list[str] = []
    position = 0
    for match in _WORD_RE.finditer(text):
        out.append(html.quote(text[position : match.start()]))
        word = match.group(0)
        if any(matches(word, term) for term in terms):
            out.append(html.bold(html.quote(word)))
        else:
            out.append(html.quote(word))
        position = match.end()
    out.append(html.quote(text[position:]))
    return "".join(out)


def note_line(note: Note, tz: ZoneInfo, locale: str, now: datetime, *, with_client: bool) -> str:
    when = format_moment(note.created_at, tz, locale, now)
    head = f"📝 <i>{when}</i> <code>N{note.id}</code>"
    if with_client and note.client_name:
        head += f" · {html.quote(note.client_name)}"
    if note.media_type:
        head += " · " + {"voice": "🎤", "audio": "🎵", "photo": "🖼", "video": "🎬"}.get(
            note.media_type, "📎"
        )
    if note.forward_from:
        head += " · " + _("from {sender}").format(sender=html.quote(note.forward_from))
    return f"{head}\n{html.quote(shorten(note.text, 300))}" if note.text else head
