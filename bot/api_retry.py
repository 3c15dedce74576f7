"""Bot API calls that fail for a passing reason are tried again.

Telegram answers a call with 429 (flood control: wait ``retry_after`` seconds), with a 5xx
or a proxy's HTML error page while it is briefly unwell, and a connection can time out or
be reset. A handler's reply that met one of these used to be lost after its write had been
committed, with a traceback in the log and "Something went wrong" for the user. This
request middleware, on the network session only, tries such a call again a few times, after
the 429's wait or a short backoff, with one log line per retry.

Not retried here:

- ``getUpdates``: aiogram's polling loop retries it with its own backoff;
- ``getMe``: start-up checks the token and the address and fails fast, in one line;
- calls made by the sender (``bot/sender.py``, inside :func:`sender_retries`): it paces its
  own retries, and a 429 there pauses every chat.

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
from typing import TYPE_CHECKING

from aiogram.client.session.middlewares.base import (
    BaseRequestMiddleware,
    NextRequestMiddlewareType,
)
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetMe, GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType

if TYPE_CHECKING:
    from aiogram import Bot

logger = logging.getLogger(__name__)

# Errors after which the same call may well succeed: flood control, a server error, a
# timeout or reset connection, an answer that is not Telegram's JSON (a proxy's error page).
TRANSIENT_ERRORS = (
    TelegramRetryAfter, TelegramServerError, TelegramNetworkError, ClientDecodeError
)

_SENDER_RETRIES: ContextVar[bool] = ContextVar("sender_retries", default=False)


@contextlib.contextmanager
def sender_retries() -> Iterator[None]:
    """Calls made inside are retried by their caller (the sender), not by the middleware."""
    token = _SENDER_RETRIES.set(True)
    try:
        yield
    finally:
        _SENDER_RETRIES.reset(token)


class RetryTransientErrors(BaseRequestMiddleware):
    def __init__(
        self,
        *,
        attempts: int = 3,
        backoff_base: float = 0.5,
        max_retry_after: float = 30.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._attempts = attempts
        self._backoff_base = backoff_base
        # A longer flood wait would hold the chat's next updates too long: give up instead.
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._random = random.Random()

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if isinstance(method, GetUpdates | GetMe) or _SENDER_RETRIES.get():
            return await make_request(bot, method)
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
