"""Invoices: exact amounts, the payment ladder, payments and promises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiogram.methods import SendMessage

from storage.interfaces import Storage
from storage.models import InvoiceStatus
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import MakeChat
from tests.handlers.harness import USER_ID, ChatHarness, buttons
from tests.handlers.test_reminders import Reminders


def moscow(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour - 3, tzinfo=UTC)


@pytest.fixture
async def runtime(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> AsyncIterator[Reminders]:
    driver = Reminders(chat, storage, clock)
    await driver.runtime.sender.start()
    yield driver
    await driver.runtime.sender.stop()


async def test_invoice_with_due_date_note_and_ladder(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send("/invoice Acme 120 000 due 01.12 #45 for November")
    assert "Invoice I1" in replies.text and "₽120,000" in replies.text
    assert "due Tue 1 December, in 5 d" in replies.text
    assert "#45 for November" in replies.text
    assert (
        "Payment reminders: 3 days before, on the due day, 3 days after, 7 days after, "
        "until it is paid." in replies.text
    )
    assert [text for text, _ in chat.last_keyboard()[1]] == [
        "✅ Paid", "½ Partly", "🤝 Promised…", "✏️ Amount", "📅 Due date", "📝 Note", "🗑 Delete"
    ]
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None
    assert (invoice.amount_minor, invoice.currency) == (12_000_000, "RUB")
    assert invoice.task_id is not None
    planned = await storage.reminders.pending_for_task(USER_ID, invoice.task_id)
    assert [r.fire_at for r in planned] == [
        # Saturday's step waits for Monday's working morning.
        moscow(11, 30, 9), moscow(12, 1, 10), moscow(12, 4, 10), moscow(12, 8, 10)
    ]


async def test_currency_decimals_and_default_due(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send("/invoice Acme 1500,50 usd")
    assert "$1,500.50" in replies.text
    assert "due Thu 3 December, in 7 d" in replies.text
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and (invoice.amount_minor, invoice.currency) == (150050, "USD")


@pytest.mark.parametrize(
    ("args", "answer"),
    [
        ("Acme -100", "I need an amount like 120 000"),
        ("Acme 1e9", "I need an amount like 120 000"),
        ("Acme 0", "more than zero"),
        ("Acme 10.5555", "Too many decimals for RUB"),
        ("Acme 1,5кг", "I need an amount like 120 000"),
        ("Acme 100 XYZ due 10.12", "I do not know the currency “XYZ”"),
        ("Acme", "I need an amount like 120 000"),
        ("120 000", "Whose invoice?"),
        ("Vector 100", "No client “Vector”."),
        ("Acme 100 due someday", "could not understand the date"),
        ("Acme 1000000000000000000", "too large"),
    ],
)
async def test_bad_invoices_get_clear_answers(
    chat: ChatHarness, storage: Storage, args: str, answer: str
) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send(f"/invoice {args}")
    assert answer in replies.text
    assert await storage.invoices.unpaid(USER_ID) == []


async def test_invoices_list_with_totals_per_currency(chat: ChatHarness) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/newclient Вектор")
    await chat.send("/invoice Acme 120 000 due 01.12")
    await chat.send("/invoice Вектор 2000 usd due 20.11")
    await chat.send("/invoice Acme 30 000 due 10.12")
    replies = await chat.send("/invoices")
    text = replies.text
    assert "Unpaid invoices: 3" in text
    assert text.index("Вектор") < text.index("I1")  # the overdue one first
    assert "6 d overdue" in text
    assert "Still to collect: ₽150,000 · $2,000" in text


async def test_paid_button_closes_invoice_and_ladder(
    chat: ChatHarness, storage: Storage, runtime: Reminders, clock: FakeClock
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 01.12")
    paid = await chat.press("✅ Paid")
    assert "I1 is paid." in paid.alerts
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    assert invoice.paid_at == clock.now()
    clock.set(moscow(12, 4, 10))
    assert list(await runtime.deliver()) == []


async def test_partial_payment_then_the_rest(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 01.12")
    await chat.press("½ Partly")
    too_much = await chat.send("200 000")
    assert "more than the ₽120,000 still due" in too_much.text
    noted = await chat.send("50 000")
    assert "Noted: ₽50,000 of ₽120,000 paid for I1." in noted.text
    listing = await chat.send("/invoices")
    assert "paid ₽50,000 of ₽120,000" in listing.text
    assert "Still to collect: ₽70,000" in listing.text
    await chat.press("Partly I1")
    done = await chat.send("70 000")
    assert "Invoice I1 (Acme) is paid." in done.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.status.value == "done"


async def test_promise_moves_the_ladder_and_reminders_carry_invoice_buttons(
    chat: ChatHarness, storage: Storage, runtime: Reminders, clock: FakeClock
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 20.11")  # already overdue
    await chat.press("🤝 Promised…")
    moved = await chat.send("10.12")
    assert "I1: promised for Thu 10 December; reminders move there." in moved.text
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.task_id is not None
    planned = await storage.reminders.pending_for_task(USER_ID, invoice.task_id)
    assert [r.fire_at for r in planned] == [
        moscow(12, 7, 10), moscow(12, 10, 10), moscow(12, 14, 9), moscow(12, 17, 10)
    ]
    clock.set(moscow(12, 14, 10))  # Monday: Sunday's waited
    sent = (await runtime.deliver()).of(SendMessage)
    followup = next(message for message in sent if "Collect payment" in message.text)
    assert "invoice I1, ₽120,000" in followup.text
    assert [text for text, _ in buttons(followup.reply_markup)][:3] == [
        "✅ Paid", "½ Partly", "🤝 Promised…"
    ]


async def test_done_on_the_payment_task_marks_the_invoice_paid(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 01.12")
    await chat.send("/done 1")
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID


async def test_undo_after_done_on_the_payment_task_makes_the_invoice_owed_again(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 01.12")
    await chat.send("/done 1")
    await chat.send("/undo")
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.status is InvoiceStatus.UNPAID
    assert invoice.paid_minor == 0 and invoice.paid_at is None
    assert invoice.task_id is not None
    assert await storage.reminders.pending_for_task(USER_ID, invoice.task_id)
    assert "I1" in (await chat.send("/invoices")).text


async def test_digest_lists_invoices_to_collect(chat: ChatHarness) -> None:
    await chat.send("/newclient Вектор")
    await chat.send("/invoice Вектор 120 000 due 25.11")
    replies = await chat.send("/digest")
    assert "Invoices to collect: 1 — ₽120,000 (Вектор)" in replies.text


async def test_confirmation_describes_the_configured_ladder(make_chat: MakeChat) -> None:
    chat = make_chat(invoice_ladder_days=(0, 1, 5))
    await chat.send("/lang ru")
    await chat.send("/newclient Acme")
    replies = await chat.send("/invoice Acme 100 due 01.12")
    assert (
        "Напоминания об оплате: в день оплаты, через 1 день, через 5 дней, пока счёт не оплачен."
        in replies.text
    )


# Amounts as account managers type them: the reply shows what was understood.
@pytest.mark.parametrize(
    ("amount", "shown", "stored"),
    [
        ("1,5к", "₽1,500", (150_000, "RUB")),
        ("150к", "₽150,000", (15_000_000, "RUB")),
        ("150000р", "₽150,000", (15_000_000, "RUB")),
        ("€300", "€300", (30_000, "EUR")),
        ("$2,500", "$2,500", (250_000, "USD")),
        ("2.5k", "₽2,500", (250_000, "RUB")),
        ("1.500", "₽1,500", (150_000, "RUB")),
        ("USD 100", "$100", (10_000, "USD")),
        ("1,5 тыс. руб.", "₽1,500", (150_000, "RUB")),
    ],
)
async def test_amounts_as_people_type_them(
    chat: ChatHarness, storage: Storage, amount: str, shown: str, stored: tuple[int, str]
) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send(f"/invoice Acme {amount} due 01.12")
    assert f"<b>{shown}</b>" in replies.text
    assert "due Tue 1 December" in replies.text
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and (invoice.amount_minor, invoice.currency) == stored
    assert invoice.note is None


async def test_unknown_currency_code_is_named_and_nothing_is_saved(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send("/invoice Acme 100 XYZ due 10.12")
    assert "I do not know the currency “XYZ”" in replies.text
    assert await storage.invoices.unpaid(USER_ID) == []


@pytest.mark.parametrize(
    "args",
    [
        "Acme 100 usd #45 due 10.12",
        "Acme 100 #45 due on 10.12",
        "Acme 100 #45 оплата до 10.12",
        "Acme 100 срок 10.12 #45",
        "Acme 100 до 10.12 #45",
        "Acme 100 #45 срок оплаты 10.12",
        "Acme 100 оплата до 10.12 #45",
        "Acme 100 #45 payable by 10.12",
    ],
)
async def test_the_due_date_is_read_wherever_it_stands(
    chat: ChatHarness, storage: Storage, args: str
) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send(f"/invoice {args}")
    assert "due Thu 10 December, in 14 d" in replies.text
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.note == "#45"
    assert invoice.due_at == moscow(12, 10, 10)


@pytest.mark.parametrize(
    "note", ["аванс до старта работ", "до подписания акта", "оплата за дизайн", "by Ivan"]
)
async def test_a_due_word_with_no_moment_stays_in_the_note(
    chat: ChatHarness, storage: Storage, note: str
) -> None:
    await chat.send("/newclient Acme")
    await chat.send(f"/invoice Acme 100 {note}")
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.note == note


async def test_a_promise_keeps_the_original_due_date(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 20.11")
    await chat.press("🤝 Promised…")
    moved = await chat.send("10.12")
    assert "due Fri 20 November · 🤝 promised for Thu 10 December, in 14 d" in moved.text
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None
    assert invoice.due_at == moscow(11, 20, 10) and invoice.promised_at == moscow(12, 10, 10)
    listing = await chat.send("/invoices")
    assert "due Fri 20 November · 🤝 promised for Thu 10 December, in 14 d" in listing.text
    card = await chat.send("/invoice I1")
    assert "due Fri 20 November · 🤝 promised for Thu 10 December" in card.text


async def test_currency_follows_the_user(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/tz America/New_York")
    first = await chat.send("/invoice Acme 100")
    assert "<b>$100</b>" in first.text
    assert "USD" in (await chat.send("/currency")).text
    chosen = await chat.send("/currency €")
    assert "Your currency: EUR" in chosen.text and "/currency auto" in chosen.text
    second = await chat.send("/invoice Acme 100")
    assert "<b>€100</b>" in second.text
    await chat.send("/currency auto")
    third = await chat.send("/invoice Acme 2.5k")
    assert "<b>$2,500</b>" in third.text
    unknown = await chat.send("/currency XYZ")
    assert "I do not know the currency “XYZ”" in unknown.text
    stored = [await storage.invoices.get_by_number(USER_ID, n) for n in (1, 2, 3)]
    assert [i.currency for i in stored if i is not None] == ["USD", "EUR", "USD"]


async def test_a_russian_user_in_moscow_gets_roubles_shown_in_russian(
    chat: ChatHarness,
) -> None:
    await chat.send("/lang ru")
    await chat.send("/newclient Acme")
    replies = await chat.send("/invoice Acme 1,5к")
    assert "1\u00a0500\u202f₽" in replies.text


async def test_paid_can_be_undone_and_the_ladder_comes_back(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 01.12")
    await chat.press("½ Partly")
    await chat.send("50 000")
    await chat.send("/invoice I1")
    await chat.press("✅ Paid")
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.status is InvoiceStatus.PAID
    assert invoice.task_id is not None
    assert await storage.reminders.pending_for_task(USER_ID, invoice.task_id) == []
    undone = await chat.press("↩️ Not paid")
    assert "I1 is unpaid again." in undone.alerts
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.status is InvoiceStatus.UNPAID
    assert invoice.paid_minor == 5_000_000 and invoice.paid_at is None  # the part stays
    assert invoice.task_id is not None
    task = await storage.tasks.get(USER_ID, invoice.task_id)
    assert task is not None and task.status.value == "open"
    assert await storage.reminders.pending_for_task(USER_ID, invoice.task_id)
    # The same by command.
    await chat.send("/invoice I1 paid")
    by_command = await chat.send("/invoice I1 unpaid")
    assert "paid ₽50,000 of ₽120,000" in by_command.text
    await chat.send("/invoice I1 оплачен")
    in_russian = await chat.send("/invoice I1 не оплачен")
    assert "paid ₽50,000 of ₽120,000" in in_russian.text


async def test_edit_amount_due_date_and_note(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 01.12 #45")
    await chat.press("✏️ Amount")
    amount = await chat.send("150к")
    assert "<b>₽150,000</b>" in amount.text
    await chat.press("📅 Due date")
    due = await chat.send("10.12")
    assert "due Thu 10 December, in 14 d" in due.text
    await chat.press("📝 Note")
    note = await chat.send("#46 for December")
    assert "#46 for December" in note.text
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.task_id is not None
    assert (invoice.amount_minor, invoice.due_at, invoice.note) == (
        15_000_000, moscow(12, 10, 10), "#46 for December"
    )
    task = await storage.tasks.get(USER_ID, invoice.task_id)
    assert task is not None and task.text == "Collect payment: invoice I1, ₽150,000"
    planned = await storage.reminders.pending_for_task(USER_ID, invoice.task_id)
    assert [r.fire_at for r in planned] == [
        moscow(12, 7, 10), moscow(12, 10, 10), moscow(12, 14, 9), moscow(12, 17, 10)
    ]
    # By command, in Russian words too.
    await chat.send("/invoice I1 сумма $2,000")
    await chat.send("/invoice I1 срок 15.12")
    await chat.send("/invoice I1 note -")
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None
    assert (invoice.amount_minor, invoice.currency, invoice.due_at, invoice.note) == (
        200_000, "USD", moscow(12, 15, 10), None
    )


async def test_amount_below_what_was_paid_is_refused(chat: ChatHarness) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000")
    await chat.press("½ Partly")
    await chat.send("50 000")
    refused = await chat.send("/invoice I1 amount 40 000")
    assert "₽50,000 has already been paid" in refused.text


async def test_delete_asks_first_then_takes_the_reminders_too(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 01.12")
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.task_id is not None
    asked = await chat.press("🗑 Delete")
    assert "Delete invoice I1 (Acme, ₽120,000) and its payment reminders?" in asked.text
    kept = await chat.press("Keep it")
    assert "Invoice I1" in kept.text and "due Tue 1 December" in kept.text
    assert await storage.invoices.get_by_number(USER_ID, 1) is not None
    await chat.press("🗑 Delete")
    deleted = await chat.press("Yes, delete")
    assert "Invoice I1 (Acme) is deleted." in deleted.text
    assert await storage.invoices.get_by_number(USER_ID, 1) is None
    assert await storage.reminders.pending_for_task(USER_ID, invoice.task_id) == []
    assert await storage.tasks.get(USER_ID, invoice.task_id) is None  # deleted with it
    assert "No unpaid invoices" in (await chat.send("/invoices")).text


async def test_every_unpaid_invoice_is_reachable_with_buttons(chat: ChatHarness) -> None:
    await chat.send("/newclient Acme")
    for day in range(1, 24):
        await chat.send(f"/invoice Acme {day}00 due {day:02d}.12")
    first = await chat.send("/invoices")
    assert "Unpaid invoices: 23" in first.text
    reachable: set[str] = set()
    for _page in range(3):
        _message, found = chat.last_keyboard()
        reachable |= {text.split()[-1] for text, _ in found if text.startswith("✅ Paid")}
        if any(text == "▶️" for text, _ in found):
            await chat.press("▶️")
    assert reachable == {f"I{n}" for n in range(1, 24)}
    _message, found = chat.last_keyboard()
    assert "3/3" in [text for text, _ in found]


async def test_invoices_of_one_client(chat: ChatHarness) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/newclient Вектор")
    await chat.send("/invoice Acme 100 due 01.12")
    await chat.send("/invoice Вектор 200 due 02.12")
    only = await chat.send("/invoices вектор")
    assert "Unpaid invoices: 1" in only.text and "Вектор" in only.text
    assert "Acme" not in only.text
    assert "No client “Nobody”" in (await chat.send("/invoices Nobody")).text
    await chat.send("/invoice I2 paid")
    assert "No unpaid invoices for Вектор" in (await chat.send("/invoices Вектор")).text


async def test_an_invoice_number_that_does_not_exist_is_named(chat: ChatHarness) -> None:
    assert "No invoice I7." in (await chat.send("/invoice I7")).text
    assert "No invoice I7." in (await chat.send("/invoice I7 paid")).text


async def test_a_client_whose_name_starts_with_a_digit(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient 1C")
    replies = await chat.send("/invoice 1C 2 000 due 01.12")
    assert "Invoice I1" in replies.text and "1C" in replies.text
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.amount_minor == 200_000


async def test_the_currency_is_kept_after_the_first_invoice_when_the_user_travels(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/tz America/New_York")
    assert "From your timezone" in (await chat.send("/currency")).text
    await chat.send("/invoice Acme 100")
    await chat.send("/tz Europe/Berlin")  # a trip
    trip = await chat.send("/invoice Acme 200")
    assert "<b>$200</b>" in trip.text
    await chat.send("/currency auto")
    assert "<b>€300</b>" in (await chat.send("/invoice Acme 300")).text


async def test_a_capitalised_word_in_the_client_name_is_not_a_currency(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme LLC")
    replies = await chat.send("/invoice Acme LLC 100 due 01.12")
    assert "Acme LLC" in replies.text and "<b>₽100</b>" in replies.text


async def test_a_new_due_date_leaves_the_ladder_on_the_promise(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 120 000 due 20.11")
    await chat.press("🤝 Promised…")
    await chat.send("10.12")
    card = await chat.send("/invoice I1 due 15.12")
    assert "due Tue 15 December · 🤝 promised for Thu 10 December" in card.text
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.task_id is not None
    task = await storage.tasks.get(USER_ID, invoice.task_id)
    assert task is not None and task.due_at == moscow(12, 10, 10)
