"""Invoices: the one-line command grammar, and keeping each invoice's payment task (whose
reminders are the payment ladder) in step with payments and promises."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.dates import DateParser, at_local
from bot.domain.money import AmountError, Money, currency_of, looks_like_code, parse_money
from storage.interfaces import InvoiceRepo, TaskRepo
from storage.models import Client, Invoice, InvoiceStatus, Task, TaskKind, TaskStatus

DEFAULT_TERM_DAYS = 7
# A word that says "the due date follows"; connectors after it are skipped ("оплата до",
# "срок оплаты", "due by", "due on").
_DUE_WORDS = {"due", "до", "срок", "by", "deadline"}
# Right after the amount, these must be followed by a moment (else the user is asked);
# «до»/"by" with no moment is just part of the note («до подписания акта»).
_STRICT_DUE_WORDS = {"due", "срок", "deadline"}
_DUE_CONNECTORS = {"до", "by", "on", "оплаты", "date", "к"}
# Words before a due word that belong to it: «оплата до 10.12», "payable by Friday".
_DUE_LEAD_INS = {"оплата", "оплатить", "оплату", "pay", "payment", "payable"}
# A multiplier written as a word of its own ("150 к") counts only at the end or before a
# currency: «100 к оплате» is 100 and a note.
_BARE_MULTIPLIERS = {"к", "k", "м", "m"}
_MAX_AMOUNT_WORDS = 5
_INVOICE_REF = re.compile(r"^[IiИи]?(\d{1,9})$")


@dataclass(frozen=True, slots=True)
class InvoiceDraft:
    client_query: str
    money: Money
    due: datetime | None
    note: str | None


class InvoiceInputError(ValueError):
    """What is wrong with the command: 'client', 'amount:<reason>', 'currency:<CODE>',
    'due'."""


def _amount_starts(words: list[str], i: int) -> bool:
    """Whether the amount may start at words[i]: a digit or sign, a currency sign glued to
    digits ('$2,500', '€300'), or a known currency word or code before a number ('USD 100';
    not 'LLC' in 'Acme LLC 100')."""
    word = words[i]
    if word[:1].isdigit() or word[:1] in "-+−":
        return True
    if i == 0:
        return False  # the client's name comes first
    nxt = words[i + 1] if i + 1 < len(words) else ""
    glued = currency_of(word[:1]) is not None and word[1:2].isdigit()
    return glued or (currency_of(word) is not None and nxt[:1].isdigit())


def read_money(words: list[str], start: int, default_currency: str) -> tuple[Money, int]:
    """The longest run of words from `start` that is an amount, and where it ends."""
    error = "format"
    for end in range(min(len(words), start + _MAX_AMOUNT_WORDS), start, -1):
        if end - start > 1 and words[end - 1].casefold() in _BARE_MULTIPLIERS and end < len(
            words
        ):
            continue
        try:
            return parse_money(" ".join(words[start:end]), default_currency), end
        except AmountError as exc:
            # The most telling reason: an unknown code or a bad value beats "format".
            if error == "format" or str(exc).startswith("currency:"):
                error = str(exc)
    if error.startswith("currency:"):
        raise InvoiceInputError(error)
    raise InvoiceInputError(f"amount:{error}")


def read_due(
    words: list[str],
    *,
    dates: DateParser,
    tz: ZoneInfo,
    now: datetime,
    morning_hour: int,
    locale: str | None,
) -> tuple[datetime | None, list[str]]:
    """The moment after a due word ("due 10.12", «оплата до пятницы», «срок 15 числа»)
    anywhere in the words, and the words left for the note. "due" or «срок» first with no
    moment after it is an error; any other, it is just part of the note («аванс до старта»,
    «оплата за дизайн»)."""
    for i, word in enumerate(words):
        keyword = word.casefold().rstrip(":")
        if keyword not in _DUE_WORDS:
            continue
        j = i + 1
        while j < len(words) - 1 and words[j].casefold() in _DUE_CONNECTORS:
            j += 1
        # The longest run of words that is a moment; the rest is the note.
        for size in range(min(len(words) - j, 6), 0, -1):
            phrase = " ".join(words[j : j + size])
            due = dates.parse(
                phrase, tz=tz, now=now, morning_hour=morning_hour, locale=locale
            )
            if due is not None:
                lead_in = i > 0 and words[i - 1].casefold() in _DUE_LEAD_INS
                return due, words[: i - 1 if lead_in else i] + words[j + size :]
        first = i == 0 or (i == 1 and words[0].casefold() in _DUE_LEAD_INS)
        if first and keyword in _STRICT_DUE_WORDS:
            raise InvoiceInputError("due")
    return None, words


def parse_invoice(
    args: str,
    *,
    default_currency: str,
    dates: DateParser,
    tz: ZoneInfo,
    now: datetime,
    morning_hour: int,
    locale: str | None = None,
) -> InvoiceDraft:
    """`<client> <amount> [<currency>] [due <when>] [<number or note>]`."""
    words = args.split()
    starts = [i for i in range(len(words)) if _amount_starts(words, i)]
    if not starts:
        raise InvoiceInputError("amount:missing")
    start = starts[0]
    if start == 0 and len(starts) > 1:
        # A name that starts with a digit ("1C", "2ГИС") is the client, not the amount.
        try:
            read_money(words, 0, default_currency)
        except InvoiceInputError:
            start = starts[1]
    client_query = " ".join(words[:start]).rstrip(":").strip()
    if not client_query:
        raise InvoiceInputError("client")
    money, end = read_money(words, start, default_currency)
    if end < len(words) and looks_like_code(words[end]) and currency_of(words[end]) is None:
        raise InvoiceInputError(f"currency:{words[end]}")
    due, note_words = read_due(
        words[end:], dates=dates, tz=tz, now=now, morning_hour=morning_hour, locale=locale
    )
    note = " ".join(note_words).strip() or None
    return InvoiceDraft(client_query, money, due, note)


def invoice_number(text: str) -> int | None:
    """'I12', 'i12', 'И12' or '12' -> 12."""
    found = _INVOICE_REF.match(text.strip())
    return int(found.group(1)) if found else None


class InvoiceChangeError(ValueError):
    """An edit the invoice cannot take: 'below_paid' (less than already paid),
    'currency_paid' (a currency change after part was paid)."""


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
        """The client promised to pay on a date: the ladder moves to it; the invoice's own due
        date stays as it was (both are shown)."""
        invoice = await self._invoices.set_promised(owner_id, invoice_id, when, self._clock.now())
        if invoice is not None and invoice.task_id is not None:
            await self._tasks.set_due(owner_id, invoice.task_id, when, self._clock.now())
        return invoice

    async def unpay(self, owner_id: int, invoice_id: int) -> Invoice | None:
        """Undo "paid": the invoice is owed again (as much as before the payment that closed
        it) and its payment task reopens, so the ladder is planned again."""
        invoice = await self._invoices.set_unpaid(owner_id, invoice_id, self._clock.now())
        if invoice is not None and invoice.task_id is not None:
            await self._tasks.reopen(owner_id, invoice.task_id, self._clock.now())
        return invoice

    async def change_amount(
        self, owner_id: int, invoice: Invoice, money: Money, task_text: str
    ) -> Invoice | None:
        """A new amount (and maybe currency); the payment task's text follows."""
        if money.minor < invoice.paid_minor:
            raise InvoiceChangeError("below_paid")
        if money.currency != invoice.currency and invoice.paid_minor:
            raise InvoiceChangeError("currency_paid")
        now = self._clock.now()
        changed = await self._invoices.set_amount(
            owner_id, invoice.id, money.minor, money.currency, now
        )
        if changed is not None and changed.task_id is not None:
            await self._tasks.set_text(
                owner_id, changed.task_id, task_text.format(number=changed.number), now
            )
        if changed is not None and changed.paid_minor >= changed.amount_minor:
            return await self.pay(owner_id, changed.id)
        return changed

    async def change_due(self, owner_id: int, invoice_id: int, due: datetime) -> Invoice | None:
        """A new due date. The ladder follows it unless a promise drives the ladder."""
        now = self._clock.now()
        invoice = await self._invoices.set_due(owner_id, invoice_id, due, now)
        if invoice is not None and invoice.task_id is not None and invoice.promised_at is None:
            await self._tasks.set_due(owner_id, invoice.task_id, due, now)
        return invoice

    async def change_note(
        self, owner_id: int, invoice_id: int, note: str | None
    ) -> Invoice | None:
        return await self._invoices.set_note(owner_id, invoice_id, note, self._clock.now())

    async def delete(self, owner_id: int, invoice_id: int) -> Invoice | None:
        """The invoice is gone and so are its payment task and its pending reminders."""
        invoice = await self._invoices.get(owner_id, invoice_id)
        if invoice is None:
            return None
        if invoice.task_id is not None:
            await self._tasks.delete(owner_id, invoice.task_id, self._clock.now())
        return invoice if await self._invoices.delete(owner_id, invoice_id) else None

    async def after_task_closed(self, task: Task) -> None:
        """Completing an invoice's payment task (✅, /done) means it was paid."""
        if task.invoice_id is not None and task.status is TaskStatus.DONE:
            invoice = await self._invoices.get(task.owner_id, task.invoice_id)
            if invoice is not None and invoice.status is InvoiceStatus.UNPAID:
                await self._invoices.add_payment(
                    task.owner_id, invoice.id, invoice.amount_minor - invoice.paid_minor,
                    self._clock.now(),
                )


    async def after_task_reopened(self, task: Task) -> None:
        """Reopening a paid invoice's payment task (/undo after ✅) means it is owed again."""
        if task.invoice_id is not None and task.status is TaskStatus.OPEN:
            invoice = await self._invoices.get(task.owner_id, task.invoice_id)
            if invoice is not None and invoice.status is InvoiceStatus.PAID:
                await self._invoices.set_unpaid(task.owner_id, invoice.id, self._clock.now())


def days_word_delta(due: datetime, now: datetime, tz: ZoneInfo) -> int:
    """Whole local days from today to the due date (negative when overdue)."""
    return (due.astimezone(tz).date() - now.astimezone(tz).date()) // timedelta(days=1)
