"""The invoice feature's buttons (✅ Paid, ½ Partly and 🤝 Promised… are bot/views/keyboards.py's
``invoice_buttons``: reminders of a payment task carry them too)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import InvoiceAction, InvoiceOp, InvoicesPage
from bot.views.keyboards import invoice_buttons
from storage.models import Invoice, InvoiceStatus


def _button(text: str, op: InvoiceOp, invoice: Invoice) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=InvoiceAction(op=op, id=invoice.id).pack()
    )


def card_keyboard(invoice: Invoice) -> InlineKeyboardMarkup:
    if invoice.status is InvoiceStatus.PAID:
        rows = [[
            _button(_("↩️ Not paid"), InvoiceOp.UNPAID, invoice),
            _button(_("🗑 Delete"), InvoiceOp.DELETE, invoice),
        ]]
    else:
        rows = [
            invoice_buttons(invoice.id),
            [
                _button(_("✏️ Amount"), InvoiceOp.AMOUNT, invoice),
                _button(_("📅 Due date"), InvoiceOp.DUE, invoice),
                _button(_("📝 Note"), InvoiceOp.NOTE, invoice),
                _button(_("🗑 Delete"), InvoiceOp.DELETE, invoice),
            ],
        ]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def delete_keyboard(invoice: Invoice) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        _button(_("🗑 Yes, delete"), InvoiceOp.DELETE_YES, invoice),
        _button(_("Keep it"), InvoiceOp.KEEP, invoice),
    ]])


def list_keyboard(
    shown: Sequence[Invoice], client_id: int, page: int, pages: int
) -> InlineKeyboardMarkup:
    """A row per invoice (the payment buttons numbered, ✏️ for its card), then the pages."""
    rows = [
        [
            *[
                button.model_copy(update={"text": f"{button.text} I{invoice.number}"})
                for button in invoice_buttons(invoice.id)
            ],
            _button(f"✏️ I{invoice.number}", InvoiceOp.CARD, invoice),
        ]
        for invoice in shown
    ]
    if pages > 1:
        rows.append(page_row(client_id, page, pages))
    return InlineKeyboardMarkup(inline_keyboard=rows)


def page_row(client_id: int, page: int, pages: int) -> list[InlineKeyboardButton]:
    def to(text: str, target: int) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=InvoicesPage(client=client_id, page=target).pack()
        )

    nav = [to("◀️", page - 1)] if page > 0 else []
    nav.append(to(f"{page + 1}/{pages}", page))
    if page + 1 < pages:
        nav.append(to("▶️", page + 1))
    return nav
