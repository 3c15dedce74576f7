"""An update Telegram delivers again (its answer was lost: a crash after the commit) is
applied once: one note, one task, one invoice; the second delivery gets no reply."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.types import Chat, Message, MessageEntity, Update, User

from bot.idempotency import KEEP_APPLIED, PRUNE_EVERY, PruneAppliedUpdates
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.fault_injection import fail_inserts
from tests.handlers.harness import USER_ID, ChatHarness

# Far above the harness's own ids.
FIRST_ID = 9_000_000


def text_update(update_id: int, text: str, message_id: int = 1) -> Update:
    entities = None
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        entities = [MessageEntity(type="bot_command", offset=0, length=len(command))]
    return Update(
        update_id=update_id,
        message=Message(
            message_id=message_id,
            date=datetime.now(UTC),
            chat=Chat(id=USER_ID, type="private"),
            from_user=User(id=USER_ID, is_bot=False, first_name="Marina", language_code="en"),
            text=text,
            entities=entities,
        ),
    )


async def test_a_redelivered_note_task_and_invoice_are_applied_once(
    chat: ChatHarness, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.send("/newclient Acme")
    updates = [
        text_update(FIRST_ID, "Acme: budget approved after the call", message_id=501),
        text_update(FIRST_ID + 1, "/task call the CFO tomorrow 10am", message_id=502),
        text_update(FIRST_ID + 2, "/invoice Acme 1500,50 usd", message_id=503),
    ]
    for update in updates:
        first = await chat.feed(update)
        assert first.texts, "the first delivery is handled and answered"

    with caplog.at_level(logging.INFO, logger="bot.idempotency"):
        for update in updates:
            again = await chat.feed(update)
            assert list(again) == [], "a redelivery is skipped silently"

    assert await storage.notes.count(USER_ID, None) == 1
    assert await storage.tasks.get_by_number(USER_ID, 1) is not None
    invoice = await storage.invoices.get_by_number(USER_ID, 1)
    assert invoice is not None and invoice.amount_minor == 150050
    assert await storage.invoices.get_by_number(USER_ID, 2) is None
    # The invoice made its own follow-up task (#2); nothing else was made twice.
    assert await storage.tasks.get_by_number(USER_ID, 3) is None
    skipped = [r for r in caplog.records if "applied before" in r.getMessage()]
    assert len(skipped) == 3, "one log line per skipped update"


async def test_a_failed_write_records_nothing_and_the_retry_applies_it(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/start")  # the user row exists; the next update's write is the note
    await fail_inserts(storage, "notes", True)
    update = text_update(FIRST_ID, "Acme: budget approved after the call")

    failed = await chat.feed(update)
    assert "Could not save" in failed.text
    assert await storage.notes.count(USER_ID, None) == 0
    assert not await storage.updates.applied(42, FIRST_ID), "the mark rolled back with it"

    await fail_inserts(storage, "notes", False)
    retried = await chat.feed(update)  # Telegram tries again: now it is applied

    assert "Note saved" in retried.text
    assert await storage.notes.count(USER_ID, None) == 1
    assert await storage.updates.applied(42, FIRST_ID)
    assert list(await chat.feed(update)) == []
    assert await storage.notes.count(USER_ID, None) == 1


async def test_an_update_that_writes_nothing_is_answered_each_time(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/start")
    update = text_update(FIRST_ID, "/today")
    assert (await chat.feed(update)).texts
    assert (await chat.feed(update)).texts, "nothing was written, so nothing to protect"
    assert not await storage.updates.applied(42, FIRST_ID)


async def test_a_command_that_ends_a_prompt_is_recorded_by_its_own_write(
    chat: ChatHarness, storage: Storage
) -> None:
    # Leaving the prompt is a write too, made first; it must not count as "applied", or a
    # crash between it and the task would lose the task on redelivery.
    await chat.send("/newclient")  # asks for the name: a prompt is open
    update = text_update(FIRST_ID, "/task call the CFO tomorrow 10am")
    await fail_inserts(storage, "tasks", True)
    await chat.feed(update)
    assert not await storage.updates.applied(42, FIRST_ID)
    await fail_inserts(storage, "tasks", False)

    await chat.feed(update)
    assert await storage.tasks.get_by_number(USER_ID, 1) is not None
    assert await storage.updates.applied(42, FIRST_ID)


async def test_the_sweep_forgets_applied_updates_after_a_week(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    await chat.feed(text_update(FIRST_ID, "Acme: budget approved after the call"))
    assert await storage.updates.applied(42, FIRST_ID)
    job = PruneAppliedUpdates(storage.updates, clock)

    clock.advance(KEEP_APPLIED - timedelta(minutes=30))
    assert await job.run() == 0, "kept for a week"
    clock.advance(timedelta(minutes=31))
    assert await job.run() == 0, "looked half an hour ago: at most once an hour"
    clock.advance(PRUNE_EVERY)
    assert await job.run() == 1
    assert not await storage.updates.applied(42, FIRST_ID)
