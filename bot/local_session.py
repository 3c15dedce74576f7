"""A Bot API session that never leaves the process: it records each request and answers
it the way Telegram would. The shell prints through it; tests assert on what it recorded.
Files registered with `add_file` can be fetched with getFile and downloaded, as a user's
document would be."""

from __future__ import annotations

import html
import itertools
import re
from collections.abc import AsyncGenerator, Callable
from datetime import UTC, datetime
from typing import Any, ClassVar

from aiogram import Bot
from aiogram.client.session.base import BaseSession
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    EditMessageReplyMarkup,
    EditMessageText,
    GetFile,
    GetMe,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import Chat, File, InlineKeyboardMarkup, Message, User

_TAG = re.compile(r"<[^>]+>")
LOCAL_BOT_USER = User(id=42, is_bot=True, first_name="Assistant", username="am_assistant_bot")
# How LocalSession answers one kind of method (called with the session and the method).
_Answer = Callable[["LocalSession", Any], object]


class LocalSession(BaseSession):
    def __init__(
        self, on_request: Callable[[TelegramMethod[Any], object], None] | None = None
    ) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        # What each request returned, by the same index.
        self.responses: list[object] = []
        self._on_request = on_request
        self._message_ids = itertools.count(1000)
        self._messages: dict[tuple[int | str, int], Message] = {}
        # file_id -> (file_path, content): what a user "uploaded" (see add_file).
        self._files: dict[str, tuple[str, bytes]] = {}

    async def close(self) -> None:
        return None

    async def stream_content(
        self,
        url: str,
        headers: dict[str, Any] | None = None,
        timeout: int = 30,  # noqa: ASYNC109 - BaseSession's signature
        chunk_size: int = 65536,
        raise_for_status: bool = True,
    ) -> AsyncGenerator[bytes, None]:
        for path, content in self._files.values():
            if url.endswith("/" + path):
                for start in range(0, len(content), chunk_size):
                    yield content[start : start + chunk_size]
                return
        raise NotImplementedError("no such file in the local session")

    def add_file(self, content: bytes) -> str:
        """Keep a file as if a user had sent it; its file_id goes into a Document etc."""
        number = len(self._files) + 1
        file_id = f"local-file-{number}"
        self._files[file_id] = (f"documents/file_{number}", content)
        return file_id

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None  # noqa: ASYNC109
    ) -> TelegramType:
        self.requests.append(method)
        try:
            result: Any = self._answer(method)
        except Exception as exc:
            self.responses.append(exc)  # keeps requests and responses index by index
            raise
        self.responses.append(result)
        if self._on_request is not None:
            self._on_request(method, result)
        return result  # type: ignore[no-any-return]

    def message(self, chat_id: int | str, message_id: int) -> Message | None:
        return self._messages.get((chat_id, message_id))

    def _answer(self, method: TelegramMethod[Any]) -> object:
        for kind, answer in self._ANSWERS:
            if isinstance(method, kind):
                return answer(self, method)
        return self._answer_other(method)

    def _get_me(self, method: GetMe) -> User:
        return LOCAL_BOT_USER

    def _get_file(self, method: GetFile) -> File:
        if method.file_id not in self._files:
            raise TelegramBadRequest(method, "Bad Request: invalid file_id")
        path, content = self._files[method.file_id]
        return File(
            file_id=method.file_id, file_unique_id=method.file_id, file_size=len(content),
            file_path=path,
        )

    def _send_message(self, method: SendMessage) -> Message:
        return self._store(method.chat_id, next(self._message_ids), method.text,
                           method.reply_markup)

    def _edit_message_text(self, method: EditMessageText) -> Message | bool:
        if method.chat_id is None or method.message_id is None:
            return True  # an inline message's: Telegram answers True, there is nothing to keep
        return self._store(method.chat_id, method.message_id, method.text,
                           method.reply_markup)

    def _edit_message_reply_markup(self, method: EditMessageReplyMarkup) -> Message | bool:
        if method.chat_id is None or method.message_id is None:
            return True  # an inline message's: Telegram answers True, there is nothing to keep
        previous = self._messages.get((method.chat_id, method.message_id))
        return self._store(
            method.chat_id, method.message_id, previous.text if previous else "",
            method.reply_markup,
        )

    def _answer_other(self, method: TelegramMethod[Any]) -> object:
        """A method without an answer of its own: True where Telegram answers True, a message
        for one that sends a message; anything else is not simulated."""
        if method.__returning__ is bool:
            return True
        chat_id = getattr(method, "chat_id", None)
        if method.__returning__ is Message and chat_id is not None:
            # sendVoice, sendPhoto, sendDocument...: a message with the caption as its text.
            return self._store(chat_id, next(self._message_ids), getattr(method, "caption", None),
                               getattr(method, "reply_markup", None))
        raise NotImplementedError(f"{type(method).__name__} is not simulated locally")

    # The methods answered by a method of their own, tried in this order (by isinstance);
    # any other goes to _answer_other.
    _ANSWERS: ClassVar[tuple[tuple[type[TelegramMethod[Any]], _Answer], ...]] = (
        (GetMe, _get_me),
        (GetFile, _get_file),
        (SendMessage, _send_message),
        (EditMessageText, _edit_message_text),
        (EditMessageReplyMarkup, _edit_message_reply_markup),
    )

    def _store(
        self, chat_id: int | str, message_id: int, text: str | None, markup: object
    ) -> Message:
        # Telegram returns the text without markup (formatting comes back as entities).
        plain = html.unescape(_TAG.sub("", text)) if text is not None else None
        message = Message(
            message_id=message_id,
            date=datetime.now(UTC),
            chat=Chat(id=int(chat_id), type="private"),
            from_user=LOCAL_BOT_USER,
            text=plain,
            reply_markup=markup if isinstance(markup, InlineKeyboardMarkup) else None,
        )
        self._messages[(chat_id, message_id)] = message
        return message
