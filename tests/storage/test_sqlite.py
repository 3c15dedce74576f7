"""Repository basics on each backend (a real SQLite file, a fresh PostgreSQL database), and
SQLite's own file settings."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.errors import DuplicateClientError, StorageError
from storage.interfaces import Storage
from storage.models import ClientStatus, TaskKind, TaskStatus
from storage.sqlite import open_sqlite_storage
from storage.sqlite.migrations import MIGRATIONS

NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)
ALICE, BOB = 1, 2


@pytest.fixture
async def two_users(storage: Storage) -> Storage:
    await storage.users.ensure(ALICE, NOW)
    await storage.users.ensure(BOB, NOW)
    return storage


async def test_schema_is_migrated_with_wal_and_foreign_keys(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "folders" / "db.sqlite3"
    storage = await open_sqlite_storage(path)
    try:
        assert await storage.backend.schema_version() == len(MIGRATIONS)
    finally:
        await storage.backend.close()
    assert path.exists()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert raw.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    # Reopening applies nothing twice.
    again = await open_sqlite_storage(path)
    await again.backend.close()


async def test_foreign_keys_are_enforced(two_users: Storage) -> None:
    # The backend's constraint error leaves storage as the project's own.
    with pytest.raises(StorageError):
        await two_users.tasks.create(
            999, client_id=None, text="x", kind=TaskKind.OTHER, due_at=None, now=NOW
        )


async def test_times_round_trip_in_utc(two_users: Storage) -> None:
    moscow_ten = datetime(2026, 11, 27, 10, 0, tzinfo=UTC) + timedelta(hours=-3)
    task = await two_users.tasks.create(
        ALICE, client_id=None, text="call", kind=TaskKind.CALL, due_at=moscow_ten, now=NOW
    )
    assert task.due_at == datetime(2026, 11, 27, 7, 0, tzinfo=UTC)
    assert task.due_at.tzinfo is UTC


async def test_rows_are_scoped_to_their_owner(two_users: Storage) -> None:
    client = await two_users.clients.create(ALICE, "Acme", NOW)
    task = await two_users.tasks.create(
        ALICE, client_id=client.id, text="secret", kind=TaskKind.OTHER, due_at=NOW, now=NOW
    )
    assert await two_users.clients.get(BOB, client.id) is None
    assert await two_users.clients.match(BOB, "acme") == []
    assert await two_users.tasks.get(BOB, task.id) is None
    assert await two_users.tasks.complete(BOB, task.id, NOW) is None
    assert await two_users.tasks.delete(BOB, task.id, NOW) is None
    assert await two_users.tasks.set_client(ALICE, task.id, None, NOW) is not None
    # Bob cannot attach Alice's task to his client, nor his task to Alice's client.
    bob_task = await two_users.tasks.create(
        BOB, client_id=None, text="mine", kind=TaskKind.OTHER, due_at=None, now=NOW
    )
    assert await two_users.tasks.set_client(BOB, bob_task.id, client.id, NOW) is None
    assert await two_users.clients.set_field(BOB, client.id, "phone", "1", NOW) is None
    week = (NOW - timedelta(days=7), NOW + timedelta(days=7))
    assert await two_users.tasks.due_between(BOB, *week) == []


async def test_task_numbers_count_per_owner(two_users: Storage) -> None:
    numbers = []
    for owner in (ALICE, ALICE, BOB, ALICE):
        task = await two_users.tasks.create(
            owner, client_id=None, text="t", kind=TaskKind.OTHER, due_at=None, now=NOW
        )
        numbers.append((owner, task.number))
    assert numbers == [(ALICE, 1), (ALICE, 2), (BOB, 1), (ALICE, 3)]


async def test_client_names_unique_per_owner_ignoring_case_and_yo(two_users: Storage) -> None:
    await two_users.clients.create(ALICE, "Ёлка", NOW)
    with pytest.raises(DuplicateClientError):
        await two_users.clients.create(ALICE, "  ЕЛКА ", NOW)
    await two_users.clients.create(BOB, "Ёлка", NOW)


async def test_match_exact_then_prefix(two_users: Storage) -> None:
    for name in ("Acme", "Acme Labs", "Beta"):
        await two_users.clients.create(ALICE, name, NOW)
    assert [c.name for c in await two_users.clients.match(ALICE, "ACME")] == ["Acme"]
    assert [c.name for c in await two_users.clients.match(ALICE, "ac")] == ["Acme", "Acme Labs"]
    assert [c.name for c in await two_users.clients.match(ALICE, "acme l")] == ["Acme Labs"]
    assert await two_users.clients.match(ALICE, "z") == []
    # LIKE wildcards are plain characters here.
    assert await two_users.clients.match(ALICE, "%") == []


async def test_deleted_client_hides_its_tasks_until_restored(two_users: Storage) -> None:
    client = await two_users.clients.create(ALICE, "Acme", NOW)
    await two_users.tasks.create(
        ALICE, client_id=client.id, text="t", kind=TaskKind.OTHER,
        due_at=NOW - timedelta(hours=1), now=NOW,
    )
    assert await two_users.tasks.count_overdue(ALICE, NOW) == 1
    await two_users.clients.delete(ALICE, client.id, NOW)
    assert await two_users.tasks.count_overdue(ALICE, NOW) == 0
    # The name is free again while the client is deleted...
    other = await two_users.clients.create(ALICE, "Acme", NOW)
    # ...so restoring the old one would clash.
    with pytest.raises(DuplicateClientError):
        await two_users.clients.restore(ALICE, client.id, NOW)
    await two_users.clients.delete(ALICE, other.id, NOW)
    restored = await two_users.clients.restore(ALICE, client.id, NOW)
    assert restored is not None
    assert await two_users.tasks.count_overdue(ALICE, NOW) == 1


async def test_former_client_keeps_history(two_users: Storage) -> None:
    client = await two_users.clients.create(ALICE, "Acme", NOW)
    await two_users.tasks.create(
        ALICE, client_id=client.id, text="t", kind=TaskKind.OTHER, due_at=None, now=NOW
    )
    former = await two_users.clients.set_status(ALICE, client.id, ClientStatus.FORMER, NOW)
    assert former is not None and former.status is ClientStatus.FORMER
    [summary] = await two_users.clients.list_summaries(ALICE, offset=0, limit=10)
    assert summary.open_tasks == 1
    assert await two_users.clients.recent(ALICE, 5) == []


async def test_complete_reopen_last_and_restore_deleted(two_users: Storage) -> None:
    first = await two_users.tasks.create(
        ALICE, client_id=None, text="a", kind=TaskKind.OTHER, due_at=None, now=NOW
    )
    second = await two_users.tasks.create(
        ALICE, client_id=None, text="b", kind=TaskKind.OTHER, due_at=None, now=NOW
    )
    await two_users.tasks.complete(ALICE, first.id, NOW)
    await two_users.tasks.complete(ALICE, second.id, NOW + timedelta(minutes=1))
    assert await two_users.tasks.complete(ALICE, second.id, NOW) is None
    reopened = await two_users.tasks.reopen_last_completed(ALICE, NOW)
    assert reopened is not None and reopened.id == second.id
    deleted = await two_users.tasks.delete(ALICE, first.id, NOW)
    assert deleted is not None and deleted.status is TaskStatus.DELETED
    assert await two_users.tasks.get(ALICE, first.id) is None
    restored = await two_users.tasks.restore(ALICE, first.id, NOW)
    # It was done before deletion and comes back done.
    assert restored is not None and restored.status is TaskStatus.DONE


async def test_due_between_bounds_are_half_open(two_users: Storage) -> None:
    start, end = NOW, NOW + timedelta(days=1)
    for due in (start - timedelta(seconds=1), start, end - timedelta(minutes=1), end):
        await two_users.tasks.create(
            ALICE, client_id=None, text=str(due), kind=TaskKind.OTHER, due_at=due, now=NOW
        )
    found = await two_users.tasks.due_between(ALICE, start, end)
    assert [task.due_at for task in found] == [start, end - timedelta(minutes=1)]


async def test_failed_transaction_leaves_nothing(two_users: Storage) -> None:
    with pytest.raises(StorageError):
        async with two_users.backend.atomic():
            await two_users.clients.create(ALICE, "Half", NOW)
            await two_users.tasks.create(  # no such user: a foreign key violation
                999, client_id=None, text="x", kind=TaskKind.OTHER, due_at=None, now=NOW
            )
    assert await two_users.clients.match(ALICE, "half") == []
    assert await two_users.clients.count(ALICE) == 0
    # Nothing half-made holds the name either.
    assert (await two_users.clients.create(ALICE, "Half", NOW)).name == "Half"


async def test_client_restore_brings_back_only_its_hidden_tasks(two_users: Storage) -> None:
    client = await two_users.clients.create(ALICE, "Acme", NOW)

    async def task(text: str) -> int:
        created = await two_users.tasks.create(
            ALICE, client_id=client.id, text=text, kind=TaskKind.OTHER, due_at=NOW, now=NOW
        )
        return created.id

    kept, done, removed_before = await task("kept"), await task("done"), await task("gone")
    await two_users.tasks.complete(ALICE, done, NOW)
    await two_users.tasks.delete(ALICE, removed_before, NOW)
    await two_users.clients.delete(ALICE, client.id, NOW)
    assert await two_users.tasks.get(ALICE, kept) is None
    # A task hidden with its client cannot be brought back without it.
    assert await two_users.tasks.restore(ALICE, kept, NOW) is None
    await two_users.clients.restore(ALICE, client.id, NOW)
    statuses = {
        task_id: (found.status if (found := await two_users.tasks.get(ALICE, task_id)) else None)
        for task_id in (kept, done, removed_before)
    }
    assert statuses == {kept: TaskStatus.OPEN, done: TaskStatus.DONE, removed_before: None}
