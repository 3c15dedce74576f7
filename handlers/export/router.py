"""The /export, /import and /forget_me handlers on one router."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from bot.callbacks import ForgetAction, ForgetOp
from handlers.buttons import answer_presses, button_expired
from handlers.export.archive import export
from handlers.export.forget import CurrentQuestion, delete_everything, forget_me, keep_data
from handlers.export.importing import ImportForm, ask_for_file, import_file, not_a_file


def create_router() -> Router:
    router = answer_presses(Router(name=__name__))
    router.message.register(export, Command("export"))
    # A file with /import as its caption, or the file the /import question waits for.
    router.message.register(import_file, Command("import"), F.document)
    router.message.register(import_file, StateFilter(ImportForm.document), F.document)
    router.message.register(ask_for_file, Command("import"))
    router.message.register(
        not_a_file, StateFilter(ImportForm.document), ~F.text.startswith("/")
    )
    router.message.register(forget_me, Command("forget_me"))
    router.callback_query.register(
        delete_everything, ForgetAction.filter(F.op == ForgetOp.YES), CurrentQuestion()
    )
    router.callback_query.register(
        keep_data, ForgetAction.filter(F.op == ForgetOp.NO), CurrentQuestion()
    )
    router.callback_query.register(button_expired, ForgetAction.filter())
    return router
