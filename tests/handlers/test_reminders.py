"""Reminders with a frozen, steppable clock: planned with the task, sent once, on time."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram import Bot
from aiogram.exceptions import (
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
)
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType

from bot.i18n import create_i18n
from bot.local_session import LocalSession
from bot.runtime import Runtime
from bot.services.reminder_delivery import STALE_CLAIM, ReminderDelivery
from bot.services.reminders import RECONCILE_BATCH, ReminderPlanner
from storage.interfaces import Storage
from storage.models import TaskKind
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import MakeChat, make_settings
from tests.handlers.harness import USER_ID, ChatHarness, Replies, buttons

MSK = 3  # Moscow is UTC+3 all year


def moscow(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, day, hour - MSK, minute, tzinfo=UTC)


class FlakySession(LocalSession):
    """Raises the queued errors for sendMessage, one per call, then behaves."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[Callable[[TelegramMethod[Any]], Exception]] = []

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        if isinstance(method, SendMessage) and self.failures:
            raise self.failures.pop(0)(method)
        return await super().make_request(bot, method, timeout)


class Reminders:
    """The app's reminder runtime over the chat's bot, driven by hand instead of APScheduler."""

    def __init__(self, chat: ChatHarness, storage: Storage, clock: FakeClock) -> None:
        self.chat = chat
        planner = chat.dispatcher.workflow_data["services"].planner
        assert isinstance(planner, ReminderPlanner)
        fake = FakeClock()
        self.runtime = Runtime(
            bot=chat.bot, storage=storage, planner=planner, i18n=create_i18n("en"),
            clock=clock, settings=make_settings(), sleep=fake.sleep, monotonic=fake.monotonic,
        )

    async def deliver(self) -> Replies:
        start = len(self.chat.session.requests)
        await self.runtime.delivery.deliver_due()
        replies = Replies(self.chat.session.requests[start:])
        # Let the harness press buttons on the reminder.
        for method, result in zip(
            replies, self.chat.session.responses[start:], strict=True
        ):
            if isinstance(method, SendMessage) and method.reply_markup is not None:
                self.chat.keyboard_message[int(method.chat_id)] = result.message_id  # type: ignore[attr-defined]
        return replies


@pytest.fixture
async def flaky(make_chat: MakeChat) -> tuple[ChatHarness, FlakySession]:
    session = FlakySession()
    return make_chat(session=session), session


