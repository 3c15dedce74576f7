"""The feed over HTTP: `GET /cal/<user id>-<secret>.ics` on the bot's own aiohttp server.

- Every refusal is the same 404 (same body, same headers): a wrong secret, an old (rotated)
  one, a malformed address, an unknown user, a user outside ALLOWED_USER_IDS. Whoever
  guesses learns nothing, not even whether the id is someone's. The secret is compared in
  constant time, and an unknown user is compared against a stand-in secret all the same.
- 200 with `text/calendar; charset=utf-8`, an ETag (the hash of the content) and a
  Last-Modified that moves only when the content does (kept in storage, see
  UserRepo.calendar_version); `If-None-Match` / `If-Modified-Since` get 304 with no body,
  so a calendar polling every few minutes costs the bot three queries and no transfer.
- The database failing (unreachable, busy) is a 503 with Retry-After, whoever asks; a
  read-only one still serves the feed (with Last-Modified now).
- The secret never reaches a log: the feed logs the user id and the outcome only, and
  bot/logs.py's path filter cuts it out of aiohttp's and the hosting servers' lines.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import time
from datetime import UTC, datetime

from aiogram.utils.i18n import I18n
from aiohttp import web

from bot.calendar_feed.address import FEED_PREFIX, read_token
from bot.calendar_feed.ics import build_feed, load_content
from bot.clock import Clock
from bot.i18n import create_i18n
from bot.logs import protect_loggers
from bot.settings import Settings
from storage.errors import StorageFaultError, StorageFullError, StorageReadOnlyError
from storage.interfaces import Storage

logger = logging.getLogger(__name__)

CONTENT_TYPE = "text/calendar"
# Compared against when the user is unknown or has no secret: the same work either way.
_STAND_IN = b"x" * 32
_NOT_FOUND_BODY = "not found\n"
# Sent with every answer, refusals included, so a 404 looks like any other 404 of the feed.
_COMMON_HEADERS = {
    "X-Robots-Tag": "noindex, nofollow",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
# A feed changes when the user changes something: revalidate every time (cheap: 304).
_CACHE_FEED = "private, no-cache"

def add_calendar_routes(
    app: web.Application,
    *,
    storage: Storage,
    clock: Clock,
    settings: Settings,
    i18n: I18n | None = None,
) -> None:
    """Serve `GET /cal/<id>-<secret>.ics` (and HEAD) from this app."""
    # Feed paths carry their secret: cut out of aiohttp's and the servers' log lines.
    protect_loggers()
    feeds = CalendarFeeds(
        storage, clock, settings, i18n or create_i18n(settings.default_language)
    )
    app.router.add_get(FEED_PREFIX + "{name:[^/]*}", feeds.serve)


class CalendarFeeds:
    def __init__(self, storage: Storage, clock: Clock, settings: Settings, i18n: I18n) -> None:
        self._storage = storage
        self._clock = clock
        self._settings = settings
        self._i18n = i18n

    async def serve(self, request: web.Request) -> web.StreamResponse:
        try:
            return await self._answer(request)
        except StorageFaultError as exc:
            # Said the same way whoever asks (the address is not checked yet, or was).
            logger.warning("calendar feed: storage %s; answered 503", exc.fault)
            return web.Response(
                status=503, text="the calendar is unavailable for a moment; retry later\n",
                content_type="text/plain", charset="utf-8",
                headers={**_COMMON_HEADERS, "Retry-After": "60", "Cache-Control": "no-store"},
            )

    async def _answer(self, request: web.Request) -> web.StreamResponse:
        started = time.perf_counter()
        user_id = await self._owner(request.match_info.get("name", ""))
        if user_id is None:
            logger.info("calendar feed: 404 for an address that is not a feed's")
            return not_found()
        profile = await self._storage.users.get(user_id)
        if profile is None:  # forgotten between the two reads
            return not_found()
        content = await load_content(self._storage, profile, self._settings)
        # Building 5,000 events takes a while: off the event loop, which serves the bot.
        feed = await asyncio.to_thread(build_feed, content, self._i18n)
        try:
            changed = await self._storage.users.calendar_version(
                user_id, feed.version, self._clock.now()
            )
        except (StorageReadOnlyError, StorageFullError):
            # The feed is read all the same; only its moment is unknown: now (a poller's
            # If-Modified-Since gets the whole feed, never a wrong 304; its ETag still works).
            changed = self._clock.now()
        etag = f'"{feed.version}"'
        headers = {
            **_COMMON_HEADERS,
            "ETag": etag,
            "Last-Modified": _http_date(changed),
            "Cache-Control": _CACHE_FEED,
        }
        if _not_modified(request, etag, changed):
            response: web.StreamResponse = web.Response(status=304, headers=headers)
        else:
            response = web.Response(
                body=feed.render(changed), headers=headers, content_type=CONTENT_TYPE,
                charset="utf-8",
            )
        logger.info(
            "calendar feed of user %s -> %s, %d events, in %.0f ms", user_id, response.status,
            feed.events, 1000 * (time.perf_counter() - started),
        )
        return response

    async def _owner(self, name: str) -> int | None:
        """Whose feed the path names, if its secret is that user's current one."""
        token = read_token(name)
        if token is None:
            return None
        stored = await self._storage.users.stored_calendar_secret(token.user_id)
        expected = stored.encode() if stored is not None else _STAND_IN
        matches = hmac.compare_digest(token.secret.encode(), expected)
        allowed = (
            not self._settings.allowed_user_ids
            or token.user_id in self._settings.allowed_user_ids
        )
        return token.user_id if matches and stored is not None and allowed else None


def not_found() -> web.Response:
    """The one answer to every refused address."""
    return web.Response(
        status=404, text=_NOT_FOUND_BODY, content_type="text/plain", charset="utf-8",
        headers={**_COMMON_HEADERS, "Cache-Control": "no-store"},
    )


def _http_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")


def _not_modified(request: web.Request, etag: str, changed: datetime) -> bool:
    """RFC 9110: If-None-Match decides when present; else If-Modified-Since."""
    match = request.headers.get("If-None-Match")
    if match is not None:
        tags = [tag.strip().removeprefix("W/") for tag in match.split(",")]
        return "*" in tags or etag in tags
    since = request.if_modified_since
    return since is not None and changed.replace(microsecond=0) <= since
