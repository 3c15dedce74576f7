"""The Mini App's JSON API (mounted under /app/api by bot/webapp/server.py).

Every request needs ``Authorization: tma <initData>`` (bot/webapp/auth.py): missing, forged or
stale -> 401, a user not on the allowlist -> 403. Each answer is built in the user's language
and timezone and shows only that user's rows, and the clients a teammate handed over to them
right now: any other id is 404, exactly as one that does not exist. Every answer is JSON; an
error is ``{"error": "<translated plain text>"}``: 400 unreadable JSON, a missing field, a time
that cannot be read, an empty or too long note; 404 not found or not yours; 409 the action no
longer applies (task already done, invoice no longer unpaid); 413 a body over 16 KiB; 500
anything else (logged).

All strings are PLAIN TEXT, user content exactly as stored: the page inserts them as text
(textContent), never as HTML. Times are ISO-8601 in UTC ("due", "created", "at"); the "*_text"
and "*_label" fields are the same moments and names already written for the user.

Shapes (``task``, ``invoice``, ``note``, ``board client`` are defined once, below):

GET /app/api/session
    {"user": {"id", "name"}, "locale": "ru"|"en", "timezone": "Europe/Moscow",
     "texts": {key: text} (every label the page shows: bot/webapp/views.py page_texts),
     "presets": [{"key": "hour"|"evening"|"tomorrow"|"week", "label", "at", "at_text"}],
     "kinds": [{"key": "call"|..., "label"}]}
GET /app/api/board
    {"clients": [board client] (active, by attention: bot/webapp/board.py),
     "former": [board client], "covering": [board client + "owner": name]}
    board client = {"id", "name", "status": "active"|"former", "overdue_tasks", "open_tasks",
     "unpaid": [{"currency", "amount_minor", "amount", "overdue_days"}] (per currency),
     "unpaid_text", "unpaid_overdue", "last_contact", "last_contact_text", "days_silent",
     "contact_limit_days", "silent_too_long": bool, "reasons": [text]}
GET /app/api/clients/{id}
    {"client": {"id", "name", "status", "status_label", "fields": [{"label", "value"}],
                "last_contact", "last_contact_text", "owner": name|null (a teammate's client
                covered by the user), "can_edit": bool (false: only "done" works)},
     "tasks": [task] (at most 50), "open_tasks": int, "notes": [note] (latest 5),
     "invoices": [invoice] (unpaid)}
GET /app/api/agenda
    {"groups": [{"key": "overdue"|"today"|"week", "title", "empty", "total", "items": [task]}]}
    overdue: due before today (earliest first); today: by client as the chat's /today;
    week: tomorrow to the 7th day, by time; at most 200 items a group ("total" counts all).
GET /app/api/charts
    {"ageing": [{"currency", "total_minor", "total", "buckets": [{"key": "not_due"|"1_7"|
                 "8_30"|"30_plus", "label", "amount_minor", "amount", "count"}]}],
     "workload": {"kinds": [{"key", "label"}], "days": [{"date", "label",
                  "counts": {kind: n}, "total"}] (14 local days from today)},
     "freshness": [{"key": "0_7"|"8_30"|"31_90"|"90_plus", "label", "count"}] (active clients)}
POST /app/api/tasks/{id}/done                 -> {"ok": true, "task": task}
POST /app/api/tasks/{id}/reschedule {"preset": key} or {"when": "free text as in the chat"}
                                              -> {"ok": true, "task": task, "when": text}
POST /app/api/invoices/{id}/paid              -> {"ok": true, "invoice": invoice}
POST /app/api/clients/{id}/notes {"text"}     -> {"ok": true, "note": note} (at most 4,000
                                                 characters)

task = {"id", "number", "text", "client", "client_id", "kind", "kind_label", "due", "due_text",
        "time": "HH:MM"|null, "day": "YYYY-MM-DD"|null, "day_label", "overdue": bool,
        "status": "open"|"done"}
invoice = {"id", "number", "client", "client_id", "currency", "amount_minor" (still owed),
           "amount", "due", "due_text", "overdue_days", "overdue": bool, "note"}
note = {"id", "text", "created", "created_text"}

Writes go through the services chat uses (services.tasks completes and re-plans reminders,
services.invoices records a payment and closes its task, a note touches its client), so
reminders, series and invoices follow exactly as after a tap in the chat.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiohttp import web

from bot.clock import Clock
from bot.domain.dates import END_OF_DAY_HOUR, DateParser, at_local
from bot.domain.text import clean_line, clean_text
from bot.services.catalog import Services
from bot.settings import Settings
from bot.views.quick_picks import resolve_quick_pick
from bot.views.render import format_moment, plain_quoted
from bot.webapp.agenda import agenda_json
from bot.webapp.auth import AuthError, AuthProblem, WebAppUser, authenticate
from bot.webapp.board import board_json, client_json, coverage
from bot.webapp.charts import charts_json
from bot.webapp.views import JSON, invoice_json, kinds_json, note_json, page_texts, task_json
from storage.interfaces import Storage
from storage.models import InvoiceStatus, Task, TaskStatus

logger = logging.getLogger(__name__)

BODY_LIMIT = 16 * 1024
# Answers larger than this go gzipped when the page accepts it (Telegram's web views do).
COMPRESS_FROM = 8 * 1024
NOTE_LIMIT = 4000
WHEN_LIMIT = 200
PRESETS = ("hour", "evening", "tomorrow", "week")


class ApiError(Exception):
    """An answer other than 200: the status and the (already translated) message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=NO_STORE)


