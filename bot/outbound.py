"""Every Bot API call that sends or edits a message goes through the one outbound stream.

:class:`OutboundMiddleware` is a request middleware on the bot's session. A sending call
(``sendMessage``, ``sendDocument`` and the other ``send*`` but ``sendChatAction``,
``editMessage*``, ``copyMessage``, ``forwardMessage``, ``deleteMessage``...) made by a
handler is queued in the :class:`~bot.sender.Sender`'s interactive lane, paced with the
reminders, digests and alert pages under Telegram's limits, retried until it is delivered or
its deadline (``REPLY_DEADLINE_SECONDS``) passes, and only then, or at once on a permanent
error (403, 400), its exception reaches the handler (the error handler tells the user).
Background code that calls the bot directly picks its lane with :func:`lane`.

Calls without a chat are not paced: ``answerCallbackQuery`` (a pressed button must stop
spinning at once, even behind a backlog), ``getFile``, ``setMyCommands``, ``setWebhook``...
A passing failure of one of those is tried again a few times here, after the 429's wait (up
to 30 s) or a short backoff. ``getUpdates`` (aiogram's polling loop retries it) and ``getMe``
(start-up fails fast, in one line) are left alone.

A call retried after a timeout or a reset may reach the user twice (Telegram may have got
the first one): at least once rather than not at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import GetMe, GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.sender import TRANSIENT_ERRORS, ChatKey, Priority, Sender, in_stream

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)

_SENDING_PREFIXES = ("send", "edit", "copy", "forward", "delete")
# Methods with those prefixes and a chat that do not post or change a message.
_NOT_MESSAGES = frozenset(
    {
        "sendChatAction",
        "deleteChatPhoto",
        "deleteChatStickerSet",
        "deleteForumTopic",
        "editForumTopic",
        "editGeneralForumTopic",
        "editChatInviteLink",
        "editChatSubscriptionInviteLink",
    }
)

_LANE: ContextVar[Priority] = ContextVar("outbound_lane", default=Priority.INTERACTIVE)


@contextlib.contextmanager
def lane(priority: Priority) -> Iterator[None]:
    """Calls made to the bot inside go out in this lane (default: interactive)."""
    token = _LANE.set(priority)
    try:
        yield
    finally:
        _LANE.reset(token)


def paced_chat(method: TelegramMethod[Any]) -> ChatKey | None:
    """The chat a sending call posts to, or None for a call that is not paced."""
    name = method.__api_method__
    if not name.startswith(_SENDING_PREFIXES) or name in _NOT_MESSAGES:
        return None
    chat_id = getattr(method, "chat_id", None)
    if isinstance(chat_id, int | str):
        return chat_id
    inline = getattr(method, "inline_message_id", None)
    return f"inline:{inline}" if isinstance(inline, str) else None


class OutboundMiddleware(BaseRequestMiddleware):
    def __init__(
        self,
        sender: Sender,
        *,
        attempts: int = 3,
        backoff_base: float = 0.5,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._sender = sender
        self._attempts = attempts
        self._backoff_base = backoff_base
        # A longer flood wait would hold a button's answer too long: give up instead.
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._random = random.Random()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if in_stream():  # the stream's own try: paced and retried there
            return await make_request(bot, method)
        chat = paced_chat(method)
        if chat is not None:
            return await self._sender.call(
                chat,
                lambda: make_request(bot, method),
                priority=_LANE.get(),
                kind=method.__api_method__,
            )
        if isinstance(method, GetUpdates | GetMe):
            return await make_request(bot, method)  # type: ignore[arg-type]
        return await self._unpaced(make_request, bot, method)

    async def _unpaced(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TRANSIENT_ERRORS as exc:
                if isinstance(exc, TelegramRetryAfter):
                    delay = float(exc.retry_after)
                    if delay > self._max_retry_after:
                        raise
                else:
                    delay = self._backoff_base * 2.0 ** (attempt - 1)
                    delay *= 1 + 0.1 * self._random.random()
                if attempt >= self._attempts:
                    logger.warning(
                        "%s: %s, gave up after %d attempts",
                        method.__api_method__, type(exc).__name__, attempt,
                    )
                    raise
                logger.warning(
                    "%s: %s, retry in %.1fs (attempt %d/%d)",
                    method.__api_method__, type(exc).__name__, delay, attempt, self._attempts,
                )
            await self._sleep(delay)
            attempt += 1


def pace(bot: Bot, sender: Sender) -> None:
    """Route the bot's sending calls through ``sender`` (once per session)."""
    if any(isinstance(m, OutboundMiddleware) for m in bot.session.middleware):
        raise RuntimeError("this bot's session already has an outbound stream")
    bot.session.middleware(OutboundMiddleware(sender))
