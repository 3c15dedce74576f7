"""The outgoing sender: limits, priorities and Telegram's errors, on a fake clock.

The fake clock's ``sleep`` moves its ``monotonic`` forward at once and yields, so every
wait of the sender costs no real time and the times the session records are exact."""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import pytest
from aiogram import Bot
from aiogram.client.default import Default, DefaultBotProperties
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import EditMessageText, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.local_session import LocalSession
from bot.sender import (
    PER_CHAT_INTERVAL,
    STARVE_AFTER_SECONDS,
    ChatKey,
    Delivery,
    MemoryBudget,
    Outcome,
    Priority,
    Refusal,
    Sender,
)
from tests.fakes.clock import FakeClock

SECRET = "<b>Pay invoice 77</b> SECRET-TEXT"

# (method, how many requests this chat has had before this one) -> an error to raise, or None
Fail = Callable[[TelegramMethod[Any], int], BaseException | None]


class RecordingSession(LocalSession):
    """LocalSession that notes the fake time of each request and raises errors on demand."""

    def __init__(self, clock: FakeClock, fail: Fail | None = None) -> None:
        super().__init__()
        self.clock = clock
        self.fail = fail
        self.calls: list[tuple[float, TelegramMethod[Any]]] = []
        self.per_chat: Counter[int] = Counter()
        self.requested = asyncio.Event()

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None  # noqa: ASYNC109
    ) -> TelegramType:
        self.calls.append((self.clock.monotonic(), method))
        self.requested.set()
        chat_id = chat_of(method)
        seen = self.per_chat[chat_id]
        self.per_chat[chat_id] += 1
        if self.fail is not None and (error := self.fail(method, seen)) is not None:
            raise error
        return await super().make_request(bot, method, timeout)

    def times(self, chat_id: int) -> list[float]:
        return [at for at, method in self.calls if chat_of(method) == chat_id]

    def chats(self) -> list[int]:
        return [chat_of(method) for _, method in self.calls]


def chat_of(method: TelegramMethod[Any]) -> int:
    """The call's chat; -1 for a call without one (answerCallbackQuery, getMe...)."""
    chat_id = getattr(method, "chat_id", None)
    return chat_id if isinstance(chat_id, int) else -1


class Make(Protocol):
    def __call__(
        self, fail: Fail | None = None, **options: Any
    ) -> tuple[Sender, RecordingSession]: ...


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make(fake: FakeClock) -> AsyncIterator[Make]:
    senders: list[Sender] = []

    def build(fail: Fail | None = None, **options: Any) -> tuple[Sender, RecordingSession]:
        session = RecordingSession(fake, fail)
        bot = Bot(
            "42:TEST", session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        options.setdefault("sleep", fake.sleep)
        options.setdefault("monotonic", fake.monotonic)
        sender = Sender(bot, **options)
        senders.append(sender)
        return sender, session

    yield build
    for sender in senders:
        await sender.stop(timeout=1.0)


async def queue_then_start(
    sender: Sender, jobs: list[tuple[int, Priority]]
) -> list[Delivery]:
    """Queue every job before the sender starts, so the order of picking is what's tested."""
    tasks = [
        asyncio.create_task(sender.send(chat_id, f"{SECRET} {i}", priority=priority))
        for i, (chat_id, priority) in enumerate(jobs)
    ]
    await asyncio.sleep(0)
    await sender.start()
    return list(await asyncio.gather(*tasks))


def no_text_in_logs(caplog: pytest.LogCaptureFixture) -> None:
    assert "SECRET-TEXT" not in caplog.text
    assert "invoice" not in caplog.text


# ---------------------------------------------------------------------------- delivery


async def test_sends_arrive_with_message_ids(make: Make) -> None:
    sender, session = make()
    await sender.start()
    markup = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text="Done", callback_data="t:1:done")]]
    )
    first, second = await asyncio.gather(
        sender.send(1, SECRET, reply_markup=markup), sender.send(2, "second")
    )
    assert first.outcome is Outcome.SENT and second.outcome is Outcome.SENT
    assert first.attempts == 1 and first.error is None
    assert first.message_id is not None and second.message_id is not None
    assert first.message_id != second.message_id
    stored = session.message(1, first.message_id)
    assert stored is not None
    assert stored.text == "Pay invoice 77 SECRET-TEXT"  # Telegram returns text without tags
    assert stored.reply_markup == markup
    method = session.calls[0][1]
    assert isinstance(method, SendMessage)
    # Parse mode is left to the bot's defaults (HTML).
    assert isinstance(method.parse_mode, Default)


