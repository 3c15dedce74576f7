"""The daily digest: on working mornings at the chosen time, once, and on demand."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aiogram.methods import SendMessage

from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.handlers.harness import ChatHarness, Replies
from tests.handlers.test_reminders import Reminders, moscow


@pytest.fixture
async def runtime(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> AsyncIterator[Reminders]:
    driver = Reminders(chat, storage, clock)
    await driver.runtime.sender.start()
    yield driver
    await driver.runtime.sender.stop()


async def digests(runtime: Reminders) -> Replies:
    start = len(runtime.chat.session.requests)
    await runtime.runtime.digests.run()
    return Replies(runtime.chat.session.requests[start:])


async def test_digest_on_working_mornings_once(
    chat: ChatHarness, runtime: Reminders, clock: FakeClock
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/task Acme: budget call tomorrow 10am")
    await chat.send("/task Acme: old invoice 20.11 12:00")
    assert list(await digests(runtime)) == []  # Thursday afternoon: planned for Friday 09:00
    clock.set(moscow(27, 8, 59))
    assert list(await digests(runtime)) == []
    clock.set(moscow(27, 9, 0))
    [digest] = (await digests(runtime)).of(SendMessage)
    assert "☀️ Good morning!" in digest.text
    assert "Today, Fri 27 November" in digest.text
    assert "budget call" in digest.text
    assert "Overdue from earlier days: 1" in digest.text
    labels = [button.text for row in digest.reply_markup.inline_keyboard for button in row]
    assert "✅ #1" in labels and "⚠️ Overdue" in labels
    assert list(await digests(runtime)) == []  # once
    clock.set(moscow(28, 9, 0))  # Saturday
    assert list(await digests(runtime)) == []
    clock.set(moscow(30, 9, 0))  # Monday
    assert len((await digests(runtime)).of(SendMessage)) == 1


async def test_digest_time_and_off(
    chat: ChatHarness, runtime: Reminders, clock: FakeClock
) -> None:
    assert "8:30" in (await chat.send("/digest 8:30")).text.replace("08:30", "8:30")
    await digests(runtime)
    clock.set(moscow(27, 8, 30))
    assert len((await digests(runtime)).of(SendMessage)) == 1
    off = await chat.send("/digest off")
    assert "off" in off.text
    clock.set(moscow(30, 8, 30))
    assert list(await digests(runtime)) == []
    assert "did not understand" in (await chat.send("/digest 25:99")).text


async def test_digest_on_demand_with_clients_not_heard_from(
    chat: ChatHarness, clock: FakeClock
) -> None:
    await chat.send("/newclient Бета")
    await chat.send("/newclient Acme")
    await chat.send("/task Acme: call tomorrow 10am")
    clock.advance(timedelta(days=45))
    await chat.send("/done 1")  # a contact with Acme today
    replies = await chat.send("/digest")
    assert "📋 Your digest" in replies.text
    assert "Haven't talked to: Бета (45 days)" in replies.text
    assert "Acme (" not in replies.text
    assert "Every working day at 09:00" in replies.text


async def test_silence_is_measured_against_the_clients_cadence(
    chat: ChatHarness, clock: FakeClock
) -> None:
    await chat.send("/newclient Weekly")
    await chat.press("Cadence")
    await chat.send("созвон каждый понедельник в 11")
    await chat.send("/newclient Quiet")
    await chat.send("/newclient Noted")
    clock.advance(timedelta(days=10))
    await chat.send("Noted: созвонились, всё хорошо")  # a note is a contact too
    replies = await chat.send("/digest")
    assert "Haven't talked to: Weekly (10 days)" in replies.text
    assert "Quiet" not in replies.text and "Noted (" not in replies.text
    clock.advance(timedelta(days=25))
    later = await chat.send("/digest")
    assert "Quiet (35 days)" in later.text
