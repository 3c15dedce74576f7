"""/invoice, /invoices and /currency: amounts owed, payment buttons, promises to pay, edits."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callbacks import InvoiceAction, InvoicesPage
from bot.clock import Clock
from bot.context import UserContext
from bot.keyboards import invoice_buttons
from bot.services.dates import DateParser
from bot.services.invoices import (
    InvoiceChangeError,
    InvoiceInputError,
    InvoiceService,
    days_word_delta,
    invoice_number,
    parse_invoice,
)
from bot.services.money import (
    AmountError,
    currency_of,
    format_money,
    parse_amount,
    parse_money,
    user_currency,
)
from bot.services.render import format_day, paginate, quoted, shorten
from bot.services.text import clean_line
from bot.settings import Settings
from bot.views.tasks import when_examples
from handlers.replies import edit_or_send, send_long, stale_button, unresolved_client
from storage.interfaces import ClientRepo, InvoiceRepo, UserRepo
from storage.models import Invoice, InvoiceStatus

PAGE_SIZE = 10  # invoices per page of /invoices, each with its row of buttons
NOTE_LIMIT = 500
# `/invoice I3 <what> …`: what to do with an existing invoice.
_SUBCOMMANDS = {
    "paid": "paid", "оплачен": "paid", "оплачено": "paid",
    "unpaid": "unpaid", "неоплачен": "unpaid", "неоплачено": "unpaid",
    "delete": "delete", "удалить": "delete",
    "amount": "amount", "сумма": "amount",
    "due": "due", "срок": "due", "до": "due",
    "note": "note", "заметка": "note",
}


class InvoiceForm(StatesGroup):
    partial = State()
    promise = State()
    amount = State()
    due = State()
    note = State()


def usage() -> str:
    return _(
        "Write: <code>/invoice Acme 120 000 due 01.12 #45 for November</code> — client, "
        "amount, currency (optional), “due” and a date (optional, else in 7 days), a note."
    )


def amount_problem(reason: str, currency: str) -> str:
    problems = {
        "positive": _("The amount must be more than zero."),
        "precision": _("Too many decimals for {currency}.").format(currency=currency),
        "too_large": _("That amount is too large."),
    }
    if reason.startswith("currency:"):
        return unknown_currency(reason.partition(":")[2])
    return problems.get(
        reason,
        _("I need an amount like 120 000, 1,5к, $2,500 or 1500,50 (not “1e9”)."),
    )


def unknown_currency(code: str) -> str:
    return _(
        "I do not know the currency {code}. Write a code like USD, EUR or RUB, or a sign "
        "($, €, ₽), or leave it out for your currency (/currency)."
    ).format(code=quoted(code))


def due_phrase(moment: datetime, now: datetime, tz: ZoneInfo, locale: str) -> str:
    days = days_word_delta(moment, now, tz)
    day = format_day(moment.astimezone(tz), locale)
    if days > 0:
        return _("due {day}, in {count} d").format(day=day, count=days)
    if days == 0:
        return _("due today")
    return "⚠️ " + _("{count} d overdue").format(count=-days)


def due_text(invoice: Invoice, tz: ZoneInfo, locale: str, now: datetime) -> str:
    """The due date, and the promise beside it (the promise drives the reminders, the due
    date stays what the invoice says)."""
    if invoice.promised_at is None:
        return due_phrase(invoice.due_at, now, tz, locale)
    due_day = format_day(invoice.due_at.astimezone(tz), locale)
    promise_day = format_day(invoice.promised_at.astimezone(tz), locale)
    days = days_word_delta(invoice.promised_at, now, tz)
    if days > 0:
        promise = _("promised for {day}, in {count} d").format(day=promise_day, count=days)
    elif days == 0:
        promise = _("promised for today")
    else:
        promise = "⚠️ " + _("promised for {day}, {count} d ago").format(
            day=promise_day, count=-days
        )
    return _("due {day}").format(day=due_day) + " · 🤝 " + promise


def invoice_line(invoice: Invoice, tz: ZoneInfo, locale: str, now: datetime) -> str:
    amount = format_money(invoice.amount_minor, invoice.currency, locale)
    line = (
        f"<code>I{invoice.number}</code> · {html.quote(invoice.client_name)} · "
        f"{html.bold(amount)} · {due_text(invoice, tz, locale, now)}"
    )
    if invoice.paid_minor:
        line += " · " + _("paid {paid} of {total}").format(
            paid=format_money(invoice.paid_minor, invoice.currency, locale), total=amount
        )
    if invoice.note:
        line += f" · {html.quote(shorten(invoice.note, 60))}"
    return line


def invoice_card(invoice: Invoice, tz: ZoneInfo, locale: str, now: datetime) -> str:
    money = format_money(invoice.amount_minor, invoice.currency, locale)
    lines = [
        "💰 " + html.bold(_("Invoice I{number}").format(number=invoice.number))
        + f" · {html.quote(invoice.client_name)} · {html.bold(money)}",
    ]
    if invoice.status is InvoiceStatus.PAID:
        paid_day = format_day((invoice.paid_at or now).astimezone(tz), locale)
        due_day = format_day(invoice.due_at.astimezone(tz), locale)
        lines.append(
            "✅ " + _("Paid {day}").format(day=paid_day)
            + " · " + _("due {day}").format(day=due_day)
        )
    else:
        lines.append(due_text(invoice, tz, locale, now))
        if invoice.paid_minor:
            lines.append(_("paid {paid} of {total}").format(
                paid=format_money(invoice.paid_minor, invoice.currency, locale), total=money
            ))
    if invoice.note:
        lines.append(html.quote(invoice.note))
    return "\n".join(lines)


def card_keyboard(invoice: Invoice) -> InlineKeyboardMarkup:
    def button(text: str, op: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=InvoiceAction(op=op, id=invoice.id).pack()
        )

    if invoice.status is InvoiceStatus.PAID:
        rows = [[button(_("↩️ Not paid"), "unpaid"), button(_("🗑 Delete"), "delete")]]
    else:
        rows = [
            invoice_buttons(invoice.id),
            [
                button(_("✏️ Amount"), "amount"),
                button(_("📅 Due date"), "due"),
                button(_("📝 Note"), "note"),
                button(_("🗑 Delete"), "delete"),
            ],
        ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def ladder_steps(days: tuple[int, ...]) -> str:
    """The payment ladder in words: "3 days before, on the due day, 3 days after"."""
    steps = []
    for offset in sorted(days):
        if offset < 0:
            steps.append(
                ngettext("{n} day before", "{n} days before", -offset).format(n=-offset)
            )
        elif offset == 0:
            steps.append(_("on the due day"))
        else:
            steps.append(ngettext("{n} day after", "{n} days after", offset).format(n=offset))
    return ", ".join(steps)


def payment_task_text(money: str) -> str:
    """The payment task's text; {number} is filled in once the invoice has one."""
    return _("Collect payment: invoice I{number}, {amount}").format(
        number="{number}", amount=money
    )