NO_STORE = {"Cache-Control": "no-store"}


def auth_message(problem: AuthProblem) -> str:
    if problem is AuthProblem.NOT_ALLOWED:
        return _("Sorry, this is a private assistant and you are not on its list of users.")
    if problem is AuthProblem.STALE:
        return _("This page has expired: close it and open it again from the chat.")
    return _("Open this page from the bot's chat in Telegram.")


def not_found() -> ApiError:
    return ApiError(404, _("Not found: it may have been deleted."))


def bad_request(message: str | None = None) -> ApiError:
    return ApiError(400, message or _("The request could not be read."))


def path_id(request: web.Request) -> int:
    raw = request.match_info.get("id", "")
    # isascii: str.isdigit takes "²" and "٣", which int() then refuses.
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise not_found()
    return int(raw)


async def read_body(request: web.Request) -> dict[str, Any]:
    """The JSON object sent, at most 16 KiB; 413 / 400 with a translated message otherwise."""
    if request.content_length is not None and request.content_length > BODY_LIMIT:
        raise ApiError(413, _("That is too long."))
    # The whole body: one read() returns only what has arrived so far.
    parts: list[bytes] = []
    size = 0
    async for chunk in request.content.iter_any():
        size += len(chunk)
        if size > BODY_LIMIT:
            raise ApiError(413, _("That is too long."))
        parts.append(chunk)
    raw = b"".join(parts)
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError):  # Recursion: "[[[[…" 16 KiB deep
        raise bad_request() from None
    if not isinstance(body, dict):
        raise bad_request()
    return body


Endpoint = Callable[["WebAppApi", web.Request, WebAppUser], Awaitable[JSON]]


