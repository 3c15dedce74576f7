"""The Mini App on the bot's own aiohttp server: the page (bot/webapp/static) and its API.

``add_webapp_routes`` mounts everything under /app of an existing web.Application (the one
serving the webhook or the intake):
- GET /app/            index.html (no authentication: Telegram puts initData into the page)
- GET /app/static/{name}  the page's files, by name: letters, digits, '.', '_', '-' with a
                       .js/.css/.svg/.png/.woff2 extension, directly in bot/webapp/static (no
                       path can leave that directory)
- /app/api/...         the JSON API (bot/webapp/api.py), authenticated by initData
Files are sent with an ETag and "Cache-Control: no-cache" (a reload costs a 304) and a
Content-Security-Policy that allows scripts only from this origin and telegram.org.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiogram.utils.i18n import I18n
from aiohttp import web

from bot.clock import Clock
from bot.domain.dates import DateParser
from bot.services.catalog import Services
from bot.settings import Settings
from bot.webapp.api import WebAppApi, add_api_routes, error_response
from storage.interfaces import Storage

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).parent / "static"
PREFIX = "/app"
_STATIC_NAME = re.compile(r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,99}\.(js|css|svg|png|woff2)$")
_CONTENT_TYPES = {
    "js": "text/javascript",
    "css": "text/css",
    "svg": "image/svg+xml",
    "png": "image/png",
    "woff2": "font/woff2",
    "html": "text/html",
}
CSP = (
    "default-src 'self'; script-src 'self' https://telegram.org; "
    "style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; object-src 'none'"
)
_HEADERS = {
    "Cache-Control": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": CSP,
}


@dataclass(frozen=True, slots=True)
class _Cached:
    mtime_ns: int
    size: int
    body: bytes
    etag: str


class StaticFiles:
    """Files of one directory, read once and again only when they change on disk."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._cache: dict[str, _Cached] = {}

    def _load(self, name: str) -> _Cached | None:
        path = self._directory / name
        try:
            stat = path.stat()
        except OSError:
            return None
        if not path.is_file():
            return None
        cached = self._cache.get(name)
        if cached is not None and (cached.mtime_ns, cached.size) == (
            stat.st_mtime_ns, stat.st_size
        ):
            return cached
        try:
            body = path.read_bytes()
        except OSError:
            return None
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        fresh = _Cached(stat.st_mtime_ns, stat.st_size, body, etag)
        self._cache[name] = fresh
        return fresh

    def response(self, request: web.Request, name: str) -> web.StreamResponse:
        found = self._load(name)
        if found is None:
            raise web.HTTPNotFound()
        if found.etag in request.headers.get("If-None-Match", ""):
            return web.Response(status=304, headers={**_HEADERS, "ETag": found.etag})
        kind = _CONTENT_TYPES[name.rsplit(".", 1)[1]]
        charset = "utf-8" if kind.startswith("text/") or kind == "image/svg+xml" else None
        return web.Response(
            body=found.body,
            content_type=kind,
            charset=charset,
            headers={**_HEADERS, "ETag": found.etag},
        )


def _is_api(request: web.Request) -> bool:
    return request.path.startswith(PREFIX + "/api/")


@web.middleware
async def _json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Under /app/api every answer is JSON, also a 404 of an unknown route or a 405."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if not _is_api(request) or exc.status < 400:
            raise
        return error_response(exc.status, exc.reason)


def create_webapp(
    *,
    storage: Storage,
    services: Services,
    clock: Clock,
    dates: DateParser,
    i18n: I18n,
    settings: Settings,
    static_dir: Path = STATIC_DIR,
) -> web.Application:
    """The Mini App as an application of its own, to be mounted at /app."""
    api = WebAppApi(
        storage=storage, services=services, clock=clock, dates=dates, i18n=i18n,
        settings=settings,
    )
    files = StaticFiles(static_dir)

    async def index(request: web.Request) -> web.StreamResponse:
        return files.response(request, "index.html")

    async def static(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        if not _STATIC_NAME.fullmatch(name) or ".." in name:
            raise web.HTTPNotFound()
        return files.response(request, name)

    webapp = web.Application(middlewares=[_json_errors])
    webapp.router.add_get("/", index)
    webapp.router.add_get("/static/{name}", static)
    add_api_routes(webapp.router, api)
    return webapp


def add_webapp_routes(
    app: web.Application,
    *,
    storage: Storage,
    services: Services,
    clock: Clock,
    dates: DateParser,
    i18n: I18n,
    settings: Settings,
) -> None:
    """Mount the Mini App's page and API under /app of the bot's web application."""

    async def to_index(request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound(PREFIX + "/")

    app.router.add_get(PREFIX, to_index)
    app.add_subapp(
        PREFIX,
        create_webapp(
            storage=storage, services=services, clock=clock, dates=dates, i18n=i18n,
            settings=settings,
        ),
    )
