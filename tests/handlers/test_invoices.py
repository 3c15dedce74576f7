"""Invoices: exact amounts, the payment ladder, payments and promises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from aiogram.methods import SendMessage

from bot.clock import FrozenClock
from storage.interfaces import Storage
from storage.models import InvoiceStatus
from tests.handlers.conftest import MakeChat
from tests.handlers.harness import USER_ID, ChatHarness, buttons
from tests.handlers.test_reminders import Reminders


def moscow(month: int, day: int, hour: int) -> datetime:
    return datetime(2026, month, day, hour - 3, tzinfo=UTC)


@pytest.fixture
async def runtime(
    chat: ChatHarness, storage: Storage, clock: FrozenClock
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
    chat: ChatHarness, storage: Storage, runtime: Reminders, clock: FrozenClock
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
    chat: ChatHarness, storage: Storage, runtime: Reminders, clock: FrozenClock
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