async def currency_of_user(
    users: UserRepo, user: UserContext, settings: Settings, clock: Clock
) -> tuple[str, bool]:
    """The user's currency, and whether they chose it (else it follows their timezone)."""
    profile = await users.get(user.id)
    chosen = profile.currency if profile is not None else None
    today = clock.now().astimezone(user.tz).date()
    return user_currency(chosen, user.tz.key, settings.default_currency, today), bool(chosen)


async def render_list(
    invoices: InvoiceRepo, user: UserContext, now: datetime, client_id: int, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of unpaid invoices (all of them, or one client's) with a row of buttons for
    each; the count and totals are over every page."""
    unpaid = await invoices.unpaid(user.id, client_id=client_id or None)
    if not unpaid:
        return _("No unpaid invoices. 👌") + "\n" + usage(), None
    totals: dict[str, int] = defaultdict(int)
    for invoice in unpaid:
        totals[invoice.currency] += invoice.amount_minor - invoice.paid_minor
    lines_all = [invoice_line(invoice, user.tz, user.locale, now) for invoice in unpaid]
    pages = paginate(lines_all, max_items=PAGE_SIZE)
    page = min(max(page, 0), len(pages) - 1)
    shown = [unpaid[index] for index in pages[page]]
    lines = [html.bold(_("💰 Unpaid invoices: {count}").format(count=len(unpaid)))]
    lines += [lines_all[index] for index in pages[page]]
    lines += [
        "",
        _("Still to collect: {totals}").format(
            totals=" · ".join(
                format_money(amount, currency, user.locale)
                for currency, amount in sorted(totals.items())
            )
        ),
    ]
    rows = [
        [
            *[
                button.model_copy(update={"text": f"{button.text} I{invoice.number}"})
                for button in invoice_buttons(invoice.id)
            ],
            InlineKeyboardButton(
                text=f"✏️ I{invoice.number}",
                callback_data=InvoiceAction(op="card", id=invoice.id).pack(),
            ),
        ]
        for invoice in shown
    ]
    if len(pages) > 1:
        nav: list[InlineKeyboardButton] = []
        if page > 0:
            nav.append(InlineKeyboardButton(
                text="◀️", callback_data=InvoicesPage(client=client_id, page=page - 1).pack()
            ))
        nav.append(InlineKeyboardButton(
            text=f"{page + 1}/{len(pages)}",
            callback_data=InvoicesPage(client=client_id, page=page).pack(),
        ))
        if page + 1 < len(pages):
            nav.append(InlineKeyboardButton(
                text="▶️", callback_data=InvoicesPage(client=client_id, page=page + 1).pack()
            ))
        rows.append(nav)
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def delete_question(invoice: Invoice, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    text = _("Delete invoice I{number} ({client}, {amount}) and its payment reminders?").format(
        number=invoice.number, client=html.quote(invoice.client_name),
        amount=format_money(invoice.amount_minor, invoice.currency, locale),
    )
    markup = InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(
            text=_("🗑 Yes, delete"),
            callback_data=InvoiceAction(op="delete_yes", id=invoice.id).pack(),
        ),
        InlineKeyboardButton(
            text=_("Keep it"), callback_data=InvoiceAction(op="keep", id=invoice.id).pack()
        ),
    ]])
    return text, markup


def create_router() -> Router:
    router = Router(name=__name__)

    async def reply_card(message: Message, invoice: Invoice, user: UserContext, now: datetime,
                         prefix: str = "") -> None:
        await message.answer(
            prefix + invoice_card(invoice, user.tz, user.locale, now),
            reply_markup=card_keyboard(invoice),
        )

    async def change_amount(
        message: Message, invoice: Invoice, text: str, invoice_service: InvoiceService,
        user: UserContext, clock: Clock,
    ) -> bool:
        """A new amount from text; False (and the reason told) when it is not one."""
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
            paid = format_money(invoice.paid_minor, invoice.currency, user.locale)
            await message.answer(
                _("{paid} has already been paid: the amount cannot be less.").format(paid=paid)
                if str(exc) == "below_paid"
                else _("Part is already paid in {currency}: keep that currency.").format(
                    currency=invoice.currency
                )
            )
            return False
        if changed is None:
            await message.answer(_("That invoice is no longer unpaid."))
            return True
        await reply_card(message, changed, user, clock.now(), "✏️ ")
        return True

    async def change_due(
        message: Message, invoice: Invoice, phrase: str, invoice_service: InvoiceService,
        dates: DateParser, user: UserContext, clock: Clock,
    ) -> bool:
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
            return False
        changed = await invoice_service.change_due(user.id, invoice.id, when)
        if changed is None:
            await message.answer(_("That invoice is no longer unpaid."))
            return True
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
            await message.answer(_("That invoice is no longer unpaid."))
            return
        await reply_card(message, changed, user, clock.now(), "📝 ")

    async def existing_invoice_command(
        message: Message, words: list[str], invoice: Invoice, invoice_service: InvoiceService,
        dates: DateParser, user: UserContext, clock: Clock,
    ) -> None:
        """`/invoice I3` (the card), `/invoice I3 paid|unpaid|delete|amount|due|note …`."""
        now = clock.now()
        if len(words) == 1:
            await reply_card(message, invoice, user, now)
            return
        action = _SUBCOMMANDS[words[1].casefold()]
        rest = " ".join(words[2:])
        if action == "delete":
            text, markup = delete_question(invoice, user.locale)
            await message.answer(text, reply_markup=markup)
        elif action == "unpaid":
            unpaid = await invoice_service.unpay(user.id, invoice.id)
            if unpaid is None:
                await message.answer(_("Invoice I{number} is not marked paid.").format(
                    number=invoice.number))
            else:
                await reply_card(message, unpaid, user, now, "↩️ ")
        elif invoice.status is not InvoiceStatus.UNPAID:
            await message.answer(_("That invoice is no longer unpaid."))
        elif action == "paid":
            paid = await invoice_service.pay(user.id, invoice.id)
            if paid is not None:
                await reply_card(message, paid, user, now)
        elif not rest:
            await message.answer(usage())
        elif action == "amount":
            await change_amount(message, invoice, rest, invoice_service, user, clock)
        elif action == "due":
            await change_due(message, invoice, rest, invoice_service, dates, user, clock)
        else:
            await change_note(message, invoice, rest, invoice_service, user, clock)

    @router.message(Command("invoice"))
    async def new_invoice(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
        invoices: InvoiceRepo,
        users: UserRepo,
        invoice_service: InvoiceService,
        dates: DateParser,
        settings: Settings,
        user: UserContext,
        clock: Clock,
    ) -> None:
        args = clean_line(command.args or "")
        if not args:
            await message.answer(usage())
            return
        now = clock.now()
        words = args.split()
        number = invoice_number(words[0]) if words[0][:1] in "IiИи" else None
        if number is not None and len(words) > 2 and words[1].casefold() in ("не", "not"):
            # "не оплачен", "not paid": one word for the table below.
            words[1:3] = [("un" if words[1].casefold() == "not" else "не") + words[2]]
        if number is not None and (len(words) == 1 or words[1].casefold() in _SUBCOMMANDS):
            existing = await invoices.get_by_number(user.id, number)
            if existing is not None and existing.status is not InvoiceStatus.CANCELLED:
                await existing_invoice_command(
                    message, words, existing, invoice_service, dates, user, clock
                )
                return
            if len(words) == 1 or not await clients.match(user.id, words[0]):
                await message.answer(
                    _("No invoice I{number}. All unpaid: /invoices").format(number=number)
                )
                return
        currency, chosen = await currency_of_user(users, user, settings, clock)
        try:
            draft = parse_invoice(
                args[:500], default_currency=currency, dates=dates,
                tz=user.tz, now=now, morning_hour=user.morning_hour, locale=user.locale,
            )
        except InvoiceInputError as exc:
            reason = str(exc)
            if reason == "client":
                await message.answer(_("Whose invoice? ") + usage())
            elif reason == "due":
                await message.answer(
                    _("I could not understand the date after “due”.") + " " + when_examples()
                )
            elif reason.startswith("currency:"):
                await message.answer(unknown_currency(reason.partition(":")[2]))
            else:
                await message.answer(amount_problem(reason.partition(":")[2], currency))
            return
        found = await clients.match(user.id, draft.client_query)
        if len(found) != 1:
            await message.answer(unresolved_client(draft.client_query, found))
            return
        money = format_money(draft.money.minor, draft.money.currency, user.locale)
        due = draft.due or invoice_service.default_due(user.tz, user.morning_hour)
        invoice, _task = await invoice_service.create(
            found[0], amount_minor=draft.money.minor, currency=draft.money.currency, due=due,
            note=draft.note, task_text=payment_task_text(money),
        )
        if not chosen and user.timezone_chosen:
            # Derived once, at the first invoice: a business trip (/tz) does not change the
            # currency the user bills in.
            await users.set_currency(user.id, currency)
        text = invoice_card(invoice, user.tz, user.locale, now) + "\n" + _(
            "Payment reminders: {steps}, until it is paid. All unpaid: /invoices"
        ).format(steps=ladder_steps(settings.invoice_ladder_days))
        await message.answer(text, reply_markup=card_keyboard(invoice))

    @router.message(Command("invoices"))
    async def list_invoices(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
        invoices: InvoiceRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        name = clean_line(command.args or "")
        client_id, client_name = 0, ""
        if name:
            found = await clients.match(user.id, name)
            if len(found) != 1:
                await message.answer(unresolved_client(name, found))
                return
            client_id, client_name = found[0].id, found[0].name
        text, markup = await render_list(invoices, user, clock.now(), client_id, 0)
        if client_id and markup is None:
            text = _("No unpaid invoices for {client}. 👌").format(client=html.quote(client_name))
        await send_long(message, text, markup)

    @router.callback_query(InvoicesPage.filter())
    async def invoices_page(
        query: CallbackQuery, callback_data: InvoicesPage, invoices: InvoiceRepo,
        user: UserContext, clock: Clock,
    ) -> None:
        text, markup = await render_list(
            invoices, user, clock.now(), callback_data.client, callback_data.page
        )
        await query.answer()
        await edit_or_send(query, text, markup)

    @router.message(Command("currency"))
    async def set_currency(
        message: Message,
        command: CommandObject,
        users: UserRepo,
        settings: Settings,
        user: UserContext,
        clock: Clock,
    ) -> None:
        arg = clean_line(command.args or "")
        if arg.casefold() in ("auto", "авто"):
            await users.set_currency(user.id, None)
        elif arg:
            code = currency_of(arg) or currency_of(arg.upper())
            if code is None:
                await message.answer(unknown_currency(arg[:20]))
                return
            await users.set_currency(user.id, code)
        currency, chosen = await currency_of_user(users, user, settings, clock)
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

    @router.callback_query(InvoiceAction.filter())
    async def invoice_button(
        query: CallbackQuery,
        callback_data: InvoiceAction,
        invoices: InvoiceRepo,
        invoice_service: InvoiceService,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        invoice = await invoices.get(user.id, callback_data.id)
        op = callback_data.op
        if invoice is None or invoice.status is InvoiceStatus.CANCELLED:
            await stale_button(query)
            return
        now = clock.now()
        if op == "card":
            await query.answer()
            if query.bot is not None:
                await query.bot.send_message(
                    user.id, invoice_card(invoice, user.tz, user.locale, now),
                    reply_markup=card_keyboard(invoice),
                )
            return
        if op == "keep":  # "Keep it" on the delete question: the question becomes the card
            await query.answer()
            await edit_or_send(
                query, invoice_card(invoice, user.tz, user.locale, now), card_keyboard(invoice)
            )
            return
        if op == "delete":
            await query.answer()
            text, markup = delete_question(invoice, user.locale)
            if query.bot is not None:
                await query.bot.send_message(user.id, text, reply_markup=markup)
            return
        if op == "delete_yes":
            deleted = await invoice_service.delete(user.id, invoice.id)
            if deleted is None:
                await stale_button(query)
                return
            await query.answer()
            await edit_or_send(
                query, "🗑 " + _("Invoice I{number} ({client}) is deleted.").format(
                    number=invoice.number, client=html.quote(invoice.client_name)
                ), None,
            )
            return
        if op == "unpaid":
            unpaid = await invoice_service.unpay(user.id, invoice.id)
            if unpaid is None:
                await stale_button(query)
                return
            await query.answer(_("I{number} is unpaid again.").format(number=invoice.number))
            await edit_or_send(
                query, "↩️ " + invoice_card(unpaid, user.tz, user.locale, now),
                card_keyboard(unpaid),
            )
            return
        if invoice.status is not InvoiceStatus.UNPAID:
            await stale_button(query)
            return
        if op == "paid":
            paid = await invoice_service.pay(user.id, invoice.id)
            if paid is None:
                await stale_button(query)
                return
            await query.answer(_("I{number} is paid.").format(number=invoice.number))
            if query.bot is not None:
                await query.bot.send_message(
                    user.id,
                    "✅ " + _("Invoice I{number} ({client}) is paid.").format(
                        number=invoice.number, client=html.quote(invoice.client_name)
                    ),
                    reply_markup=card_keyboard(paid),
                )
            return
        forms = {
            "part": InvoiceForm.partial, "promise": InvoiceForm.promise,
            "amount": InvoiceForm.amount, "due": InvoiceForm.due, "note": InvoiceForm.note,
        }
        if op not in forms:
            await stale_button(query)
            return
        await state.set_state(forms[op])
        await state.update_data(invoice_id=invoice.id)
        await query.answer()
        prompts = {
            "part": _("How much came for I{number}? E.g. 50 000"),
            "promise": _("When did the client promise to pay I{number}?") + " "
            + when_examples(),
            "amount": _("The new amount of I{number}? E.g. 150 000, 1,5к or $2,500"),
            "due": _("The new due date of I{number}?") + " " + when_examples(),
            "note": _("The new note for I{number}? “-” removes it."),
        }
        if query.bot is not None:
            await query.bot.send_message(
                user.id, prompts[op].format(number=invoice.number) + "\n" + _("/cancel to stop.")
            )

    async def form_invoice(state: FSMContext, invoices: InvoiceRepo, user: UserContext) -> (
        Invoice | None
    ):
        data = await state.get_data()
        invoice_id = data.get("invoice_id")
        invoice = await invoices.get(user.id, invoice_id) if isinstance(invoice_id, int) else None
        return invoice if invoice is not None and invoice.status is InvoiceStatus.UNPAID else None

    @router.message(StateFilter(InvoiceForm.partial), F.text, ~F.text.startswith("/"))
    async def partial_payment(
        message: Message,
        invoices: InvoiceRepo,
        invoice_service: InvoiceService,
        user: UserContext,
        state: FSMContext,
    ) -> None:
        invoice = await form_invoice(state, invoices, user)
        if invoice is None:
            await state.set_state(None)
            await message.answer(_("That invoice is no longer unpaid."))
            return
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
        paid = await invoice_service.pay(user.id, invoice.id, minor)
        await state.set_state(None)
        if paid is None:
            await message.answer(_("That invoice is no longer unpaid."))
        elif paid.status is InvoiceStatus.PAID:
            await message.answer("✅ " + _("Invoice I{number} ({client}) is paid.").format(
                number=paid.number, client=html.quote(paid.client_name)
            ), reply_markup=card_keyboard(paid))
        else:
            await message.answer(
                _("Noted: {paid} of {total} paid for I{number}.").format(
                    paid=format_money(paid.paid_minor, paid.currency, user.locale),
                    total=format_money(paid.amount_minor, paid.currency, user.locale),
                    number=paid.number,
                )
            )

    @router.message(StateFilter(InvoiceForm.promise), F.text, ~F.text.startswith("/"))
    async def promised(
        message: Message,
        invoices: InvoiceRepo,
        invoice_service: InvoiceService,
        dates: DateParser,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        invoice = await form_invoice(state, invoices, user)
        if invoice is None:
            await state.set_state(None)
            await message.answer(_("That invoice is no longer unpaid."))
            return
        phrase = clean_line(message.text or "")[:200]
        when = dates.parse(
            phrase, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour,
            locale=user.locale,
        )
        if when is None:
            await message.answer(
                _("I could not understand the time {phrase}.").format(phrase=quoted(phrase))
                + " " + when_examples()
            )
            return
        updated = await invoice_service.promise(user.id, invoice.id, when)
        await state.set_state(None)
        if updated is None:
            await message.answer(_("That invoice is no longer unpaid."))
            return
        await message.answer(
            "🤝 " + _("I{number}: promised for {day}; reminders move there.").format(
                number=updated.number, day=format_day(when.astimezone(user.tz), user.locale)
            )
            + "\n" + invoice_card(updated, user.tz, user.locale, clock.now()),
            reply_markup=card_keyboard(updated),
        )

    @router.message(StateFilter(InvoiceForm.amount), F.text, ~F.text.startswith("/"))
    async def new_amount(
        message: Message, invoices: InvoiceRepo, invoice_service: InvoiceService,
        user: UserContext, clock: Clock, state: FSMContext,
    ) -> None:
        invoice = await form_invoice(state, invoices, user)
        if invoice is None:
            await state.set_state(None)
            await message.answer(_("That invoice is no longer unpaid."))
            return
        if await change_amount(message, invoice, message.text or "", invoice_service, user,
                               clock):
            await state.set_state(None)

    @router.message(StateFilter(InvoiceForm.due), F.text, ~F.text.startswith("/"))
    async def new_due(
        message: Message, invoices: InvoiceRepo, invoice_service: InvoiceService,
        dates: DateParser, user: UserContext, clock: Clock, state: FSMContext,
    ) -> None:
        invoice = await form_invoice(state, invoices, user)
        if invoice is None:
            await state.set_state(None)
            await message.answer(_("That invoice is no longer unpaid."))
            return
        if await change_due(message, invoice, message.text or "", invoice_service, dates, user,
                            clock):
            await state.set_state(None)

    @router.message(StateFilter(InvoiceForm.note), F.text, ~F.text.startswith("/"))
    async def new_note(
        message: Message, invoices: InvoiceRepo, invoice_service: InvoiceService,
        user: UserContext, clock: Clock, state: FSMContext,
    ) -> None:
        invoice = await form_invoice(state, invoices, user)
        await state.set_state(None)
        if invoice is None:
            await message.answer(_("That invoice is no longer unpaid."))
            return
        await change_note(message, invoice, message.text or "", invoice_service, user, clock)

    return router
