"""Bot API calls that meet a passing failure are retried (bot/api_retry.py), and the sender
retries an answer that is not Telegram's JSON (a proxy's 502 page)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    ClientDecodeError,
    TelegramBadRequest,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import GetMe, GetUpdates, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.api_retry import RetryTransientErrors, sender_retries
from bot.app import create_bot
from bot.local_session import LocalSession
from bot.sender import Outcome, Sender
from bot.settings import Settings
from tests.unit.test_sender import FakeClock, RecordingSession

# (method, how many calls came before this one) -> an error to raise, or None
Fail = Callable[[TelegramMethod[Any], int], BaseException | None]


def page_502() -> ClientDecodeError:
    return ClientDecodeError("Failed to decode object", ValueError("not JSON"), "<html>502</html>")


class FailingSession(LocalSession):
    def __init__(self, fail: Fail) -> None:
        super().__init__()
        self.fail = fail
        self.calls: list[TelegramMethod[Any]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None  # noqa: ASYNC109
    ) -> TelegramType:
        seen = len(self.calls)
        self.calls.append(method)
        if (error := self.fail(method, seen)) is not None:
            raise error
        return await super().make_request(bot, method, timeout)


def retrying_bot(fail: Fail, **options: Any) -> tuple[Bot, FailingSession, list[float]]:
    slept: list[float] = []

    async def sleep(delay: float) -> None:
        slept.append(delay)

    session = FailingSession(fail)
    session.middleware(RetryTransientErrors(sleep=sleep, **options))
    return Bot("42:TEST", session=session), session, slept


def first(n: int, error: Callable[[], BaseException]) -> Fail:
    return lambda method, seen: error() if seen < n else None


async def test_a_reply_after_a_server_error_is_sent_on_retry(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bot, session, slept = retrying_bot(
        first(1, lambda: TelegramServerError(SendMessage(chat_id=1, text="x"), "Bad Gateway"))
    )
    with caplog.at_level(logging.WARNING, logger="bot.api_retry"):
        message = await bot.send_message(1, "hello")
    assert message.text == "hello"
    assert len(session.calls) == 2
    assert len(slept) == 1 and 0.5 <= slept[0] <= 0.55
    assert [record.getMessage() for record in caplog.records] == [
        f"sendMessage: TelegramServerError, retry in {slept[0]:.1f}s (attempt 1/3)"
    ]


async def test_flood_wait_is_waited_out() -> None:
    method = SendMessage(chat_id=1, text="x")
    bot, _session, slept = retrying_bot(
        first(1, lambda: TelegramRetryAfter(method, "Too Many Requests", retry_after=7))
    )
    await bot.send_message(1, "hello")
    assert slept == [7.0]


async def test_a_long_flood_wait_is_not_waited_in_a_handler() -> None:
    method = SendMessage(chat_id=1, text="x")
    bot, session, slept = retrying_bot(
        first(1, lambda: TelegramRetryAfter(method, "Too Many Requests", retry_after=300))
    )
    with pytest.raises(TelegramRetryAfter):
        await bot.send_message(1, "hello")
    assert slept == [] and len(session.calls) == 1


@pytest.mark.parametrize(
    "error",
    [
        lambda: TelegramNetworkError(SendMessage(chat_id=1, text="x"), "Request timeout error"),
        page_502,
    ],
)
async def test_network_errors_and_garbled_answers_are_retried_then_given_up(
    error: Callable[[], BaseException], caplog: pytest.LogCaptureFixture
) -> None:
    bot, session, slept = retrying_bot(first(10, error))
    with caplog.at_level(logging.WARNING, logger="bot.api_retry"), pytest.raises(type(error())):
        await bot.send_message(1, "hello")
    assert len(session.calls) == 3
    assert len(slept) == 2 and slept[1] > slept[0]
    assert "gave up after 3 attempts" in caplog.records[-1].getMessage()


async def test_a_bad_request_is_not_retried() -> None:
    bot, session, slept = retrying_bot(
        first(1, lambda: TelegramBadRequest(SendMessage(chat_id=1, text="x"), "chat not found"))
    )
    with pytest.raises(TelegramBadRequest):
        await bot.send_message(1, "hello")
    assert len(session.calls) == 1 and slept == []


@pytest.mark.parametrize("method", [GetUpdates(timeout=1), GetMe()])
async def test_polling_and_the_startup_check_are_left_alone(method: TelegramMethod[Any]) -> None:
    bot, session, slept = retrying_bot(
        first(1, lambda: TelegramServerError(method, "Internal Server Error"))
    )
    with pytest.raises(TelegramServerError):
        await bot(method)
    assert len(session.calls) == 1 and slept == []


async def test_the_senders_calls_are_left_to_the_sender() -> None:
    bot, session, slept = retrying_bot(
        first(1, lambda: TelegramServerError(SendMessage(chat_id=1, text="x"), "Bad Gateway"))
    )
    with sender_retries(), pytest.raises(TelegramServerError):
        await bot.send_message(1, "hello")
    assert len(session.calls) == 1 and slept == []
    await bot.send_message(1, "again")  # outside: retried as usual (the error was used up)


async def test_only_the_network_session_retries() -> None:
    settings = Settings(bot_token="42:TEST", telegram_timeout=7)
    bot = create_bot(settings)
    try:
        assert isinstance(bot.session, AiohttpSession)
        assert bot.session.timeout == 7
        assert any(isinstance(m, RetryTransientErrors) for m in bot.session.middleware)
    finally:
        await bot.session.close()
    local = create_bot(settings, session=LocalSession())
    assert not list(local.session.middleware)


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
