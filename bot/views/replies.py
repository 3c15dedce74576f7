"""Sending and editing replies within Telegram's size limits, stale messages tolerated.

Here rather than in handlers/ because views shared by several features send through it.
"""

from __future__ import annotations

import logging

from aiogram.exceptions import TelegramBadRequest
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message

from bot.views.render import MESSAGE_LIMIT, split_message

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
