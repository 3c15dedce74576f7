"""The answers to an invoice's questions (how much came, when it is promised, a new amount,
due date or note). The invoice comes from the ``DialogInvoice`` filter; when it is no longer
unpaid, ``invoice_gone`` ends the dialog."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.dates import DateParser
from bot.domain.money import AmountError, format_money, parse_amount
from bot.domain.text import clean_line
from bot.services.catalog import Services
from bot.views.render import format_day
from handlers.invoices.edits import (
    change_amount,
    change_due,
    change_note,
    no_longer_unpaid,
    read_when,
)
from handlers.invoices.keyboards import card_keyboard
from handlers.invoices.views import amount_problem, invoice_card, paid_text
from storage.models import Invoice, InvoiceStatus


class InvoiceForm(StatesGroup):
    partial = State()
    promise = State()
    amount = State()
    due = State()
    note = State()


async def partial_payment(
    message: Message, invoice: Invoice, services: Services, user: UserContext,
    state: FSMContext,
) -> None:
    try:
        minor = parse_amount(clean_line(message.text or ""), invoice.currency)
    except AmountError as exc:
        await message.answer(amount_problem(str(exc), invoice.currency))
        return
    remaining = invoice.amount_minor - invoice.paid_minor
    if minor > remaining:
        await message.answer(
            _("That is more than the {remaining} still due. Send the amount received.")
            .format(remaining=format_money(remaining, invoice.currency, user.locale))
        )
        return
    paid = await services.invoices.pay(user.id, invoice.id, minor)
    await state.set_state(None)
    if paid is None:
        await no_longer_unpaid(message)
    elif paid.status is InvoiceStatus.PAID:
        await message.answer(paid_text(paid), reply_markup=card_keyboard(paid))
    else:
        await message.answer(
            _("Noted: {paid} of {total} paid for I{number}.").format(
                paid=format_money(paid.paid_minor, paid.currency, user.locale),
                total=format_money(paid.amount_minor, paid.currency, user.locale),
                number=paid.number,
            )
        )


async def promised(
    message: Message, invoice: Invoice, services: Services, dates: DateParser,
    user: UserContext, clock: Clock, state: FSMContext,
) -> None:
    when = await read_when(message, message.text or "", dates, user, clock)
    if when is None:
        return
    updated = await services.invoices.promise(user.id, invoice.id, when)
    await state.set_state(None)
    if updated is None:
        await no_longer_unpaid(message)
        return
    await message.answer(
        "🤝 " + _("I{number}: promised for {day}; reminders move there.").format(
            number=updated.number, day=format_day(when.astimezone(user.tz), user.locale)
        )
        + "\n" + invoice_card(updated, user.tz, user.locale, clock.now()),
        reply_markup=card_keyboard(updated),
    )


async def new_amount(
    message: Message, invoice: Invoice, services: Services, user: UserContext,
    clock: Clock, state: FSMContext,
) -> None:
    if await change_amount(
        message, invoice, message.text or "", services.invoices, user, clock
    ):
        await state.set_state(None)


async def new_due(
    message: Message, invoice: Invoice, services: Services, dates: DateParser,
    user: UserContext, clock: Clock, state: FSMContext,
) -> None:
    if await change_due(
        message, invoice, message.text or "", services.invoices, dates, user, clock
    ):
        await state.set_state(None)


async def new_note(
    message: Message, invoice: Invoice, services: Services, user: UserContext,
    clock: Clock, state: FSMContext,
) -> None:
    await state.set_state(None)
    await change_note(message, invoice, message.text or "", services.invoices, user, clock)


async def invoice_gone(message: Message, state: FSMContext) -> None:
    """An answer for an invoice paid, deleted or otherwise settled meanwhile."""
    await state.set_state(None)
    await no_longer_unpaid(message)