async def test_edit_goes_through_the_sender(make: Make) -> None:
    sender, session = make()
    await sender.start()
    sent = await sender.send(5, "draft")
    assert sent.message_id is not None
    edited = await sender.edit(5, sent.message_id, "final", priority=Priority.URGENT)
    assert edited == Delivery(Outcome.SENT, message_id=sent.message_id, attempts=1)
    assert isinstance(session.calls[-1][1], EditMessageText)
    stored = session.message(5, sent.message_id)
    assert stored is not None and stored.text == "final"
    # The edit still kept one second away from the send to the same chat.
    assert session.times(5)[1] - session.times(5)[0] >= 1.0


# ------------------------------------------------------------------------------ limits


async def test_global_rate(make: Make, fake: FakeClock) -> None:
    sender, session = make()
    await sender.start()
    results = await asyncio.gather(*(sender.send(chat, SECRET) for chat in range(90)))
    assert all(result.outcome is Outcome.SENT for result in results)
    times = [at for at, _ in session.calls]
    assert len(times) == 90
    assert 2.9 <= times[-1] - times[0] <= 3.3
    # Never more than 30 requests in any one-second window (Telegram answers the 31st 429).
    assert max(sum(1 for t in times if start <= t < start + 1.0) for start in times) <= 30
    assert fake.monotonic() <= 3.3


async def test_per_chat_interval_does_not_delay_other_chats(make: Make) -> None:
    sender, session = make()
    jobs = [(1, Priority.NORMAL)] * 5 + [(2, Priority.NORMAL)]
    results = await queue_then_start(sender, jobs)
    assert all(result.outcome is Outcome.SENT for result in results)
    one = session.times(1)
    assert len(one) == 5
    assert all(later - earlier >= 1.0 for earlier, later in itertools.pairwise(one))
    assert session.times(2)[0] < 0.1
    # FIFO within the chat.
    texts = [m.text for _, m in session.calls if isinstance(m, SendMessage) and m.chat_id == 1]
    assert texts == [f"{SECRET} {i}" for i in range(5)]


async def test_a_backlog_for_one_chat_does_not_block_another(make: Make) -> None:
    sender, session = make()
    jobs = [(1, Priority.NORMAL)] * 100 + [(2, Priority.NORMAL)]
    task = asyncio.create_task(queue_then_start(sender, jobs))
    results = await task
    assert all(result.outcome is Outcome.SENT for result in results)
    assert session.times(2)[0] < 0.1
    assert session.times(1)[-1] >= 99.0


async def test_throughput_many_chats_near_global_rate(make: Make, fake: FakeClock) -> None:
    sender, session = make()
    jobs = [(chat, Priority.NORMAL) for chat in range(600) for _ in range(5)]
    results = await queue_then_start(sender, jobs)
    assert all(result.outcome is Outcome.SENT for result in results)
    assert len(session.calls) == 3000
    assert fake.monotonic() <= 1.1 * 3000 / 30
    for chat in (0, 299, 599):
        times = session.times(chat)
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(times))


