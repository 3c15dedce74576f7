"""Handlers' replies through the one outbound stream (bot/outbound.py), in fake time: a reply
that meets a run of server errors is delivered, not dropped after 3 tries; a crowd's replies
keep to Telegram's limits; a button's answer does not wait behind them."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import TelegramServerError
from aiogram.methods import AnswerCallbackQuery, SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.local_session import LocalSession
from bot.outbound import pace
from bot.sender import Sender
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import MakeChat
from tests.handlers.harness import ChatHarness


class FlakySession(LocalSession):
    """Answers the first ``failures`` sendMessage calls with a 502; notes each call's fake time."""

    def __init__(self, clock: FakeClock, failures: int = 0) -> None:
        super().__init__()
        self.clock = clock
        self.failures = failures
        self.failed = 0
        self.times: list[tuple[float, TelegramMethod[Any]]] = []

    async def make_request(
        self, bot: Bot, method: TelegramMethod[TelegramType], timeout: int | None = None  # noqa: ASYNC109
    ) -> TelegramType:
        if isinstance(method, SendMessage) and self.failed < self.failures:
            self.failed += 1
            raise TelegramServerError(method, "Bad Gateway")
        self.times.append((self.clock.monotonic(), method))
        return await super().make_request(bot, method, timeout)


@pytest.fixture
async def paced(make_chat: MakeChat) -> AsyncIterator[Any]:
    senders: list[Sender] = []

    async def build(failures: int = 0) -> tuple[ChatHarness, FlakySession, FakeClock]:
        clock = FakeClock()
        session = FlakySession(clock, failures)
        chat = make_chat(session=session)
        sender = Sender(chat.bot, sleep=clock.sleep, monotonic=clock.monotonic)
        pace(chat.bot, sender)
        await sender.start()
        senders.append(sender)
        return chat, session, clock

    yield build
    for sender in senders:
        await sender.stop(timeout=1.0)


async def test_a_reply_survives_more_than_3_server_errors(paced: Any) -> None:
    chat, session, _ = await paced(failures=5)
    replies = await chat.send("/newclient Acme")
    assert session.failed == 5
    assert "Client “Acme” added." in replies.text
    assert "Something went wrong" not in replies.text


async def test_a_crowds_replies_keep_to_the_limits(paced: Any) -> None:
    chat, session, _ = await paced()
    people = range(5000, 5040)
    await asyncio.gather(*(chat.send("/newclient Acme", user_id=user) for user in people))
    sends = [(at, m) for at, m in session.times if isinstance(m, SendMessage)]
    assert len(sends) == 2 * len(people)  # "added" and the card, for each
    times = [at for at, _ in sends]
    assert max(sum(1 for t in times if s <= t < s + 1.0) for s in times) <= 30
    for user in people:
        mine = [at for at, m in sends if m.chat_id == user]
        assert all(b - a >= 1.0 for a, b in itertools.pairwise(mine))


# Measured in virtual time: on PostgreSQL the press's own database round trips take real
# time, during which the virtual-time sender sends on, so the figure says nothing there.
@pytest.mark.sqlite_only
async def test_a_button_is_answered_while_replies_queue(paced: Any) -> None:
    chat, _, clock = await paced()
    await chat.send("/newclient Acme")
    crowd = [
        asyncio.create_task(chat.send("/newclient Other", user_id=user))
        for user in range(6000, 6060)
    ]
    await asyncio.sleep(0)
    before = clock.monotonic()
    pressed = await chat.press_data("nonsense")  # a stale button: answered, nothing else
    assert pressed.of(AnswerCallbackQuery)
    assert clock.monotonic() - before < 0.5
    await asyncio.gather(*crowd)
