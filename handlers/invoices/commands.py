"""/invoice (a new invoice, or `/invoice I3 <verb> …` on an existing one), /invoices and
/currency. The existing invoice comes from the ``InvoiceCommand`` filter."""

from __future__ import annotations

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.dates import DateParser
from bot.domain.money import currency_of, format_money, user_currency
from bot.domain.text import clean_line
from bot.services.catalog import Services
from bot.services.invoices import InvoiceInputError, parse_invoice
from bot.settings import Settings
from bot.views.board_button import CHARTS, with_board_button
from bot.views.names import unresolved_client
from bot.views.replies import send_long
from handlers.invoices.edits import (
    change_amount,
    change_due,
    change_note,
    no_longer_unpaid,
    reply_card,
)
from handlers.invoices.keyboards import card_keyboard
from handlers.invoices.views import (
    delete_question,
    input_problem,
    invoice_card,
    ladder_steps,
    payment_task_text,
    render_list,
    unknown_currency,
    usage,
)
from storage.interfaces import Storage, UserRepo
from storage.models import Invoice


async def currency_of_user(
    users: UserRepo, user: UserContext, settings: Settings, clock: Clock
) -> tuple[str, bool]:
    """The user's currency, and whether they chose it (else it follows their timezone)."""
    profile = await users.get(user.id)
    chosen = profile.currency if profile is not None else None
    today = clock.now().astimezone(user.tz).date()
    return user_currency(chosen, user.tz.key, settings.default_currency, today), bool(chosen)


async def new_invoice(
    message: Message,
    command: CommandObject,
    repos: Storage,
    services: Services,
    dates: DateParser,
    settings: Settings,
    user: UserContext,
    clock: Clock,
) -> None:
    """`/invoice Acme 120 000 due 01.12 #45 for November`: the invoice, its payment task and
    the ladder of reminders."""
    args = clean_line(command.args or "")
    if not args:
        await message.answer(usage())
        return
    now = clock.now()
    currency, chosen = await currency_of_user(repos.users, user, settings, clock)
    try:
        draft = parse_invoice(
            args[:500], default_currency=currency, dates=dates,
            tz=user.tz, now=now, morning_hour=user.morning_hour, locale=user.locale,
        )
    except InvoiceInputError as exc:
        await message.answer(input_problem(str(exc), currency))
        return
    found = await repos.clients.match(user.id, draft.client_query)
    if len(found) != 1:
        await message.answer(unresolved_client(draft.client_query, found))
        return
    money = format_money(draft.money.minor, draft.money.currency, user.locale)
    invoice, _task = await services.invoices.create(
        found[0], amount_minor=draft.money.minor, currency=draft.money.currency,
        due=draft.due or services.invoices.default_due(user.tz, user.morning_hour),
        note=draft.note, task_text=payment_task_text(money),
    )
    if not chosen and user.timezone_chosen:
        # Derived once, at the first invoice: a business trip (/tz) does not change the
        # currency the user bills in.
        await repos.users.set_currency(user.id, currency)
    text = invoice_card(invoice, user.tz, user.locale, now) + "\n" + _(
        "Payment reminders: {steps}, until it is paid. All unpaid: /invoices"
    ).format(steps=ladder_steps(settings.invoice_ladder_days))
    await message.answer(text, reply_markup=card_keyboard(invoice))


async def no_such_invoice(message: Message, number: int) -> None:
    await message.answer(_("No invoice I{number}. All unpaid: /invoices").format(number=number))


async def show(message: Message, invoice: Invoice, user: UserContext, clock: Clock) -> None:
    """`/invoice I3`: its card."""
    await reply_card(message, invoice, user, clock.now())


async def ask_delete(message: Message, invoice: Invoice, user: UserContext) -> None:
    text, markup = delete_question(invoice, user.locale)
    await message.answer(text, reply_markup=markup)


async def unpay(
    message: Message, invoice: Invoice, services: Services, user: UserContext, clock: Clock
) -> None:
    unpaid = await services.invoices.unpay(user.id, invoice.id)
    if unpaid is None:
        await message.answer(
            _("Invoice I{number} is not marked paid.").format(number=invoice.number)
        )
        return
    await reply_card(message, unpaid, user, clock.now(), "↩️ ")


async def pay(
    message: Message, invoice: Invoice, services: Services, user: UserContext, clock: Clock
) -> None:
    paid = await services.invoices.pay(user.id, invoice.id)
    if paid is not None:
        await reply_card(message, paid, user, clock.now())


async def set_amount(
    message: Message, invoice: Invoice, rest: str, services: Services, user: UserContext,
    clock: Clock,
) -> None:
    if not rest:
        await message.answer(usage())
        return
    await change_amount(message, invoice, rest, services.invoices, user, clock)


async def set_due(
    message: Message, invoice: Invoice, rest: str, services: Services, dates: DateParser,
    user: UserContext, clock: Clock,
) -> None:
    if not rest:
        await message.answer(usage())
        return
    await change_due(message, invoice, rest, services.invoices, dates, user, clock)


async def set_note(
    message: Message, invoice: Invoice, rest: str, services: Services, user: UserContext,
    clock: Clock,
) -> None:
    if not rest:
        await message.answer(usage())
        return
    await change_note(message, invoice, rest, services.invoices, user, clock)


async def not_unpaid(message: Message) -> None:
    """`/invoice I3 paid|amount|due|note …` on an invoice that is already paid."""
    await no_longer_unpaid(message)


async def list_invoices(
    message: Message,
    command: CommandObject,
    repos: Storage,
    user: UserContext,
    clock: Clock,
    settings: Settings,
) -> None:
    """`/invoices [client]`: the unpaid ones, all or one client's."""
    name = clean_line(command.args or "")
    client_id, client_name = 0, ""
    if name:
        found = await repos.clients.match(user.id, name)
        if len(found) != 1:
            await message.answer(unresolved_client(name, found))
            return
        client_id, client_name = found[0].id, found[0].name
    text, markup = await render_list(repos.invoices, user, clock.now(), client_id, 0)
    if client_id and markup is None:
        text = _("No unpaid invoices for {client}. 👌").format(client=html.quote(client_name))
    await send_long(message, text, with_board_button(markup, settings.public_origin, CHARTS))


async def set_currency(
    message: Message,
    command: CommandObject,
    repos: Storage,
    settings: Settings,
    user: UserContext,
    clock: Clock,
) -> None:
    """`/currency`, `/currency EUR`, `/currency auto` (back to the timezone's)."""
    arg = clean_line(command.args or "")
    if arg.casefold() in ("auto", "авто"):
        await repos.users.set_currency(user.id, None)
    elif arg:
        code = currency_of(arg) or currency_of(arg.upper())
        if code is None:
            await message.answer(unknown_currency(arg[:20]))
            return
        await repos.users.set_currency(user.id, code)
    currency, chosen = await currency_of_user(repos.users, user, settings, clock)
    sample = format_money(1_200_000, currency, user.locale)
    example = "EUR" if currency == "USD" else "USD"
    text = (
        _("Your currency: {currency} (e.g. {sample}).").format(currency=currency,
                                                               sample=sample)
        + " "
        + (_("To change it: /currency {example}; /currency auto takes it from your "
             "timezone again.").format(example=example) if chosen
           else _("From your timezone; to change it: /currency {example}.").format(
               example=example))
    )
    await message.answer(text)