async def test_urgent_overtakes_queued_messages(make: Make) -> None:
    sender, session = make()
    jobs = [(500, Priority.BULK)]
    jobs += [(chat, Priority.NORMAL) for chat in range(20)]
    jobs += [(99, Priority.URGENT)]
    results = await queue_then_start(sender, jobs)
    assert all(result.outcome is Outcome.SENT for result in results)
    order = session.chats()
    assert order[0] == 99
    assert order[1:21] == list(range(20))  # FIFO within a priority
    assert order[-1] == 500


class AskingBudget(MemoryBudget):
    """A shared budget: taking a slot asks the database, and other jobs are queued while it
    answers (here: `meanwhile` runs during the first ask)."""

    def __init__(self, meanwhile: Callable[[], None]) -> None:
        super().__init__()
        self._meanwhile: Callable[[], None] | None = meanwhile

    async def try_take(self, chat: ChatKey, now: float) -> Refusal | None:
        if self._meanwhile is not None:
            meanwhile, self._meanwhile = self._meanwhile, None
            meanwhile()
        await asyncio.sleep(0)  # the round trip: the queued job's task runs now
        await asyncio.sleep(0)
        return await super().try_take(chat, now)


async def test_a_reply_queued_while_the_shared_budget_answers_is_not_lost(make: Make) -> None:
    """Seen with several workers after a takeover: a reply queued during the database's
    answer went to the top of the ready heap, and the scheduler then took that top entry
    out instead of the chat it had asked for: the reply waited for ever (the webhook gave
    up after 55 s)."""
    replies: list[asyncio.Task[Delivery]] = []
    senders: list[Sender] = []

    def a_reply_arrives() -> None:
        replies.append(
            asyncio.create_task(senders[0].send(7, "reply", priority=Priority.INTERACTIVE))
        )

    sender, session = make(budget=AskingBudget(a_reply_arrives))
    senders.append(sender)
    reminder = asyncio.create_task(sender.send(1, "reminder", priority=Priority.REMINDER))
    await asyncio.sleep(0)
    await sender.start()
    assert (await asyncio.wait_for(reminder, 5)).outcome is Outcome.SENT
    assert (await asyncio.wait_for(replies[0], 5)).outcome is Outcome.SENT
    assert sorted(session.chats()) == [1, 7]


async def test_a_chat_flooded_with_replies_still_gets_its_reminder(make: Make) -> None:
    """Someone typing faster than one reply a second (or a backlog of updates after a
    restart) must not hold back their own reminder for ever: it goes out once it has waited
    STARVE_AFTER_SECONDS, and the replies go on after it."""
    replies: list[asyncio.Task[Delivery]] = []

    def more_replies(method: TelegramMethod[Any], seen: int) -> None:
        # Every reply sent brings two new ones: the interactive lane never empties.
        if seen < 40 and "reply" in str(method):
            for _ in range(2):
                replies.append(asyncio.ensure_future(
                    sender.send(7, "reply", priority=Priority.INTERACTIVE)
                ))

    sender, session = make(more_replies)
    jobs = [(7, Priority.REMINDER), (7, Priority.INTERACTIVE), (7, Priority.INTERACTIVE)]
    tasks = [
        asyncio.create_task(
            sender.send(chat, "⏰ Call Acme" if lane is Priority.REMINDER else "reply",
                        priority=lane)
        )
        for chat, lane in jobs
    ]
    await asyncio.sleep(0)
    await sender.start()
    reminder = await tasks[0]
    assert reminder.outcome is Outcome.SENT
    sent_at = next(at for at, method in session.calls if "Call Acme" in str(method))
    assert STARVE_AFTER_SECONDS <= sent_at <= STARVE_AFTER_SECONDS + 2 * PER_CHAT_INTERVAL
    # It did not jump the queue at once: the replies of the first seconds went first.
    order = ["reminder" if "Call Acme" in str(m) else "reply" for _, m in session.calls]
    assert order.index("reminder") >= 9, order[:12]
    for task in replies:
        task.cancel()
    await asyncio.gather(*tasks[1:], *replies, return_exceptions=True)


