"""A full disk or a read-only database: a clear answer, nothing half-written, then recovery.

Disk full is SQLite's own limit (`PRAGMA max_page_count` at the current size, the free room
in the pages taken by filler rows of another owner), so inserts fail with SQLITE_FULL: those
tests are SQLite's. Read-only runs on both backends (tests/fault_injection.py): SQLite's
`PRAGMA query_only`, PostgreSQL's `default_transaction_read_only`; either way the backend
raises StorageReadOnlyError and the user gets the same answer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram.methods import SendMessage

from bot.i18n import create_i18n
from bot.runtime import Runtime
from bot.services.reminder_delivery import STALE_CLAIM
from bot.services.reminders import ReminderPlanner
from storage.errors import StorageFullError
from storage.faults import StorageFault, storage_fault
from storage.interfaces import Storage
from storage.models import Task
from storage.sqlite import Database
from tests.fakes.clock import FakeClock
from tests.fault_injection import column, is_postgres, read_only, scalar
from tests.handlers.conftest import make_settings
from tests.handlers.harness import USER_ID, ChatHarness, Replies

RU_USER = 2002
FILLER = 7  # the owner of the rows that fill the disk
STAMP = "2026-11-26T11:37:00+00:00"
FAR = "2030-01-01T00:00:00+00:00"
UNLIMITED = 1_073_741_823

SAVE_FAILED = (
    "⚠️ Could not save that: the bot's storage is not accepting changes right now. "
    "Please try again in a few minutes."
)
SAVE_FAILED_RU = (
    "⚠️ Не удалось сохранить: хранилище бота сейчас не принимает изменения. "
    "Попробуйте ещё раз через несколько минут."
)
NOTE = "Acme: budget for January approved after a long call with their finance director"
TASK = "/task Acme: call about the budget tomorrow 10am"

_FILLERS = {
    "reminders": (
        "INSERT INTO reminders (owner_id, task_id, purpose, fire_at, status, created_at)"
        " VALUES (?, (SELECT min(id) FROM tasks WHERE owner_id = ?), 'due', ?, 'cancelled', ?)",
        (FILLER, FILLER, FAR, STAMP),
    ),
    "tasks": (
        "INSERT INTO tasks (owner_id, number, text, kind, created_at, updated_at) VALUES"
        " (?, (SELECT coalesce(max(number), 0) + 1 FROM tasks WHERE owner_id = ?), 'f',"
        " 'other', ?, ?)",
        (FILLER, FILLER, STAMP, STAMP),
    ),
    "notes": (
        "INSERT INTO notes (owner_id, text, created_at, updated_at) VALUES (?, 'f', ?, ?)",
        (FILLER, STAMP, STAMP),
    ),
}


def database(storage: Storage) -> Database:
    assert isinstance(storage.backend, Database)
    return storage.backend


async def counts(storage: Storage) -> dict[str, int]:
    """What the chat's users own, row by row, including the search index."""
    owners = (USER_ID, RU_USER)
    found = {
        table: await scalar(
            storage, f"SELECT count(*) FROM {table} WHERE owner_id IN (?, ?)", *owners
        )
        for table in ("notes", "tasks", "reminders", "clients")
    }
    if is_postgres(storage):  # its search vectors are columns of those rows
        return found
    return found | {
        "search_index": await scalar(
            storage, "SELECT count(*) FROM search_index WHERE owner IN (?, ?)",
            *(f"o{owner}" for owner in owners),
        )
    }


async def fill_the_disk(storage: Storage, tables: tuple[str, ...] = tuple(_FILLERS)) -> None:
    """No new page may be added, and the free room in the existing ones is taken."""
    db = database(storage)
    await db.execute("INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)", (FILLER, STAMP))
    await db.execute(*_FILLERS["tasks"])
    pages = await scalar(storage, "PRAGMA page_count")
    assert await scalar(storage, f"PRAGMA max_page_count = {pages}") == pages
    progress = True
    while progress:
        progress = False
        for table in tables:
            fault: StorageFault | None = None
            for _ in range(5000):
                try:
                    await db.execute(*_FILLERS[table])
                except StorageFullError as exc:
                    fault = storage_fault(exc)
                    break
                progress = True
            assert fault is StorageFault.DISK_FULL
    assert not db._connection.in_transaction


async def free_the_disk(storage: Storage) -> None:
    await scalar(storage, f"PRAGMA max_page_count = {UNLIMITED}")


def fault_lines(caplog: pytest.LogCaptureFixture, logger: str) -> list[logging.LogRecord]:
    return [
        record for record in caplog.records
        if record.name == logger and record.levelno >= logging.ERROR
    ]


