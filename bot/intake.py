"""The HTTP alert intake: outside systems raise alerts with `POST /alerts/<secret>`.

Served inside the bot process (aiohttp, the same event loop as the bot) when INTAKE_PORT is
set. The path secret is `t<team id>-<secret>` (the team's, shown to its lead by /intake) or
`u<user id>-<secret>` (a user's own). The body is JSON::

    {"client": "Acme", "text": "site is down", "severity": "urgent", "dedup_key": "acme-site"}

The answer is 2xx only once the alert is stored (201 for a new alert, 200 for a duplicate
that was counted), so a sender that gets anything else may simply retry. Every answer is
JSON; errors are `{"error": "..."}`. One log line per request, never with the secret or the
alert's text.

Limits, each answered in JSON: a body over INTAKE_MAX_BYTES 413; a body that has not arrived
within INTAKE_READ_TIMEOUT_SECONDS 408 (the connection is closed); a malformed address or
body (bad JSON, wrong types, nested deeper than 32 levels, broken Unicode) 400; an address
posting more than INTAKE_RATE_PER_MINUTE requests a minute, or holding INTAKE_MAX_OPEN open
alerts, 429 with `Retry-After`. A run of 429s for one address is logged once when it starts
and once when the address is accepted again, not once a request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any

from aiohttp import web
from aiohttp.abc import AbstractAccessLogger
from aiohttp.web_request import BaseRequest
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from bot.domain.text import clean_line, clean_text
from bot.logs import protect_loggers, redact_secret_paths
from bot.services.alerts import CLIENT_LIMIT, DEDUP_KEY_LIMIT, TEXT_LIMIT, AlertService, Raised
from bot.settings import Settings
from storage.errors import OpenAlertLimitError
from storage.models import AlertSeverity, AlertSource, Team

logger = logging.getLogger(__name__)

# What may be logged of a path secret: the part naming whose intake it is.
_OWNER_PART = re.compile(r"[tu][0-9]{1,18}")
# A well-formed path secret: printable ASCII only (int() takes '²' and '٣' as digits; a
# lone surrogate cannot even be encoded for the comparison).
_WELL_FORMED = re.compile(r"[tu][0-9]{1,18}-[\x21-\x7e]{1,200}")
_SHUTDOWN_SECONDS = 2.0
# Paths served beside the intake when polling (bot/public_web.py), not the intake's own.
_PAGES_PREFIXES = ("/app/", "/cal/")
MAX_DEPTH = 32  # of JSON nesting; an alert needs 1
_OPEN_LIMIT_RETRY_SECONDS = 60  # until someone resolves one: a guess, said so in the answer
# Whose intake an address is: (team, None) for a team's, (their team or None, user id) for a
# user's (as AlertService.intake_owner answers).
_Owner = tuple[Team | None, int | None]


@dataclass(frozen=True, slots=True)
class Limits:
    max_bytes: int
    rate_per_minute: int
    max_open: int
    read_timeout: float

    @classmethod
    def from_settings(cls, settings: Settings) -> Limits:
        return cls(
            settings.intake_max_bytes, settings.intake_rate_per_minute,
            settings.intake_max_open, settings.intake_read_timeout_seconds,
        )


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass(slots=True)
class _Episode:
    last_refused: float
    refused: int = 0
    reasons: set[str] = field(default_factory=set)


class AddressLimiter:
    """Per intake address: a token bucket of `rate_per_minute` requests (refilled evenly,
    a burst of a minute's worth allowed), and one log line per run of refusals."""

    _PRUNE_AT = 10_000
    # An episode ends with a request accepted this long after the last one refused (a
    # sender kept at the limit gets one through each second: that is not the end).
    EPISODE_QUIET = 60.0

    def __init__(
        self, rate_per_minute: int, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._capacity = float(rate_per_minute)
        self._per_second = rate_per_minute / 60.0
        self._monotonic = monotonic
        self._buckets: dict[str, _Bucket] = {}
        self._episodes: dict[str, _Episode] = {}

    def take(self, address: str) -> float | None:
        """Spend one request of this address: None if allowed, else seconds to wait."""
        now = self._monotonic()
        bucket = self._buckets.get(address)
        if bucket is None:
            if len(self._buckets) >= self._PRUNE_AT:
                self._prune(now)
            bucket = self._buckets[address] = _Bucket(self._capacity, now)
        bucket.tokens = min(self._capacity, bucket.tokens + (now - bucket.at) * self._per_second)
        bucket.at = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        return (1.0 - bucket.tokens) / self._per_second

    def refused(self, address: str, reason: str, detail: str) -> None:
        """Count a 429; log the first of an episode (and the first for each reason)."""
        now = self._monotonic()
        episode = self._episodes.setdefault(address, _Episode(now))
        episode.last_refused = now
        episode.refused += 1
        if reason not in episode.reasons:
            episode.reasons.add(reason)
            logger.warning(
                "intake %s: %s; answering 429 until it is back under the limit "
                "(logged once, not per request)", address, detail,
            )

    def accepted(self, address: str) -> None:
        episode = self._episodes.get(address)
        if episode is not None and self._monotonic() - episode.last_refused >= self.EPISODE_QUIET:
            del self._episodes[address]
            logger.warning(
                "intake %s: accepting alerts again after %d request(s) refused with 429",
                address, episode.refused,
            )

    def _prune(self, now: float) -> None:
        """Forget addresses whose bucket is full again (bounded memory)."""
        for address in [
            key for key, bucket in self._buckets.items()
            if bucket.tokens + (now - bucket.at) * self._per_second >= self._capacity
            and key not in self._episodes
        ]:
            del self._buckets[address]


SERVICE_KEY = web.AppKey("alert_service", AlertService)
LIMITS_KEY = web.AppKey("intake_limits", Limits)
LIMITER_KEY = web.AppKey("intake_limiter", AddressLimiter)
# What the handler stored, for the log line: (alert id, created).
STORED_KEY: web.RequestKey[tuple[int, bool]] = web.RequestKey("intake_stored")
# A 429 that the limiter logged for its episode: no line of its own.
QUIET_KEY: web.RequestKey[bool] = web.RequestKey("intake_quiet")

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


def _too_many(request: web.Request, address: str, wait: float, reason: str,
              message: str, detail: str) -> web.Response:
    request.app[LIMITER_KEY].refused(address, reason, detail)
    request[QUIET_KEY] = True
    seconds = max(1, math.ceil(wait))
    return web.json_response(
        {"error": message, "retry_after": seconds}, status=429,
        headers={"Retry-After": str(seconds)},
    )


def _body_problem(data: Any) -> str | None:
    """Why a parsed body cannot be taken, or None: too deep, or a string that is not valid
    Unicode (a lone surrogate from `\\ud800` could not be stored). Iterative: no recursion."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            if depth > MAX_DEPTH:
                return f"body is nested deeper than {MAX_DEPTH} levels"
            stack.extend((item, depth + 1) for item in value.values())
            stack.extend((key, depth) for key in value)
        elif isinstance(value, list):
            if depth > MAX_DEPTH:
                return f"body is nested deeper than {MAX_DEPTH} levels"
            stack.extend((item, depth + 1) for item in value)
        elif isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                return "body has a string that is not valid Unicode (a lone surrogate)"
    return None


class _RefusedError(Exception):
    """A request refused by one of `post_alert`'s steps; `response` is the answer to send.

    Each step raises it with its own status, so the steps read in order without a return
    for each refusal; it never leaves `post_alert`."""

    def __init__(self, response: web.Response) -> None:
        super().__init__(response.status)
        self.response = response


async def post_alert(request: web.Request) -> web.Response:
    """`POST /alerts/{secret}`: store the alert, then answer."""
    try:
        return await _store_alert(request)
    except _RefusedError as refused:
        return refused.response


async def _store_alert(request: web.Request) -> web.Response:
    """The steps of `post_alert`, in order; any of them may refuse with `_RefusedError`."""
    limits = request.app[LIMITS_KEY]
    _check_request_line(request, limits)
    secret = request.match_info["secret"]
    owner = await _intake_owner(request, secret)
    address = _owner_part(secret)
    _take_rate(request, address, limits)
    body = await _read_body(request, address, limits)
    payload = _parse_payload(body)
    raised = await _raise_alert(request, owner, address, payload, limits)
    request.app[LIMITER_KEY].accepted(address)
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


def _check_request_line(request: web.Request, limits: Limits) -> None:
    """Refuse what is wrong before anything is looked up: the method, a declared body over
    the limit, a malformed address."""
    if request.method != "POST":
        raise _RefusedError(_error(405, "use POST with a JSON body", Allow="POST"))
    if request.content_length is not None and request.content_length > limits.max_bytes:
        raise _RefusedError(_too_large(limits.max_bytes))
    if not _WELL_FORMED.fullmatch(request.match_info["secret"]):
        # Cannot open anything; checked first so odd characters never reach a lookup.
        raise _RefusedError(_error(
            400, "malformed intake address: expected /alerts/t<team id>-<secret> "
            "or /alerts/u<user id>-<secret>; check the secret (see /intake)"))


async def _intake_owner(request: web.Request, secret: str) -> _Owner:
    """Whose intake the secret opens (team, user id), else a 403."""
    owner = await request.app[SERVICE_KEY].intake_owner(secret)
    if owner is None:
        raise _RefusedError(_error(
            403, "unknown intake address: check the secret (see /intake in the bot)"))
    return owner


def _take_rate(request: web.Request, address: str, limits: Limits) -> None:
    """Spend one request of the address's rate, else a 429."""
    wait = request.app[LIMITER_KEY].take(address)
    if wait is not None:
        raise _RefusedError(_too_many(
            request, address, wait, "rate",
            f"too many requests for this address: at most {limits.rate_per_minute} a minute "
            "(INTAKE_RATE_PER_MINUTE); retry after the time in Retry-After",
            f"more than {limits.rate_per_minute} requests a minute (INTAKE_RATE_PER_MINUTE)",
        ))


async def _read_body(request: web.Request, address: str, limits: Limits) -> bytes:
    """The body, else a 408 (it did not arrive in time) or a 413 (it grew past the limit)."""
    try:
        async with asyncio.timeout(limits.read_timeout):
            body = await _read_capped(request, limits.max_bytes)
    except TimeoutError:
        logger.warning("intake %s: the body did not arrive within %g s; dropped",
                       address, limits.read_timeout)
        response = _error(408, f"the body did not arrive within {limits.read_timeout:g} s "
                          "(INTAKE_READ_TIMEOUT_SECONDS)")
        response.force_close()
        raise _RefusedError(response) from None
    if body is None:
        raise _RefusedError(_too_large(limits.max_bytes))
    return body


def _parse_payload(body: bytes) -> AlertPayload:
    """The alert the body describes, else a 400 saying what is wrong with it."""
    try:
        data: Any = json.loads(body)
    except RecursionError:
        raise _RefusedError(
            _error(400, f"body is nested deeper than {MAX_DEPTH} levels")) from None
    except (ValueError, UnicodeDecodeError):
        raise _RefusedError(_error(400, "body is not valid JSON; send an object such as "
                              '{"text": "site is down"}')) from None
    if not isinstance(data, dict):
        raise _RefusedError(_error(
            400, 'body must be a JSON object such as {"text": "site is down"}'))
    problem = _body_problem(data)
    if problem is not None:
        raise _RefusedError(_error(400, problem))
    try:
        return AlertPayload.model_validate(data)
    except ValidationError as exc:
        raise _RefusedError(_error(400, describe_errors(exc))) from None


async def _raise_alert(request: web.Request, owner: _Owner, address: str,
                       payload: AlertPayload, limits: Limits) -> Raised:
    """Store the alert (or count a duplicate), else a 429 if the address has too many open."""
    team, user_id = owner
    try:
        return await request.app[SERVICE_KEY].raise_alert(
            team=team,
            owner_hint=user_id,
            raised_by=None,
            client_query=payload.client,
            text=payload.text,
            severity=payload.severity,
            dedup_key=payload.dedup_key,
            source=AlertSource.INTAKE,
            intake_address=address,
        )
    except OpenAlertLimitError as exc:
        raise _RefusedError(_too_many(
            request, address, _OPEN_LIMIT_RETRY_SECONDS, "open",
            f"this address has {exc.open_count} open alerts, the most it may have "
            f"(INTAKE_MAX_OPEN = {limits.max_open}): resolve some in the bot (/alerts), or "
            "repeat an open alert's dedup_key; retry after the time in Retry-After",
            f"{exc.open_count} open alerts, the most allowed (INTAKE_MAX_OPEN)",
        )) from None


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True})


