"""Transactions under faults: all or nothing, and the connection stays usable afterwards.

The tests on `db` are about SQLite's own machinery (deferred keys, max_page_count,
query_only, its one connection); those on `storage` run on both backends through the
repositories and `storage.backend.atomic()`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from storage.errors import (
    DuplicateClientError,
    StorageConflictError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
    StorageUnavailableError,
)
from storage.faults import StorageFault, describe, storage_fault
from storage.interfaces import Storage
from storage.sqlite import Database, open_sqlite_storage
from storage.sqlite.database import ConstraintError, SqliteError, translate
from tests.fault_injection import read_only

NOW = "2026-11-26T11:37:00+00:00"
MOMENT = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)


@pytest.fixture
async def db(tmp_path: Path) -> AsyncIterator[Database]:
    database = await Database.open(tmp_path / "t.sqlite3")
    await database.execute("INSERT INTO users (id, created_at) VALUES (1, ?)", (NOW,))
    yield database
    await database.close()


async def count(db: Database, table: str) -> int:
    row = await db.fetchone(f"SELECT count(*) FROM {table}")
    assert row is not None
    return int(row[0])


async def add_note(conn: object, owner_id: int = 1, text: str = "hello") -> None:
    await conn.execute(  # type: ignore[attr-defined]
        "INSERT INTO notes (owner_id, text, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (owner_id, text, NOW, NOW),
    )


@pytest.mark.sqlite_only
async def test_a_failed_commit_is_rolled_back_and_the_connection_keeps_working(
    db: Database,
) -> None:
    # A deferred foreign key fails at COMMIT, and SQLite keeps the transaction open then.
    with pytest.raises(ConstraintError) as raised:
        async with db.transaction() as conn:
            await conn.execute("PRAGMA defer_foreign_keys = ON")
            await add_note(conn, text="kept")
            await add_note(conn, owner_id=404)
    assert isinstance(raised.value.__cause__, sqlite3.IntegrityError)
    assert not db._connection.in_transaction
    assert await count(db, "notes") == 0
    async with db.transaction() as conn:
        await add_note(conn)
    assert await count(db, "notes") == 1


@pytest.mark.sqlite_only
async def test_a_full_disk_mid_transaction_leaves_nothing_and_recovers(db: Database) -> None:
    async with db.transaction() as conn:
        await add_note(conn)
    pages = await db.fetchone("PRAGMA page_count")
    assert pages is not None
    await db.fetchone(f"PRAGMA max_page_count = {pages[0]}")
    with pytest.raises(StorageFullError) as raised:
        async with db.transaction() as conn:
            await add_note(conn, text="first of many")
            for _ in range(50):
                await add_note(conn, text="x" * 3000)
    assert storage_fault(raised.value) is StorageFault.DISK_FULL
    assert not db._connection.in_transaction
    assert await count(db, "notes") == 1
    assert raised.value.detail == "OperationalError [SQLITE_FULL]: database or disk is full"
    assert isinstance(raised.value.__cause__, sqlite3.OperationalError)
    # Single statements fail cleanly too.
    with pytest.raises(StorageFullError):
        await db.execute(
            "INSERT INTO notes (owner_id, text, created_at, updated_at) VALUES (1, ?, ?, ?)",
            ("y" * 5000, NOW, NOW),
        )
    await db.fetchone("PRAGMA max_page_count = 1073741823")
    async with db.transaction() as conn:
        await add_note(conn, text="x" * 3000)
    assert await count(db, "notes") == 2


@pytest.mark.sqlite_only
async def test_a_read_only_database_refuses_writes_and_takes_them_again(db: Database) -> None:
    await db.fetchone("PRAGMA query_only = 1")
    with pytest.raises(StorageReadOnlyError) as raised:
        async with db.transaction() as conn:
            await add_note(conn)
    assert storage_fault(raised.value) is StorageFault.READ_ONLY
    assert not db._connection.in_transaction
    await db.fetchone("PRAGMA query_only = 0")
    async with db.transaction() as conn:
        await add_note(conn)
    assert await count(db, "notes") == 1


@pytest.mark.sqlite_only
async def test_a_transaction_left_open_is_ended_before_the_next_write(db: Database) -> None:
    # As if a COMMIT and its ROLLBACK both failed on a dying disk.
    await db._connection.execute("BEGIN")
    await add_note(db._connection, text="never committed")
    await db.execute("UPDATE users SET morning_hour = 9 WHERE id = 1")
    assert not db._connection.in_transaction
    assert await count(db, "notes") == 0
    row = await db.fetchone("SELECT morning_hour FROM users WHERE id = 1")
    assert row is not None and row[0] == 9


@pytest.mark.sqlite_only
async def test_nested_transactions_are_savepoints(db: Database) -> None:
    async with db.atomic():
        async with db.transaction() as conn:
            await add_note(conn, text="outer")
        with pytest.raises(ConstraintError):
            async with db.transaction() as conn:
                await add_note(conn, text="inner")
                await add_note(conn, owner_id=404)
        # A single-statement write inside joins the transaction instead of waiting for it.
        await db.execute("UPDATE users SET morning_hour = 8 WHERE id = 1")
    rows = await db.fetchall("SELECT text FROM notes")
    assert [row[0] for row in rows] == ["outer"]

    with pytest.raises(RuntimeError):
        async with db.atomic():
            async with db.transaction() as conn:
                await add_note(conn, text="undone with the outer one")
            raise RuntimeError
    assert await count(db, "notes") == 1
    row = await db.fetchone("SELECT morning_hour FROM users WHERE id = 1")
    assert row is not None and row[0] == 8


@pytest.mark.sqlite_only
async def test_other_tasks_wait_for_a_transaction_instead_of_joining_it(db: Database) -> None:
    order: list[str] = []

    async def other() -> None:
        await db.execute("UPDATE users SET morning_hour = 7 WHERE id = 1")
        order.append("other wrote")

    with pytest.raises(RuntimeError):
        async with db.atomic():
            task = asyncio.create_task(other())
            await asyncio.sleep(0.01)
            order.append("transaction ends")
            raise RuntimeError
    await task
    assert order == ["transaction ends", "other wrote"]
    row = await db.fetchone("SELECT morning_hour FROM users WHERE id = 1")
    assert row is not None and row[0] == 7


def test_storage_faults_are_recognised_through_wrappers() -> None:
    full = StorageFullError("OperationalError [SQLITE_FULL]: database or disk is full")
    assert storage_fault(full) is StorageFault.DISK_FULL
    assert storage_fault(StorageReadOnlyError()) is StorageFault.READ_ONLY
    assert storage_fault(StorageUnavailableError()) is StorageFault.UNAVAILABLE
    assert storage_fault(StorageConflictError()) is StorageFault.CONFLICT
    with pytest.raises(RuntimeError) as wrapped:
        try:
            raise full
        except StorageError as exc:
            raise RuntimeError("write failed") from exc
    assert storage_fault(wrapped.value) is StorageFault.DISK_FULL
    for not_a_fault in (
        # A backend's own exception is not known above storage/: only the translated one.
        sqlite3.OperationalError("database or disk is full"),
        StorageError("no such table: nothing"),
        DuplicateClientError("Acme"),
        ValueError("database or disk is full"),
        None,
    ):
        assert storage_fault(not_a_fault) is None


def test_sqlite_errors_are_translated_by_code_or_message() -> None:
    def translated(exc: sqlite3.Error) -> type[StorageError]:
        return type(translate(exc))

    assert translated(sqlite3.OperationalError("database or disk is full")) is StorageFullError
    assert translated(sqlite3.OperationalError("attempt to write a readonly database")) is (
        StorageReadOnlyError
    )
    assert translated(sqlite3.OperationalError("disk I/O error")) is StorageUnavailableError
    assert translated(sqlite3.OperationalError("unable to open database file")) is (
        StorageUnavailableError
    )
    assert translated(sqlite3.OperationalError("database is locked")) is StorageConflictError
    assert translated(sqlite3.IntegrityError("UNIQUE constraint failed: clients.name_key")) is (
        ConstraintError
    )
    assert translated(sqlite3.OperationalError("no such table: nothing")) is SqliteError
    assert issubclass(SqliteError, StorageError) and storage_fault(SqliteError("x")) is None


def test_a_fault_is_described_without_user_text() -> None:
    assert describe(translate(sqlite3.OperationalError("database or disk\nis full"))) == (
        "OperationalError: database or disk is full"
    )
    assert describe(RuntimeError("wrapper")) == "RuntimeError"
    # A domain error may carry a client's name: its type is enough.
    assert describe(StorageError("Acme Secret Client")) == "StorageError"
    assert describe(DuplicateClientError("Acme Secret Client")) == "DuplicateClientError"


async def test_nested_atomic_blocks_are_savepoints(storage: Storage) -> None:
    """On both backends: an inner block that fails undoes only itself; the outer one that
    fails undoes everything, the inner blocks it kept included."""
    await storage.users.ensure(1, MOMENT)
    async with storage.backend.atomic():
        await storage.clients.create(1, "Outer", MOMENT)
        with pytest.raises(DuplicateClientError):
            async with storage.backend.atomic():
                await storage.clients.create(1, "Inner", MOMENT)
                await storage.clients.create(1, "outer", MOMENT)  # the same name key
        await storage.users.set_language(1, "ru")
    assert [client.name for client in await storage.clients.recent(1, 10)] == ["Outer"]
    profile = await storage.users.get(1)
    assert profile is not None and profile.language == "ru"

    with pytest.raises(RuntimeError):
        async with storage.backend.atomic():
            async with storage.backend.atomic():
                await storage.clients.create(1, "Undone with the outer one", MOMENT)
            await storage.users.set_language(1, "en")
            raise RuntimeError
    assert [client.name for client in await storage.clients.recent(1, 10)] == ["Outer"]
    profile = await storage.users.get(1)
    assert profile is not None and profile.language == "ru"


async def test_another_task_does_not_join_a_transaction(storage: Storage) -> None:
    """On both backends: a task started inside a transaction writes outside it (after it,
    when it touches the same row), so the transaction's rollback does not undo it."""
    await storage.users.ensure(1, MOMENT)
    order: list[str] = []

    async def other() -> None:
        await storage.users.set_language(1, "ru")
        order.append("other wrote")

    with pytest.raises(RuntimeError):
        async with storage.backend.atomic():
            await storage.users.set_language(1, "en")
            task = asyncio.create_task(other())
            await asyncio.sleep(0.05)
            order.append("transaction ends")
            raise RuntimeError
    await task
    assert order == ["transaction ends", "other wrote"]
    profile = await storage.users.get(1)
    assert profile is not None and profile.language == "ru"


