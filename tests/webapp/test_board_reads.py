"""ClientRepo.board on both backends, and the board's attention order as a pure function."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.webapp.board import sort_board
from storage.interfaces import Storage
from storage.models import (
    Client,
    ClientBoardRow,
    ClientStatus,
    Invoice,
    InvoiceStatus,
    Segment,
    TaskKind,
)
from tests.fakes.clock import NOW

OWNER = 1001
OTHER = 2002
MOSCOW = ZoneInfo("Europe/Moscow")


async def test_board_counts_open_and_overdue_tasks_and_the_last_contact(
    storage: Storage,
) -> None:
    created = NOW - timedelta(days=50)
    for user in (OWNER, OTHER):
        await storage.users.ensure(user, created)
    acme = await storage.clients.create(OWNER, "Acme", created)
    quiet = await storage.clients.create(OWNER, "Quiet", created)
    gone = await storage.clients.create(OWNER, "Deleted", created)
    await storage.clients.delete(OWNER, gone.id, created)
    theirs = await storage.clients.create(OTHER, "Theirs", created)

    async def task(due: datetime | None, client: Client = acme, **kw: int) -> int:
        made = await storage.tasks.create(
            client.owner_id, client_id=client.id, text="t", kind=TaskKind.OTHER, due_at=due,
            now=created, **kw,
        )
        return made.id

    await task(NOW - timedelta(days=2))  # overdue
    await task(NOW - timedelta(minutes=1))  # overdue
    await task(NOW + timedelta(hours=1))  # open, not overdue
    await task(None)  # open, undated
    deleted = await task(NOW - timedelta(days=3))
    await storage.tasks.delete(OWNER, deleted, NOW)
    done = await task(NOW - timedelta(days=9))
    await storage.tasks.complete(OWNER, done, NOW - timedelta(days=6))
    invoice = await storage.invoices.create(
        OWNER, client_id=acme.id, amount_minor=100, currency="EUR",
        due_at=NOW - timedelta(days=5), note=None, now=created,
    )
    await task(NOW - timedelta(days=5), invoice_id=invoice.id)  # counted as the invoice
    await task(NOW - timedelta(days=1), client=theirs)
    note = await storage.notes.create(
        OWNER, text="n", client_id=quiet.id, source_message_id=None,
        now=NOW - timedelta(days=4),
    )
    await storage.notes.create(
        OWNER, text="later, deleted", client_id=quiet.id, source_message_id=None,
        now=NOW - timedelta(days=1),
    )
    latest = await storage.notes.latest(OWNER, quiet.id, offset=0, limit=1)
    await storage.notes.delete(OWNER, latest[0].id, NOW)

    rows = {row.client.name: row for row in await storage.clients.board(OWNER, NOW)}
    assert set(rows) == {"Acme", "Quiet"}
    assert (rows["Acme"].open_tasks, rows["Acme"].overdue_tasks) == (5, 2)
    assert rows["Acme"].last_contact == NOW - timedelta(days=6)
    assert (rows["Quiet"].open_tasks, rows["Quiet"].overdue_tasks) == (0, 0)
    assert rows["Quiet"].last_contact == note.created_at
    assert rows["Quiet"].client == await storage.clients.get(OWNER, quiet.id)
    # Never heard from: counted from when the client was added.
    fresh = await storage.clients.create(OWNER, "Fresh", NOW - timedelta(days=1))
    rows = {row.client.name: row for row in await storage.clients.board(OWNER, NOW)}
    assert rows["Fresh"].last_contact == fresh.created_at
    assert await storage.clients.board(5005, NOW) == []


def _client(number: int, name: str, status: ClientStatus = ClientStatus.ACTIVE) -> Client:
    return Client(
        id=number, owner_id=OWNER, name=name, contact_person=None, phone=None, email=None,
        channel=None, report_cadence=None, emergency_contact=None, segment=Segment.B2B,
        status=status, created_at=NOW, updated_at=NOW,
    )


def _row(client: Client, overdue: int = 0, silent_days: float = 1) -> ClientBoardRow:
    return ClientBoardRow(
        client=client, open_tasks=overdue, overdue_tasks=overdue,
        last_contact=NOW - timedelta(days=silent_days),
    )


def _invoice(client: Client, due: datetime, promised: datetime | None = None) -> Invoice:
    return Invoice(
        id=client.id, owner_id=OWNER, client_id=client.id, client_name=client.name,
        number=client.id, amount_minor=1000, paid_minor=0, currency="RUB", due_at=due,
        promised_at=promised, note=None, status=InvoiceStatus.UNPAID, paid_at=None,
        task_id=None,
    )


def test_attention_order() -> None:
    one, two = _client(1, "b one overdue"), _client(2, "a three overdue")
    owes_long, owes_short = _client(3, "owes 20 d"), _client(4, "owes 2 d")
    promised = _client(5, "promised next week")
    very_silent, silent = _client(6, "silent 90 d"), _client(7, "silent 31 d")
    weekly = _client(8, "weekly, 9 d")
    near, far = _client(9, "25 d"), _client(10, "3 d")
    former = _client(11, "former, overdue", ClientStatus.FORMER)
    former_quiet = _client(12, "former, 100 d", ClientStatus.FORMER)
    rows = [
        _row(far, silent_days=3), _row(one, overdue=1), _row(owes_short), _row(near, 0, 25),
        _row(silent, silent_days=31), _row(former_quiet, silent_days=100),
        _row(promised), _row(weekly, silent_days=9.5), _row(two, overdue=3),
        _row(owes_long), _row(very_silent, silent_days=90), _row(former, overdue=1),
    ]
    invoices = [
        _invoice(owes_long, NOW - timedelta(days=20)),
        _invoice(owes_short, NOW - timedelta(days=2)),
        _invoice(promised, NOW - timedelta(days=20), promised=NOW + timedelta(days=7)),
        _invoice(far, NOW + timedelta(days=5)),
    ]
    periods = {weekly.id: timedelta(days=7)}
    active, formers = sort_board(rows, invoices, periods, NOW, MOSCOW)
    assert [entry.client.name for entry in active] == [
        "a three overdue", "b one overdue", "owes 20 d", "owes 2 d", "silent 90 d",
        "weekly, 9 d", "silent 31 d", "25 d", "3 d", "promised next week",
    ]
    assert [entry.client.name for entry in formers] == ["former, overdue", "former, 100 d"]
    promised_entry = next(entry for entry in active if entry.client.id == promised.id)
    assert promised_entry.unpaid_overdue == 0 and len(promised_entry.unpaid) == 1
    # A former client is silent only after 90 days.
    assert formers[1].silent_too_long and formers[1].limit == timedelta(days=90)


def test_an_invoice_due_today_is_not_overdue_in_the_users_day() -> None:
    client = _client(1, "Acme")
    # 26 November 00:30 in Moscow is still "today" there though before now.
    due = datetime(2026, 11, 25, 21, 30, tzinfo=UTC)
    active, _former = sort_board([_row(client)], [_invoice(client, due)], {}, NOW, MOSCOW)
    assert active[0].unpaid_overdue == 0
    earlier = datetime(2026, 11, 25, 20, 30, tzinfo=UTC)  # 25 November 23:30 there
    active, _former = sort_board([_row(client)], [_invoice(client, earlier)], {}, NOW, MOSCOW)
    assert (active[0].unpaid_overdue, active[0].most_overdue_days) == (1, 1)
