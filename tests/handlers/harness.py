"""Drive the real Dispatcher like a Telegram user: send text, press buttons, read replies.

Outgoing API calls are recorded by LocalSession (a mocked Bot API session); tests assert on
the recorded methods: texts, keyboards, edits, callback answers.
"""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
    User,
)

from bot.local_session import LocalSession

USER_ID = 1001
# Update ids are unique across harnesses: several in one test share a database, which keeps
# the ids it has applied (a repeated id is skipped as a redelivery, as from Telegram).
_UPDATE_IDS = itertools.count(1)


class Replies(list[TelegramMethod[Any]]):
    """The API calls one update caused, in the order they were made."""

    @property
    def texts(self) -> list[str]:
        found: list[str] = []
        for method in self:
            if isinstance(method, SendMessage | EditMessageText):
                found.append(method.text or "")
        return found

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    @property
    def alerts(self) -> list[str]:
        return [m.text or "" for m in self if isinstance(m, AnswerCallbackQuery)]

    def of(self, kind: type[Any]) -> list[Any]:
        return [method for method in self if isinstance(method, kind)]


def buttons(markup: Any) -> list[tuple[str, str]]:
    if not isinstance(markup, InlineKeyboardMarkup):
        return []
    return [
        (button.text, button.callback_data or "")
        for row in markup.inline_keyboard
        for button in row
    ]


class ChatHarness:
    def __init__(self, dispatcher: Dispatcher, bot: Bot, session: LocalSession) -> None:
        self.dispatcher = dispatcher
        self.bot = bot
        self.session = session
        self._ids = itertools.count(1)
        # (chat id, message id) of the latest bot message that carried a keyboard, per user.
        self.keyboard_message: dict[int, int] = {}
        # Other people in the test: user id -> (first name, @username).
        self.people: dict[int, tuple[str, str | None]] = {}

    def _user(self, user_id: int, language_code: str) -> User:
        first_name, username = self.people.get(user_id, ("Marina", None))
        return User(
            id=user_id, is_bot=False, first_name=first_name, username=username,
            language_code=language_code,
        )

    async def _feed(self, update: Update) -> Replies:
        start = len(self.session.requests)
        await self.dispatcher.feed_update(self.bot, update)
        replies = Replies(self.session.requests[start:])
        for method, result in zip(replies, self.session.responses[start:], strict=True):
            if (
                isinstance(method, SendMessage | EditMessageText)
                and isinstance(method.reply_markup, InlineKeyboardMarkup)
                and isinstance(result, Message)
            ):
                self.keyboard_message[result.chat.id] = result.message_id
        return replies

    async def feed(self, update: Update) -> Replies:
        """One update as given (e.g. the same update_id again, as Telegram redelivers)."""
        return await self._feed(update)

    async def send(
        self,
        text: str,
        *,
        user_id: int = USER_ID,
        language_code: str = "en",
        chat_type: str = "private",
        chat_id: int | None = None,
    ) -> Replies:
        entities = None
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            entities = [MessageEntity(type="bot_command", offset=0, length=len(command))]
        message = Message(
            message_id=next(self._ids),
            date=datetime.now(UTC),
            chat=Chat(id=chat_id if chat_id is not None else user_id, type=chat_type),
            from_user=self._user(user_id, language_code),
            text=text,
            entities=entities,
        )
        return await self._feed(Update(update_id=next(_UPDATE_IDS), message=message))

    async def send_message(self, *, user_id: int = USER_ID, **fields: Any) -> Replies:
        """Any message (voice, photo, forwarded...) from the user, fields as in the Bot API."""
        message = Message(
            message_id=next(self._ids),
            date=datetime.now(UTC),
            chat=Chat(id=user_id, type="private"),
            from_user=self._user(user_id, "en"),
            **fields,
        )
        return await self._feed(Update(update_id=next(_UPDATE_IDS), message=message))

    def last_keyboard(self, chat_id: int = USER_ID) -> tuple[Message, list[tuple[str, str]]]:
        message_id = self.keyboard_message[chat_id]
        message = self.session.message(chat_id, message_id)
        assert message is not None
        return message, buttons(message.reply_markup)

    async def press(
        self,
        label: str,
        *,
        user_id: int = USER_ID,
        chat_id: int = USER_ID,
        language_code: str = "en",
    ) -> Replies:
        """Press the button whose text contains label on the latest keyboard in the chat."""
        message, found = self.last_keyboard(chat_id)
        matching = [data for text, data in found if label in text]
        assert matching, f"no button {label!r} in {[text for text, _ in found]}"
        return await self.press_data(
            matching[0], message=message, user_id=user_id, language_code=language_code
        )

    async def press_data(
        self,
        data: str,
        *,
        message: Message | None = None,
        user_id: int = USER_ID,
        language_code: str = "en",
    ) -> Replies:
        if message is None:
            message = Message(
                message_id=999_999,
                date=datetime.now(UTC),
                chat=Chat(id=user_id, type="private"),
                text="old message",
            )
        query = CallbackQuery(
            id=str(next(self._ids)),
            from_user=self._user(user_id, language_code),
            chat_instance="1",
            message=message,
            data=data,
        )
        return await self._feed(Update(update_id=next(_UPDATE_IDS), callback_query=query))
