"""The invoice a button, a dialog answer or `/invoice I3 …` is about, handed to the handler as
``invoice``. A press no filter accepts gets "no longer valid" from the router."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiogram.filters import CommandObject, Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import InvoiceAction
from bot.context import UserContext
from bot.domain.text import clean_line
from bot.services.invoices import invoice_number
from storage.interfaces import Storage
from storage.models import Invoice, InvoiceStatus

# `/invoice I3 <verb> …`: what to do with an existing invoice; "" shows its card.
VERBS = {
    "paid": "paid", "оплачен": "paid", "оплачено": "paid",
    "unpaid": "unpaid", "неоплачен": "unpaid", "неоплачено": "unpaid",
    "delete": "delete", "удалить": "delete",
    "amount": "amount", "сумма": "amount",
    "due": "due", "срок": "due", "до": "due",
    "note": "note", "заметка": "note",
}


def live(invoice: Invoice | None, *, unpaid: bool) -> Invoice | None:
    """The invoice if it is still there (and unpaid, when the action needs that)."""
    if invoice is None or invoice.status is InvoiceStatus.CANCELLED:
        return None
    if unpaid and invoice.status is not InvoiceStatus.UNPAID:
        return None
    return invoice


class OwnInvoice(Filter):
    """The user's own invoice a button is about; ``unpaid``: only while it is unpaid."""

    def __init__(self, *, unpaid: bool = False) -> None:
        self.unpaid = unpaid

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: InvoiceAction,
        repos: Storage,
        user: UserContext,
    ) -> dict[str, Any] | bool:
        invoice = live(await repos.invoices.get(user.id, callback_data.id), unpaid=self.unpaid)
        return False if invoice is None else {"invoice": invoice}


class DialogInvoice(Filter):
    """The unpaid invoice an invoice dialog asks about (its id waits in the dialog state)."""

    async def __call__(
        self, message: Message, state: FSMContext, repos: Storage, user: UserContext
    ) -> dict[str, Any] | bool:
        invoice_id = (await state.get_data()).get("invoice_id")
        invoice = (
            live(await repos.invoices.get(user.id, invoice_id), unpaid=True)
            if isinstance(invoice_id, int)
            else None
        )
        return False if invoice is None else {"invoice": invoice}


@dataclass(frozen=True)
class NumberedCommand:
    """`/invoice I3 <verb> <rest>` read: ``first`` is the word that named the number."""

    number: int
    first: str
    verb: str
    rest: str


def read_numbered(args: str) -> NumberedCommand | None:
    """`I3`, `I3 paid`, `I3 not paid`, `I3 amount 150 000`, …; None when the words do not
    start with an invoice number and a known verb (then they may be a new invoice)."""
    words = args.split()
    if not words or words[0][:1] not in "IiИи":
        return None
    number = invoice_number(words[0])
    if number is None:
        return None
    if len(words) > 2 and words[1].casefold() in ("не", "not"):
        # "не оплачен", "not paid": one word for the table.
        words[1:3] = [("un" if words[1].casefold() == "not" else "не") + words[2]]
    if len(words) == 1:
        return NumberedCommand(number, words[0], "", "")
    verb = VERBS.get(words[1].casefold())
    if verb is None:
        return None
    return NumberedCommand(number, words[0], verb, " ".join(words[2:]))


class InvoiceCommand(Filter):
    """`/invoice I3 <verb> …` for one of ``verbs`` on the user's invoice I3: hands over
    ``invoice`` and the words after the verb as ``rest``. ``unpaid``: only while unpaid."""

    def __init__(self, *verbs: str, unpaid: bool = False) -> None:
        self.verbs = frozenset(verbs)
        self.unpaid = unpaid

    async def __call__(
        self, message: Message, command: CommandObject, repos: Storage, user: UserContext
    ) -> dict[str, Any] | bool:
        numbered = read_numbered(clean_line(command.args or ""))
        if numbered is None or numbered.verb not in self.verbs:
            return False
        invoice = live(
            await repos.invoices.get_by_number(user.id, numbered.number), unpaid=self.unpaid
        )
        return False if invoice is None else {"invoice": invoice, "rest": numbered.rest}


class MissingInvoice(Filter):
    """`/invoice I9 …` with no invoice I9, unless "I9 …" reads as a new invoice for a client
    whose name starts with "I9". Hands over ``number``."""

    async def __call__(
        self, message: Message, command: CommandObject, repos: Storage, user: UserContext
    ) -> dict[str, Any] | bool:
        numbered = read_numbered(clean_line(command.args or ""))
        if numbered is None:
            return False
        if live(await repos.invoices.get_by_number(user.id, numbered.number), unpaid=False):
            return False
        if numbered.verb and await repos.clients.match(user.id, numbered.first):
            return False
        return {"number": numbered.number}
