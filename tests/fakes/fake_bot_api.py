"""A small local fake of the Telegram Bot API, for end-to-end tests.

The bot under test talks to it through ``TelegramAPIServer.from_base(base)``, i.e. it calls
``{base}/bot{token}/{method}``. Tests queue updates with :meth:`FakeBotAPI.push_message` /
:meth:`FakeBotAPI.push_callback` and inspect what the bot did through :attr:`FakeBotAPI.calls`
and :meth:`FakeBotAPI.wait_for`.

Usage::

    async with FakeBotAPI() as api:
        base_url = api.base_url  # give it to the bot
        mark = api.mark()
        api.push_message("/start", user_id=5001)
        params = await api.wait_for("sendMessage", lambda p: p["chat_id"] == 5001, after=mark)

It misbehaves on demand: :meth:`FakeBotAPI.fail_next` plans a fault (see :class:`FaultKind`)
for the next calls of a method, e.g. ``api.fail_next("getUpdates", FaultKind.RESET, times=2)``.
A faulted call is recorded in :attr:`FakeBotAPI.fault_hits`, not in :attr:`FakeBotAPI.calls`
(it did nothing: a faulted sendMessage was not delivered). Without a plan nothing changes.

``FakeBotAPI(limits=Limits())`` enforces Telegram's limits on sending calls (``send*``,
``editMessage*``, ``copyMessage``, ``forwardMessage``, ``deleteMessage``): at most
``per_second`` in any sliding second for the bot, one per ``chat_interval`` per chat. A call
beyond them gets 429 with ``retry_after`` and starts a flood pause during which every sending
call gets 429 too, as Telegram does. Each is recorded in :attr:`FakeBotAPI.too_many`; a
refused call is not in :attr:`FakeBotAPI.calls`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import email.parser
import email.policy
import json
import math
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from types import TracebackType
from typing import Any, Self

from aiohttp import hdrs, web

JSON = dict[str, Any]
Predicate = Callable[[JSON], bool]

BOT_USER: JSON = {
    "id": 999000,
    "is_bot": True,
    "first_name": "Assistant",
    "username": "am_assistant_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}

# Parameters that Telegram documents as integers; form-encoded requests send them as strings.
_INT_PARAMS = frozenset(
    {"chat_id", "message_id", "offset", "limit", "timeout", "reply_to_message_id", "user_id"}
)
# Free-text parameters: never decoded, whatever they look like.
_TEXT_PARAMS = frozenset({"text", "caption", "description", "short_description", "name"})
_MAX_POLL_SECONDS = 30.0
_WEBHOOK_CONFLICT: JSON = {
    "ok": False,
    "error_code": 409,
    "description": "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first",
}


class FaultKind(StrEnum):
    """How a planned call misbehaves. None of them does what the call asked."""

    TIMEOUT = "timeout"  # no answer for `hold` seconds (longer than the client waits)
    SERVER_ERROR = "server_error"  # HTTP `status` (500, 502, ...) with Telegram's JSON error
    BAD_GATEWAY = "bad_gateway"  # HTTP 502 with a proxy's HTML page instead of JSON
    RETRY_AFTER = "retry_after"  # HTTP 429 with parameters.retry_after = `retry_after`
    RESET = "reset"  # the connection is reset without any answer
    MALFORMED = "malformed"  # HTTP 200 with a truncated, unparseable JSON body


_BAD_GATEWAY_PAGE = (
    "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    "</body>\r\n</html>\r\n"
)


@dataclass(eq=False)
class Fault:
    """A planned misbehaviour: the next `times` calls of `method` (matching `when`)."""

    method: str
    kind: FaultKind
    times: int = 1
    when: Predicate | None = None
    status: int = 500
    retry_after: int = 1
    hold: float = 120.0
    hits: int = 0


@dataclass(frozen=True)
class FaultHit:
    """A call that met a fault: what was asked, how it misbehaved, when (time.time())."""

    method: str
    params: JSON
    kind: FaultKind
    at: float


@dataclass(frozen=True)
class Limits:
    """Telegram's flood limits for sending calls (see the module docstring)."""

    per_second: int = 30
    chat_interval: float = 1.0
    retry_after: int = 1


@dataclass(frozen=True)
class TooMany:
    """A sending call answered 429: when (time.time()), to which chat, and why: "global"
    (the per-second limit), "chat" (the per-chat interval) or "paused" (inside a pause)."""

    method: str
    chat_id: int
    at: float
    reason: str


_SENDING_PREFIXES = ("send", "edit", "copy", "forward", "delete")
_NOT_SENDING = frozenset({"sendchataction", "deletewebhook", "deletemycommands"})


def is_sending(method: str) -> bool:
    name = method.lower()
    return name.startswith(_SENDING_PREFIXES) and name not in _NOT_SENDING