@web.middleware
async def log_and_shield(request: web.Request, handler: Handler) -> web.StreamResponse:
    """JSON for every error (unknown path, a crash), and one log line per request."""
    if request.path == "/app" or request.path.startswith(_PAGES_PREFIXES):
        # The Mini App and calendar feeds (bot/public_web.py) answer and log for themselves.
        return await handler(request)
    started = time.perf_counter()
    # Even a path that matched no route may carry a secret: keep only whose it is.
    where = redact_secret_paths(request.path)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        response = _error(exc.status, exc.reason.lower())
    except Exception:
        logger.exception("intake %s %s failed", request.method, where)
        response = _error(500, "internal error: the alert may not be stored; retry later")
    if request.get(QUIET_KEY):
        return response  # a 429 of an episode the limiter logged once
    stored = request.get(STORED_KEY)
    outcome = ""
    if stored is not None:
        outcome = f" alert {stored[0]} {'created' if stored[1] else 'counted again'}"
    logger.info(
        "intake %s %s -> %s%s in %.0f ms", request.method, where, response.status, outcome,
        1000 * (time.perf_counter() - started),
    )
    return response


class RedactedAccessLog(AbstractAccessLogger):
    """aiohttp's access log (at DEBUG: our own line per request is at INFO) with the path
    secret cut out: `POST /alerts/t12-… 201 3 ms`."""

    def log(self, request: BaseRequest, response: web.StreamResponse, time: float) -> None:
        self.logger.debug(
            "access %s %s %s %.0f ms", request.method, redact_secret_paths(request.path),
            response.status, 1000 * time,
        )

    @property
    def enabled(self) -> bool:
        return self.logger.isEnabledFor(logging.DEBUG)