@pytest.fixture
async def users(chat: ChatHarness) -> ChatHarness:
    """An English and a Russian user who have talked to the bot, and their client Acme."""
    await chat.send("/newclient Acme")
    await chat.send("/today", user_id=RU_USER, language_code="ru")
    await chat.send("/newclient Acme", user_id=RU_USER, language_code="ru")
    return chat


@pytest.mark.sqlite_only
async def test_a_full_disk_keeps_nothing_half_written_and_the_bot_recovers(
    users: ChatHarness, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    chat = users
    before = await counts(storage)
    await fill_the_disk(storage)

    with caplog.at_level(logging.INFO):
        assert (await chat.send(NOTE)).texts == [SAVE_FAILED]
        assert (await chat.send(TASK, user_id=RU_USER, language_code="ru")).texts == [
            SAVE_FAILED_RU
        ]
    assert await counts(storage) == before
    assert not database(storage)._connection.in_transaction
    lines = fault_lines(caplog, "handlers.errors")
    assert [record.getMessage().split(" in update ")[0] for record in lines] == [
        "storage unavailable (disk full)"
    ] * 2
    assert all(record.exc_info is None for record in lines)
    assert all("\n" not in record.getMessage() for record in lines)
    # Reading still works.
    assert "Acme" in (await chat.send("/clients")).text

    await free_the_disk(storage)
    assert "Note saved → Acme" in (await chat.send(NOTE)).text
    assert "✅ Задача #1" in (await chat.send(TASK, user_id=RU_USER, language_code="ru")).text
    after = await counts(storage)
    assert after["notes"] == before["notes"] + 1
    assert after["tasks"] == before["tasks"] + 1
    assert after["search_index"] == before["search_index"] + 2
    assert after["reminders"] == before["reminders"] + 2  # ahead of the call, and at its time


@pytest.mark.sqlite_only
async def test_a_task_and_its_reminders_are_saved_together(
    users: ChatHarness, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = users
    inserted: list[Task] = []
    create = storage.tasks.create

    async def spy(*args: Any, **kwargs: Any) -> Task:
        task = await create(*args, **kwargs)
        inserted.append(task)
        return task

    monkeypatch.setattr(storage.tasks, "create", spy)
    before = await counts(storage)
    # Room for a task, none for its reminders.
    await fill_the_disk(storage, tables=("reminders",))

    assert (await chat.send(TASK)).texts == [SAVE_FAILED]
    assert len(inserted) == 1, "the task row went in before the reminders failed"
    assert await counts(storage) == before
    assert await storage.tasks.get(USER_ID, inserted[0].id) is None

    await free_the_disk(storage)
    assert "✅ Task #1" in (await chat.send(TASK)).text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    assert len(await storage.reminders.pending_for_task(USER_ID, task.id)) == 2


async def test_a_read_only_database_refuses_politely_then_takes_writes_again(
    users: ChatHarness, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    chat = users
    before = await counts(storage)
    await read_only(storage, True)

    with caplog.at_level(logging.INFO):
        assert (await chat.send(NOTE)).texts == [SAVE_FAILED]
        assert (await chat.send(TASK, user_id=RU_USER, language_code="ru")).texts == [
            SAVE_FAILED_RU
        ]
        # Reading needs no write: /today answers as usual.
        today = await chat.send("/today")
        # Someone new cannot even be registered; they are answered in their language.
        assert (await chat.send("/start", user_id=3003, language_code="ru")).texts == [
            SAVE_FAILED_RU
        ]
    assert SAVE_FAILED not in today.text and today.texts
    assert await counts(storage) == before
    lines = fault_lines(caplog, "handlers.errors")
    assert [record.getMessage().split(" in update ")[0] for record in lines] == [
        "storage unavailable (read-only)"
    ] * 3

    await read_only(storage, False)
    assert "Note saved → Acme" in (await chat.send(NOTE)).text
    assert "✅ Задача #1" in (await chat.send(TASK, user_id=RU_USER, language_code="ru")).text
    after = await counts(storage)
    assert (after["notes"], after["tasks"]) == (before["notes"] + 1, before["tasks"] + 1)


async def test_a_button_pressed_while_read_only_gets_an_alert(
    users: ChatHarness, storage: Storage
) -> None:
    chat = users
    await chat.send(TASK)
    await read_only(storage, True)
    pressed = await chat.press("Undo")
    assert pressed.alerts == [SAVE_FAILED]
    assert await storage.tasks.get_by_number(USER_ID, 1) is not None
    await read_only(storage, False)
    assert (await chat.press("Undo")).alerts != [SAVE_FAILED]
    assert await storage.tasks.get_by_number(USER_ID, 1) is None


# Reminder delivery -----------------------------------------------------------------------


@pytest.fixture
async def runtime(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> AsyncIterator[Runtime]:
    planner = chat.dispatcher.workflow_data["services"].planner
    assert isinstance(planner, ReminderPlanner)
    fake = FakeClock()
    reminders = Runtime(
        bot=chat.bot, storage=storage, planner=planner, i18n=create_i18n("en"), clock=clock,
        settings=make_settings(backup_every_hours=0), sleep=fake.sleep, monotonic=fake.monotonic,
    )
    await reminders.sender.start()
    yield reminders
    reminders.reminders.shutdown()
    await reminders.sender.stop()


def sent(chat: ChatHarness, start: int) -> list[SendMessage]:
    return Replies(chat.session.requests[start:]).of(SendMessage)


async def reminder_statuses(storage: Storage) -> list[str]:
    return [
        str(status) for status in await column(
            storage, "SELECT status FROM reminders WHERE owner_id = ? ORDER BY fire_at", USER_ID
        )
    ]


# The call is tomorrow 10:00 in Moscow (UTC+3): its first reminder is 15 minutes ahead.
AHEAD = datetime(2026, 11, 27, 6, 45, tzinfo=UTC)


async def test_reminders_wait_out_a_read_only_database(
    chat: ChatHarness,
    storage: Storage,
    clock: FakeClock,
    runtime: Runtime,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await chat.send(TASK)
    clock.set(AHEAD)
    await read_only(storage, True)
    start = len(chat.session.requests)
    with caplog.at_level(logging.DEBUG, logger="bot.reminder_scheduler"):
        for _ in range(3):
            await runtime.reminders._sweep()  # the runtime survives every try
        assert sent(chat, start) == []
        lines = fault_lines(caplog, "bot.reminder_scheduler")
        assert len(lines) == 1, [record.getMessage() for record in lines]
        assert "storage unavailable (read-only)" in lines[0].getMessage()
        assert lines[0].exc_info is None

        await read_only(storage, False)
        await runtime.reminders._sweep()
    [ahead] = sent(chat, start)
    assert "in 15 minutes" in ahead.text and ahead.chat_id == USER_ID
    assert await reminder_statuses(storage) == ["sent", "pending"]
    assert any("storage accepts writes again" in r.getMessage() for r in caplog.records)


async def test_a_reminder_sent_as_the_disk_fails_is_recorded_later_not_sent_twice(
    chat: ChatHarness,
    storage: Storage,
    clock: FakeClock,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await chat.send(TASK)
    mark_sent = storage.reminders.mark_sent

    async def fails_as_the_disk_goes(reminder_id: int, now: datetime) -> None:
        await read_only(storage, True)
        await mark_sent(reminder_id, now)

    monkeypatch.setattr(storage.reminders, "mark_sent", fails_as_the_disk_goes)
    clock.set(AHEAD)
    start = len(chat.session.requests)
    with caplog.at_level(logging.INFO):
        await runtime.reminders._sweep()
    assert len(sent(chat, start)) == 1
    assert await reminder_statuses(storage) == ["claimed", "pending"]
    assert len(fault_lines(caplog, "bot.reminder_scheduler")) == 1

    monkeypatch.setattr(storage.reminders, "mark_sent", mark_sent)
    await read_only(storage, False)
    # Long enough for the claims to count as abandoned: they are recorded as sent first.
    clock.set(AHEAD + STALE_CLAIM + timedelta(minutes=1))
    await runtime.reminders._sweep()
    await runtime.reminders._sweep()
    assert len(sent(chat, start)) == 1
    assert await reminder_statuses(storage) == ["sent", "pending"]


async def test_the_alert_engine_waits_out_a_read_only_database(
    storage: Storage, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    async def turn(until: str) -> None:
        """Wake the engine until the log says `until` (each turn is a few thread hops)."""
        for _ in range(100):
            runtime.alerts.wake()
            await asyncio.sleep(0.01)
            if any(until in record.getMessage() for record in caplog.records):
                return

    await read_only(storage, True)
    with caplog.at_level(logging.INFO, logger="bot.services.alerts"):
        await runtime.alerts.start()
        try:
            await turn("storage unavailable")
            await turn("never logged: more turns on the read-only database")
            await read_only(storage, False)
            await turn("accepts writes again")
        finally:
            await runtime.alerts.stop()
    lines = fault_lines(caplog, "bot.services.alerts")
    assert [record.getMessage().split(":")[1] for record in lines] == [
        " storage unavailable (read-only)"
    ]
    assert lines[0].exc_info is None
    assert any("accepts writes again" in record.getMessage() for record in caplog.records)
