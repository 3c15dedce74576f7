"""The board: clients sorted by what needs attention, and one client opened.

Attention, most urgent first (former clients apart, in a list of their own):
1. clients with overdue tasks (more overdue tasks first);
2. then with unpaid invoices past their due date and no promise still ahead (the longest
   overdue first);
3. then clients silent for longer than their cadence allows: the digest's rule
   (bot/services/digest.py), the period of the client's cadence series plus a day's grace,
   else 30 days (90 for former clients); the furthest past the limit first;
4. then everyone else, the nearest to their limit first.
Ties go by name. The sorting is pure (``sort_board``); ``load_board`` reads everything in three
queries (clients with their counts and last contact, unpaid invoices, live series), however
many clients there are.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.domain.handover import covering_handover
from bot.services.digest import STALE_ACTIVE, STALE_FORMER, cadence_periods
from bot.views.render import channel_label, segment_label, status_label
from bot.webapp.views import (
    JSON,
    invoice_json,
    invoice_overdue_days,
    iso,
    money_text,
    note_json,
    short_day,
    task_json,
)
from storage.interfaces import Storage
from storage.models import (
    Client,
    ClientBoardRow,
    ClientStatus,
    Handover,
    Invoice,
    Series,
    SeriesStatus,
    TaskKind,
)

# Unpaid invoices read for the board and charts: far more than anyone keeps open.
UNPAID_LIMIT = 20_000
CLIENT_TASKS = 50
CLIENT_NOTES = 5


@dataclass(frozen=True, slots=True)
class BoardEntry:
    row: ClientBoardRow
    unpaid: tuple[Invoice, ...]
    # Unpaid invoices past due with no promise still ahead.
    unpaid_overdue: int
    # The most days any of them is past due.
    most_overdue_days: int
    silence: timedelta
    limit: timedelta

    @property
    def client(self) -> Client:
        return self.row.client

    @property
    def silent_too_long(self) -> bool:
        return self.silence > self.limit

    @property
    def tier(self) -> int:
        if self.row.overdue_tasks:
            return 0
        if self.unpaid_overdue:
            return 1
        if self.silent_too_long:
            return 2
        return 3


@lru_cache(maxsize=4096)
def _period(rule: str, timezone: str, hour: datetime) -> timedelta | None:
    """The digest's cadence period of one rule (bot/services/digest.py cadence_periods),
    remembered for the hour: walking a weekly rule from its start costs half a millisecond."""
    probe = Series(
        id=0, owner_id=0, client_id=0, client_name=None, text="", kind=TaskKind.OTHER,
        rule=rule, timezone=timezone, source="cadence", status=SeriesStatus.ACTIVE,
    )
    return cadence_periods([probe], hour).get(0)


def cadence_limits(items: list[Series], now: datetime) -> dict[int, timedelta]:
    """cadence_periods for many clients: each distinct rule once an hour."""
    hour = now.replace(minute=0, second=0, microsecond=0)
    periods: dict[int, timedelta] = {}
    for item in items:
        if item.client_id is None or item.source != "cadence":
            continue
        period = _period(item.rule, item.timezone, hour)
        if period is not None:
            periods[item.client_id] = period
    return periods


def contact_limit(client: Client, periods: dict[int, timedelta]) -> timedelta:
    """How long the client may go unheard: its cadence and a day, else 30 (former 90) days."""
    if client.id in periods:
        return periods[client.id] + timedelta(days=1)
    return STALE_FORMER if client.status is ClientStatus.FORMER else STALE_ACTIVE


def needs_chasing(invoice: Invoice, now: datetime, tz: ZoneInfo) -> bool:
    """Past its due date, and no payment promised for a moment still ahead."""
    promised_ahead = invoice.promised_at is not None and invoice.promised_at >= now
    return invoice_overdue_days(invoice, now, tz) > 0 and not promised_ahead


def _sort_key(entry: BoardEntry) -> tuple[int, float, str, int]:
    name = entry.client.name.casefold()
    if entry.tier == 0:
        urgency = -float(entry.row.overdue_tasks)
    elif entry.tier == 1:
        urgency = -float(entry.most_overdue_days)
    elif entry.tier == 2:
        urgency = -(entry.silence - entry.limit).total_seconds()
    else:
        urgency = -entry.silence / entry.limit
    return entry.tier, urgency, name, entry.client.id


def sort_board(
    rows: list[ClientBoardRow],
    invoices: list[Invoice],
    periods: dict[int, timedelta],
    now: datetime,
    tz: ZoneInfo,
) -> tuple[list[BoardEntry], list[BoardEntry]]:
    """(active clients by attention, former clients by the same rule)."""
    by_client: dict[int, list[Invoice]] = defaultdict(list)
    for invoice in invoices:
        by_client[invoice.client_id].append(invoice)
    active: list[BoardEntry] = []
    former: list[BoardEntry] = []
    for row in rows:
        unpaid = by_client.get(row.client.id, [])
        chasing = [invoice for invoice in unpaid if needs_chasing(invoice, now, tz)]
        entry = BoardEntry(
            row=row,
            unpaid=tuple(unpaid),
            unpaid_overdue=len(chasing),
            most_overdue_days=max(
                (invoice_overdue_days(invoice, now, tz) for invoice in chasing), default=0
            ),
            silence=max(now - row.last_contact, timedelta(0)),
            limit=contact_limit(row.client, periods),
        )
        (former if row.client.status is ClientStatus.FORMER else active).append(entry)
    active.sort(key=_sort_key)
    former.sort(key=_sort_key)
    return active, former


def unpaid_totals(
    invoices: tuple[Invoice, ...], now: datetime, tz: ZoneInfo, locale: str
) -> list[JSON]:
    """What the client owes, per currency (largest first), with the most days overdue."""
    totals: dict[str, int] = defaultdict(int)
    overdue: dict[str, int] = defaultdict(int)
    for invoice in invoices:
        totals[invoice.currency] += invoice.amount_minor - invoice.paid_minor
        overdue[invoice.currency] = max(
            overdue[invoice.currency], invoice_overdue_days(invoice, now, tz)
        )
    return [
        {
            "currency": currency,
            "amount_minor": minor,
            "amount": money_text(minor, currency, locale),
            "overdue_days": overdue[currency],
        }
        for currency, minor in sorted(totals.items(), key=lambda item: (-item[1], item[0]))
    ]


def reasons(entry: BoardEntry) -> list[str]:
    said = []
    if entry.row.overdue_tasks:
        said.append(_("Overdue tasks: {count}").format(count=entry.row.overdue_tasks))
    if entry.unpaid_overdue:
        said.append(
            _("Overdue invoices: {count}, up to {days} d").format(
                count=entry.unpaid_overdue, days=entry.most_overdue_days
            )
        )
    if entry.silent_too_long:
        said.append(
            _("No contact for {days} d (every {limit} d expected)").format(
                days=entry.silence.days, limit=entry.limit.days
            )
        )
    return said


def entry_json(entry: BoardEntry, now: datetime, tz: ZoneInfo, locale: str) -> JSON:
    client, row = entry.client, entry.row
    unpaid = unpaid_totals(entry.unpaid, now, tz, locale)
    return {
        "id": client.id,
        "name": client.name,
        "status": client.status.value,
        "overdue_tasks": row.overdue_tasks,
        "open_tasks": row.open_tasks,
        "unpaid": unpaid,
        "unpaid_text": ", ".join(item["amount"] for item in unpaid),
        "unpaid_overdue": entry.unpaid_overdue,
        "last_contact": iso(row.last_contact),
        "last_contact_text": short_day(row.last_contact, tz, locale),
        "days_silent": entry.silence.days,
        "contact_limit_days": entry.limit.days,
        "silent_too_long": entry.silent_too_long,
        "reasons": reasons(entry),
    }


async def load_entries(
    storage: Storage, owner_id: int, now: datetime, tz: ZoneInfo
) -> tuple[list[BoardEntry], list[BoardEntry], list[Invoice]]:
    """The sorted board and the unpaid invoices it was built from (charts reuse them)."""
    rows = await storage.clients.board(owner_id, now)
    invoices = await storage.invoices.unpaid(owner_id, limit=UNPAID_LIMIT)
    periods = cadence_limits(await storage.series.list_live(owner_id), now)
    active, former = sort_board(rows, invoices, periods, now, tz)
    return active, former, invoices


@dataclass(frozen=True, slots=True)
class Coverage:
    """The teammates' clients the user covers now (handovers to them), decided as for
    reminders (bot/domain/handover.py): a handover of one client beats one of all clients."""

    user_id: int
    handovers: tuple[Handover, ...]

    @property
    def owners(self) -> set[int]:
        return {
            item.owner_id for item in self.handovers
            if item.to_user_id == self.user_id and item.owner_id != self.user_id
        }

    def covers(self, owner_id: int, client_id: int | None) -> bool:
        if owner_id == self.user_id:
            return False
        cover = covering_handover(list(self.handovers), owner_id, client_id)
        return cover is not None and cover.to_user_id == self.user_id


async def coverage(storage: Storage, user_id: int, now: datetime) -> Coverage:
    return Coverage(user_id, tuple(await storage.teams.active_handovers(now)))


async def covering_json(
    storage: Storage, user_id: int, now: datetime, tz: ZoneInfo, locale: str
) -> list[JSON]:
    """Active clients of teammates handed over to the user now, by attention, each with
    "owner" (whose client it is)."""
    covered = await coverage(storage, user_id, now)
    owners = covered.owners
    if not owners:
        return []
    names = await storage.users.display_names(set(owners))
    entries: list[BoardEntry] = []
    for owner in sorted(owners):
        active, _former, _invoices = await load_entries(storage, owner, now, tz)
        entries += [entry for entry in active if covered.covers(owner, entry.client.id)]
    entries.sort(key=_sort_key)
    return [
        {**entry_json(entry, now, tz, locale), "owner": names.get(entry.client.owner_id, "")}
        for entry in entries
    ]


async def board_json(
    storage: Storage, owner_id: int, now: datetime, tz: ZoneInfo, locale: str
) -> JSON:
    active, former, _invoices = await load_entries(storage, owner_id, now, tz)
    return {
        "clients": [entry_json(entry, now, tz, locale) for entry in active],
        "former": [entry_json(entry, now, tz, locale) for entry in former],
        "covering": await covering_json(storage, owner_id, now, tz, locale),
    }


def client_fields(client: Client) -> list[JSON]:
    """The card's fields, labelled, empty ones included (the page shows a dash)."""
    fields = [
        (_("Contact person"), client.contact_person),
        (_("Phone"), client.phone),
        (_("Email"), client.email),
        (_("Preferred channel"), channel_label(client.channel) if client.channel else None),
        (_("Report cadence"), client.report_cadence),
        (_("Emergency contact"), client.emergency_contact),
        (_("Telegram"), client.contact_telegram),
        (_("Segment"), segment_label(client.segment)),
        (_("Status"), status_label(client.status)),
    ]
    if client.aliases:
        fields.insert(0, (_("Also known as"), ", ".join(client.aliases)))
    return [{"label": label, "value": value or ""} for label, value in fields]


async def client_json(
    storage: Storage, owner_id: int, client: Client, now: datetime, tz: ZoneInfo, locale: str
) -> JSON:
    tasks = await storage.tasks.open_for_client(owner_id, client.id, CLIENT_TASKS)
    notes = await storage.notes.latest(owner_id, client.id, offset=0, limit=CLIENT_NOTES)
    invoices = await storage.invoices.unpaid(owner_id, client_id=client.id)
    last_contact = await storage.notes.last_contact(owner_id, client.id)
    return {
        "client": {
            "id": client.id,
            "name": client.name,
            "status": client.status.value,
            "status_label": status_label(client.status),
            "fields": client_fields(client),
            "last_contact": iso(last_contact),
            "last_contact_text": short_day(last_contact, tz, locale) if last_contact else "",
        },
        "tasks": [task_json(task, tz, locale, now) for task in tasks],
        "open_tasks": await storage.tasks.count_open_for_client(owner_id, client.id),
        "notes": [note_json(note, tz, locale, now) for note in notes],
        "invoices": [invoice_json(invoice, tz, locale, now) for invoice in invoices],
    }
