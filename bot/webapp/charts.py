"""The charts' figures: invoice ageing per currency, the next 14 days' workload by kind,
how fresh the contact with active clients is. Pure functions over repository reads; the page
draws them and prints the numbers beside the bars."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.views.agenda import day_bounds
from bot.webapp.board import UNPAID_LIMIT
from bot.webapp.views import JSON, invoice_overdue_days, kinds_json, money_text
from storage.interfaces import Storage
from storage.models import ClientBoardRow, ClientStatus, Invoice, Task, TaskKind

WORKLOAD_DAYS = 14
AGEING_BUCKETS = ("not_due", "1_7", "8_30", "30_plus")
FRESHNESS_BUCKETS = ("0_7", "8_30", "31_90", "90_plus")


def ageing_bucket(overdue_days: int) -> str:
    if overdue_days <= 0:
        return "not_due"
    if overdue_days <= 7:
        return "1_7"
    if overdue_days <= 30:
        return "8_30"
    return "30_plus"


def _ageing_labels() -> dict[str, str]:
    return {
        "not_due": _("Not yet due"),
        "1_7": _("1–7 days overdue"),
        "8_30": _("8–30 days overdue"),
        "30_plus": _("Over 30 days overdue"),
    }


def ageing(invoices: list[Invoice], now: datetime, tz: ZoneInfo, locale: str) -> list[JSON]:
    """Per currency (the largest total first): what is owed in each age bucket, by the
    invoice's own due date and the user's local days."""
    amounts: dict[str, Counter[str]] = defaultdict(Counter)
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for invoice in invoices:
        bucket = ageing_bucket(invoice_overdue_days(invoice, now, tz))
        amounts[invoice.currency][bucket] += invoice.amount_minor - invoice.paid_minor
        counts[invoice.currency][bucket] += 1
    labels = _ageing_labels()
    currencies = sorted(amounts, key=lambda code: (-sum(amounts[code].values()), code))
    return [
        {
            "currency": code,
            "total_minor": sum(amounts[code].values()),
            "total": money_text(sum(amounts[code].values()), code, locale),
            "buckets": [
                {
                    "key": key,
                    "label": labels[key],
                    "amount_minor": amounts[code][key],
                    "amount": money_text(amounts[code][key], code, locale),
                    "count": counts[code][key],
                }
                for key in AGEING_BUCKETS
            ],
        }
        for code in currencies
    ]


def workload(tasks: list[Task], start_day: datetime, tz: ZoneInfo, locale: str) -> JSON:
    """Open tasks per local day from today for 14 days, by kind."""
    first = start_day.astimezone(tz).date()
    days = [first + timedelta(days=offset) for offset in range(WORKLOAD_DAYS)]
    counts: dict[str, Counter[str]] = {day.isoformat(): Counter() for day in days}
    for task in tasks:
        if task.due_at is None:
            continue
        key = task.due_at.astimezone(tz).date().isoformat()
        if key in counts:
            counts[key][task.kind.value] += 1
    return {
        "kinds": kinds_json(),
        "days": [
            {
                "date": day.isoformat(),
                "label": str(format_date(day, "EEE d", locale=locale)),
                "counts": {kind.value: counts[day.isoformat()][kind.value] for kind in TaskKind},
                "total": sum(counts[day.isoformat()].values()),
            }
            for day in days
        ],
    }


def freshness_bucket(silence: timedelta) -> str:
    days = silence.days
    if days <= 7:
        return "0_7"
    if days <= 30:
        return "8_30"
    if days <= 90:
        return "31_90"
    return "90_plus"


def freshness(rows: list[ClientBoardRow], now: datetime) -> list[JSON]:
    """Active clients by days since the last contact (a done task or a note)."""
    counted = Counter(
        freshness_bucket(now - row.last_contact)
        for row in rows
        if row.client.status is ClientStatus.ACTIVE
    )
    labels = {
        "0_7": _("Up to 7 days"),
        "8_30": _("8–30 days"),
        "31_90": _("31–90 days"),
        "90_plus": _("Over 90 days"),
    }
    return [
        {"key": key, "label": labels[key], "count": counted[key]} for key in FRESHNESS_BUCKETS
    ]


async def charts_json(
    storage: Storage, owner_id: int, now: datetime, tz: ZoneInfo, locale: str
) -> JSON:
    start, end = day_bounds(now, tz, WORKLOAD_DAYS)
    invoices = await storage.invoices.unpaid(owner_id, limit=UNPAID_LIMIT)
    due = await storage.tasks.due_between(owner_id, start, end)
    rows = await storage.clients.board(owner_id, now)
    return {
        "ageing": ageing(invoices, now, tz, locale),
        "workload": workload(due, start, tz, locale),
        "freshness": freshness(rows, now),
    }