def create_app(
    service: AlertService,
    limits: Limits,
    limiter: AddressLimiter | None = None,
    install_pages: Callable[[web.Application], None] | None = None,
) -> web.Application:
    # client_max_size stays above our own limit: we answer 413 ourselves, in JSON.
    app = web.Application(
        middlewares=[log_and_shield], client_max_size=limits.max_bytes + 1024
    )
    app[SERVICE_KEY] = service
    app[LIMITS_KEY] = limits
    app[LIMITER_KEY] = limiter or AddressLimiter(limits.rate_per_minute)
    app.router.add_route("*", "/alerts/{secret}", post_alert)
    app.router.add_get("/health", health)
    if install_pages is not None:
        install_pages(app)
    return app


class IntakeStartError(Exception):
    """The intake cannot listen (port taken, bad host); the message says which and why."""


class IntakeServer:
    """The intake's web server: `start()` binds INTAKE_HOST:INTAKE_PORT (0: any free port,
    see `port`), `stop()` finishes requests in flight and closes it."""

    def __init__(
        self,
        service: AlertService,
        settings: Settings,
        *,
        port: int | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        install_pages: Callable[[web.Application], None] | None = None,
    ) -> None:
        """``install_pages``: when polling, the Mini App and calendar feeds are served here
        too (bot/public_web.py)."""
        limits = Limits.from_settings(settings)
        self._app = create_app(
            service, limits, AddressLimiter(limits.rate_per_minute, monotonic), install_pages
        )
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
        # aiohttp's own access log writes the path: ours cuts the secret out of it, and
        # the loggers aiohttp reports errors through redact intake paths (bot/logs.py).
        protect_loggers()
        # lingering_time=0: a body we stopped reading (stalled, too large) is not waited for
        # another 10 s; the connection is closed once the answer is written.
        runner = web.AppRunner(
            self._app, access_log_class=RedactedAccessLog, shutdown_timeout=_SHUTDOWN_SECONDS,
            handle_signals=False, lingering_time=0,
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
