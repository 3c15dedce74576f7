"""The HTTP alert intake: outside systems raise alerts with `POST /alerts/<secret>`.

Served inside the bot process (aiohttp, the same event loop as the bot) when INTAKE_PORT is
set. The path secret is `t<team id>-<secret>` (the team's, shown to its lead by /intake) or
`u<user id>-<secret>` (a user's own). The body is JSON::

    {"client": "Acme", "text": "site is down", "severity": "urgent", "dedup_key": "acme-site"}

The answer is 2xx only once the alert is stored (201 for a new alert, 200 for a duplicate
that was counted), so a sender that gets anything else may simply retry. Every answer is
JSON; errors are `{"error": "..."}`. One log line per request, never with the secret or the
alert's text.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.services.alerts import CLIENT_LIMIT, DEDUP_KEY_LIMIT, TEXT_LIMIT, AlertService
from bot.services.text import clean_line, clean_text
from bot.settings import Settings
from storage.models import AlertSeverity, AlertSource

logger = logging.getLogger(__name__)

SERVICE_KEY = web.AppKey("alert_service", AlertService)
LIMIT_KEY = web.AppKey("intake_max_bytes", int)
# What the handler stored, for the log line: (alert id, created).
STORED_KEY: web.RequestKey[tuple[int, bool]] = web.RequestKey("intake_stored")
# What may be logged of a path secret: the part naming whose intake it is.
_OWNER_PART = re.compile(r"[tu]\d{1,18}")
_SHUTDOWN_SECONDS = 2.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class AlertPayload(BaseModel):
    """The JSON body of an intake request; unknown fields are ignored."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    text: Annotated[str, Field(min_length=1, max_length=TEXT_LIMIT)]
    client: Annotated[str | None, Field(max_length=CLIENT_LIMIT)] = None
    severity: AlertSeverity = AlertSeverity.URGENT
    dedup_key: Annotated[str | None, Field(max_length=DEDUP_KEY_LIMIT)] = None

    @field_validator("text", mode="before")
    @classmethod
    def _clean_text(cls, value: object) -> object:
        return clean_text(value) if isinstance(value, str) else value

    @field_validator("client", "dedup_key", mode="before")
    @classmethod
    def _clean_line(cls, value: object) -> object:
        if isinstance(value, str):
            return clean_line(value) or None  # blank means not given
        return value

    @field_validator("severity", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value


_LIMITS = {"text": TEXT_LIMIT, "client": CLIENT_LIMIT, "dedup_key": DEDUP_KEY_LIMIT}


def describe_errors(exc: ValidationError) -> str:
    """One readable line naming each wrong field, e.g. `text: is required`."""
    parts: list[str] = []
    for error in exc.errors():
        field = str(error["loc"][0]) if error["loc"] else "body"
        kind = error["type"]
        if kind == "missing":
            reason = "is required"
        elif kind == "string_too_short":
            reason = "must not be empty"
        elif kind == "string_too_long":
            reason = f"is longer than {_LIMITS.get(field, 0)} characters"
        elif kind == "string_type":
            reason = "must be a string"
        elif kind == "enum":
            reason = 'must be "urgent" or "normal"'
        else:
            reason = error["msg"]
        parts.append(f"{field}: {reason}")
    return "; ".join(parts)


def _error(status: int, message: str, **headers: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=headers or None)


def _owner_part(secret: str) -> str:
    """`t12` or `u5` from a path secret (never the secret itself), else `?`."""
    head = secret.partition("-")[0]
    return head if _OWNER_PART.fullmatch(head) else "?"


async def _read_capped(request: web.Request, limit: int) -> bytes | None:
    """The body, or None as soon as it grows past `limit` bytes (whatever the headers said)."""
    body = bytearray()
    async for chunk in request.content.iter_any():
        body += chunk
        if len(body) > limit:
            return None
    return bytes(body)


def _too_large(limit: int) -> web.Response:
    response = _error(413, f"body is larger than the limit of {limit} bytes (INTAKE_MAX_BYTES)")
    response.force_close()  # the rest of the body is not read: do not reuse the connection
    return response


async def post_alert(request: web.Request) -> web.Response:
    """`POST /alerts/{secret}`: store the alert, then answer."""
    if request.method != "POST":
        return _error(405, "use POST with a JSON body", Allow="POST")
    limit = request.app[LIMIT_KEY]
    if request.content_length is not None and request.content_length > limit:
        return _too_large(limit)
    service = request.app[SERVICE_KEY]
    owner = await service.intake_owner(request.match_info["secret"])
    if owner is None:
        return _error(403, "unknown intake address: check the secret (see /intake in the bot)")
    body = await _read_capped(request, limit)
    if body is None:
        return _too_large(limit)
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return _error(400, "body is not valid JSON; send an object such as "
                      '{"text": "site is down"}')
    if not isinstance(data, dict):
        return _error(400, 'body must be a JSON object such as {"text": "site is down"}')
    try:
        payload = AlertPayload.model_validate(data)
    except ValidationError as exc:
        return _error(400, describe_errors(exc))
    team, user_id = owner
    raised = await service.raise_alert(
        team=team,
        owner_hint=user_id,
        raised_by=None,
        client_query=payload.client,
        text=payload.text,
        severity=payload.severity,
        dedup_key=payload.dedup_key,
        source=AlertSource.INTAKE,
    )
    request[STORED_KEY] = (raised.alert.id, raised.created)
    return web.json_response(
        {
            "alert": raised.alert.id,
            "created": raised.created,
            "count": raised.alert.count,
            "client_known": raised.client is not None,
        },
        status=201 if raised.created else 200,
    )


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@web.middleware
async def log_and_shield(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON for every error (unknown path, a crash), and one log line per request."""
    started = time.perf_counter()
    where = request.path
    if where.startswith("/alerts/"):
        # Even a path that matched no route may carry a secret: keep only whose it is.
        where = f"/alerts/{_owner_part(where.removeprefix('/alerts/'))}-…"
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = _error(exc.status, exc.reason.lower())
    except Exception:
        logger.exception("intake %s %s failed", request.method, where)
        response = _error(500, "internal error: the alert may not be stored; retry later")
    stored = request.get(STORED_KEY)
    outcome = ""
    if stored is not None:
        outcome = f" alert {stored[0]} {'created' if stored[1] else 'counted again'}"
    logger.info(
        "intake %s %s -> %s%s in %.0f ms", request.method, where, response.status, outcome,
        1000 * (time.perf_counter() - started),
    )
    return response


def create_app(service: AlertService, max_bytes: int) -> web.Application:
    # client_max_size stays above our own limit: we answer 413 ourselves, in JSON.
    app = web.Application(middlewares=[log_and_shield], client_max_size=max_bytes + 1024)
    app[SERVICE_KEY] = service
    app[LIMIT_KEY] = max_bytes
    app.router.add_route("*", "/alerts/{secret}", post_alert)
    app.router.add_get("/health", health)
    return app


class IntakeStartError(Exception):
    """The intake cannot listen (port taken, bad host); the message says which and why."""


class IntakeServer:
    """The intake's web server: `start()` binds INTAKE_HOST:INTAKE_PORT (0: any free port,
    see `port`), `stop()` finishes requests in flight and closes it."""

    def __init__(
        self, service: AlertService, settings: Settings, *, port: int | None = None
    ) -> None:
        self._app = create_app(service, settings.intake_max_bytes)
        self._host = settings.intake_host
        chosen = settings.intake_port if port is None else port
        if chosen is None:
            raise ValueError("the intake needs a port: set INTAKE_PORT")
        self._port = chosen
        self._runner: web.AppRunner | None = None
        self.port: int | None = None

    @property
    def url(self) -> str:
        """Base URL once started, e.g. `http://127.0.0.1:8080`."""
        if self.port is None:
            raise RuntimeError("the intake server is not started")
        return f"http://{self._host}:{self.port}"

    async def start(self) -> None:
        # access_log=None: aiohttp's access log would write the secret in the path.
        runner = web.AppRunner(
            self._app, access_log=None, shutdown_timeout=_SHUTDOWN_SECONDS,
            handle_signals=False,
        )
        await runner.setup()
        site = web.TCPSite(runner, self._host, self._port)
        try:
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise IntakeStartError(
                f"could not listen for alerts on {self._host}:{self._port} "
                f"({exc.strerror or exc}): check INTAKE_HOST and INTAKE_PORT"
            ) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        logger.info("alert intake listening on http://%s:%s", self._host, self.port)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
            logger.info("alert intake stopped")