@dataclass(frozen=True, slots=True)
class WebAppApi:
    storage: Storage
    services: Services
    clock: Clock
    dates: DateParser
    i18n: I18n
    settings: Settings

    def handler(self, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
        """An aiohttp handler: authenticate, run the endpoint in the user's locale, JSON out."""

        async def handle(request: web.Request) -> web.Response:
            started = time.perf_counter()
            user_id: int | None = None
            with self.i18n.context():
                try:
                    user = await authenticate(
                        request.headers.get("Authorization"), settings=self.settings,
                        users=self.storage.users, clock=self.clock,
                    )
                    user_id = user.id
                    with self.i18n.use_locale(user.locale):
                        response = await self._answer(endpoint, request, user)
                except AuthError as exc:
                    with self.i18n.use_locale(exc.locale):
                        response = error_response(exc.status, auth_message(exc.problem))
                except Exception:
                    # The profile could not be read (the database is down): still JSON.
                    logger.exception("Mini App request %s %s failed", request.method,
                                     request.path)
                    with self.i18n.use_locale(self.settings.default_language):
                        response = error_response(500, _("Something went wrong. Try again."))
            logger.info(
                "webapp %s %s -> %s in %.0f ms (user %s)", request.method, request.path,
                response.status, 1000 * (time.perf_counter() - started), user_id,
            )
            return response

        return handle

    async def _answer(
        self, endpoint: Endpoint, request: web.Request, user: WebAppUser
    ) -> web.Response:
        try:
            answer = await endpoint(self, request, user)
        except ApiError as exc:
            return error_response(exc.status, exc.message)
        except Exception:
            logger.exception("Mini App request %s %s failed", request.method, request.path)
            return error_response(500, _("Something went wrong. Try again."))
        response = web.json_response(answer, headers=NO_STORE)
        body = response.body
        if isinstance(body, bytes | bytearray) and len(body) > COMPRESS_FROM:
            # A board of 1,000 clients is 600 KB of JSON and 40 KB gzipped, on a phone.
            response.enable_compression()
        return response

    # Reads.

    async def session(self, request: web.Request, user: WebAppUser) -> JSON:
        now = self.clock.now()
        return {
            "user": {"id": user.id, "name": user.name},
            "locale": user.locale,
            "timezone": user.tz.key,
            "texts": page_texts(),
            "presets": [
                {"key": key, "label": page_texts()[f"preset_{key}"], "at": when.isoformat(),
                 "at_text": format_moment(when, user.tz, user.locale, now)}
                for key in PRESETS
                if (when := self.preset_moment(key, user, now)) is not None
            ],
            "kinds": kinds_json(),
        }

    async def board(self, request: web.Request, user: WebAppUser) -> JSON:
        return await board_json(self.storage, user.id, self.clock.now(), user.tz, user.locale)

    async def client(self, request: web.Request, user: WebAppUser) -> JSON:
        client_id = path_id(request)
        now = self.clock.now()
        client = await self.storage.clients.get(user.id, client_id)
        owner = None
        if client is None:
            # A teammate's client handed over to the user: theirs to read and tick off.
            covered = await coverage(self.storage, user.id, now)
            for owner_id in sorted(covered.owners):
                found = await self.storage.clients.get(owner_id, client_id)
                if found is not None and covered.covers(owner_id, found.id):
                    client = found
                    owner = (await self.storage.users.display_names({owner_id})).get(
                        owner_id, ""
                    )
                    break
        if client is None:
            raise not_found()
        answer = await client_json(
            self.storage, client.owner_id, client, now, user.tz, user.locale
        )
        answer["client"]["owner"] = owner
        answer["client"]["can_edit"] = owner is None
        return answer

    async def task_for(self, user: WebAppUser, task_id: int) -> Task | None:
        """The user's own task, or one of a client handed over to them now (as a
        reminder's ✅ allows, handlers/reminders/filters.py)."""
        task = await self.storage.tasks.get(user.id, task_id)
        if task is not None:
            return task
        covered = await coverage(self.storage, user.id, self.clock.now())
        for owner_id in sorted(covered.owners):
            found = await self.storage.tasks.get(owner_id, task_id)
            if found is not None and covered.covers(owner_id, found.client_id):
                return found
        return None

    async def agenda(self, request: web.Request, user: WebAppUser) -> JSON:
        return await agenda_json(
            self.storage.tasks, user.id, self.clock.now(), user.tz, user.locale
        )

    async def charts(self, request: web.Request, user: WebAppUser) -> JSON:
        return await charts_json(self.storage, user.id, self.clock.now(), user.tz, user.locale)

    # Writes.

    async def done(self, request: web.Request, user: WebAppUser) -> JSON:
        task = await self.task_for(user, path_id(request))
        if task is None:
            raise not_found()
        # The owner's task, also when a teammate covering for them ticks it off.
        completed = await self.services.tasks.complete(task.owner_id, task.id, self.clock.now())
        if completed is None:
            raise ApiError(409, _("Already done."))
        return {"ok": True, "task": task_json(completed, user.tz, user.locale, self.clock.now())}

    def preset_moment(self, preset: str, user: WebAppUser, now: datetime) -> datetime | None:
        """The chat's quick picks: in an hour, this evening (tomorrow's once it is past),
        tomorrow morning, next Monday morning."""
        if preset == "hour":
            return resolve_quick_pick("h1", user.tz, now, user.morning_hour)
        if preset == "evening":
            evening = at_local(0, END_OF_DAY_HOUR, tz=user.tz, now=now)
            return evening if evening > now else at_local(
                1, END_OF_DAY_HOUR, tz=user.tz, now=now
            )
        if preset == "tomorrow":
            return resolve_quick_pick("tomorrow", user.tz, now, user.morning_hour)
        if preset == "week":
            return resolve_quick_pick("monday", user.tz, now, user.morning_hour)
        return None

    async def reschedule(self, request: web.Request, user: WebAppUser) -> JSON:
        task_id = path_id(request)
        body = await read_body(request)
        task = await self.services.tasks.get(user.id, task_id)
        if task is None:
            raise not_found()
        if task.status is not TaskStatus.OPEN:
            raise ApiError(409, _("Already done."))
        now = self.clock.now()
        preset, when = body.get("preset"), body.get("when")
        if isinstance(preset, str) and preset:
            due = self.preset_moment(preset, user, now)
            if due is None:
                raise bad_request()
        elif isinstance(when, str) and clean_line(when):
            phrase = clean_line(when)[:WHEN_LIMIT]
            due = self.dates.parse(
                phrase, tz=user.tz, now=now, morning_hour=user.morning_hour, locale=user.locale
            )
            if due is None:
                raise bad_request(
                    _("I could not understand the time {phrase}.").format(
                        phrase=plain_quoted(phrase)
                    )
                )
        else:
            raise bad_request(_("When? Pick a time or write one."))
        updated = await self.services.tasks.set_due(user.id, task_id, due, now)
        if updated is None:
            raise not_found()
        return {
            "ok": True,
            "task": task_json(updated, user.tz, user.locale, now),
            "when": format_moment(due, user.tz, user.locale, now),
        }

    async def paid(self, request: web.Request, user: WebAppUser) -> JSON:
        invoice_id = path_id(request)
        invoice = await self.storage.invoices.get(user.id, invoice_id)
        if invoice is None:
            raise not_found()
        if invoice.status is not InvoiceStatus.UNPAID:
            raise ApiError(409, _("This invoice is no longer unpaid."))
        paid = await self.services.invoices.pay(user.id, invoice_id)
        if paid is None:
            raise ApiError(409, _("This invoice is no longer unpaid."))
        now = self.clock.now()
        return {"ok": True, "invoice": invoice_json(paid, user.tz, user.locale, now)}

    async def add_note(self, request: web.Request, user: WebAppUser) -> JSON:
        client_id = path_id(request)
        body = await read_body(request)
        client = await self.storage.clients.get(user.id, client_id)
        if client is None:
            raise not_found()
        raw = body.get("text")
        text = clean_text(raw) if isinstance(raw, str) else ""
        if not text:
            raise bad_request(_("The note is empty."))
        if len(text) > NOTE_LIMIT:
            raise bad_request(
                _("A note is at most {limit} characters.").format(limit=NOTE_LIMIT)
            )
        now = self.clock.now()
        # As a note typed in the chat: it is the client's latest contact from now on.
        note = await self.storage.notes.create(
            user.id, text=text, client_id=client.id, source_message_id=None, now=now
        )
        return {"ok": True, "note": note_json(note, user.tz, user.locale, now)}


def add_api_routes(router: web.UrlDispatcher, api: WebAppApi) -> None:
    router.add_get("/api/session", api.handler(WebAppApi.session))
    router.add_get("/api/board", api.handler(WebAppApi.board))
    router.add_get("/api/clients/{id}", api.handler(WebAppApi.client))
    router.add_get("/api/agenda", api.handler(WebAppApi.agenda))
    router.add_get("/api/charts", api.handler(WebAppApi.charts))
    router.add_post("/api/tasks/{id}/done", api.handler(WebAppApi.done))
    router.add_post("/api/tasks/{id}/reschedule", api.handler(WebAppApi.reschedule))
    router.add_post("/api/invoices/{id}/paid", api.handler(WebAppApi.paid))
    router.add_post("/api/clients/{id}/notes", api.handler(WebAppApi.add_note))
