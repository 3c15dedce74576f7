"""What nobody else handled: unknown commands, stray text, stale buttons. Registered last."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from handlers.buttons import answer_presses, button_expired


async def unknown_command(message: Message) -> None:
    await message.answer(_("I don't know that command. /help lists what I can do."))


async def anything_else(message: Message) -> None:
    await message.answer(
        _(
            "To add a task, write: "
            "<code>/task Acme: call about the budget tomorrow 10am</code>\n"
            "/today — what is due · /help — everything"
        )
    )


def create_router() -> Router:
    router = answer_presses(Router(name=__name__))
    router.message.register(unknown_command, F.text.startswith("/"))
    router.message.register(anything_else)
    # A button of a feature that no longer exists, or data no feature can read (forged).
    router.callback_query.register(button_expired)
    return router
