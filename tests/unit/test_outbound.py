"""One outbound stream (bot/outbound.py + bot/sender.py): handlers' replies go through the
same pacer as reminders, digests and alert pages, on a fake clock.

The Bot API here is a recording session that enforces Telegram's limits (30 sending calls in
any second, one a second per chat) and answers a call beyond them with 429 ``retry_after``,
as Telegram does. Everything runs in fake time: no test waits in real time."""

from __future__ import annotations

import asyncio
import logging
import math
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import pytest
from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.enums import ParseMode
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import (
    AnswerCallbackQuery,
    GetMe,
    GetUpdates,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.methods.base import TelegramType
from aiogram.types import BufferedInputFile

from bot.app import create_bot, create_sender
from bot.local_session import LocalSession
from bot.outbound import OutboundMiddleware, lane, pace, paced_chat
from bot.sender import Outcome, Priority, Sender
from bot.settings import Settings
from tests.fakes.clock import FakeClock
from tests.unit.test_sender import RecordingSession, chat_of

Fail = Callable[[TelegramMethod[Any], int], BaseException | None]


class LimitedSession(RecordingSession):
    """Telegram's limits on sending calls, in fake time: the 31st call in a second or a
    second call to a chat within a second gets 429; while a flood pause it announced runs,
    every sending call gets 429 too. ``pause_at`` (call numbers) starts such a pause."""

    def __init__(
        self,
        clock: FakeClock,
        fail: Fail | None = None,
        *,
        retry_after: int = 1,
        pause_at: frozenset[int] = frozenset(),
    ) -> None:
        super().__init__(clock, fail)
        self.retry_after = retry_after
        self.pause_at = pause_at
        self.window: deque[float] = deque()
        self.last_in_chat: dict[int, float] = {}
        self.paused_until = -math.inf
        self.too_many: list[tuple[float, int]] = []  # (time, chat) of each 429
        self.delivered: list[tuple[float, TelegramMethod[Any]]] = []
        self.sending_calls = 0

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None  # noqa: ASYNC109
    ) -> TelegramType:
        if paced_chat(method) is None:
            return await super().make_request(bot, method, timeout)
        now = self.clock.monotonic()
        self.sending_calls += 1
        chat = chat_of(method)
        while self.window and self.window[0] <= now - 1.0:
            self.window.popleft()
        if self.sending_calls in self.pause_at:
            self.paused_until = now + self.retry_after
        if (
            now < self.paused_until
            or len(self.window) >= 30
            or now - self.last_in_chat.get(chat, -math.inf) < 1.0
        ):
            self.too_many.append((now, chat))
            self.calls.append((now, method))
            raise TelegramRetryAfter(method, "Too Many Requests", retry_after=self.retry_after)
        self.window.append(now)
        self.last_in_chat[chat] = now
        result = await super().make_request(bot, method, timeout)
        self.delivered.append((now, method))
        return result


class Make(Protocol):
    def __call__(
        self, fail: Fail | None = None, **options: Any
    ) -> tuple[Bot, Sender, LimitedSession]: ...


@pytest.fixture
def fake() -> FakeClock:
    return FakeClock()