async def test_a_read_only_database_refuses_writes_then_takes_them_again(
    storage: Storage,
) -> None:
    """On both backends: the refusal is StorageReadOnlyError, and nothing is half-written."""
    await storage.users.ensure(1, MOMENT)
    await read_only(storage, True)
    try:
        with pytest.raises(StorageReadOnlyError) as raised:
            async with storage.backend.atomic():
                await storage.clients.create(1, "Acme", MOMENT)
        assert storage_fault(raised.value) is StorageFault.READ_ONLY
        assert describe(raised.value) == raised.value.detail != ""
        assert await storage.clients.recent(1, 10) == []  # reading still works
    finally:
        await read_only(storage, False)
    await storage.clients.create(1, "Acme", MOMENT)
    assert [client.name for client in await storage.clients.recent(1, 10)] == ["Acme"]


@pytest.mark.sqlite_only
async def test_a_cancelled_commit_that_still_ran_is_not_an_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Shutdown cancels a task in its COMMIT; the thread still commits; no error is logged."""
    storage = await open_sqlite_storage(tmp_path / "db.sqlite3")
    database = storage.backend
    assert isinstance(database, Database)
    try:
        await storage.users.ensure(1, datetime(2026, 11, 26, 11, 37, tzinfo=UTC))

        async def write() -> None:
            async with database.transaction() as conn:
                await conn.execute("UPDATE users SET language = 'ru' WHERE id = 1")

        for _ in range(30):  # the race is timing-dependent: try it at several points
            task = asyncio.create_task(write())
            await asyncio.sleep(0)
            await asyncio.sleep(0)
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await write()  # and the connection still takes writes
    finally:
        await database.close()
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
