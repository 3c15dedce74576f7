"""What nobody else handled: unknown commands, stray text, stale buttons. Registered last."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from handlers.replies import stale_button


def create_router() -> Router:
    router = Router(name=__name__)

    @router.message(F.text.startswith("/"))
    async def unknown_command(message: Message) -> None:
        await message.answer(_("I don't know that command. /help lists what I can do."))

    @router.message()
    async def anything_else(message: Message) -> None:
        await message.answer(
            _(
                "To add a task, write: "
                "<code>/task Acme: call about the budget tomorrow 10am</code>\n"
                "/today — what is due · /help — everything"
            )
        )

    @router.callback_query()
    async def unknown_button(query: CallbackQuery) -> None:
        await stale_button(query)

    return router
