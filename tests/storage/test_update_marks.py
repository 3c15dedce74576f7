"""The applied-update record rides in the transaction of the update's first change."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage import update_marks
from storage.errors import UpdateAlreadyAppliedError
from storage.sqlite import open_sqlite_storage
from storage.sqlite.database import Database
from storage.sqlite.updates import SqliteAppliedUpdateRepo

NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)
BOT = 42


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "t.sqlite3")
    await database.execute("CREATE TABLE things (name TEXT)")
    yield database
    await database.close()


async def things(db: Database) -> int:
    row = await db.fetchone("SELECT count(*) FROM things")
    assert row is not None
    return int(row[0])


async def test_the_first_change_records_the_update_once(db: Database) -> None:
    updates = SqliteAppliedUpdateRepo(db)
    with update_marks.marking(BOT, 7, NOW):
        assert await db.execute("UPDATE things SET name = 'x'") == 0  # no change: no record
        assert not await updates.applied(BOT, 7)
        await db.execute("INSERT INTO things VALUES ('a')")
        assert await updates.applied(BOT, 7)
        async with db.transaction():  # a later write does not record it again (no conflict)
            await db.execute("INSERT INTO things VALUES ('b')")
    assert await updates.applied(BOT, 7)
    assert not await updates.applied(BOT + 1, 7), "update ids are per bot"
    assert await updates.last_id(BOT) == 7


async def test_a_rolled_back_write_rolls_back_the_record(db: Database) -> None:
    updates = SqliteAppliedUpdateRepo(db)
    with update_marks.marking(BOT, 7, NOW) as mark:
        with pytest.raises(RuntimeError):
            async with db.transaction():
                await db.execute("INSERT INTO things VALUES ('a')")
                raise RuntimeError("the handler failed half-way")
        assert not mark.recorded
    assert not await updates.applied(BOT, 7)
    assert await things(db) == 0


async def test_a_second_delivery_racing_the_first_is_rolled_back(db: Database) -> None:
    with update_marks.marking(BOT, 7, NOW):
        await db.execute("INSERT INTO things VALUES ('first')")
    # Another delivery passed the "applied?" look before the first committed.
    with update_marks.marking(BOT, 7, NOW), pytest.raises(UpdateAlreadyAppliedError):
        await db.execute("INSERT INTO things VALUES ('second')")
    assert await things(db) == 1


async def test_unmarked_writes_and_writes_after_the_update_record_nothing(
    db: Database,
) -> None:
    updates = SqliteAppliedUpdateRepo(db)
    later: list[asyncio.Task[int]] = []
    with update_marks.marking(BOT, 7, NOW):
        with update_marks.unmarked():
            await db.execute("INSERT INTO things VALUES ('upkeep')")
        # A task started by the update inherits its context, but writes after it ended.
        started = asyncio.Event()

        async def background() -> int:
            await started.wait()
            return await db.execute("INSERT INTO things VALUES ('later')")

        later.append(asyncio.create_task(background()))
    started.set()
    await later[0]
    assert await things(db) == 2
    assert not await updates.applied(BOT, 7)


async def test_prune_forgets_old_records(tmp_path: Path) -> None:
    storage = await open_sqlite_storage(tmp_path / "s.sqlite3")
    try:
        for update_id, age in ((1, timedelta(days=8)), (2, timedelta(days=1))):
            with update_marks.marking(BOT, update_id, NOW - age):
                await storage.users.ensure(update_id, NOW)
        assert await storage.updates.prune(NOW - timedelta(days=7)) == 1
        assert not await storage.updates.applied(BOT, 1)
        assert await storage.updates.applied(BOT, 2)
    finally:
        await storage.backend.close()