@pytest.fixture
async def reminders(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> AsyncIterator[Reminders]:
    driver = Reminders(chat, storage, clock)
    await driver.runtime.sender.start()
    yield driver
    await driver.runtime.sender.stop()


async def test_reminder_ahead_of_a_call_and_at_its_moment(
    chat: ChatHarness, reminders: Reminders, clock: FakeClock
) -> None:
    await chat.send("/newclient Acme")
    await chat.press("Phone")
    await chat.send("+7 900 000-00-00")
    await chat.send("/task Acme: call about the budget tomorrow 10am")

    clock.set(moscow(27, 9, 44))
    assert list(await reminders.deliver()) == []

    clock.set(moscow(27, 9, 45))
    [ahead] = (await reminders.deliver()).of(SendMessage)
    assert ahead.chat_id == USER_ID
    assert "🔔 📞 <b>Acme</b> — call about the budget" in ahead.text
    assert "Fri 27 Nov, 10:00 · in 15 minutes" in ahead.text
    assert "+7 900 000-00-00" in ahead.text
    labels = [label for label, _ in buttons(ahead.reply_markup)]
    assert labels == ["✅ Done", "✏️ Reschedule", "⏰ 15 min", "⏰ 1 h", "⏰ Tomorrow", "⏰ Pick…"]
    assert list(await reminders.deliver()) == []  # exactly once

    clock.set(moscow(27, 10, 0))
    [due] = (await reminders.deliver()).of(SendMessage)
    assert "Fri 27 Nov, 10:00 · now" in due.text
    assert "Late" not in due.text


async def test_a_task_done_before_its_moment_sends_nothing(
    chat: ChatHarness, reminders: Reminders, clock: FakeClock
) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    await chat.send("/done 1")
    clock.set(moscow(27, 12, 0))
    assert list(await reminders.deliver()) == []


async def test_moved_task_reminds_at_the_new_time_only(
    chat: ChatHarness, reminders: Reminders, clock: FakeClock
) -> None:
    await chat.send("/task send the report tomorrow 15:00")  # report: reminded a day ahead
    await chat.press("Change time")
    await chat.press("Pick…")
    await chat.send("30.11 12:00")
    clock.set(moscow(27, 15, 0))
    assert list(await reminders.deliver()) == []
    clock.set(moscow(30, 12, 0))
    [reminder] = (await reminders.deliver()).of(SendMessage)
    assert "Mon 30 Nov, 12:00 · now" in reminder.text


async def test_a_moment_the_user_typed_fires_then_even_outside_working_hours(
    chat: ChatHarness, reminders: Reminders, clock: FakeClock
) -> None:
    # Late evening, hours 09:00–19:00 Mon–Fri: "in 5 minutes" is a moment the user chose.
    clock.set(moscow(26, 23, 23))
    card = await chat.send("/task Вектор: test in 5 minutes")
    assert "Thu 26 Nov, 23:28" in card.text
    assert "Reminder: at the time" in card.text
    assert "🌙" not in card.text  # nothing will be held
    clock.set(moscow(26, 23, 28))
    [reminder] = (await reminders.deliver()).of(SendMessage)
    assert "Thu 26 Nov, 23:28 · now" in reminder.text
    assert "Held over" not in reminder.text
    # The same on a Saturday at noon.
    await chat.send("/task buy flowers for Olga sat 12:00")
    clock.set(moscow(28, 12, 0))
    [saturday] = (await reminders.deliver()).of(SendMessage)
    assert "Sat 28 Nov, 12:00 · now" in saturday.text


async def test_an_ahead_reminder_outside_hours_is_held_and_the_card_says_when(
    chat: ChatHarness, reminders: Reminders, clock: FakeClock
) -> None:
    # A report is reminded a day ahead: Sunday 10:00 is outside hours, so Monday 09:00.
    card = await chat.send("/task send the report mon 10:00")
    assert "Reminder: 1 day before and at the time" in card.text
    assert (
        "🌙 The early reminder comes Mon 30 Nov, 09:00, after your working hours start."
        in card.text
    )
    clock.set(moscow(29, 10, 0))  # Sunday
    assert list(await reminders.deliver()) == []
    clock.set(moscow(30, 8, 59))
    assert list(await reminders.deliver()) == []
    clock.set(moscow(30, 9, 0))  # Monday, start of the working day
    [held] = (await reminders.deliver()).of(SendMessage)
    assert "Mon 30 Nov, 10:00 · in 1 hour" in held.text
    assert "Held over from Sun 29 Nov, 10:00, outside your working hours." in held.text
    assert list(await reminders.deliver()) == []
    clock.set(moscow(30, 10, 0))
    [due] = (await reminders.deliver()).of(SendMessage)
    assert "Mon 30 Nov, 10:00 · now" in due.text


async def test_a_call_early_tomorrow_says_its_heads_up_is_skipped(chat: ChatHarness) -> None:
    card = await chat.send("/task call Ivan 27.11 08:00")
    assert "Reminder: 15 minutes before and at the time" in card.text
    assert "only the one at the time" in card.text


@pytest.mark.parametrize("turn_off", ["/hours off", "button"])
async def test_turning_hours_off_releases_held_reminders(
    chat: ChatHarness, reminders: Reminders, clock: FakeClock, turn_off: str
) -> None:
    await chat.send("/task send the report mon 10:00")
    clock.set(moscow(29, 10, 0))  # Sunday: the day-ahead reminder is held for Monday
    assert list(await reminders.deliver()) == []
    clock.set(moscow(29, 10, 30))
    if turn_off == "button":
        await chat.send("/settings")
        assert "Working hours: off" in (await chat.press("Reminders any time")).text
    else:
        await chat.send(turn_off)
    [released] = (await reminders.deliver()).of(SendMessage)
    assert "Mon 30 Nov, 10:00 · in 23 hours" in released.text
    assert "Held over from Sun 29 Nov, 10:00" in released.text
    assert list(await reminders.deliver()) == []


async def test_narrower_hours_hold_what_the_bot_timed_from_now_on(
    chat: ChatHarness, reminders: Reminders, clock: FakeClock
) -> None:
    await chat.send("/task send the report 01.12 10:00")  # ahead: Mon 30 Nov 10:00
    await chat.send("/hours 11-19")
    clock.set(moscow(30, 10, 0))
    assert list(await reminders.deliver()) == []
    clock.set(moscow(30, 11, 0))
    [held] = (await reminders.deliver()).of(SendMessage)
    assert "Held over from Mon 30 Nov, 10:00" in held.text


async def test_hours_off_delivers_at_any_time(
    chat: ChatHarness, reminders: Reminders, clock: FakeClock
) -> None:
    replies = await chat.send("/hours off")
    assert "off" in replies.text
    await chat.send("/task buy flowers for Olga sat 12:00")
    clock.set(moscow(28, 12, 0))
    assert len((await reminders.deliver()).of(SendMessage)) == 1


async def test_hours_command(chat: ChatHarness) -> None:
    assert "09:00–19:00, Mon–Fri" in (await chat.send("/hours")).text
    assert "10:30–18:00" in (await chat.send("/hours 10:30-18:00")).text
    assert "did not understand" in (await chat.send("/hours 19-9")).text


async def test_reminder_due_while_down_arrives_once_marked_late(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    clock.set(moscow(27, 12, 0))  # the bot was down from before 09:45 until noon
    restarted = Reminders(chat, storage, clock)
    await restarted.runtime.sender.start()
    try:
        first = (await restarted.deliver()).of(SendMessage)
        second = (await restarted.deliver()).of(SendMessage)
    finally:
        await restarted.runtime.sender.stop()
    [late] = first
    assert "Late: this reminder was due at Fri 27 Nov, 10:00." in late.text
    assert "2 hours ago" in late.text
    assert second == []  # the skipped "15 minutes ahead" one is not sent either


async def test_a_claim_left_by_a_crash_is_sent_again_once(
    chat: ChatHarness, storage: Storage, reminders: Reminders, clock: FakeClock
) -> None:
    await chat.send("/task buy flowers today 18:00")
    clock.set(moscow(26, 18, 0))
    claimed = await storage.reminders.claim_due(clock.now(), "dead-process", 10)
    assert len(claimed) == 1  # ...and the process died before sending
    assert list(await reminders.deliver()) == []
    clock.advance(timedelta(minutes=3))
    await reminders.runtime.delivery.release_stale_claims()
    [resent] = (await reminders.deliver()).of(SendMessage)
    assert "buy flowers" in resent.text
    assert list(await reminders.deliver()) == []


async def test_snooze_keeps_the_task_and_reminds_again(
    chat: ChatHarness, storage: Storage, reminders: Reminders, clock: FakeClock
) -> None:
    await chat.send("/task buy flowers today 18:00")
    clock.set(moscow(26, 18, 0))
    await reminders.deliver()
    snoozed = await chat.press("⏰ 15 min")
    assert "⏰ Until Thu 26 Nov, 18:15" in snoozed.alerts
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.due_at == moscow(26, 18, 0)  # the task did not move
    clock.set(moscow(26, 18, 14))
    assert list(await reminders.deliver()) == []
    clock.set(moscow(26, 18, 15))
    [again] = (await reminders.deliver()).of(SendMessage)
    assert "Snoozed reminder." in again.text


async def test_done_on_a_reminder_completes_the_task(
    chat: ChatHarness, storage: Storage, reminders: Reminders, clock: FakeClock
) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    clock.set(moscow(27, 9, 45))
    await reminders.deliver()
    done = await chat.press("✅ Done")
    assert "Done: #1" in done.alerts
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.status.value == "done"
    clock.set(moscow(27, 10, 0))
    assert list(await reminders.deliver()) == []
    stale = await chat.press("Reopen")
    assert "Task #1" in stale.text


async def test_blocked_user_is_marked_inactive_and_kept(
    flaky: tuple[ChatHarness, FlakySession], storage: Storage, clock: FakeClock
) -> None:
    chat, session = flaky
    await chat.send("/task call Ivan today 18:00")
    await chat.send("/task call Olga today 18:30")
    driver = Reminders(chat, storage, clock)
    await driver.runtime.sender.start()
    try:
        session.failures.append(
            lambda method: TelegramForbiddenError(method=method, message="Forbidden: blocked")
        )
        clock.set(moscow(26, 18, 0))
        assert (await driver.deliver()).of(SendMessage) == []
        profile = await storage.users.get(USER_ID)
        assert profile is not None and not profile.active
        clock.set(moscow(26, 18, 30))
        assert (await driver.deliver()).of(SendMessage) == []  # no more attempts
        assert await storage.tasks.get_by_number(USER_ID, 2) is not None  # data kept
        await chat.send("/today")  # they are back
        profile = await storage.users.get(USER_ID)
        assert profile is not None and profile.active
        [olga] = (await driver.deliver()).of(SendMessage)
        assert "call Olga" in olga.text
    finally:
        await driver.runtime.sender.stop()


async def test_retry_after_and_network_errors_are_retried(
    flaky: tuple[ChatHarness, FlakySession], storage: Storage, clock: FakeClock
) -> None:
    chat, session = flaky
    await chat.send("/task call Ivan today 18:00")
    driver = Reminders(chat, storage, clock)
    await driver.runtime.sender.start()
    try:
        session.failures += [
            lambda method: TelegramRetryAfter(
                method=method, message="Too Many Requests", retry_after=3
            ),
            lambda method: TelegramNetworkError(method=method, message="timeout"),
        ]
        clock.set(moscow(26, 18, 0))
        [sent] = (await driver.deliver()).of(SendMessage)
        assert "call Ivan" in sent.text
        assert session.failures == []
        assert list(await driver.deliver()) == []
    finally:
        await driver.runtime.sender.stop()


async def test_reminders_follow_kind_and_ahead_setting(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/task send the report 01.12 12:00")
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    planned = await storage.reminders.pending_for_task(USER_ID, task.id)
    assert [(r.purpose.value, r.fire_at) for r in planned] == [
        ("ahead", moscow(30, 12, 0)),
        ("due", datetime(2026, 12, 1, 9, 0, tzinfo=UTC)),
    ]


async def test_remind_ahead_is_changeable_per_task(chat: ChatHarness, storage: Storage) -> None:
    card = await chat.send("/task call Ivan 01.12 12:00")
    assert "🔔 Reminder: 15 minutes before and at the time" in card.text
    await chat.press("Edit")
    await chat.press("Ahead")
    changed = await chat.press("1 d before")
    assert "🔔 Reminder: 1 day before and at the time" in changed.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    planned = await storage.reminders.pending_for_task(USER_ID, task.id)
    assert [r.fire_at for r in planned] == [
        moscow(30, 12, 0), datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    ]
    await chat.press("Ahead")
    only = await chat.press("only at the time")
    assert "🔔 Reminder: at the time" in only.text
    assert len(await storage.reminders.pending_for_task(USER_ID, task.id)) == 1


class BlockedSession(LocalSession):
    """sendMessage waits until released: a reminder stuck in the sender's queue."""

    def __init__(self) -> None:
        super().__init__()
        self.blocking = False
        self.waiting = asyncio.Event()
        self.released = asyncio.Event()

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - BaseSession's signature
    ) -> TelegramType:
        if isinstance(method, SendMessage) and self.blocking:
            self.waiting.set()
            await self.released.wait()
        return await super().make_request(bot, method, timeout)


async def test_claims_waiting_in_the_sender_are_renewed_not_resent(
    make_chat: MakeChat, storage: Storage, clock: FakeClock
) -> None:
    """Another worker's sweep must not take back a claim this process is still sending."""
    session = BlockedSession()
    chat = make_chat(session=session)
    await chat.send("/task buy flowers today 18:00")
    driver = Reminders(chat, storage, clock)
    runtime = driver.runtime
    runtime.delivery = ReminderDelivery(
        storage.reminders, storage.users, runtime.sender, create_i18n("en"), clock,
        make_settings(), renew_claims_seconds=0.01,
    )
    await runtime.sender.start()
    try:
        clock.set(moscow(26, 18, 0))
        start = len(session.requests)
        session.blocking = True
        delivering = asyncio.create_task(runtime.delivery.deliver_due())
        await asyncio.wait_for(session.waiting.wait(), 5)
        clock.advance(timedelta(minutes=5))  # far past STALE_CLAIM, still queued
        await asyncio.sleep(0.1)  # several renewals
        assert await storage.reminders.release_stale_claims(clock.now() - STALE_CLAIM) == 0
        session.released.set()
        assert await asyncio.wait_for(delivering, 5) == 1
        assert await runtime.delivery.deliver_due() == 0
    finally:
        await runtime.sender.stop()
    sent = Replies(session.requests[start:]).of(SendMessage)
    assert [m.text.count("buy flowers") for m in sent] == [1]


async def test_start_up_plans_tasks_written_without_reminders(
    chat: ChatHarness, storage: Storage, reminders: Reminders, clock: FakeClock
) -> None:
    """A crash between the task write and its planning: start-up plans it, in batches."""
    await chat.send("/today")  # the user exists
    due = moscow(27, 10, 0)
    for number in range(RECONCILE_BATCH + 205):
        await storage.tasks.create(  # the bare repository: nothing planned
            USER_ID, client_id=None, text=f"call {number}", kind=TaskKind.CALL,
            due_at=due, now=clock.now(),
        )
    planner = chat.dispatcher.workflow_data["services"].planner
    assert await planner.reconcile() == RECONCILE_BATCH + 205
    assert await planner.reconcile() == 0
    clock.set(due)
    sent = (await reminders.deliver()).of(SendMessage)
    numbers = sorted(int(n) for m in sent for n in re.findall(r"call (\d+)", m.text))
    assert numbers == list(range(RECONCILE_BATCH + 205))  # each once


async def test_reconcile_ends_with_a_ladder_that_skips_the_due_day(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/invoice Acme 100 due 01.12")
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.task_id is not None
    await storage.reminders.cancel_for_task(USER_ID, invoice.task_id)
    planner = ReminderPlanner(storage.reminders, clock, payment_ladder=(-3, 3))
    # The task still has no 'due' reminder afterwards; reconcile must not loop on it.
    assert await asyncio.wait_for(planner.reconcile(), 5) == 1
    planned = await storage.reminders.pending_for_task(USER_ID, invoice.task_id)
    assert [r.fire_at for r in planned] == [
        datetime(2026, 11, 28, 7, tzinfo=UTC), datetime(2026, 12, 4, 7, tzinfo=UTC)
    ]
