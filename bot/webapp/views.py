"""Models as the Mini App's JSON: tasks, invoices, notes, and the page's labels.

Called inside the user's locale (``i18n.use_locale``). Every string is PLAIN TEXT, user
content included exactly as stored: the page inserts it as text (textContent), never as HTML,
so nothing here is escaped and nothing may be read as markup.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.domain.dates import END_OF_DAY_HOUR
from bot.domain.money import format_money
from bot.services.invoices import days_word_delta
from bot.views.render import format_day, format_moment, kind_label
from storage.models import Invoice, Note, Task, TaskKind

JSON = dict[str, Any]


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


# Babel's formatting costs 30-50 µs a call and a board or agenda asks for thousands of the
# same few texts (tasks sit on quarter hours, clients share days): they are remembered.
@lru_cache(maxsize=8192)
def _moment_text(moment: datetime, tz: ZoneInfo, locale: str, year: int) -> str:
    """format_moment with `now` in the given local year."""
    return format_moment(moment, tz, locale, datetime(year, 7, 1, tzinfo=tz))


@lru_cache(maxsize=4096)
def day_text(day: date, locale: str) -> str:
    """'Thu 26 November' / 'чт 26 ноября'."""
    return format_day(day, locale)


@lru_cache(maxsize=4096)
def _short_day(day: date, locale: str) -> str:
    return str(format_date(day, "d MMM y", locale=locale))


@lru_cache(maxsize=8192)
def money_text(minor: int, currency: str, locale: str) -> str:
    return format_money(minor, currency, locale)


def moment_text(moment: datetime, tz: ZoneInfo, locale: str, now: datetime) -> str:
    """'Fri 27 Nov, 10:00' (with the year when it is not this one), as format_moment."""
    return _moment_text(moment, tz, locale, now.astimezone(tz).year)


def task_json(task: Task, tz: ZoneInfo, locale: str, now: datetime) -> JSON:
    due = task.due_at
    shown = due.astimezone(tz) if due is not None else None
    return {
        "id": task.id,
        "number": task.number,
        "text": task.text,
        "client": task.client_name,
        "client_id": task.client_id,
        "kind": task.kind.value,
        "kind_label": kind_label(task.kind),
        "due": iso(due),
        "due_text": moment_text(due, tz, locale, now) if due is not None else _("no time"),
        "time": f"{shown:%H:%M}" if shown is not None else None,
        "day": shown.date().isoformat() if shown is not None else None,
        "day_label": day_text(shown.date(), locale) if shown is not None else None,
        "overdue": due is not None and due < now,
        "status": task.status.value,
    }


def invoice_overdue_days(invoice: Invoice, now: datetime, tz: ZoneInfo) -> int:
    """Whole local days past the invoice's own due date (0 when due today or later)."""
    return max(0, -days_word_delta(invoice.due_at, now, tz))


def due_phrase(moment: datetime, now: datetime, tz: ZoneInfo, locale: str) -> str:
    """As /invoices says it: 'due Thu 3 December, in 7 d', 'due today', '3 d overdue'."""
    days = days_word_delta(moment, now, tz)
    if days > 0:
        return _("due {day}, in {count} d").format(
            day=format_day(moment.astimezone(tz).date(), locale), count=days
        )
    if days == 0:
        return _("due today")
    return _("{count} d overdue").format(count=-days)


def invoice_json(invoice: Invoice, tz: ZoneInfo, locale: str, now: datetime) -> JSON:
    remaining = invoice.amount_minor - invoice.paid_minor
    days = invoice_overdue_days(invoice, now, tz)
    due_text = due_phrase(invoice.due_at, now, tz, locale)
    if invoice.promised_at is not None:
        due_text += " · " + _("promised {day}").format(
            day=format_day(invoice.promised_at.astimezone(tz).date(), locale)
        )
    return {
        "id": invoice.id,
        "number": invoice.number,
        "client": invoice.client_name,
        "client_id": invoice.client_id,
        "currency": invoice.currency,
        "amount_minor": remaining,
        "amount": money_text(remaining, invoice.currency, locale),
        "due": iso(invoice.due_at),
        "due_text": due_text,
        "overdue_days": days,
        "overdue": days > 0,
        "note": invoice.note,
    }


def note_json(note: Note, tz: ZoneInfo, locale: str, now: datetime) -> JSON:
    return {
        "id": note.id,
        "text": note.text,
        "created": iso(note.created_at),
        "created_text": moment_text(note.created_at, tz, locale, now),
    }


def short_day(moment: datetime, tz: ZoneInfo, locale: str) -> str:
    """'27 Sep 2026' / '27 сент. 2026 г.' in the user's timezone."""
    return _short_day(moment.astimezone(tz).date(), locale)


def kinds_json() -> list[JSON]:
    return [{"key": kind.value, "label": kind_label(kind)} for kind in TaskKind]


def page_texts() -> dict[str, str]:
    """Every label the page shows, in the current locale (see the contract's Changes)."""
    return {
        "title": _("Board"),
        "tab_board": _("Board"),
        "tab_agenda": _("Agenda"),
        "tab_charts": _("Charts"),
        "former_clients": _("Former clients"),
        "covering": _("Covering for teammates"),
        "covering_owner": _("{name}'s client"),
        "no_clients": _("No clients yet. Add one in the chat: /newclient Acme"),
        "overdue_tasks": _("Overdue tasks"),
        "open_tasks": _("Open tasks"),
        "unpaid": _("Unpaid"),
        "last_contact": _("Last contact"),
        "never_contacted": _("no contact yet"),
        "days_silent": _("{count} d without contact"),
        "card": _("Card"),
        "tasks": _("Open tasks"),
        "notes": _("Latest notes"),
        "invoices": _("Unpaid invoices"),
        "no_tasks": _("No open tasks."),
        "no_notes": _("No notes yet."),
        "no_invoices": _("No unpaid invoices."),
        "done": _("Done"),
        "reschedule": _("Reschedule"),
        "preset_hour": _("In 1 hour"),
        "preset_evening": _("This evening, {hour}:00").format(hour=END_OF_DAY_HOUR),
        "preset_tomorrow": _("Tomorrow morning"),
        "preset_week": _("Next Monday"),
        "when_placeholder": _("Or write when: tomorrow 15:00, Friday, 10.12 at 9"),
        "save": _("Save"),
        "cancel": _("Cancel"),
        "mark_paid": _("Paid"),
        "add_note": _("Add a note"),
        "note_placeholder": _("What happened, what was agreed…"),
        "chart_ageing": _("Invoice ageing"),
        "chart_workload": _("Workload, next 14 days"),
        "chart_freshness": _("Contact freshness"),
        "no_unpaid": _("No unpaid invoices."),
        "total": _("Total"),
        "loading": _("Loading…"),
        "retry": _("Try again"),
        "back": _("Back"),
        "error_generic": _("Something went wrong. Try again."),
        "error_auth": _("Open this page from the bot's chat in Telegram."),
        "error_network": _("No connection to the bot. Check the internet and try again."),
        "confirm_paid": _("Tap again: paid?"),
        "invoice_count": _("invoices: {count}"),
        "toast_done": _("Done."),
        "toast_paid": _("Marked as paid."),
        "toast_saved": _("Saved."),
        "toast_rescheduled": _("Moved to {when}."),
    }
