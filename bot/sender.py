"""The one outbound stream: every Bot API call that sends or edits a message goes through one
pacer that keeps the whole bot inside Telegram's limits (about 30 messages a second overall,
one a second per chat) and deals with the errors Telegram answers with.

Who uses it. Reminders, digests and alert pages call :meth:`Sender.send`/:meth:`Sender.edit`
and get a :class:`Delivery`. Handlers' replies, edits and documents reach it through the
session's request middleware (``bot/outbound.py``), which hands each sending call to
:meth:`Sender.call`: the handler gets Telegram's answer, or, when the call finally gives up,
the original exception.

Lanes. A job carries a lane (:class:`Priority`); lower goes first: urgent alert pages, then
interactive replies and edits, then reminders, then bulk (digests, broadcasts). FIFO within a
lane. A chat's own jobs also go in lane order, with one exception against starvation: a job
that has waited ``STARVE_AFTER_SECONDS`` in its chat goes next there, ahead of newer jobs of
higher lanes (a person typing faster than Telegram's one message a second per chat, or a
backlog of updates after a restart, would otherwise hold their own reminders back for ever);
it takes the place of the chat's head, so other chats see no change.

Giving up. A passing failure (429, 5xx, a reset or timed-out connection, an answer that is
not Telegram's JSON) is retried, after the 429's ``retry_after`` or an exponential backoff
(0.5 s doubling up to 30 s, 10 % jitter), until the job is delivered or its next try would
come after its deadline, counted from when it was queued: ``DEFAULT_DEADLINES`` (urgent pages
5 minutes, then the alert engine's own repeats take over; replies ``REPLY_DEADLINE_SECONDS``,
10 minutes; reminders 10 minutes; bulk 30 minutes). A permanent error ends it at once: 403
(the user blocked the bot: every job queued for that chat ends the same way, and
``on_blocked`` is told once), 400 (a bad request), anything unexpected. A job's first try is
always made, however long it waited in the queue. ``max_attempts`` (off by default) caps the
tries as well.

How it works. ``send``/``edit``/``call`` put a job into its chat's own queue (a heap ordered by
``(lane, sequence)``) and await the job's outcome. One scheduler task picks, among the chats
that may receive a message now, the chat whose head job has the smallest ``(lane,
sequence)``; chats that must still wait sit in a heap of wake-up times and never hold up other
chats. Each pick asks the :class:`PaceBudget` for the next global slot and the chat's turn,
and runs the request in its own task (at most ``max(8, 2 × rate)`` at once), so a slow request
does not delay the next slot. A retry puts the job back in its chat's queue in its old place
(its lane and sequence) and gives the chat a later wake-up time; nothing sleeps inside a
request task.

The budget. The shared pacing state lives behind :class:`PaceBudget`: the global slot
schedule (GCRA: evenly spaced slots ``1.001 / rate`` apart with no tolerance, since a strict
30-per-second window answers the 31st request of any second with a 429 that pauses every
chat), the global pause set by a 429, and each chat's next allowed moment.
:class:`MemoryBudget` keeps them in this process. A deployment with several processes on
one token would back the same three calls with a shared store (one Redis script or one
PostgreSQL row per key, taking "slot and chat turn, both or neither" atomically, on the
store's clock); nothing else in the sender changes.

429. Telegram's ``retry_after`` holds every chat, not only the one that met it: the budget is
paused, nothing is let through until the pause ends, and a request let through just before the
429 came back is held back before it goes out, so only the first request of a pause meets it.

All pacing goes through the injected ``sleep`` and ``monotonic``, so tests can drive the
sender with a fake clock. Only :meth:`Sender.stop` waits in real time.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from typing import Any, Protocol, TypeVar, cast

from aiogram import Bot
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.types import InlineKeyboardMarkup, Message

logger = logging.getLogger(__name__)

T = TypeVar("T")
ChatKey = int | str  # a chat id, or "@channel" / "inline:<id>" where Telegram uses those

STOPPED = "stopped"
GLOBAL_RATE = 30.0  # messages a second for the whole bot (Telegram's documented limit)
# A hair over Telegram's 1 per second per chat: timers fire a few ms early or late, and two
# sends 0.999 s apart draw a 429 that pauses every chat (bench_reminders).
PER_CHAT_INTERVAL = 1.05
# A job that has waited this long in its chat goes before newer jobs of higher lanes there.
STARVE_AFTER_SECONDS = 10.0
_NOT_MODIFIED = "message is not modified"
_JITTER = 0.1  # backoff delays grow by up to 10 % at random
_ERROR_LIMIT = 200  # characters of an exception's text kept in Delivery.error

# Errors after which the same call may well succeed: flood control, a server error, a
# timeout or reset connection, an answer that is not Telegram's JSON (a proxy's error page).
TRANSIENT_ERRORS = (
    TelegramRetryAfter, TelegramServerError, TelegramNetworkError, ClientDecodeError
)


class Priority(IntEnum):
    """The lanes of the stream; lower value goes first."""

    URGENT = 0  # alert pages
    INTERACTIVE = 1  # replies and edits of handlers (the middleware's default)
    REMINDER = 2  # reminders, alert repeats of normal severity
    NORMAL = 2  # the reminder lane under its older name
    BULK = 3  # digests, broadcasts


# Seconds from queueing after which a job is not retried any more (see the module docstring).
DEFAULT_DEADLINES: Mapping[Priority, float] = {
    Priority.URGENT: 300.0,
    Priority.INTERACTIVE: 600.0,
    Priority.REMINDER: 600.0,
    Priority.BULK: 1800.0,
}


class Outcome(StrEnum):
    SENT = "sent"  # Telegram accepted it
    BLOCKED = "blocked"  # the user blocked the bot or is deactivated; not retried
    FAILED = "failed"  # a bad request, an unexpected error, retries exhausted, or stopped


@dataclass(frozen=True, slots=True)
class Delivery:
    outcome: Outcome
    message_id: int | None = None
    attempts: int = 1
    error: str | None = None


class SenderStoppedError(Exception):
    """The stream was stopped before this call could go out."""

    def __init__(self) -> None:
        super().__init__(STOPPED)


# ------------------------------------------------------------------------------ budget


@dataclass(frozen=True, slots=True)
class Refusal:
    """Not now: ask again at ``until``. ``chat_only``: only this chat must wait."""

    until: float
    chat_only: bool


class PaceBudget(Protocol):
    """The pacing state the whole bot shares. Times are seconds on the sender's monotonic
    clock (a shared store would use its own clock for all of its processes)."""

    async def try_take(self, chat: ChatKey, now: float) -> Refusal | None:
        """Take the next global slot and the chat's turn, both or neither. ``None``: taken,
        send now; else when to ask again (a pause, the global pace, or the chat's interval)."""
        ...

    async def pause(self, until: float) -> None:
        """A 429: nothing may go out before ``until`` (a pause never shortens)."""
        ...

    async def paused_until(self) -> float:
        """The end of the current pause (in the past when there is none)."""
        ...


class MemoryBudget:
    """:class:`PaceBudget` for one process: a GCRA slot schedule, a pause, per-chat times."""

    def __init__(
        self, *, global_rate: float = GLOBAL_RATE, per_chat_interval: float = PER_CHAT_INTERVAL
    ) -> None:
        if not global_rate > 0:
            raise ValueError("global_rate must be positive")
        if per_chat_interval < 0:
            raise ValueError("per_chat_interval must not be negative")
        # A thousandth over the exact slot: 30 sends at exactly 1/30 s apart put the 31st
        # on the boundary of the first one's second (float rounding decides which side).
        # No tolerance: a late wake-up never lets two slots go at once (see the docstring).
        self.slot = 0.0 if math.isinf(global_rate) else 1.001 / global_rate
        self.per_chat_interval = per_chat_interval
        self._tat = -math.inf  # GCRA "theoretical arrival time" of the next global slot
        self._paused_until = -math.inf
        self._chat_free_at: dict[ChatKey, float] = {}
        self._sweep_at = 1024

    async def try_take(self, chat: ChatKey, now: float) -> Refusal | None:
        gate = max(self._paused_until, self._tat)
        if now < gate:
            return Refusal(gate, chat_only=False)
        free_at = self._chat_free_at.get(chat, -math.inf)
        if now < free_at:
            return Refusal(free_at, chat_only=True)
        self._tat = max(self._tat, now) + self.slot
        self._chat_free_at[chat] = now + self.per_chat_interval
        self._sweep(now)
        return None

    async def pause(self, until: float) -> None:
        self._paused_until = max(self._paused_until, until)

    async def paused_until(self) -> float:
        return self._paused_until

    def _sweep(self, now: float) -> None:
        """Forget chats whose interval has passed (bounded memory)."""
        if len(self._chat_free_at) < self._sweep_at:
            return
        self._chat_free_at = {k: at for k, at in self._chat_free_at.items() if at > now}
        self._sweep_at = max(1024, 2 * len(self._chat_free_at))


# ---------------------------------------------------------------------- the stream itself

_IN_STREAM: ContextVar[bool] = ContextVar("in_outbound_stream", default=False)


def in_stream() -> bool:
    """True inside a request the stream is making (the middleware lets it straight through)."""
    return _IN_STREAM.get()


@dataclass(eq=False, slots=True)
class _Job:
    priority: int
    seq: int
    chat_id: ChatKey
    request: Callable[[], Awaitable[Any]]
    kind: str  # for log lines: "send", "edit", "sendMessage", "sendDocument"...
    deadline: float  # monotonic; no retry is planned after it
    future: asyncio.Future[Any]
    queued_at: float = 0.0  # monotonic; a job waiting long in its chat goes first there
    quiet: bool = False  # permanent errors are the caller's to log (they are raised to it)
    attempts: int = 0


@dataclass(eq=False, slots=True)
class _Chat:
    # (priority, seq, job); seq is unique, so the job itself is never compared.
    pending: list[tuple[int, int, _Job]] = field(default_factory=list)
    ready_at: float = -math.inf  # monotonic time of the earliest next attempt
    busy: bool = False  # a request for this chat is in flight


@dataclass(slots=True)
class _Answer:
    """What one try came to."""

    value: Any = None
    error: BaseException | None = None
    retry_in: float | None = None  # a passing failure: try again after this many seconds
    blocked: bool = False
    held: bool = False  # not tried: a pause began after it was let through


def _head(chat: _Chat, now: float) -> tuple[int, int, _Job]:
    """The chat's job that goes next, as (lane it competes in, sequence, job): the first in
    lane order, unless an older job has waited ``STARVE_AFTER_SECONDS``: then the oldest,
    in the first one's lane."""
    first = chat.pending[0]
    if len(chat.pending) == 1:
        return first
    oldest = min(chat.pending, key=lambda entry: entry[1])[2]
    if oldest is first[2] or now - oldest.queued_at < STARVE_AFTER_SECONDS:
        return first
    return (first[0], oldest.seq, oldest)


def _take(chat: _Chat, job: _Job) -> None:
    """Remove ``job`` from its chat's queue."""
    if chat.pending[0][2] is job:
        heapq.heappop(chat.pending)
        return
    chat.pending = [entry for entry in chat.pending if entry[2] is not job]
    heapq.heapify(chat.pending)


def _describe(exc: BaseException) -> str:
    detail = exc.message if isinstance(exc, TelegramAPIError) else str(exc)
    detail = " ".join(detail.split())[:_ERROR_LIMIT]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


def _not_modified(exc: BaseException) -> bool:
    return isinstance(exc, TelegramBadRequest) and _NOT_MODIFIED in exc.message.lower()


class Sender:
    def __init__(
        self,
        bot: Bot,
        *,
        global_rate: float = GLOBAL_RATE,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        max_attempts: int | None = None,
        deadlines: Mapping[Priority, float] | None = None,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
        budget: PaceBudget | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not global_rate > 0:
            raise ValueError("global_rate must be positive")
        if per_chat_interval < 0:
            raise ValueError("per_chat_interval must not be negative")
        if max_attempts is not None and max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError("backoff delays must not be negative")
        self._bot = bot
        self._budget: PaceBudget = budget or MemoryBudget(
            global_rate=global_rate, per_chat_interval=per_chat_interval
        )
        self._per_chat_interval = per_chat_interval
        self._max_attempts = max_attempts
        self._deadlines = {**DEFAULT_DEADLINES, **(deadlines or {})}
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._on_blocked = on_blocked
        self._sleep = sleep
        self._monotonic = monotonic
        self._random = random.Random()
        self._max_in_flight = 64 if math.isinf(global_rate) else max(8, math.ceil(global_rate * 2))

        self._seq = itertools.count()
        self._chats: dict[ChatKey, _Chat] = {}
        self._ready: list[tuple[int, int, ChatKey]] = []  # (priority, seq, chat) of a head job
        self._waiting: list[tuple[float, int, ChatKey]] = []  # (ready_at, tie, chat)
        self._live: set[_Job] = set()  # accepted and not yet resolved
        self._tasks: set[asyncio.Task[None]] = set()  # requests in flight
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._drained = asyncio.Event()
        self._drained.set()
        self._runner: asyncio.Task[None] | None = None
        self._accepting = True
        self._sweep_at = 1024

    # ----------------------------------------------------------------- public API

    async def start(self) -> None:
        """Start the scheduler task (idempotent)."""
        if not self._accepting:
            raise RuntimeError("a stopped Sender cannot be started again")
        if self._runner is None:
            self._runner = asyncio.create_task(self._run(), name="sender-scheduler")

    async def stop(self, timeout: float = 5.0) -> None:  # noqa: ASYNC109 - the interface
        """Stop accepting; let queued jobs finish for up to ``timeout`` real seconds; then
        cancel the rest: ``send``/``edit`` return FAILED with error "stopped", ``call``
        raises :class:`SenderStoppedError`."""
        self._accepting = False
        if self._runner is not None and self._live:
            self._wake.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._drained.wait(), timeout)
        runner, self._runner = self._runner, None
        if runner is not None:
            runner.cancel()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(
            *([runner] if runner is not None else []), *self._tasks, return_exceptions=True
        )
        left = list(self._live)
        for job in left:
            self._resolve(job, SenderStoppedError())
        self._chats.clear()
        self._ready.clear()
        self._waiting.clear()
        if left:
            logger.warning("sender stopped with %d message(s) not sent", len(left))

    async def send(
        self,
        chat_id: int,
        text: str,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
        priority: Priority = Priority.REMINDER,
    ) -> Delivery:
        """Queue a message and wait for its outcome. Parse mode: the bot's default."""

        async def request() -> int:
            message = await self._bot.send_message(
                chat_id=chat_id, text=text, reply_markup=reply_markup
            )
            return message.message_id

        return await self._deliver(chat_id, request, priority, "send", None)

    async def edit(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
        priority: Priority = Priority.REMINDER,
    ) -> Delivery:
        """editMessageText through the same queue and limits; "message is not modified"
        counts as SENT."""

        async def request() -> int:
            result = await self._bot.edit_message_text(
                text=text, chat_id=chat_id, message_id=message_id, reply_markup=reply_markup
            )
            return result.message_id if isinstance(result, Message) else message_id

        return await self._deliver(chat_id, request, priority, "edit", message_id)

    async def call(
        self,
        chat_id: ChatKey,
        request: Callable[[], Awaitable[T]],
        *,
        priority: Priority = Priority.INTERACTIVE,
        kind: str = "request",
    ) -> T:
        """Any sending request (a zero-argument coroutine factory, one Bot API call) through
        the stream: its result, or the last error once it gives up (permanent errors are not
        logged here: the caller gets them)."""
        job = self._enqueue(chat_id, request, priority, kind, quiet=True)
        if job is None:
            raise SenderStoppedError
        return cast(T, await self._outcome(job))

    # ------------------------------------------------------------------- queueing

    async def _deliver(
        self,
        chat_id: int,
        request: Callable[[], Awaitable[int]],
        priority: Priority,
        kind: str,
        edit_message_id: int | None,
    ) -> Delivery:
        job = self._enqueue(chat_id, request, priority, kind, quiet=False)
        if job is None:
            return Delivery(Outcome.FAILED, attempts=0, error=STOPPED)
        try:
            message_id = await self._outcome(job)
        except SenderStoppedError:
            return Delivery(Outcome.FAILED, attempts=job.attempts, error=STOPPED)
        except TelegramForbiddenError as exc:
            return Delivery(Outcome.BLOCKED, attempts=job.attempts, error=_describe(exc))
        except Exception as exc:
            if edit_message_id is not None and _not_modified(exc):
                return Delivery(Outcome.SENT, message_id=edit_message_id, attempts=job.attempts)
            return Delivery(Outcome.FAILED, attempts=job.attempts, error=_describe(exc))
        return Delivery(Outcome.SENT, message_id=message_id, attempts=job.attempts)

    def _enqueue(
        self,
        chat_id: ChatKey,
        request: Callable[[], Awaitable[Any]],
        priority: Priority,
        kind: str,
        *,
        quiet: bool,
    ) -> _Job | None:
        if not self._accepting:
            return None
        now = self._monotonic()
        job = _Job(
            priority=int(priority),
            seq=next(self._seq),
            chat_id=chat_id,
            request=request,
            kind=kind,
            deadline=now + self._deadlines[Priority(priority)],
            queued_at=now,
            future=asyncio.get_running_loop().create_future(),
            quiet=quiet,
        )
        self._live.add(job)
        self._drained.clear()
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
        heapq.heappush(chat.pending, (job.priority, job.seq, job))
        # An idle chat with jobs always has a heap entry for its head (or its wake-up
        # time); only a new head needs a new one. A busy chat is scheduled when it is free.
        if not chat.busy and _head(chat, now)[2] is job:
            self._schedule(chat_id, chat, now)
        return job

    async def _outcome(self, job: _Job) -> Any:
        try:
            return await job.future
        except asyncio.CancelledError:
            # The caller gave up: a queued job is dropped when the scheduler reaches it.
            self._forget(job)
            raise

    def _schedule(self, chat_id: ChatKey, chat: _Chat, now: float) -> None:
        """Make an idle chat with pending jobs findable: in the ready heap if it may be sent
        to now, else in the waiting heap. Stale heap entries are skipped when popped."""
        if not chat.pending:
            return
        if chat.ready_at <= now:
            priority, seq, _ = _head(chat, now)
            heapq.heappush(self._ready, (priority, seq, chat_id))
        else:
            heapq.heappush(self._waiting, (chat.ready_at, next(self._seq), chat_id))
        self._wake.set()

    def _resolve(self, job: _Job, outcome: BaseException | Any) -> None:
        if not job.future.done():
            if isinstance(outcome, BaseException):
                job.future.set_exception(outcome)
            else:
                job.future.set_result(outcome)
        self._forget(job)

    def _forget(self, job: _Job) -> None:
        self._live.discard(job)
        if not self._live:
            self._drained.set()

    # ------------------------------------------------------------------ scheduler

    async def _run(self) -> None:
        while True:
            try:
                await self._step()
            except Exception:  # a bug here must not silence every later message
                logger.exception("sender scheduler error")
                await self._sleep(0.1)

    async def _step(self) -> None:
        # Cleared before the state is read: a change from here on (a new job, a finished
        # request, stop) sets it again and the wait below returns at once.
        self._wake.clear()
        now = self._monotonic()
        while self._waiting and self._waiting[0][0] <= now:
            _, _, waiting_id = heapq.heappop(self._waiting)
            chat = self._chats.get(waiting_id)
            if chat is not None and not chat.busy and chat.ready_at <= now:
                self._schedule(waiting_id, chat, now)
        self._sweep(now)

        deadline: float | None = self._waiting[0][0] if self._waiting else None
        if self._in_flight < self._max_in_flight:
            chat_id = self._peek_ready(now)
            if chat_id is not None:
                entry = self._ready[0]
                refusal = await self._budget.try_take(chat_id, now)
                # A shared budget asks the database: jobs queued meanwhile may have pushed
                # entries above this chat's, so its own entry is taken out, not the top.
                if refusal is None:
                    self._remove_ready(entry)
                    self._dispatch(chat_id, self._monotonic())
                    return
                if refusal.chat_only:
                    # Its turn was taken elsewhere (another process on a shared budget).
                    self._remove_ready(entry)
                    chat = self._chats[chat_id]
                    chat.ready_at = max(chat.ready_at, refusal.until)
                    self._schedule(chat_id, chat, now)
                    return
                deadline = refusal.until
        # At the in-flight cap a finishing request wakes us; nothing can go out before that.
        await self._idle(None if deadline is None else deadline - now)

    def _peek_ready(self, now: float) -> ChatKey | None:
        """The chat whose head job goes next; drops stale entries and abandoned jobs."""
        while self._ready:
            priority, seq, chat_id = self._ready[0]
            chat = self._chats.get(chat_id)
            if (
                chat is None
                or chat.busy
                or not chat.pending
                or chat.ready_at > now
            ):
                heapq.heappop(self._ready)
                continue
            if _head(chat, now)[:2] != (priority, seq):
                # A newer head, or an old job's wait passed STARVE_AFTER_SECONDS meanwhile.
                heapq.heappop(self._ready)
                self._schedule(chat_id, chat, now)
                continue
            job = _head(chat, now)[2]
            if job.future.done():  # the caller was cancelled while it was queued
                heapq.heappop(self._ready)
                _take(chat, job)
                self._schedule(chat_id, chat, now)
                continue
            return chat_id
        return None

    def _remove_ready(self, entry: tuple[int, int, ChatKey]) -> None:
        if self._ready and self._ready[0] == entry:
            heapq.heappop(self._ready)
            return
        with contextlib.suppress(ValueError):  # O(n), only after a shared budget's await
            self._ready.remove(entry)
            heapq.heapify(self._ready)

    def _dispatch(self, chat_id: ChatKey, now: float) -> None:
        """Send the chat's head job now (its ready entry is already taken out)."""
        chat = self._chats[chat_id]
        job = _head(chat, now)[2]
        _take(chat, job)
        chat.busy = True
        chat.ready_at = now + self._per_chat_interval
        job.attempts += 1
        self._in_flight += 1
        task = asyncio.create_task(self._attempt(chat, job), name=f"sender-{chat_id}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _idle(self, delay: float | None) -> None:
        """Wait until ``delay`` (fake-clock friendly) passes or something wakes us."""
        if delay is None:
            await self._wake.wait()
            return
        if delay <= 0:
            await asyncio.sleep(0)
            return
        sleeper = asyncio.ensure_future(self._sleep(delay))
        waker = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({sleeper, waker}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for pending in (sleeper, waker):
                if not pending.done():
                    pending.cancel()
            await asyncio.gather(sleeper, waker, return_exceptions=True)

    def _sweep(self, now: float) -> None:
        """Forget chats with nothing queued whose interval has passed (bounded memory)."""
        if len(self._chats) < self._sweep_at:
            return
        for chat_id in [
            chat_id
            for chat_id, chat in self._chats.items()
            if not chat.pending and not chat.busy and chat.ready_at <= now
        ]:
            del self._chats[chat_id]
        self._sweep_at = max(1024, 2 * len(self._chats))

    # -------------------------------------------------------------------- requests

    async def _attempt(self, chat: _Chat, job: _Job) -> None:
        try:
            if await self._budget.paused_until() > self._monotonic():
                # A 429 came back after this one was let through: it waits for the pause
                # like the rest instead of meeting a second 429.
                answer = _Answer(held=True)
            else:
                # This task's own context: the middleware lets the stream's call through.
                token = _IN_STREAM.set(True)
                try:
                    answer = await self._try(job)
                finally:
                    _IN_STREAM.reset(token)
            if answer.blocked:
                # Told before the job resolves: whoever awaited the send finds the user
                # already marked as having blocked the bot (a database write may take a while).
                await self._tell_blocked(job)
            self._settle(chat, job, answer)
        finally:
            self._in_flight -= 1
            self._wake.set()

    async def _tell_blocked(self, job: _Job) -> None:
        if self._on_blocked is None or not isinstance(job.chat_id, int):
            return
        try:
            await self._on_blocked(job.chat_id)
        except Exception as exc:
            logger.warning("on_blocked for chat %s failed: %s", job.chat_id, type(exc).__name__)

    async def _try(self, job: _Job) -> _Answer:
        """One request; what it came to, and the delay before a retry if any."""
        try:
            value = await job.request()
        except TelegramRetryAfter as exc:
            # A flood 429 can be global: hold every chat, not just this one.
            pause = float(exc.retry_after)
            await self._budget.pause(self._monotonic() + pause)
            return _Answer(error=exc, retry_in=pause)
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as exc:
            # ClientDecodeError: an answer that is not Telegram's JSON, e.g. a proxy's 502 page.
            return _Answer(error=exc, retry_in=self._backoff(job.attempts))
        except TelegramForbiddenError as exc:
            logger.warning("%s to chat %s: TelegramForbiddenError, blocked", job.kind, job.chat_id)
            return _Answer(error=exc, blocked=True)
        except TelegramBadRequest as exc:
            if not job.quiet and not _not_modified(exc):
                logger.warning(
                    "%s to chat %s: TelegramBadRequest: %s", job.kind, job.chat_id, exc.message
                )
            return _Answer(error=exc)
        except Exception as exc:
            if not job.quiet:
                logger.warning(
                    "%s to chat %s failed: %s", job.kind, job.chat_id, type(exc).__name__
                )
            return _Answer(error=exc)
        return _Answer(value=value)

    def _settle(self, chat: _Chat, job: _Job, answer: _Answer) -> bool:
        """Resolve the job or queue its retry; free the chat. True if the chat is blocked."""
        now = self._monotonic()
        chat.busy = False
        if answer.held:
            job.attempts -= 1
            if not job.future.done():
                heapq.heappush(chat.pending, (job.priority, job.seq, job))
            self._schedule(job.chat_id, chat, now)
            return False
        if answer.retry_in is not None and not job.future.done():  # else the caller gave up
            assert answer.error is not None
            retry_at = now + answer.retry_in
            capped = self._max_attempts is not None and job.attempts >= self._max_attempts
            if retry_at <= job.deadline and not capped:
                self._log_retry(job, answer.error, answer.retry_in)
                chat.ready_at = max(chat.ready_at, retry_at)
                heapq.heappush(chat.pending, (job.priority, job.seq, job))
                self._schedule(job.chat_id, chat, now)
                return False
            logger.warning(
                "%s to chat %s: %s, gave up after %d attempts",
                job.kind, job.chat_id, type(answer.error).__name__, job.attempts,
            )
        self._resolve(job, answer.error if answer.error is not None else answer.value)
        if answer.blocked:
            # Everything else queued for this chat would meet the same answer.
            while chat.pending:
                _, _, other = heapq.heappop(chat.pending)
                self._resolve(other, answer.error)
        self._schedule(job.chat_id, chat, now)
        return answer.blocked

    def _log_retry(self, job: _Job, exc: BaseException, delay: float) -> None:
        # One warning for the first failure; the rest of a long retry is INFO, and the end
        # (given up) is a warning again: a reply retried for minutes is not a wall of lines.
        level = logging.WARNING if job.attempts == 1 else logging.INFO
        logger.log(
            level, "%s to chat %s: %s, retry in %.1fs (attempt %d)",
            job.kind, job.chat_id, type(exc).__name__, delay, job.attempts,
        )

    def _backoff(self, attempts: int) -> float:
        """Delay before the next try after ``attempts`` tries: base * 2**(attempts - 1),
        plus up to 10 % jitter, capped at backoff_max."""
        delay = self._backoff_base * 2.0 ** min(attempts - 1, 60)
        return min(self._backoff_max, delay * (1 + _JITTER * self._random.random()))

