"""/invoice and /invoices: amounts owed, payment buttons, promises to pay."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callbacks import InvoiceAction
from bot.clock import Clock
from bot.context import UserContext
from bot.keyboards import invoice_buttons
from bot.services.dates import DateParser
from bot.services.invoices import (
    InvoiceInputError,
    InvoiceService,
    days_word_delta,
    parse_invoice,
)
from bot.services.money import AmountError, format_money, parse_amount, to_minor
from bot.services.render import format_day, quoted, shorten
from bot.services.text import clean_line
from bot.settings import Settings
from handlers.replies import send_long, stale_button, unresolved_client
from handlers.tasks import when_examples
from storage.interfaces import ClientRepo, InvoiceRepo
from storage.models import Invoice, InvoiceStatus

SHOWN = 40


class InvoiceForm(StatesGroup):
    partial = State()
    promise = State()


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
    return problems.get(
        reason,
        _("I need an amount like 120 000 or 1500,50 (not “1,5к” or “1e9”)."),
    )


def due_text(invoice: Invoice, tz: ZoneInfo, locale: str, now: datetime) -> str:
    moment = invoice.promised_at or invoice.due_at
    days = days_word_delta(moment, now, tz)
    day = format_day(moment.astimezone(tz), locale)
    if days > 0:
        when = _("due {day}, in {count} d").format(day=day, count=days)
    elif days == 0:
        when = _("due today")
    else:
        when = "⚠️ " + _("{count} d overdue").format(count=-days)
    if invoice.promised_at is not None:
        when = _("promised for {day}").format(day=day) + " · " + when
    return when


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


def create_router() -> Router:
    router = Router(name=__name__)

    @router.message(Command("invoice"))
    async def new_invoice(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
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
        try:
            draft = parse_invoice(
                args[:500], default_currency=settings.default_currency, dates=dates,
                tz=user.tz, now=now, morning_hour=user.morning_hour,
            )
            amount_minor = to_minor(draft.amount, draft.currency)
        except InvoiceInputError as exc:
            reason = str(exc)
            if reason == "client":
                await message.answer(_("Whose invoice? ") + usage())
            elif reason == "due":
                await message.answer(
                    _("I could not understand the date after “due”.") + " " + when_examples()
                )
            else:
                currency = settings.default_currency
                await message.answer(amount_problem(reason.partition(":")[2], currency))
            return
        except AmountError as exc:
            await message.answer(amount_problem(str(exc), settings.default_currency))
            return
        found = await clients.match(user.id, draft.client_query)
        if len(found) != 1:
            await message.answer(unresolved_client(draft.client_query, found))
            return
        money = format_money(amount_minor, draft.currency, user.locale)
        due = draft.due or invoice_service.default_due(user.tz, user.morning_hour)
        invoice, _task = await invoice_service.create(
            found[0], amount_minor=amount_minor, currency=draft.currency, due=due,
            note=draft.note,
            task_text=_("Collect payment: invoice I{number}, {amount}").format(
                number="{number}", amount=money
            ),
        )
        lines = [
            "💰 " + html.bold(_("Invoice I{number}").format(number=invoice.number))
            + f" · {html.quote(invoice.client_name)} · {html.bold(money)}",
            due_text(invoice, user.tz, user.locale, now),
        ]
        if invoice.note:
            lines.append(html.quote(invoice.note))
        lines.append(
            _("Payment reminders: {steps}, until it is paid. All unpaid: /invoices").format(
                steps=ladder_steps(settings.invoice_ladder_days)
            )
        )
        await message.answer(
            "\n".join(lines),
            reply_markup=InlineKeyboardMarkup(inline_keyboard=[invoice_buttons(invoice.id)]),
        )

    @router.message(Command("invoices"))
    async def list_invoices(
        message: Message, invoices: InvoiceRepo, user: UserContext, clock: Clock
    ) -> None:
        unpaid = await invoices.unpaid(user.id)
        if not unpaid:
            await message.answer(_("No unpaid invoices. 👌") + "\n" + usage())
            return
        now = clock.now()
        totals: dict[str, int] = defaultdict(int)
        for invoice in unpaid:
            totals[invoice.currency] += invoice.amount_minor - invoice.paid_minor
        lines = [html.bold(_("💰 Unpaid invoices: {count}").format(count=len(unpaid)))]
        lines += [invoice_line(invoice, user.tz, user.locale, now) for invoice in unpaid[:SHOWN]]
        if len(unpaid) > SHOWN:
            lines.append(_("…and {count} more").format(count=len(unpaid) - SHOWN))
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
                ]
            ]
            for invoice in unpaid[:10]
        ]
        await send_long(message, "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(InvoiceAction.filter())
    async def invoice_button(
        query: CallbackQuery,
        callback_data: InvoiceAction,
        invoices: InvoiceRepo,
        invoice_service: InvoiceService,
        user: UserContext,
        state: FSMContext,
    ) -> None:
        invoice = await invoices.get(user.id, callback_data.id)
        if invoice is None or invoice.status is not InvoiceStatus.UNPAID:
            await stale_button(query)
            return
        if callback_data.op == "paid":
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
                )
            return
        forms = {"part": InvoiceForm.partial, "promise": InvoiceForm.promise}
        if callback_data.op not in forms:
            await stale_button(query)
            return
        await state.set_state(forms[callback_data.op])
        await state.update_data(invoice_id=invoice.id)
        await query.answer()
        prompt = (
            _("How much came for I{number}? E.g. 50 000").format(number=invoice.number)
            if callback_data.op == "part"
            else _("When did the client promise to pay I{number}?").format(
                number=invoice.number
            ) + " " + when_examples()
        )
        if query.bot is not None:
            await query.bot.send_message(user.id, prompt + "\n" + _("/cancel to stop."))

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
            minor = to_minor(parse_amount(clean_line(message.text or "")), invoice.currency)
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
            ))
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
        when = dates.parse(phrase, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour)
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
        )

    return router
