"""Per-user flood control: a user who sends too fast is slowed down, never dropped.

Each user has a token bucket (a burst of `burst` updates, then `rate` per second). An update
that finds the bucket empty waits for its token instead of being thrown away, and the first
such update of a flood episode tells the user once, in their language, that their messages
are being handled one by one. Buckets are per user: one user's flood never slows another,
and there is no global lock. A bucket that has refilled is the same as no bucket, so idle
users are forgotten and memory stays bounded.

The dispatcher's per-chat event isolation (SimpleEventIsolation) already handles one update
of a chat at a time and in order; the throttle sits inside that lock, so the updates of a
flood keep their order while they wait. Tokens are reserved before any await, so even
concurrent updates of one user (without a chat) get distinct, increasing wait times.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.types import Chat, TelegramObject, User
from aiogram.utils.i18n import I18n

from bot.context import UserContext
from bot.i18n import mark
from bot.outage import OutageLog
from bot.settings import Settings
from storage.errors import StorageError
from storage.interfaces import SharedLimits

logger = logging.getLogger(__name__)

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]
Sleep = Callable[[float], Awaitable[Any]]

SLOW_DOWN = mark("You are sending messages very fast; I will handle them one by one.")
# Buckets kept at most, however many users write at once (the least recently seen go first).
MAX_TRACKED_USERS = 10_000


@dataclass
class _Bucket:
    tokens: float
    stamp: float
    warned: bool = False


class TokenBuckets:
    """The arithmetic: how long each user's next update has to wait. No awaits inside."""

    def __init__(
        self,
        burst: int,
        rate: float,
        time_source: Callable[[], float] = time.monotonic,
        max_users: int = MAX_TRACKED_USERS,
    ) -> None:
        if burst < 1 or rate <= 0 or max_users < 1:
            raise ValueError("burst and max_users must be >= 1 and rate > 0")
        self.burst = burst
        self.rate = rate
        self.time_source = time_source
        self._max_users = max_users
        # Least recently seen first, so the idle ones are found at the front.
        self._buckets: OrderedDict[int, _Bucket] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def reserve(self, user_id: int) -> tuple[float, bool]:
        """Take the user's next token: (seconds to wait for it, whether to warn the user).

        The warning is due once per flood episode: at the first wait after the bucket was
        last full.
        """
        now = self.time_source()
        self._forget_idle(now)
        bucket = self._buckets.pop(user_id, None)
        if bucket is None:
            bucket = _Bucket(tokens=float(self.burst), stamp=now)
        else:
            bucket.tokens = min(
                float(self.burst), bucket.tokens + max(0.0, now - bucket.stamp) * self.rate
            )
            bucket.stamp = now
            if bucket.tokens >= self.burst:
                bucket.warned = False  # calm again: a new flood is a new episode
        self._buckets[user_id] = bucket
        while len(self._buckets) > self._max_users:
            self._buckets.popitem(last=False)
        bucket.tokens -= 1
        if bucket.tokens >= 0:
            return 0.0, False
        warn = not bucket.warned
        bucket.warned = True
        return -bucket.tokens / self.rate, warn

    def _full_at(self, bucket: _Bucket) -> float:
        return bucket.stamp + (self.burst - bucket.tokens) / self.rate

    def _forget_idle(self, now: float) -> None:
        while self._buckets:
            user_id, oldest = next(iter(self._buckets.items()))
            if self._full_at(oldest) > now:
                return
            del self._buckets[user_id]


class ThrottlingMiddleware(BaseMiddleware):
    """Outer update middleware; needs data['user'] (UserMiddleware) for the user's locale."""

    def __init__(
        self,
        settings: Settings,
        i18n: I18n,
        *,
        time_source: Callable[[], float] = time.monotonic,
        sleep: Sleep = asyncio.sleep,
        shared: SharedLimits | None = None,
    ) -> None:
        self._i18n = i18n
        self.enabled = settings.throttle_burst > 0
        self.buckets = TokenBuckets(
            max(1, settings.throttle_burst), settings.throttle_per_second, time_source
        )
        self.sleep = sleep
        # Several workers: the buckets live in the database, so a flood spread over the
        # workers by the proxy is one flood. None: this process's memory.
        self._shared = shared
        self._outage = OutageLog(logger, what="shared flood control", retrying="per update")

    def use_time(self, time_source: Callable[[], float], sleep: Sleep) -> None:
        """Swap the clock and the sleep (tests run floods in virtual time). The database's
        buckets follow the server's real clock, so virtual time counts in this process."""
        self.buckets.time_source = time_source
        self.sleep = sleep
        self._shared = None

    @staticmethod
    def of(dispatcher: Dispatcher) -> ThrottlingMiddleware:
        """The throttle a dispatcher was built with."""
        for middleware in dispatcher.update.outer_middleware:
            if isinstance(middleware, ThrottlingMiddleware):
                return middleware
        raise LookupError("the dispatcher has no ThrottlingMiddleware")

    async def __call__(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        event_user: User | None = data.get("event_from_user")
        if not self.enabled or event_user is None:
            return await handler(event, data)
        delay, warn = await self._reserve(event_user.id)
        if delay > 0:
            if warn:
                await self._warn(data)
            await self.sleep(delay)
        return await handler(event, data)

    async def _reserve(self, user_id: int) -> tuple[float, bool]:
        if self._shared is None:
            return self.buckets.reserve(user_id)
        try:
            reserved = await self._shared.flood_reserve(
                user_id, self.buckets.burst, self.buckets.rate
            )
        except StorageError as exc:
            # The database is down: this worker counts alone until it is back.
            self._outage.failed(exc, "shared flood control failed; counting in this process")
            return self.buckets.reserve(user_id)
        self._outage.recovered()
        return reserved

    async def _warn(self, data: dict[str, Any]) -> None:
        chat: Chat | None = data.get("event_chat")
        bot: Bot | None = data.get("bot")
        if chat is None or bot is None:
            return
        user = data.get("user")
        locale = user.locale if isinstance(user, UserContext) else self._i18n.default_locale
        try:
            await bot.send_message(chat.id, self._i18n.gettext(SLOW_DOWN, locale=locale))
        except TelegramAPIError as exc:  # the notice is a courtesy; the updates still count
            logger.warning("could not send the slow-down notice to chat %s: %s", chat.id, exc)
