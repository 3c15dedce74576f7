"""An invoice's buttons. The invoice comes from the ``OwnInvoice`` filter; every press is
answered by the router's middleware (``callback_answer`` carries the text)."""

from __future__ import annotations

from collections.abc import Callable

from aiogram import html
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import InvoiceAction, InvoiceOp, InvoicesPage
from bot.clock import Clock
from bot.context import UserContext
from bot.services.catalog import Services
from bot.settings import Settings
from bot.views.board_button import CHARTS, with_board_button
from bot.views.replies import edit_or_send
from bot.views.tasks import when_examples
from handlers.buttons import button_expired
from handlers.invoices.dialogs import InvoiceForm
from handlers.invoices.keyboards import card_keyboard
from handlers.invoices.views import delete_question, invoice_card, paid_text, render_list
from storage.interfaces import Storage
from storage.models import Invoice


async def page(
    query: CallbackQuery, callback_data: InvoicesPage, repos: Storage, user: UserContext,
    clock: Clock, settings: Settings,
) -> None:
    """◀️ / ▶️ in /invoices."""
    text, markup = await render_list(
        repos.invoices, user, clock.now(), callback_data.client, callback_data.page
    )
    await edit_or_send(query, text, with_board_button(markup, settings.public_origin, CHARTS))


async def show(query: CallbackQuery, invoice: Invoice, user: UserContext, clock: Clock) -> None:
    """✏️ I3 in /invoices: the card, as a new message below the list."""
    if query.bot is not None:
        await query.bot.send_message(
            user.id, invoice_card(invoice, user.tz, user.locale, clock.now()),
            reply_markup=card_keyboard(invoice),
        )


async def keep(query: CallbackQuery, invoice: Invoice, user: UserContext, clock: Clock) -> None:
    """"Keep it" on the delete question: the question becomes the card."""
    await edit_or_send(
        query, invoice_card(invoice, user.tz, user.locale, clock.now()), card_keyboard(invoice)
    )


async def ask_delete(query: CallbackQuery, invoice: Invoice, user: UserContext) -> None:
    text, markup = delete_question(invoice, user.locale)
    if query.bot is not None:
        await query.bot.send_message(user.id, text, reply_markup=markup)


async def delete(
    query: CallbackQuery, invoice: Invoice, services: Services, user: UserContext,
    callback_answer: CallbackAnswer,
) -> None:
    if await services.invoices.delete(user.id, invoice.id) is None:  # gone meanwhile
        await button_expired(query, callback_answer)
        return
    await edit_or_send(
        query, "🗑 " + _("Invoice I{number} ({client}) is deleted.").format(
            number=invoice.number, client=html.quote(invoice.client_name)
        ), None,
    )


async def unpay(
    query: CallbackQuery, invoice: Invoice, services: Services, user: UserContext,
    clock: Clock, callback_answer: CallbackAnswer,
) -> None:
    """↩️ Not paid."""
    unpaid = await services.invoices.unpay(user.id, invoice.id)
    if unpaid is None:  # not paid (any more)
        await button_expired(query, callback_answer)
        return
    callback_answer.text = _("I{number} is unpaid again.").format(number=invoice.number)
    await edit_or_send(
        query, "↩️ " + invoice_card(unpaid, user.tz, user.locale, clock.now()),
        card_keyboard(unpaid),
    )


async def pay(
    query: CallbackQuery, invoice: Invoice, services: Services, user: UserContext,
    callback_answer: CallbackAnswer,
) -> None:
    """✅ Paid (on the card, in /invoices or on a payment reminder)."""
    paid = await services.invoices.pay(user.id, invoice.id)
    if paid is None:  # paid or deleted meanwhile
        await button_expired(query, callback_answer)
        return
    callback_answer.text = _("I{number} is paid.").format(number=invoice.number)
    if query.bot is not None:
        await query.bot.send_message(user.id, paid_text(invoice), reply_markup=card_keyboard(paid))


# What each ✏️-like button asks, and the dialog state that reads the answer.
QUESTIONS: dict[InvoiceOp, tuple[State, Callable[[], str]]] = {
    InvoiceOp.PART: (InvoiceForm.partial, lambda: _("How much came for I{number}? E.g. 50 000")),
    InvoiceOp.PROMISE: (
        InvoiceForm.promise,
        lambda: _("When did the client promise to pay I{number}?") + " " + when_examples(),
    ),
    InvoiceOp.AMOUNT: (
        InvoiceForm.amount,
        lambda: _("The new amount of I{number}? E.g. 150 000, 1,5к or $2,500"),
    ),
    InvoiceOp.DUE: (
        InvoiceForm.due, lambda: _("The new due date of I{number}?") + " " + when_examples()
    ),
    InvoiceOp.NOTE: (InvoiceForm.note, lambda: _("The new note for I{number}? “-” removes it.")),
}


async def ask(
    query: CallbackQuery, callback_data: InvoiceAction, invoice: Invoice, user: UserContext,
    state: FSMContext,
) -> None:
    """½ Partly, 🤝 Promised…, ✏️ Amount, 📅 Due date, 📝 Note: the next text is the answer."""
    form, question = QUESTIONS[callback_data.op]
    await state.set_state(form)
    await state.update_data(invoice_id=invoice.id)
    if query.bot is not None:
        await query.bot.send_message(
            user.id, question().format(number=invoice.number) + "\n" + _("/cancel to stop.")
        )
