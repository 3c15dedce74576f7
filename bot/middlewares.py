"""Outer middlewares: who may use the bot, who the user is, private chats only."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.enums import ChatType
from aiogram.fsm.context import FSMContext
from aiogram.types import Chat, Message, TelegramObject, Update, User
from aiogram.utils.i18n import I18n

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.timezones import user_zone
from bot.i18n import pick_language
from bot.settings import Settings
from storage import update_marks
from storage.interfaces import UserRepo
from storage.models import UserProfile

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


def _telegram_language(event_user: User | None, default: str) -> str:
    return pick_language(None, event_user.language_code if event_user else None, default)


class AccessMiddleware(BaseMiddleware):
    """Only private chats, only allowed users; everyone else gets one polite answer."""

    def __init__(self, settings: Settings, i18n: I18n) -> None:
        self._allowed = settings.allowed_user_ids
        self._default_language = settings.default_language
        self._i18n = i18n

    async def __call__(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        assert isinstance(event, Update)
        user: User | None = data.get("event_from_user")
        chat: Chat | None = data.get("event_chat")
        bot: Bot = data["bot"]
        locale = _telegram_language(user, self._default_language)
        if chat is not None and chat.type != ChatType.PRIVATE:
            await self._answer_group(bot, event, chat, locale)
            return None
        if user is None or user.is_bot:
            return None
        if self._allowed and user.id not in self._allowed:
            logger.info("refused update %s from user %s", event.update_id, user.id)
            text = self._i18n.gettext(
                "Sorry, this is a private assistant and you are not on its list of users.",
                locale=locale,
            )
            if event.callback_query is not None:
                await bot.answer_callback_query(event.callback_query.id, text, show_alert=True)
            elif chat is not None:
                await bot.send_message(chat.id, text)
            return None
        return await handler(event, data)

    async def _answer_group(self, bot: Bot, update: Update, chat: Chat, locale: str) -> None:
        """Say once what the bot is, when addressed by a command; stay quiet otherwise."""
        text = self._i18n.gettext(
            "I am a personal assistant and work only in a private chat. Write to me directly.",
            locale=locale,
        )
        message = update.message
        if message is not None and message.text and message.text.startswith("/"):
            await bot.send_message(chat.id, text)
        elif update.callback_query is not None:
            await bot.answer_callback_query(update.callback_query.id, text, show_alert=True)


class UserMiddleware(BaseMiddleware):
    """Loads (creating on first contact) the user's profile into data['user']."""

    def __init__(self, users: UserRepo, settings: Settings, clock: Clock) -> None:
        self._users = users
        self._settings = settings
        self._clock = clock

    async def __call__(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        event_user: User | None = data.get("event_from_user")
        if event_user is None:
            return await handler(event, data)
        with update_marks.unmarked():
            # Upkeep that repeats harmlessly: the update's own first write records it.
            profile = await self._upkeep(event_user)
        tz = user_zone(profile.timezone, self._settings.timezone)
        data["user"] = UserContext(
            id=profile.id,
            tz=tz,
            locale=pick_language(
                profile.language, event_user.language_code, self._settings.default_language
            ),
            morning_hour=profile.morning_hour,
            timezone_chosen=profile.timezone is not None,
            ahead_defaults=dict(profile.ahead_defaults),
            hours=profile.hours,
        )
        return await handler(event, data)

    async def _upkeep(self, event_user: User) -> UserProfile:
        profile = await self._users.ensure(event_user.id, self._clock.now())
        if not profile.active:
            # They blocked the bot once and are back: reminders may flow again.
            await self._users.set_active(profile.id, True)
        if event_user.language_code and event_user.language_code != profile.telegram_language:
            # Remembered for messages the bot starts itself (reminders, digests).
            await self._users.set_telegram_language(profile.id, event_user.language_code)
        username, full_name = event_user.username, event_user.full_name[:128] or None
        if (username, full_name) != (profile.username, profile.full_name):
            # Teammates find each other by @username and see names in /team.
            await self._users.set_identity(profile.id, username, full_name)
        return profile


class CommandEndsPromptMiddleware(BaseMiddleware):
    """A command abandons whatever prompt was open, so later text is not taken as its answer.

    /cancel is left alone: it ends the prompt itself and says so.
    """

    async def __call__(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        state: FSMContext | None = data.get("state")
        if (
            isinstance(event, Message)
            and event.text
            and event.text.startswith("/")
            and event.text.split(maxsplit=1)[0].split("@")[0] != "/cancel"
            and state is not None
            and await state.get_state() is not None
        ):
            # Done again if the update is delivered again: not what records it as applied.
            with update_marks.unmarked():
                await state.set_state(None)
        return await handler(event, data)