async def test_an_old_job_does_not_jump_ahead_of_other_chats_urgent_pages(make: Make) -> None:
    sender, session = make(global_rate=1.0)  # one send a second for the whole bot
    jobs = [(1, Priority.REMINDER), (1, Priority.INTERACTIVE)]
    jobs += [(chat, Priority.URGENT) for chat in range(100, 104)]
    results = await queue_then_start(sender, jobs)
    assert all(result.outcome is Outcome.SENT for result in results)
    assert session.chats()[:4] == [100, 101, 102, 103]


# ------------------------------------------------------------------------------ errors


async def test_retry_after_waits_then_sends(make: Make) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        if chat_of(method) == 7 and seen == 0:
            return TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=3)
        return None

    sender, session = make(fail)
    result, other = await queue_then_start(sender, [(7, Priority.NORMAL), (8, Priority.NORMAL)])
    assert result.outcome is Outcome.SENT and result.attempts == 2
    assert result.message_id is not None
    first, second = session.times(7)
    assert second - first >= 3.0
    # A flood 429 pauses everything: chat 8 did not go out during the pause.
    assert other.outcome is Outcome.SENT
    assert session.times(8)[0] >= 3.0


async def test_retry_after_gives_up_after_max_attempts(make: Make) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        return TelegramRetryAfter(method=method, message="Too Many Requests", retry_after=2)

    sender, session = make(fail, max_attempts=3)
    await sender.start()
    result = await sender.send(7, SECRET)
    assert result.outcome is Outcome.FAILED and result.attempts == 3
    assert result.error is not None and result.error.startswith("TelegramRetryAfter")
    times = session.times(7)
    assert len(times) == 3
    assert all(b - a >= 2.0 for a, b in itertools.pairwise(times))


@pytest.mark.parametrize(
    "error",
    [
        lambda m: TelegramNetworkError(method=m, message="timeout"),
        lambda m: TelegramServerError(method=m, message="Internal Server Error"),
    ],
    ids=["network", "server"],
)
async def test_transient_errors_are_retried_with_backoff(
    make: Make, error: Callable[[TelegramMethod[Any]], BaseException]
) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        return error(method) if seen < 2 else None

    sender, session = make(fail, backoff_base=2.0)
    await sender.start()
    result = await sender.send(3, SECRET)
    assert result.outcome is Outcome.SENT and result.attempts == 3
    first, second, third = session.times(3)
    assert 2.0 <= second - first <= 2.2 + 1e-9
    assert 4.0 <= third - second <= 4.4 + 1e-9