@pytest.fixture
async def make(fake: FakeClock) -> AsyncIterator[Make]:
    senders: list[Sender] = []

    def build(fail: Fail | None = None, **options: Any) -> tuple[Bot, Sender, LimitedSession]:
        session_options = {
            key: options.pop(key) for key in ("retry_after", "pause_at") if key in options
        }
        session = LimitedSession(fake, fail, **session_options)
        bot = Bot(
            "42:TEST", session=session, default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        options.setdefault("sleep", fake.sleep)
        options.setdefault("monotonic", fake.monotonic)
        sender = Sender(bot, **options)
        pace(bot, sender)
        senders.append(sender)
        return bot, sender, session

    yield build
    for sender in senders:
        await sender.stop(timeout=1.0)


def most_in_a_second(times: list[float]) -> int:
    return max((sum(1 for t in times if start <= t < start + 1.0) for start in times), default=0)


def texts(calls: list[tuple[float, TelegramMethod[Any]]]) -> list[str]:
    return [m.text for _, m in calls if isinstance(m, SendMessage)]


# ------------------------------------------------------------------------------ limits


async def test_replies_keep_to_30_a_second_and_1_a_second_per_chat(make: Make) -> None:
    bot, sender, session = make()
    await sender.start()
    # 60 people, two replies each, all at once (handlers answering at the same moment).
    replies = [
        asyncio.create_task(bot.send_message(chat, f"reply {chat}.{n}"))
        for n in range(2)
        for chat in range(60)
    ]
    messages = await asyncio.gather(*replies)
    assert len(messages) == 120
    assert session.too_many == []
    times = [at for at, _ in session.delivered]
    assert most_in_a_second(times) <= 30
    for chat in range(60):
        first, second = session.times(chat)
        assert second - first >= 1.0
    assert times[-1] <= 1.1 * 120 / 30


async def test_a_burst_under_a_flood_pause_is_delivered_with_one_429(
    make: Make, fake: FakeClock
) -> None:
    # The Bot API announces a 3 s flood pause at the 40th call: only that call meets it.
    bot, sender, session = make(retry_after=3, pause_at=frozenset({40}))
    await sender.start()
    replies = [
        asyncio.create_task(bot.send_message(chat, f"task {chat}.{n} saved"))
        for chat in range(100)
        for n in range(3)
    ]
    await asyncio.gather(*replies)
    delivered = texts(session.delivered)
    assert sorted(delivered) == sorted(f"task {c}.{n} saved" for c in range(100) for n in range(3))
    assert len(session.too_many) == 1
    paused_at = session.too_many[0][0]
    assert not [at for at, _ in session.delivered if paused_at <= at < paused_at + 3.0]
    assert fake.monotonic() <= 300 / 30 + 3 + 1.5


# ------------------------------------------------------------------------------ errors


async def test_a_reply_is_retried_past_3_attempts_until_it_goes_through(make: Make) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        return TelegramServerError(method, "Bad Gateway") if seen < 6 else None

    bot, sender, session = make(fail)
    await sender.start()
    message = await bot.send_message(5, "Task 1 saved")
    assert message.text == "Task 1 saved"
    assert len(session.times(5)) == 7


async def test_a_reply_is_retried_until_its_deadline_then_raised(
    make: Make, fake: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(method: TelegramMethod[Any], seen: int) -> BaseException | None:
        return TelegramNetworkError(method, "Request timeout error")

    bot, sender, session = make(fail, deadlines={Priority.INTERACTIVE: 120.0})
    await sender.start()
    with caplog.at_level(logging.WARNING, logger="bot.sender"), pytest.raises(
        TelegramNetworkError
    ):
        await bot.send_message(5, "Task 1 saved")
    times = session.times(5)
    assert len(times) > 3
    assert times[-1] <= 120.0
    assert times[-1] + 30.0 * 1.1 > 120.0  # it stopped only because the next try was too late
    gave_up = [r for r in caplog.records if "gave up" in r.getMessage()]
    assert len(gave_up) == 1
    assert "sendMessage to chat 5: TelegramNetworkError" in gave_up[0].getMessage()
    # Retries in between are not a wall of warnings.
    assert len(caplog.records) == 2


@pytest.mark.parametrize(
    "error",
    [
        lambda m: TelegramForbiddenError(m, "Forbidden: bot was blocked by the user"),
        lambda m: TelegramBadRequest(m, "Bad Request: chat not found"),
    ],
    ids=["403", "400"],
)
async def test_a_permanent_error_ends_a_reply_at_once(
    make: Make, error: Callable[[TelegramMethod[Any]], BaseException]
) -> None:
    bot, sender, session = make(lambda method, seen: error(method))
    await sender.start()
    with pytest.raises(type(error(SendMessage(chat_id=1, text="x")))):
        await bot.send_message(7, "hello")
    assert len(session.times(7)) == 1


async def test_a_blocked_user_is_reported_once_from_a_reply(make: Make) -> None:
    blocked: list[int] = []

    async def on_blocked(chat_id: int) -> None:
        blocked.append(chat_id)

    bot, sender, _ = make(
        lambda method, seen: TelegramForbiddenError(method, "Forbidden: bot was blocked"),
        on_blocked=on_blocked,
    )
    await sender.start()
    with pytest.raises(TelegramForbiddenError):
        await bot.send_message(7, "hello")
    await asyncio.sleep(0)
    assert blocked == [7]


# ------------------------------------------------------------------------------- lanes


async def test_lanes_urgent_then_replies_then_reminders_then_bulk(make: Make) -> None:
    bot, sender, session = make()
    jobs = [
        asyncio.create_task(sender.send(1, "digest", priority=Priority.BULK)),
        asyncio.create_task(sender.send(2, "reminder", priority=Priority.NORMAL)),
        asyncio.create_task(bot.send_message(3, "reply")),
        asyncio.create_task(bot.send_message(4, "edit-like reply")),
        asyncio.create_task(sender.send(5, "page", priority=Priority.URGENT)),
    ]
    await asyncio.sleep(0)
    await sender.start()
    await asyncio.gather(*jobs)
    assert texts(session.delivered) == ["page", "reply", "edit-like reply", "reminder", "digest"]


async def test_background_code_picks_its_lane(make: Make) -> None:
    bot, sender, session = make()

    async def broadcast() -> None:
        with lane(Priority.BULK):
            await bot.send_message(1, "broadcast")

    jobs = [asyncio.create_task(broadcast()), asyncio.create_task(bot.send_message(2, "reply"))]
    await asyncio.sleep(0)
    await sender.start()
    await asyncio.gather(*jobs)
    assert texts(session.delivered) == ["reply", "broadcast"]


async def test_answer_callback_query_is_not_queued_behind_a_backlog(
    make: Make, fake: FakeClock
) -> None:
    bot, sender, session = make()
    await sender.start()
    backlog = [asyncio.create_task(bot.send_message(1, f"part {i}")) for i in range(40)]
    await asyncio.sleep(0)
    assert await bot.answer_callback_query("cb-1", text="Done") is True
    assert fake.monotonic() < 0.1
    assert sum(1 for task in backlog if task.done()) <= 1
    assert any(isinstance(m, AnswerCallbackQuery) for _, m in session.calls)
    await asyncio.gather(*backlog)
    assert fake.monotonic() >= 39.0


async def test_documents_and_edits_are_paced_too(make: Make) -> None:
    bot, sender, session = make()
    await sender.start()
    sent = await bot.send_message(9, "draft")
    await bot.edit_message_text("final", chat_id=9, message_id=sent.message_id)
    await bot.send_document(9, BufferedInputFile(b"a,b\n", filename="export.csv"))
    first, second, third = session.times(9)
    assert second - first >= 1.0 and third - second >= 1.0
    assert isinstance(session.calls[-1][1], SendDocument)


def test_which_calls_are_paced() -> None:
    assert paced_chat(SendMessage(chat_id=5, text="x")) == 5
    assert paced_chat(AnswerCallbackQuery(callback_query_id="1")) is None
    assert paced_chat(GetUpdates()) is None
    assert paced_chat(GetMe()) is None


# ------------------------------------------------------------------- calls not paced


def unpaced_bot(fail: Fail) -> tuple[Bot, RecordingSession, list[float]]:
    """A bot whose stream never runs: only unpaced calls can complete."""
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    session = RecordingSession(FakeClock(), fail)
    bot = Bot("42:TEST", session=session)
    session.middleware(OutboundMiddleware(Sender(bot), sleep=sleep))
    return bot, session, slept


def first(n: int, error: Callable[[TelegramMethod[Any]], BaseException]) -> Fail:
    return lambda method, seen: error(method) if seen < n else None


async def test_a_callback_answer_after_a_server_error_is_sent_on_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, session, slept = unpaced_bot(first(1, lambda m: TelegramServerError(m, "Bad Gateway")))
    with caplog.at_level(logging.WARNING, logger="bot.outbound"):
        assert await bot.answer_callback_query("cb") is True
    assert len(session.calls) == 2
    assert len(slept) == 1 and 0.5 <= slept[0] <= 0.55
    assert [record.getMessage() for record in caplog.records] == [
        f"answerCallbackQuery: TelegramServerError, retry in {slept[0]:.1f}s (attempt 1/3)"
    ]


async def test_a_long_flood_wait_is_not_waited_for_a_button() -> None:
    bot, session, slept = unpaced_bot(
        first(1, lambda m: TelegramRetryAfter(m, "Too Many Requests", retry_after=300))
    )
    with pytest.raises(TelegramRetryAfter):
        await bot.answer_callback_query("cb")
    assert slept == [] and len(session.calls) == 1


async def test_unpaced_calls_give_up_after_3_attempts() -> None:
    bot, session, slept = unpaced_bot(
        first(10, lambda m: TelegramNetworkError(m, "Request timeout error"))
    )
    with pytest.raises(TelegramNetworkError):
        await bot.set_my_commands([])
    assert len(session.calls) == 3 and len(slept) == 2


@pytest.mark.parametrize("method", [GetUpdates(timeout=1), GetMe()])
async def test_polling_and_the_startup_check_are_left_alone(method: TelegramMethod[Any]) -> None:
    bot, session, slept = unpaced_bot(
        first(1, lambda m: TelegramServerError(m, "Internal Server Error"))
    )
    with pytest.raises(TelegramServerError):
        await bot(method)
    assert len(session.calls) == 1 and slept == []


def page_502() -> ClientDecodeError:
    return ClientDecodeError("Failed to decode object", ValueError("not JSON"), "<html>502</html>")


async def test_sender_retries_an_answer_that_is_not_json() -> None:
    clock = FakeClock()
    session = RecordingSession(clock, lambda method, seen: page_502() if seen == 0 else None)
    sender = Sender(Bot("42:TEST", session=session), sleep=clock.sleep, monotonic=clock.monotonic)
    await sender.start()
    try:
        delivery = await sender.send(1, "reminder")
    finally:
        await sender.stop(timeout=1.0)
    assert delivery.outcome is Outcome.SENT
    assert delivery.attempts == 2
    assert len(session.calls) == 2


async def test_a_session_has_one_stream() -> None:
    bot = Bot("42:TEST", session=LocalSession())
    sender = Sender(bot)
    pace(bot, sender)
    with pytest.raises(RuntimeError):
        pace(bot, sender)


async def test_the_network_session_has_its_timeout() -> None:
    settings = Settings(bot_token="42:TEST", telegram_timeout=7)
    bot = create_bot(settings)
    try:
        assert isinstance(bot.session, AiohttpSession)
        assert bot.session.timeout == 7
    finally:
        await bot.session.close()


async def test_pauses_hold_requests_already_let_through(make: Make, fake: FakeClock) -> None:
    """Two chats let through in the same instant: the first meets a 429; the second, whose
    task had not yet made its request, waits out the pause instead of meeting another."""
    # No global pace: all five are let through before the first answer comes back.
    bot, sender, session = make(retry_after=2, pause_at=frozenset({1}), global_rate=math.inf)
    await sender.start()
    results = await asyncio.gather(*(bot.send_message(chat, "hi") for chat in range(5)))
    assert len(results) == 5
    assert len(session.too_many) == 1
    assert all(at >= 2.0 for at, _ in session.delivered)


async def test_the_composition_root_routes_replies_through_its_sender() -> None:
    settings = Settings(bot_token="42:TEST", reply_deadline_seconds=30)
    bot = create_bot(settings, session=LocalSession())
    assert not list(bot.session.middleware)  # the handler tests' session: no stream
    sender = create_sender(bot, settings)
    assert [type(m) for m in bot.session.middleware] == [OutboundMiddleware]
    assert sender._deadlines[Priority.INTERACTIVE] == 30.0
