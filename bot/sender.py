"""The outgoing message sender: reminders, digests and urgent alerts go through one queue
that keeps to Telegram's limits (about 30 messages a second overall, one a second per chat)
and deals with the errors Telegram answers with.

How it works. ``send``/``edit`` put a job into its chat's own queue (a heap ordered by
``(priority, sequence)``, so FIFO within a priority) and await the job's outcome. One
scheduler task picks, among the chats that may receive a message right now, the chat whose
head job has the smallest ``(priority, sequence)``; chats that must still wait sit in a
heap of wake-up times and never hold up other chats. Each pick takes the next slot of the
global pace (GCRA: evenly spaced slots, ``1 / global_rate`` apart, with half a slot of
tolerance so a late wake-up does not slow the average) and runs the request in its own task,
so a slow request does not delay the next slot. A retry puts the job back at the head of its
chat's queue with a later wake-up time; nothing sleeps inside a request task.

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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum

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

from bot.api_retry import sender_retries

logger = logging.getLogger(__name__)

STOPPED = "stopped"
_NOT_MODIFIED = "message is not modified"
_JITTER = 0.1  # backoff delays grow by up to 10 % at random
_ERROR_LIMIT = 200  # characters of an exception's text kept in Delivery.error


class Priority(IntEnum):
    """Lower value goes first."""

    URGENT = 0
    NORMAL = 1
    BULK = 2


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


@dataclass(eq=False, slots=True)
class _Job:
    priority: int
    seq: int
    chat_id: int
    text: str
    reply_markup: InlineKeyboardMarkup | None
    edit_message_id: int | None  # None: sendMessage; else editMessageText of this message
    future: asyncio.Future[Delivery]
    attempts: int = 0


@dataclass(eq=False, slots=True)
class _Chat:
    # (priority, seq, job); seq is unique, so the job itself is never compared.
    pending: list[tuple[int, int, _Job]] = field(default_factory=list)
    ready_at: float = -math.inf  # monotonic time of the earliest next attempt
    busy: bool = False  # a request for this chat is in flight


def _describe(exc: BaseException) -> str:
    detail = exc.message if isinstance(exc, TelegramAPIError) else str(exc)
    detail = " ".join(detail.split())[:_ERROR_LIMIT]
    return f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__


class Sender:
    def __init__(
        self,
        bot: Bot,
        *,
        global_rate: float = 30.0,
        # A hair over Telegram's 1 per second per chat: timers fire a few ms early or late,
        # and two sends 0.999 s apart draw a 429 that pauses every chat (bench_reminders).
        per_chat_interval: float = 1.05,
        max_attempts: int = 5,
        backoff_base: float = 0.5,
        backoff_max: float = 30.0,
        on_blocked: Callable[[int], Awaitable[None]] | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        if not global_rate > 0:
            raise ValueError("global_rate must be positive")
        if per_chat_interval < 0:
            raise ValueError("per_chat_interval must not be negative")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if backoff_base < 0 or backoff_max < 0:
            raise ValueError("backoff delays must not be negative")
        self._bot = bot
        # A thousandth over the exact slot: 30 sends at exactly 1/30 s apart put the 31st
        # on the boundary of the first one's second (float rounding decides which side).
        self._slot = 1.001 / global_rate
        # No early sends: half a slot of slack let 31 requests into one second, and a
        # strict 30-per-second window answered 429, pausing every chat (bench_reminders).
        self._tolerance = 0.0
        self._per_chat_interval = per_chat_interval
        self._max_attempts = max_attempts
        self._backoff_base = backoff_base
        self._backoff_max = backoff_max
        self._on_blocked = on_blocked
        self._sleep = sleep
        self._monotonic = monotonic
        self._random = random.Random()
        self._max_in_flight = max(8, math.ceil(global_rate * 2))

        self._seq = itertools.count()
        self._chats: dict[int, _Chat] = {}
        self._ready: list[tuple[int, int, int]] = []  # (priority, seq, chat_id) of a head job
        self._waiting: list[tuple[float, int]] = []  # (ready_at, chat_id)
        self._tat = -math.inf  # GCRA "theoretical arrival time" of the next global slot
        self._paused_until = -math.inf  # set by a 429: nothing goes out before it
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
        """Stop accepting; let queued sends finish for up to ``timeout`` real seconds; then
        cancel the rest: their ``send``/``edit`` calls return FAILED with error "stopped"."""
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
            self._resolve(job, Delivery(Outcome.FAILED, attempts=job.attempts, error=STOPPED))
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
        priority: Priority = Priority.NORMAL,
    ) -> Delivery:
        """Queue a message and wait for its outcome. Parse mode: the bot's default."""
        return await self._submit(chat_id, text, reply_markup, priority, None)

    async def edit(
        self,
        chat_id: int,
        message_id: int,
        text: str,
        *,
        reply_markup: InlineKeyboardMarkup | None = None,
        priority: Priority = Priority.NORMAL,
    ) -> Delivery:
        """editMessageText through the same queue and limits; "message is not modified"
        counts as SENT."""
        return await self._submit(chat_id, text, reply_markup, priority, message_id)

    # ------------------------------------------------------------------- queueing

    async def _submit(
        self,
        chat_id: int,
        text: str,
        reply_markup: InlineKeyboardMarkup | None,
        priority: Priority,
        edit_message_id: int | None,
    ) -> Delivery:
        if not self._accepting:
            return Delivery(Outcome.FAILED, attempts=0, error=STOPPED)
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        job = _Job(
            priority=int(priority),
            seq=next(self._seq),
            chat_id=chat_id,
            text=text,
            reply_markup=reply_markup,
            edit_message_id=edit_message_id,
            future=future,
        )
        self._live.add(job)
        self._drained.clear()
        chat = self._chats.get(chat_id)
        if chat is None:
            chat = self._chats[chat_id] = _Chat()
        heapq.heappush(chat.pending, (job.priority, job.seq, job))
        # An idle chat with jobs always has a heap entry for its head (or its wake-up
        # time); only a new head needs a new one. A busy chat is scheduled when it is free.
        if not chat.busy and chat.pending[0][2] is job:
            self._schedule(chat_id, chat, self._monotonic())
        try:
            return await future
        except asyncio.CancelledError:
            # The caller gave up: a queued job is dropped when the scheduler reaches it.
            self._forget(job)
            raise

    def _schedule(self, chat_id: int, chat: _Chat, now: float) -> None:
        """Make an idle chat with pending jobs findable: in the ready heap if it may be sent
        to now, else in the waiting heap. Stale heap entries are skipped when popped."""
        if not chat.pending:
            return
        if chat.ready_at <= now:
            priority, seq, _ = chat.pending[0]
            heapq.heappush(self._ready, (priority, seq, chat_id))
        else:
            heapq.heappush(self._waiting, (chat.ready_at, chat_id))
        self._wake.set()

    def _resolve(self, job: _Job, delivery: Delivery) -> None:
        if not job.future.done():
            job.future.set_result(delivery)
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
        now = self._monotonic()
        while self._waiting and self._waiting[0][0] <= now:
            _, waiting_id = heapq.heappop(self._waiting)
            chat = self._chats.get(waiting_id)
            if chat is not None and not chat.busy and chat.ready_at <= now:
                self._schedule(waiting_id, chat, now)
        self._sweep(now)

        deadline: float | None = self._waiting[0][0] if self._waiting else None
        if self._in_flight < self._max_in_flight:
            chat_id = self._peek_ready(now)
            if chat_id is not None:
                gate = max(self._paused_until, self._tat - self._tolerance)
                if now >= gate:
                    self._dispatch(chat_id, now)
                    return
                deadline = gate
        # No await since the top of this step: the state seen above is current, so only a
        # change from now on (a new job, a finished request, stop) needs to wake us. At the
        # in-flight cap a finishing request wakes us; nothing can go out before that.
        self._wake.clear()
        await self._idle(None if deadline is None else deadline - now)

    def _peek_ready(self, now: float) -> int | None:
        """The chat whose head job goes next; drops stale entries and abandoned jobs."""
        while self._ready:
            priority, seq, chat_id = self._ready[0]
            chat = self._chats.get(chat_id)
            if (
                chat is None
                or chat.busy
                or not chat.pending
                or chat.ready_at > now
                or chat.pending[0][:2] != (priority, seq)
            ):
                heapq.heappop(self._ready)
                continue
            job = chat.pending[0][2]
            if job.future.done():  # the caller was cancelled while it was queued
                heapq.heappop(self._ready)
                heapq.heappop(chat.pending)
                self._schedule(chat_id, chat, now)
                continue
            return chat_id
        return None

    def _dispatch(self, chat_id: int, now: float) -> None:
        heapq.heappop(self._ready)
        chat = self._chats[chat_id]
        _, _, job = heapq.heappop(chat.pending)
        chat.busy = True
        chat.ready_at = now + self._per_chat_interval
        self._tat = max(self._tat, now) + self._slot
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
            blocked = self._settle(chat, job, await self._try(job))
        finally:
            self._in_flight -= 1
            self._wake.set()
        if blocked and self._on_blocked is not None:
            try:
                await self._on_blocked(job.chat_id)
            except Exception as exc:
                logger.warning(
                    "on_blocked for chat %s failed: %s", job.chat_id, type(exc).__name__
                )

    async def _try(self, job: _Job) -> tuple[Delivery, float | None]:
        """One request; the outcome it would have, and the delay before a retry if any."""
        chat_id = job.chat_id
        kind = "send" if job.edit_message_id is None else "edit"
        try:
            message_id = await self._request(job)
        except TelegramRetryAfter as exc:
            # A flood 429 can be global: hold every chat, not just this one.
            pause = float(exc.retry_after)
            self._paused_until = max(self._paused_until, self._monotonic() + pause)
            self._log_transient(kind, job, exc, pause)
            return self._failed(job, exc), pause
        except (TelegramNetworkError, TelegramServerError, ClientDecodeError) as exc:
            # ClientDecodeError: an answer that is not Telegram's JSON, e.g. a proxy's 502 page.
            delay = self._backoff(job.attempts)
            self._log_transient(kind, job, exc, delay)
            return self._failed(job, exc), delay
        except TelegramForbiddenError as exc:
            logger.warning("%s to chat %s: TelegramForbiddenError, blocked", kind, chat_id)
            return Delivery(Outcome.BLOCKED, attempts=job.attempts, error=_describe(exc)), None
        except TelegramBadRequest as exc:
            if job.edit_message_id is not None and _NOT_MODIFIED in exc.message.lower():
                return Delivery(
                    Outcome.SENT, message_id=job.edit_message_id, attempts=job.attempts
                ), None
            logger.warning("%s to chat %s: TelegramBadRequest: %s", kind, chat_id, exc.message)
            return self._failed(job, exc), None
        except Exception as exc:
            logger.warning("%s to chat %s failed: %s", kind, chat_id, type(exc).__name__)
            return self._failed(job, exc), None
        return Delivery(Outcome.SENT, message_id=message_id, attempts=job.attempts), None

    def _log_transient(self, kind: str, job: _Job, exc: BaseException, delay: float) -> None:
        if job.attempts < self._max_attempts:
            logger.warning(
                "%s to chat %s: %s, retry in %.1fs (attempt %d/%d)",
                kind, job.chat_id, type(exc).__name__, delay, job.attempts, self._max_attempts,
            )
        else:
            logger.warning(
                "%s to chat %s: %s, gave up after %d attempts",
                kind, job.chat_id, type(exc).__name__, job.attempts,
            )

    @staticmethod
    def _failed(job: _Job, exc: BaseException) -> Delivery:
        return Delivery(Outcome.FAILED, attempts=job.attempts, error=_describe(exc))

    def _settle(self, chat: _Chat, job: _Job, result: tuple[Delivery, float | None]) -> bool:
        """Resolve the job or queue its retry; free the chat. True if the chat is blocked."""
        delivery, retry_in = result
        now = self._monotonic()
        chat.busy = False
        if (
            retry_in is not None
            and job.attempts < self._max_attempts
            and not job.future.done()  # the caller gave up
        ):
            chat.ready_at = max(chat.ready_at, now + retry_in)
            heapq.heappush(chat.pending, (job.priority, job.seq, job))
            self._schedule(job.chat_id, chat, now)
            return False
        self._resolve(job, delivery)
        blocked = delivery.outcome is Outcome.BLOCKED
        if blocked:
            # Everything else queued for this chat would meet the same answer.
            while chat.pending:
                _, _, other = heapq.heappop(chat.pending)
                self._resolve(other, Delivery(Outcome.BLOCKED, attempts=0, error=delivery.error))
        self._schedule(job.chat_id, chat, now)
        return blocked

    async def _request(self, job: _Job) -> int:
        with sender_retries():  # the session's retry middleware leaves these to us
            return await self._request_once(job)

    async def _request_once(self, job: _Job) -> int:
        if job.edit_message_id is None:
            message = await self._bot.send_message(
                chat_id=job.chat_id, text=job.text, reply_markup=job.reply_markup
            )
            return message.message_id
        result = await self._bot.edit_message_text(
            text=job.text,
            chat_id=job.chat_id,
            message_id=job.edit_message_id,
            reply_markup=job.reply_markup,
        )
        return result.message_id if isinstance(result, Message) else job.edit_message_id

    def _backoff(self, attempts: int) -> float:
        """Delay before the next try after ``attempts`` tries: base * 2**(attempts - 1),
        plus up to 10 % jitter, capped at backoff_max."""
        delay = self._backoff_base * 2.0 ** (attempts - 1)
        return min(self._backoff_max, delay * (1 + _JITTER * self._random.random()))