@dataclass(frozen=True)
class RawRequest:
    """One HTTP request exactly as received (used to check where secrets travel)."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


@dataclass
class _Chat:
    last_message_id: int = 0
    messages: dict[int, JSON] = field(default_factory=dict)


def _decode_value(key: str, value: Any) -> Any:
    """Turn a form-encoded value back into what the bot meant to send."""
    if not isinstance(value, str) or key in _TEXT_PARAMS:
        return value
    stripped = value.strip()
    if stripped[:1] in ("{", "["):
        with contextlib.suppress(ValueError):
            return json.loads(stripped)
    if key in _INT_PARAMS:
        with contextlib.suppress(ValueError):
            return int(stripped)
    if stripped in ("true", "false"):
        return stripped == "true"
    return value


def _parse_multipart(content_type: str, body: bytes) -> dict[str, str]:
    """Fields of a multipart/form-data body; uploaded files become ``"<file NAME>"``."""
    head = f"Content-Type: {content_type}\r\n\r\n".encode()
    parsed = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    for part in parsed.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str):
            continue
        filename = part.get_filename()
        if filename is not None:
            fields[name] = f"<file {filename}>"
        else:
            payload = part.get_payload(decode=True)
            charset = part.get_content_charset() or "utf-8"
            fields[name] = payload.decode(charset) if isinstance(payload, bytes) else ""
    return fields


def _as_int(value: Any, default: int = 0) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


class FakeBotAPI:
    """A fake Bot API server on 127.0.0.1 (random free port)."""

    def __init__(self, limits: Limits | None = None) -> None:
        self.limits = limits
        self.too_many: list[TooMany] = []
        self._window: collections.deque[float] = collections.deque()  # monotonic, accepted
        self._last_in_chat: dict[int, float] = {}
        self._paused_until = -math.inf
        self.calls: list[tuple[str, JSON]] = []
        # Wall-clock arrival time (time.time()) of each call, by the same index as `calls`.
        self.call_times: list[float] = []
        self.raw_requests: list[RawRequest] = []
        self.tokens: set[str] = set()
        self.bot_user: JSON = dict(BOT_USER)
        self.faults: list[Fault] = []  # planned, in order; used up ones are removed
        self.fault_hits: list[FaultHit] = []
        self._updates: list[JSON] = []
        self._next_update_id = 1
        self._chats: dict[int, _Chat] = {}
        self._callback_seq = 0
        self._changed = asyncio.Event()  # replaced by a fresh Event after each change
        self._runner: web.AppRunner | None = None
        self._closing = False
        # Set by setWebhook, cleared by deleteWebhook; while set, getUpdates fails with 409.
        self.webhook_url = ""
        self.base_url = ""

    # ----------------------------------------------------------------- lifecycle
    async def start(self) -> str:
        app = web.Application()
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"
        return self.base_url

    async def stop(self) -> None:
        self._closing = True
        self._notify()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    # ----------------------------------------------------------- test-side API
    def push_message(
        self,
        text: str,
        *,
        user_id: int = 5001,
        chat_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Marina",
    ) -> JSON:
        """Queue an Update carrying a private-chat text message from a user; return it."""
        chat_id = user_id if chat_id is None else chat_id
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private", "first_name": first_name},
            "from": user,
            "text": text,
        }
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0] if text.strip() else text
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        self._chats[chat_id].messages[message["message_id"]] = message
        return self._push_update({"message": message})

    def push_callback(
        self,
        data: str,
        message_id: int,
        *,
        user_id: int = 5001,
        chat_id: int | None = None,
        language_code: str | None = "en",
        first_name: str = "Marina",
    ) -> JSON:
        """Queue a callback_query Update for a button on a message the bot sent earlier."""
        chat_id = user_id if chat_id is None else chat_id
        message = self.message(chat_id, message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat_id}")
        user: JSON = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language_code is not None:
            user["language_code"] = language_code
        self._callback_seq += 1
        callback: JSON = {
            "id": f"cb{self._callback_seq}",
            "from": user,
            "message": message,
            "chat_instance": f"ci{chat_id}",
            "data": data,
        }
        return self._push_update({"callback_query": callback})

    def fail_next(
        self,
        method: str,
        kind: FaultKind,
        *,
        times: int = 1,
        when: Predicate | None = None,
        status: int = 500,
        retry_after: int = 1,
        hold: float = 120.0,
    ) -> Fault:
        """Make the next ``times`` calls of ``method`` (those matching ``when``) misbehave."""
        fault = Fault(
            method=method.lower(), kind=kind, times=times, when=when, status=status,
            retry_after=retry_after, hold=hold,
        )
        self.faults.append(fault)
        return fault

    def mark(self) -> int:
        """Current number of recorded calls; pass it as ``after=`` to :meth:`wait_for`."""
        return len(self.calls)

    async def wait_for(
        self,
        method: str,
        predicate: Predicate | None = None,
        *,
        after: int = 0,
        timeout: float = 10.0,  # noqa: ASYNC109 - a deadline over many waits, part of the API
    ) -> JSON:
        """Return params of the first ``method`` call with index >= ``after`` matching."""
        index = after
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            changed = self._changed
            for name, params in self.calls[index:]:
                if name == method and (predicate is None or predicate(params)):
                    return params
            index = max(index, len(self.calls))
            remaining = deadline - loop.time()
            if remaining <= 0:
                seen = [self._describe(n, p) for n, p in self.calls[after:]]
                raise TimeoutError(
                    f"no matching {method} call within {timeout}s; calls since mark: {seen}"
                )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    async def wait_until(
        self,
        condition: Callable[[], bool],
        *,
        timeout: float = 10.0,  # noqa: ASYNC109 - as in wait_for
    ) -> None:
        """Wait until ``condition()`` holds, re-checked after every call (faulted or not)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not condition():
            changed = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise TimeoutError(f"condition not met within {timeout}s")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)

    def calls_of(self, method: str, *, after: int = 0) -> list[JSON]:
        return [params for name, params in self.calls[after:] if name == method]

    def sent_texts(self, chat_id: int, *, after: int = 0) -> list[str]:
        """Texts of sendMessage calls to ``chat_id`` (in order)."""
        return [
            str(params.get("text", ""))
            for params in self.calls_of("sendMessage", after=after)
            if params.get("chat_id") == chat_id
        ]

    def message(self, chat_id: int, message_id: int) -> JSON | None:
        chat = self._chats.get(chat_id)
        return None if chat is None else chat.messages.get(message_id)

    def messages_in(self, chat_id: int) -> list[JSON]:
        """Every message of a chat (the user's and the bot's, as last edited), oldest first."""
        chat = self._chats.get(chat_id)
        return [] if chat is None else [chat.messages[key] for key in sorted(chat.messages)]

    @property
    def pending_updates(self) -> list[JSON]:
        return list(self._updates)

    # --------------------------------------------------------------- internals
    @staticmethod
    def _describe(method: str, params: JSON) -> str:
        text = params.get("text")
        return f"{method}({text!r})" if text is not None else method

    def _chat(self, chat_id: int) -> _Chat:
        return self._chats.setdefault(chat_id, _Chat())

    def _next_message_id(self, chat_id: int) -> int:
        chat = self._chat(chat_id)
        chat.last_message_id += 1
        return chat.last_message_id

    def _push_update(self, payload: JSON) -> JSON:
        update = {"update_id": self._next_update_id, **payload}
        self._next_update_id += 1
        self._updates.append(update)
        self._notify()
        return update

    def _notify(self) -> None:
        """Wake everyone waiting for a change (new call, new update, shutdown)."""
        self._changed.set()
        self._changed = asyncio.Event()

    async def _read_params(self, request: web.Request) -> JSON:
        body = await request.read()
        self.raw_requests.append(
            RawRequest(
                method=request.method,
                path=request.path,
                query=request.query_string,
                headers=dict(request.headers),
                body=body,
            )
        )
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and body:
            loaded = json.loads(body)
            if isinstance(loaded, dict):
                raw.update(loaded)
        elif request.content_type == "multipart/form-data" and body:
            raw.update(_parse_multipart(request.headers[hdrs.CONTENT_TYPE], body))
        elif body:
            raw.update(urllib.parse.parse_qsl(body.decode(), keep_blank_values=True))
        return {key: _decode_value(key, value) for key, value in raw.items()}

    async def _handle(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        self.tokens.add(token)
        params = await self._read_params(request)
        fault = self._take_fault(method, params)
        if fault is not None:
            return await self._misbehave(request, method, params, fault)
        if self.limits is not None and is_sending(method):
            refused = self._over_limits(method, params, self.limits)
            if refused is not None:
                return refused
        self.calls.append((method, params))
        self.call_times.append(time.time())
        self._notify()
        handler = {
            "getme": self._get_me,
            "getupdates": self._get_updates,
            "sendmessage": self._send_message,
            "editmessagetext": self._edit_message,
            "editmessagereplymarkup": self._edit_message,
            "deletewebhook": self._delete_webhook,
            "setwebhook": self._set_webhook,
        }.get(method.lower())
        if method.lower() == "getupdates" and self.webhook_url:
            return web.json_response(_WEBHOOK_CONFLICT, status=409)
        result: Any = True if handler is None else await handler(params)
        return web.json_response({"ok": True, "result": result})

    def _over_limits(self, method: str, params: JSON, limits: Limits) -> web.Response | None:
        """None if the call keeps to the limits (and is counted); else the 429 answer."""
        now = time.monotonic()
        chat_id = _as_int(params.get("chat_id"))
        window = self._window
        while window and window[0] <= now - 1.0:
            window.popleft()
        if now < self._paused_until:
            reason = "paused"
        elif len(window) >= limits.per_second:
            reason = "global"
        elif now - self._last_in_chat.get(chat_id, -math.inf) < limits.chat_interval:
            reason = "chat"
        else:
            window.append(now)
            self._last_in_chat[chat_id] = now
            return None
        if reason != "paused":
            self._paused_until = now + limits.retry_after
        self.too_many.append(TooMany(method, chat_id, time.time(), reason))
        self._notify()
        body = {
            "ok": False,
            "error_code": 429,
            "description": f"Too Many Requests: retry after {limits.retry_after}",
            "parameters": {"retry_after": limits.retry_after},
        }
        return web.json_response(body, status=429)

    def _take_fault(self, method: str, params: JSON) -> Fault | None:
        for fault in self.faults:
            if fault.method == method.lower() and (fault.when is None or fault.when(params)):
                fault.hits += 1
                if fault.hits >= fault.times:
                    self.faults.remove(fault)
                return fault
        return None

    async def _misbehave(
        self, request: web.Request, method: str, params: JSON, fault: Fault
    ) -> web.Response:
        self.fault_hits.append(FaultHit(method, params, fault.kind, time.time()))
        self._notify()
        kind = fault.kind
        if kind is FaultKind.SERVER_ERROR:
            description = "Internal Server Error" if fault.status == 500 else "Bad Gateway"
            body: JSON = {"ok": False, "error_code": fault.status, "description": description}
            return web.json_response(body, status=fault.status)
        if kind is FaultKind.BAD_GATEWAY:
            return web.Response(status=502, text=_BAD_GATEWAY_PAGE, content_type="text/html")
        if kind is FaultKind.RETRY_AFTER:
            body = {
                "ok": False,
                "error_code": 429,
                "description": f"Too Many Requests: retry after {fault.retry_after}",
                "parameters": {"retry_after": fault.retry_after},
            }
            return web.json_response(body, status=429)
        if kind is FaultKind.MALFORMED:
            truncated = '{"ok": true, "result": {"message_id'
            return web.Response(text=truncated, content_type="application/json")
        if kind is FaultKind.TIMEOUT:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + fault.hold
            while not self._closing and (remaining := deadline - loop.time()) > 0:
                changed = self._changed
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(changed.wait(), remaining)
        # RESET, and a TIMEOUT once held: drop the connection without an answer.
        if request.transport is not None:
            request.transport.abort()
        return web.Response(status=500)

    async def _get_me(self, params: JSON) -> Any:
        return self.bot_user

    async def _delete_webhook(self, params: JSON) -> Any:
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        self.webhook_url = ""
        return True

    async def _set_webhook(self, params: JSON) -> Any:
        self.webhook_url = str(params.get("url", ""))
        if params.get("drop_pending_updates") is True:
            self._updates.clear()
        return True

    async def _get_updates(self, params: JSON) -> Any:
        offset = _as_int(params.get("offset"))
        limit = _as_int(params.get("limit"), 100) or 100
        timeout = min(max(_as_int(params.get("timeout")), 0), _MAX_POLL_SECONDS)
        if offset:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not self._updates and not self._closing:
            changed = self._changed
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(changed.wait(), remaining)
        return self._updates[:limit]

    async def _send_message(self, params: JSON) -> Any:
        chat_id = _as_int(params.get("chat_id"))
        message: JSON = {
            "message_id": self._next_message_id(chat_id),
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": "private"},
            "from": self.bot_user,
            "text": str(params.get("text", "")),
        }
        _set_inline_markup(message, params.get("reply_markup"))
        self._chat(chat_id).messages[message["message_id"]] = message
        return message

    async def _edit_message(self, params: JSON) -> Any:
        if "inline_message_id" in params:
            return True
        chat_id = _as_int(params.get("chat_id"))
        message_id = _as_int(params.get("message_id"))
        chat = self._chat(chat_id)
        message = dict(chat.messages.get(message_id) or {})
        message.update(
            {
                "message_id": message_id,
                "date": message.get("date", int(time.time())),
                "chat": message.get("chat", {"id": chat_id, "type": "private"}),
                "from": message.get("from", self.bot_user),
                "edit_date": int(time.time()),
            }
        )
        if "text" in params:
            message["text"] = str(params["text"])
        message.pop("reply_markup", None)
        _set_inline_markup(message, params.get("reply_markup"))
        chat.messages[message_id] = message
        return message


def _set_inline_markup(message: JSON, markup: Any) -> None:
    # A sent Message only ever carries an *inline* keyboard (reply keyboards are not echoed).
    if isinstance(markup, dict) and "inline_keyboard" in markup:
        message["reply_markup"] = markup
