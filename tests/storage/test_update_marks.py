"""The applied-update record rides in the transaction of the update's first change.

On both backends, through the repositories: SQLite tells a change by its change counter,
PostgreSQL by the transaction id a write assigns.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from storage import update_marks
from storage.errors import UpdateAlreadyAppliedError
from storage.interfaces import Storage

NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)
BOT = 42


async def test_the_first_change_records_the_update_once(storage: Storage) -> None:
    updates = storage.updates
    with update_marks.marking(BOT, 7, NOW):
        await storage.users.set_language(1, "ru")  # no such user: no change, no record
        assert not await updates.applied(BOT, 7)
        await storage.users.ensure(1, NOW)
        assert await updates.applied(BOT, 7)
        async with storage.backend.atomic():  # a later write does not record it again
            await storage.users.set_language(1, "ru")
    assert await updates.applied(BOT, 7)
    assert not await updates.applied(BOT + 1, 7), "update ids are per bot"
    assert await updates.last_id(BOT) == 7


async def test_a_rolled_back_write_rolls_back_the_record(storage: Storage) -> None:
    with update_marks.marking(BOT, 7, NOW) as mark:
        with pytest.raises(RuntimeError):
            async with storage.backend.atomic():
                await storage.users.ensure(1, NOW)
                raise RuntimeError("the handler failed half-way")
        assert not mark.recorded
    assert not await storage.updates.applied(BOT, 7)
    assert await storage.users.get(1) is None


async def test_a_second_delivery_racing_the_first_is_rolled_back(storage: Storage) -> None:
    with update_marks.marking(BOT, 7, NOW):
        await storage.users.ensure(1, NOW)
    # Another delivery passed the "applied?" look before the first committed.
    with update_marks.marking(BOT, 7, NOW), pytest.raises(UpdateAlreadyAppliedError):
        await storage.users.ensure(2, NOW)
    assert await storage.users.get(1) is not None
    assert await storage.users.get(2) is None


async def test_unmarked_writes_and_writes_after_the_update_record_nothing(
    storage: Storage,
) -> None:
    later: list[asyncio.Task[object]] = []
    with update_marks.marking(BOT, 7, NOW):
        with update_marks.unmarked():
            await storage.users.ensure(1, NOW)
        # A task started by the update inherits its context, but writes after it ended.
        started = asyncio.Event()

        async def background() -> object:
            await started.wait()
            return await storage.users.ensure(2, NOW)

        later.append(asyncio.create_task(background()))
    started.set()
    await later[0]
    assert await storage.users.get(1) is not None
    assert await storage.users.get(2) is not None
    assert not await storage.updates.applied(BOT, 7)


async def test_prune_forgets_old_records(storage: Storage) -> None:
    for update_id, age in ((1, timedelta(days=8)), (2, timedelta(days=1))):
        with update_marks.marking(BOT, update_id, NOW - age):
            await storage.users.ensure(update_id, NOW)
    assert await storage.updates.prune(NOW - timedelta(days=7)) == 1
    assert not await storage.updates.applied(BOT, 1)
    assert await storage.updates.applied(BOT, 2)
