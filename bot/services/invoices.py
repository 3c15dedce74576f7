"""Invoices: the one-line command grammar, and keeping each invoice's payment task (whose
reminders are the payment ladder) in step with payments and promises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.services.dates import DateParser, at_local
from bot.services.money import CURRENCY_WORDS, AmountError, parse_amount
from storage.interfaces import InvoiceRepo, TaskRepo
from storage.models import Client, Invoice, InvoiceStatus, Task, TaskKind, TaskStatus

DEFAULT_TERM_DAYS = 7
_DUE_WORDS = {"due", "до", "срок", "оплата", "оплатить", "by"}
_GROUP = re.compile(r"^\d{3}(?:[.,]\d{1,2})?$")


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    client_query: str
    amount: Decimal
    currency: str
    due: datetime | None
    note: str | None


class InvoiceInputError(ValueError):
    """What is wrong with the command: 'client', 'amount:<reason>', 'due'."""


def parse_invoice(
    args: str,
    *,
    default_currency: str,
    dates: DateParser,
    tz: ZoneInfo,
    now: datetime,
    morning_hour: int,
) -> InvoiceDraft:
    """`<client> <amount> [<currency>] [due <when>] [<number or note>]`."""
    words = args.split()
    start = next((i for i, word in enumerate(words) if word[:1].isdigit() or word[:1] in "-+"),
                 None)
    if start is None:
        raise InvoiceInputError("amount:missing")
    client_query = " ".join(words[:start]).rstrip(":").strip()
    if not client_query:
        raise InvoiceInputError("client")
    # "120 000" arrives as two words: take following groups of three digits with it.
    end = start + 1
    while end < len(words) and _GROUP.match(words[end]) and "," not in words[end - 1][-3:]:
        end += 1
    try:
        amount = parse_amount(" ".join(words[start:end]))
    except AmountError as exc:
        raise InvoiceInputError(f"amount:{exc}") from exc
    currency = default_currency
    if end < len(words) and words[end].casefold() in CURRENCY_WORDS:
        currency = CURRENCY_WORDS[words[end].casefold()]
        end += 1
    rest = words[end:]
    due = None
    note_words = rest
    if rest and rest[0].casefold() in _DUE_WORDS:
        # The longest run of words after "due" that is a moment; the rest is the note.
        for size in range(min(len(rest) - 1, 6), 0, -1):
            phrase = " ".join(rest[1 : 1 + size])
            due = dates.parse(phrase, tz=tz, now=now, morning_hour=morning_hour)
            if due is not None:
                note_words = rest[1 + size :]
                break
        if due is None:
            raise InvoiceInputError("due")
    note = " ".join(note_words).strip() or None
    return InvoiceDraft(client_query, amount, currency, due, note)


class InvoiceService:
    def __init__(self, invoices: InvoiceRepo, tasks: TaskRepo, clock: Clock) -> None:
        self._invoices = invoices
        self._tasks = tasks
        self._clock = clock

    def default_due(self, tz: ZoneInfo, morning_hour: int) -> datetime:
        return at_local(DEFAULT_TERM_DAYS, morning_hour, tz=tz, now=self._clock.now())

    async def create(
        self,
        client: Client,
        *,
        amount_minor: int,
        currency: str,
        due: datetime,
        note: str | None,
        task_text: str,
    ) -> tuple[Invoice, Task]:
        now = self._clock.now()
        invoice = await self._invoices.create(
            client.owner_id, client_id=client.id, amount_minor=amount_minor, currency=currency,
            due_at=due, note=note, now=now,
        )
        task = await self._tasks.create(
            client.owner_id, client_id=client.id,
            text=task_text.format(number=invoice.number), kind=TaskKind.INVOICE, due_at=due,
            now=now, invoice_id=invoice.id,
        )
        await self._invoices.link_task(client.owner_id, invoice.id, task.id)
        return invoice, task

    async def pay(
        self, owner_id: int, invoice_id: int, amount_minor: int | None = None
    ) -> Invoice | None:
        """Record a payment (the rest of the amount if None); a paid invoice closes its task."""
        invoice = await self._invoices.get(owner_id, invoice_id)
        if invoice is None or invoice.status is not InvoiceStatus.UNPAID:
            return None
        remaining = invoice.amount_minor - invoice.paid_minor
        paid = await self._invoices.add_payment(
            owner_id, invoice_id, remaining if amount_minor is None else amount_minor,
            self._clock.now(),
        )
        if paid is not None and paid.status is InvoiceStatus.PAID and paid.task_id is not None:
            await self._tasks.complete(owner_id, paid.task_id, self._clock.now())
        return paid

    async def promise(self, owner_id: int, invoice_id: int, when: datetime) -> Invoice | None:
        """The client promised to pay on a date: the ladder moves to it."""
        invoice = await self._invoices.set_promised(owner_id, invoice_id, when, self._clock.now())
        if invoice is not None and invoice.task_id is not None:
            await self._tasks.set_due(owner_id, invoice.task_id, when, self._clock.now())
        return invoice

    async def after_task_closed(self, task: Task) -> None:
        """Completing an invoice's payment task (✅, /done) means it was paid."""
        if task.invoice_id is not None and task.status is TaskStatus.DONE:
            invoice = await self._invoices.get(task.owner_id, task.invoice_id)
            if invoice is not None and invoice.status is InvoiceStatus.UNPAID:
                await self._invoices.add_payment(
                    task.owner_id, invoice.id, invoice.amount_minor - invoice.paid_minor,
                    self._clock.now(),
                )


def days_word_delta(due: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Whole local days from today to the due date (negative when overdue)."""
    return (due.astimezone(tz).date() - now.astimezone(tz).date()) // timedelta(days=1)
