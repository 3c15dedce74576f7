"""The invoice feature's router: which command, press or answer goes to which handler."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter

from bot.callbacks import InvoiceAction, InvoiceOp, InvoicesPage
from handlers.buttons import answer_presses, button_expired
from handlers.invoices import commands, dialogs, presses
from handlers.invoices.dialogs import InvoiceForm
from handlers.invoices.filters import (
    DialogInvoice,
    InvoiceCommand,
    MissingInvoice,
    OwnInvoice,
)

TYPED_TEXT = (F.text, ~F.text.startswith("/"))  # a command ends the dialog instead


def create_router() -> Router:
    router = Router(name=__name__)
    register_commands(router)
    register_presses(router)
    register_dialogs(router)
    return router


def register_commands(router: Router) -> None:
    invoice = router.message.register
    invoice(commands.show, Command("invoice"), InvoiceCommand(""))
    invoice(commands.ask_delete, Command("invoice"), InvoiceCommand("delete"))
    invoice(commands.unpay, Command("invoice"), InvoiceCommand("unpaid"))
    invoice(commands.pay, Command("invoice"), InvoiceCommand("paid", unpaid=True))
    invoice(commands.set_amount, Command("invoice"), InvoiceCommand("amount", unpaid=True))
    invoice(commands.set_due, Command("invoice"), InvoiceCommand("due", unpaid=True))
    invoice(commands.set_note, Command("invoice"), InvoiceCommand("note", unpaid=True))
    invoice(commands.not_unpaid, Command("invoice"),
            InvoiceCommand("paid", "amount", "due", "note"))
    invoice(commands.no_such_invoice, Command("invoice"), MissingInvoice())
    invoice(commands.new_invoice, Command("invoice"))
    router.message.register(commands.list_invoices, Command("invoices"))
    router.message.register(commands.set_currency, Command("currency"))


def register_presses(router: Router) -> None:
    def press(op: InvoiceOp) -> CallbackQueryFilter:
        return InvoiceAction.filter(F.op == op)

    on = router.callback_query.register
    on(presses.page, InvoicesPage.filter())
    on(presses.show, press(InvoiceOp.CARD), OwnInvoice())
    on(presses.keep, press(InvoiceOp.KEEP), OwnInvoice())
    on(presses.ask_delete, press(InvoiceOp.DELETE), OwnInvoice())
    on(presses.delete, press(InvoiceOp.DELETE_YES), OwnInvoice())
    on(presses.unpay, press(InvoiceOp.UNPAID), OwnInvoice())
    on(presses.pay, press(InvoiceOp.PAID), OwnInvoice(unpaid=True))
    on(presses.ask, InvoiceAction.filter(F.op.in_(presses.QUESTIONS)), OwnInvoice(unpaid=True))
    on(button_expired, InvoiceAction.filter())
    answer_presses(router)


def register_dialogs(router: Router) -> None:
    answer = router.message.register
    answer(dialogs.partial_payment, InvoiceForm.partial, *TYPED_TEXT, DialogInvoice())
    answer(dialogs.promised, InvoiceForm.promise, *TYPED_TEXT, DialogInvoice())
    answer(dialogs.new_amount, InvoiceForm.amount, *TYPED_TEXT, DialogInvoice())
    answer(dialogs.new_due, InvoiceForm.due, *TYPED_TEXT, DialogInvoice())
    answer(dialogs.new_note, InvoiceForm.note, *TYPED_TEXT, DialogInvoice())
    answer(dialogs.invoice_gone, StateFilter(InvoiceForm), *TYPED_TEXT)
