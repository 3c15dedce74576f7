"""Flood control through the real dispatcher, in virtual time: slowed, told once, nothing lost."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from aiogram.methods import SendMessage

from bot.i18n import create_i18n
from bot.settings import Settings
from bot.throttling import ThrottlingMiddleware, TokenBuckets
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import MakeChat
from tests.handlers.harness import USER_ID, ChatHarness, Replies

OTHER_USER_ID = 2002
NOTICE = "You are sending messages very fast; I will handle them one by one."
NOTICE_RU = "Вы пишете очень быстро; я обработаю сообщения по очереди."


async def wait_until(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    """Let the real event loop (and aiosqlite's thread) run until condition holds."""
    async with asyncio.timeout(seconds):
        while True:
            if condition():
                return
            await asyncio.sleep(0.001)


def throttled_chat(make_chat: MakeChat, clock: FakeClock) -> ChatHarness:
    chat = make_chat(throttle_burst=10, throttle_per_second=5)
    ThrottlingMiddleware.of(chat.dispatcher).use_time(clock.monotonic, clock.sleep)
    return chat


def notices(chat: ChatHarness, chat_id: int, text: str = NOTICE) -> int:
    return sum(
        1
        for method in chat.session.requests
        if isinstance(method, SendMessage) and method.chat_id == chat_id and method.text == text
    )


async def drain(clock: FakeClock, tasks: list[asyncio.Task[Replies]]) -> None:
    """Move virtual time from one wake-up to the next until every update is handled."""
    async with asyncio.timeout(30):
        while not all(task.done() for task in tasks):
            if clock.sleeping:
                clock.wake_next()
            await asyncio.sleep(0.001)
    for task in tasks:
        task.result()  # re-raises anything a handler let escape


async def test_a_flood_is_slowed_told_once_and_nothing_is_lost(
    make_chat: MakeChat, storage: Storage
) -> None:
    clock = FakeClock(sleepers_wait=True)
    chat = throttled_chat(make_chat, clock)
    texts = [f"flood note {number}" for number in range(50)]
    # As polling does: every update is its own task, all at once.
    flood = [asyncio.create_task(chat.send(text)) for text in texts]

    # The burst goes through at once; the 11th waits for a token, the rest queue behind it.
    await wait_until(lambda: clock.sleeping == 1)
    assert await storage.notes.count(USER_ID, None) == 10
    assert notices(chat, USER_ID) == 1

    # Meanwhile another user is answered at once: no virtual second passes for them.
    other = await asyncio.wait_for(chat.send("a calm note", user_id=OTHER_USER_ID), 5)
    assert "Note saved" in other.text
    assert clock.monotonic() == 0.0
    assert await storage.notes.count(OTHER_USER_ID, None) == 1
    assert await storage.notes.count(USER_ID, None) == 10

    await drain(clock, flood)
    stored = await storage.notes.latest(USER_ID, None, offset=0, limit=100)
    assert [note.text for note in reversed(stored)] == texts  # all of them, in order
    assert notices(chat, USER_ID) == 1
    assert notices(chat, OTHER_USER_ID) == 0
    saved = [
        method for method in chat.session.requests
        if isinstance(method, SendMessage) and method.chat_id == USER_ID
        and (method.text or "").startswith("📝 Note saved")
    ]
    assert len(saved) == 50
    # 40 updates beyond the burst at 5 a second.
    assert clock.monotonic() == pytest.approx(8.0)


async def test_each_flood_episode_is_told_once_and_calm_typing_never(
    make_chat: MakeChat, storage: Storage
) -> None:
    clock = FakeClock(sleepers_wait=True)
    chat = throttled_chat(make_chat, clock)
    for number in range(30):  # a person typing: one message every 0.3 s
        await chat.send(f"calm {number}")
        clock.advance(0.3)
    assert notices(chat, USER_ID) == 0
    assert clock.sleeping == 0

    first = [asyncio.create_task(chat.send(f"first {n}")) for n in range(15)]
    await drain(clock, first)
    assert notices(chat, USER_ID) == 1
    clock.advance(1.0)  # not yet calm: the bucket is still far from full
    again = [asyncio.create_task(chat.send(f"again {n}")) for n in range(15)]
    await drain(clock, again)
    assert notices(chat, USER_ID) == 1
    clock.advance(10.0)  # calm again: the next flood is a new episode
    second = [asyncio.create_task(chat.send(f"second {n}")) for n in range(15)]
    await drain(clock, second)
    assert notices(chat, USER_ID) == 2
    assert await storage.notes.count(USER_ID, None) == 75


async def test_the_notice_is_in_the_users_language(make_chat: MakeChat) -> None:
    clock = FakeClock(sleepers_wait=True)
    chat = throttled_chat(make_chat, clock)
    flood = [
        asyncio.create_task(chat.send(f"заметка {n}", language_code="ru")) for n in range(12)
    ]
    await drain(clock, flood)
    assert notices(chat, USER_ID, NOTICE_RU) == 1
    assert notices(chat, USER_ID, NOTICE) == 0


async def test_button_presses_count_too(make_chat: MakeChat) -> None:
    clock = FakeClock(sleepers_wait=True)
    chat = throttled_chat(make_chat, clock)
    presses = [asyncio.create_task(chat.press_data("garbage")) for _ in range(20)]
    await drain(clock, presses)
    assert notices(chat, USER_ID) == 1
    assert clock.monotonic() == pytest.approx(2.0)


async def test_off_when_the_burst_is_zero(make_chat: MakeChat, storage: Storage) -> None:
    chat = make_chat()  # the handler tests' settings: THROTTLE_BURST=0
    flood = [asyncio.create_task(chat.send(f"n {n}")) for n in range(30)]
    await asyncio.wait_for(asyncio.gather(*flood), 10)
    assert notices(chat, USER_ID) == 0
    assert await storage.notes.count(USER_ID, None) == 30


def test_buckets_wait_times_and_idle_users_are_forgotten() -> None:
    now = [0.0]
    buckets = TokenBuckets(burst=3, rate=2.0, time_source=lambda: now[0])
    waits = [buckets.reserve(1) for _ in range(6)]
    assert waits == [(0.0, False)] * 3 + [(0.5, True), (1.0, False), (1.5, False)]
    assert buckets.reserve(2) == (0.0, False)  # another user is not slowed
    # Thousands of users write once each, a little apart: only the recent ones are kept.
    for user_id in range(100, 20_100):
        now[0] += 0.01
        buckets.reserve(user_id)
    assert len(buckets) <= 3 / 2.0 / 0.01 + 1
    now[0] += 10
    buckets.reserve(1)
    assert len(buckets) == 1


def test_buckets_never_hold_more_than_the_cap() -> None:
    buckets = TokenBuckets(burst=10, rate=0.001, time_source=lambda: 0.0, max_users=100)
    for user_id in range(1000):
        buckets.reserve(user_id)
    assert len(buckets) == 100


def test_settings_validate_the_throttle() -> None:
    with pytest.raises(ValueError, match="throttle_per_second"):
        Settings.model_validate({"throttle_per_second": 0})
    with pytest.raises(ValueError, match="throttle_burst"):
        Settings.model_validate({"throttle_burst": -1})
    assert create_i18n("ru").gettext(NOTICE, locale="ru") == NOTICE_RU
