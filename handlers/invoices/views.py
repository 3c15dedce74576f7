"""Invoices as the user reads them: a card, a line in /invoices, the answers to bad input."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.context import UserContext
from bot.domain.money import format_money
from bot.services.invoices import days_word_delta
from bot.views.render import format_day, paginate, quoted, shorten
from bot.views.tasks import when_examples
from handlers.invoices.keyboards import delete_keyboard, list_keyboard
from storage.interfaces import InvoiceRepo
from storage.models import Invoice, InvoiceStatus

PAGE_SIZE = 10  # invoices per page of /invoices, each with its row of buttons


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


def input_problem(reason: str, currency: str) -> str:
    """What was wrong with `/invoice …` (an ``InvoiceInputError``'s reason)."""
    if reason == "client":
        return _("Whose invoice? ") + usage()
    if reason == "due":
        return _("I could not understand the date after “due”.") + " " + when_examples()
    if reason.startswith("currency:"):
        return unknown_currency(reason.partition(":")[2])
    return amount_problem(reason.partition(":")[2], currency)


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


def paid_text(invoice: Invoice) -> str:
    return "✅ " + _("Invoice I{number} ({client}) is paid.").format(
        number=invoice.number, client=html.quote(invoice.client_name)
    )


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


def delete_question(invoice: Invoice, locale: str) -> tuple[str, InlineKeyboardMarkup]:
    text = _("Delete invoice I{number} ({client}, {amount}) and its payment reminders?").format(
        number=invoice.number, client=html.quote(invoice.client_name),
        amount=format_money(invoice.amount_minor, invoice.currency, locale),
    )
    return text, delete_keyboard(invoice)


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
    shown = [unpaid[index] for index in pages[page]]
    return "\n".join(lines), list_keyboard(shown, client_id, page, len(pages))
