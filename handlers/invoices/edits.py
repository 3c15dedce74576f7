"""Changing an invoice's amount, due date or note: the same from `/invoice I3 amount …` and
from the ✏️ dialogs. Each answers the user; True when the change is done with (saved, or the
invoice is no longer unpaid), False when the input was not understood (ask again)."""

from __future__ import annotations

from datetime import datetime

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.dates import DateParser
from bot.domain.money import AmountError, format_money, parse_money
from bot.domain.text import clean_line
from bot.services.invoices import InvoiceChangeError, InvoiceService
from bot.views.render import quoted
from bot.views.tasks import when_examples
from handlers.invoices.keyboards import card_keyboard
from handlers.invoices.views import amount_problem, invoice_card, payment_task_text
from storage.models import Invoice

NOTE_LIMIT = 500


async def reply_card(
    message: Message, invoice: Invoice, user: UserContext, now: datetime, prefix: str = ""
) -> None:
    await message.answer(
        prefix + invoice_card(invoice, user.tz, user.locale, now),
        reply_markup=card_keyboard(invoice),
    )


async def no_longer_unpaid(message: Message) -> None:
    await message.answer(_("That invoice is no longer unpaid."))


async def read_when(
    message: Message, phrase: str, dates: DateParser, user: UserContext, clock: Clock
) -> datetime | None:
    """A moment from the user's words; None (and the examples told) when there is none."""
    phrase = clean_line(phrase)[:200]
    when = dates.parse(
        phrase, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour,
        locale=user.locale,
    )
    if when is None:
        await message.answer(
            _("I could not understand the time {phrase}.").format(phrase=quoted(phrase))
            + " " + when_examples()
        )
    return when


def change_problem(error: InvoiceChangeError, invoice: Invoice, locale: str) -> str:
    if str(error) == "below_paid":
        paid = format_money(invoice.paid_minor, invoice.currency, locale)
        return _("{paid} has already been paid: the amount cannot be less.").format(paid=paid)
    return _("Part is already paid in {currency}: keep that currency.").format(
        currency=invoice.currency
    )


async def change_amount(
    message: Message, invoice: Invoice, text: str, invoice_service: InvoiceService,
    user: UserContext, clock: Clock,
) -> bool:
    try:
        money = parse_money(clean_line(text), invoice.currency)
        changed = await invoice_service.change_amount(
            user.id, invoice, money,
            payment_task_text(format_money(money.minor, money.currency, user.locale)),
        )
    except AmountError as exc:
        await message.answer(amount_problem(str(exc), invoice.currency))
        return False
    except InvoiceChangeError as exc:
        await message.answer(change_problem(exc, invoice, user.locale))
        return False
    if changed is None:
        await no_longer_unpaid(message)
    else:
        await reply_card(message, changed, user, clock.now(), "✏️ ")
    return True


async def change_due(
    message: Message, invoice: Invoice, phrase: str, invoice_service: InvoiceService,
    dates: DateParser, user: UserContext, clock: Clock,
) -> bool:
    when = await read_when(message, phrase, dates, user, clock)
    if when is None:
        return False
    changed = await invoice_service.change_due(user.id, invoice.id, when)
    if changed is None:
        await no_longer_unpaid(message)
    else:
        await reply_card(message, changed, user, clock.now(), "📅 ")
    return True


async def change_note(
    message: Message, invoice: Invoice, text: str, invoice_service: InvoiceService,
    user: UserContext, clock: Clock,
) -> None:
    note = clean_line(text)[:NOTE_LIMIT]
    changed = await invoice_service.change_note(
        user.id, invoice.id, None if note in ("", "-", "—") else note
    )
    if changed is None:
        await no_longer_unpaid(message)
    else:
        await reply_card(message, changed, user, clock.now(), "📝 ")
