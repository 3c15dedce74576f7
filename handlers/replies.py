"""Sending and editing replies safely: within Telegram's size limits, stale messages tolerated."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from aiogram import html
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.services.render import MESSAGE_LIMIT, quoted, shorten, split_message
from bot.services.text import NAME_LIMIT

logger = logging.getLogger(__name__)


async def send_long(message: Message, text: str, markup: InlineKeyboardMarkup | None) -> None:
    """Answer with text split at line boundaries; the keyboard goes on the last part."""
    parts = split_message(text.split("\n"), MESSAGE_LIMIT)
    for index, part in enumerate(parts):
        await message.answer(part, reply_markup=markup if index == len(parts) - 1 else None)


async def edit_or_send(
    target: Message | CallbackQuery, text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Edit the message a button belongs to; answer a message with a new one.

    If the old message cannot be edited (too old, deleted), a new one is sent instead.
    """
    if isinstance(target, Message):
        await send_long(target, text, markup)
        return
    message = target.message
    if isinstance(message, Message) and len(text) <= MESSAGE_LIMIT:
        try:
            await message.edit_text(text, reply_markup=markup)
        except TelegramBadRequest as exc:
            if "message is not modified" in exc.message:
                return
            logger.info("could not edit message %s: %s", message.message_id, exc.message)
        else:
            return
    if target.bot is not None:
        parts = split_message(text.split("\n"), MESSAGE_LIMIT)
        for index, part in enumerate(parts):
            await target.bot.send_message(
                target.from_user.id,
                part,
                reply_markup=markup if index == len(parts) - 1 else None,
            )


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer valid."), show_alert=True)


def unresolved_client(name: str, found: Sequence[object]) -> str:
    """Why a name did not pick exactly one client: several match, or none does."""
    # Echoed twice and escaped: a long query must not push the reply past 4096 characters.
    name = shorten(name, NAME_LIMIT)
    if found:
        return _("Several clients start with {name}. Write the full name.").format(
            name=quoted(name)
        )
    return _("No client {name}. Add it: /newclient {plain}").format(
        name=quoted(name), plain=html.quote(name)
    )