async def test_transient_errors_exhaust_attempts(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        return TelegramNetworkError(method=method, message="timeout")

    sender, session = make(fail, max_attempts=4, backoff_base=2.0, backoff_max=3.0)
    await sender.start()
    with caplog.at_level(logging.INFO, logger="bot.sender"):
        result = await sender.send(3, SECRET)
    assert result.outcome is Outcome.FAILED and result.attempts == 4
    assert result.error == "TelegramNetworkError: timeout"
    times = session.times(3)
    gaps = [b - a for a, b in itertools.pairwise(times)]
    assert len(gaps) == 3
    assert 2.0 <= gaps[0] <= 2.2 + 1e-9
    assert gaps[1:] == pytest.approx([3.0, 3.0])  # capped at backoff_max
    lines = [r.getMessage() for r in caplog.records if r.name == "bot.sender"]
    assert len(lines) == 4  # one per failed attempt, the last one says it gave up
    assert all("chat 3" in line and "TelegramNetworkError" in line for line in lines)
    assert "gave up after 4 attempts" in lines[-1]
    no_text_in_logs(caplog)


async def test_forbidden_is_blocked_and_reported_once(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    blocked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        blocked.append(chat_id)

    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        if chat_of(method) == 13:
            return TelegramForbiddenError(
                method=method, message="Forbidden: bot was blocked by the user"
            )
        return None

    sender, session = make(fail, on_blocked=on_blocked)
    with caplog.at_level(logging.INFO, logger="bot.sender"):
        first, second, other = await queue_then_start(
            sender, [(13, Priority.NORMAL), (13, Priority.NORMAL), (14, Priority.NORMAL)]
        )
    assert first.outcome is Outcome.BLOCKED and first.attempts == 1
    assert first.error is not None and "blocked by the user" in first.error
    # The second message to the same chat is not even tried.
    assert second.outcome is Outcome.BLOCKED and second.attempts == 0
    assert other.outcome is Outcome.SENT
    assert len(session.times(13)) == 1
    assert blocked == [13]
    assert "chat 13" in caplog.text and "TelegramForbiddenError" in caplog.text
    no_text_in_logs(caplog)


async def test_failing_on_blocked_callback_is_contained(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    async def on_blocked(chat_id: int) -> None:
        raise RuntimeError("database is locked")

    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        if chat_of(method) == 13:
            return TelegramForbiddenError(method=method, message="Forbidden: user is deactivated")
        return None

    sender, _ = make(fail, on_blocked=on_blocked)
    await sender.start()
    with caplog.at_level(logging.WARNING, logger="bot.sender"):
        result = await sender.send(13, SECRET)
        await asyncio.sleep(0)
    assert result.outcome is Outcome.BLOCKED
    assert "on_blocked for chat 13 failed: RuntimeError" in caplog.text
    assert (await sender.send(14, "still working")).outcome is Outcome.SENT


async def test_bad_request_fails_without_retry(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        return TelegramBadRequest(method=method, message="Bad Request: chat not found")

    sender, session = make(fail)
    await sender.start()
    with caplog.at_level(logging.INFO, logger="bot.sender"):
        result = await sender.send(404, SECRET)
    assert result.outcome is Outcome.FAILED and result.attempts == 1
    assert result.error == "TelegramBadRequest: Bad Request: chat not found"
    assert len(session.calls) == 1
    lines = [r for r in caplog.records if r.name == "bot.sender"]
    assert len(lines) == 1
    assert "chat 404" in lines[0].getMessage() and "TelegramBadRequest" in lines[0].getMessage()
    no_text_in_logs(caplog)


async def test_edit_not_modified_counts_as_sent(make: Make) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        if isinstance(method, EditMessageText):
            return TelegramBadRequest(
                method=method,
                message="Bad Request: message is not modified: specified new message content "
                "and reply markup are exactly the same as a current content and reply markup "
                "of the message",
            )
        return None

    sender, session = make(fail)
    await sender.start()
    result = await sender.edit(9, 1234, SECRET)
    assert result == Delivery(Outcome.SENT, message_id=1234, attempts=1)
    assert len(session.calls) == 1


async def test_edit_of_a_missing_message_fails(make: Make) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        return TelegramBadRequest(method=method, message="Bad Request: message to edit not found")

    sender, _ = make(fail)
    await sender.start()
    result = await sender.edit(9, 1234, SECRET)
    assert result.outcome is Outcome.FAILED and result.attempts == 1


async def test_unexpected_error_fails_one_and_spares_the_rest(
    make: Make, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        if chat_of(method) == 2 and seen == 0:
            return RuntimeError(f"boom {SECRET}")
        return None

    sender, _ = make(fail)
    with caplog.at_level(logging.INFO, logger="bot.sender"):
        results = await queue_then_start(
            sender, [(1, Priority.NORMAL), (2, Priority.NORMAL), (3, Priority.NORMAL)]
        )
    assert [r.outcome for r in results] == [Outcome.SENT, Outcome.FAILED, Outcome.SENT]
    assert results[1].error is not None and results[1].error.startswith("RuntimeError")
    assert "chat 2" in caplog.text and "RuntimeError" in caplog.text
    no_text_in_logs(caplog)
    # The chat itself is not poisoned either.
    assert (await sender.send(2, "again")).outcome is Outcome.SENT


async def test_cancelled_send_is_not_sent(make: Make) -> None:
    sender, session = make()
    await sender.start()
    first = asyncio.create_task(sender.send(1, "one"))
    second = asyncio.create_task(sender.send(1, "two"))
    await asyncio.sleep(0)
    second.cancel()
    assert (await first).outcome is Outcome.SENT
    with pytest.raises(asyncio.CancelledError):
        await second
    assert (await sender.send(1, "three")).outcome is Outcome.SENT
    assert [m.text for _, m in session.calls if isinstance(m, SendMessage)] == ["one", "three"]


# -------------------------------------------------------------------------------- stop


async def test_stop_lets_the_queue_finish_within_the_timeout(make: Make) -> None:
    sender, _ = make()
    tasks = [asyncio.create_task(sender.send(1, f"m{i}")) for i in range(3)]
    await asyncio.sleep(0)
    await sender.start()
    await sender.stop(timeout=5.0)
    assert [r.outcome for r in await asyncio.gather(*tasks)] == [Outcome.SENT] * 3
    assert await sender.send(1, "late") == Delivery(Outcome.FAILED, attempts=0, error="stopped")


async def test_stop_fails_what_is_left_after_the_timeout(make: Make) -> None:
    # Real time here: stop(timeout) waits in real seconds.
    sender, session = make(per_chat_interval=100.0, sleep=asyncio.sleep,
                           monotonic=time.monotonic)
    await sender.start()
    tasks = [asyncio.create_task(sender.send(1, f"m{i}")) for i in range(3)]
    await session.requested.wait()
    started = time.monotonic()
    await sender.stop(timeout=0.2)
    assert 0.2 <= time.monotonic() - started < 2.0
    results = await asyncio.gather(*tasks)
    assert results[0].outcome is Outcome.SENT
    assert results[1:] == [Delivery(Outcome.FAILED, attempts=0, error="stopped")] * 2
    assert len(session.calls) == 1


async def test_stop_cancels_a_hanging_request(make: Make) -> None:
    class HangingSession(RecordingSession):
        async def make_request(
            self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None  # noqa: ASYNC109
        ) -> TelegramType:
            self.calls.append((self.clock.monotonic(), method))
            self.requested.set()
            await asyncio.Event().wait()
            raise AssertionError("unreachable")

    session = HangingSession(FakeClock())
    sender = Sender(Bot("42:TEST", session=session))
    await sender.start()
    task = asyncio.create_task(sender.send(1, "hangs"))
    await session.requested.wait()
    await sender.stop(timeout=0.05)
    assert await task == Delivery(Outcome.FAILED, attempts=1, error="stopped")


async def test_stop_before_start_fails_queued(make: Make) -> None:
    sender, session = make()
    task = asyncio.create_task(sender.send(1, "never"))
    await asyncio.sleep(0)
    await sender.stop()
    assert (await task).error == "stopped"
    assert session.calls == []


async def test_background_lanes_retry_until_their_deadline(make: Make, fake: FakeClock) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        return TelegramServerError(method=method, message="Bad Gateway")

    sender, session = make(fail)
    await sender.start()
    reminder, digest = await asyncio.gather(
        sender.send(1, "reminder", priority=Priority.NORMAL),
        sender.send(2, "digest", priority=Priority.BULK),
    )
    assert reminder.outcome is Outcome.FAILED and digest.outcome is Outcome.FAILED
    assert reminder.attempts > 5  # not the 5 tries of old: 10 minutes of them
    assert 600 - 33 < session.times(1)[-1] <= 600
    assert 1800 - 33 < session.times(2)[-1] <= 1800
    assert reminder.error == "TelegramServerError: Bad Gateway"
