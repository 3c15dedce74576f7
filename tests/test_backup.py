"""Backups: online copies that restore with the data, retention, the scheduled job, restore
refusing a bad file, and `python -m bot backup` / `restore` as real processes."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.app import create_bot
from bot.database_backup import (
    BackupError,
    ScheduledBackups,
    create_backup,
    list_backups,
    restore_backup,
)
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from bot.runtime import Runtime
from bot.services.reminders import ReminderPlanner
from bot.settings import Settings
from storage.interfaces import Storage
from storage.models import TaskKind
from storage.sqlite import open_sqlite_storage
from storage.sqlite.migrations import MIGRATIONS
from tests.e2e.conftest import base_env
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 27, 3, 15, tzinfo=UTC)
OWNER = 7
DAY = timedelta(hours=24)
CLI_TIMEOUT = 120.0  # seconds; a cold `python -m bot` spends a few importing aiogram
NAME = re.compile(r"am-assistant-\d{8}T\d{6}Z(-\d+)?\.sqlite3")


def db_path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "test.sqlite3"  # the conftest `storage` fixture's file


async def add_client(storage: Storage, name: str, clients: int = 1) -> None:
    await storage.users.ensure(OWNER, NOW)
    for number in range(clients):
        client = await storage.clients.create(
            OWNER, name if clients == 1 else f"{name} {number}", NOW
        )
        await storage.tasks.create(
            OWNER, client_id=client.id, text=f"call {client.name} " + "x" * 200,
            kind=TaskKind.CALL, due_at=NOW + DAY, now=NOW,
        )


async def seed(path: Path, name: str) -> None:
    storage = await open_sqlite_storage(path)
    try:
        await add_client(storage, name)
    finally:
        await storage.backend.close()


async def client_names(path: Path) -> list[str]:
    storage = await open_sqlite_storage(path)
    try:
        listed = await storage.clients.list_summaries(OWNER, offset=0, limit=100)
        return sorted(summary.client.name for summary in listed)
    finally:
        await storage.backend.close()


def cli_env(tmp_path: Path) -> dict[str, str]:
    """The process environment for `python -m bot ...` with a database under tmp_path/db."""
    env = base_env(tmp_path)
    for name in list(env):
        if name.upper().startswith("BACKUP_") or name.upper() in {"BOT_TOKEN", "TELEGRAM_API_URL"}:
            del env[name]
    return env


def run_cli(
    tmp_path: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env or cli_env(tmp_path),
        capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False,
    )


# --- backup and restore --------------------------------------------------------------------


@pytest.mark.sqlite_only  # SQLite's own file backups
async def test_an_online_backup_restores_with_the_data(tmp_path: Path, storage: Storage) -> None:
    await add_client(storage, "Acme")
    # The bot is running (the storage is open) while the backup is taken.
    backup = create_backup(db_path(tmp_path), tmp_path / "backups", NOW, keep=14)
    assert backup.parent == tmp_path / "backups"
    assert NAME.fullmatch(backup.name)
    assert backup.name == "am-assistant-20261127T031500Z.sqlite3"
    # One self-contained file: no -wal beside it, nothing temporary left.
    assert sorted(path.name for path in backup.parent.iterdir()) == [backup.name]
    with sqlite3.connect(backup) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    await add_client(storage, "Later")  # written after the backup
    await storage.backend.close()  # the bot is stopped for the restore

    restored = restore_backup(backup, db_path(tmp_path), NOW + timedelta(hours=1))

    assert restored.schema_version == len(MIGRATIONS)
    assert await client_names(db_path(tmp_path)) == ["Acme"]
    reopened = await open_sqlite_storage(db_path(tmp_path))
    try:
        tasks = await reopened.tasks.due_between(OWNER, NOW, NOW + 2 * DAY)
        assert [task.text[:9] for task in tasks] == ["call Acme"]
    finally:
        await reopened.backend.close()


@pytest.mark.sqlite_only  # SQLite's own file backups
async def test_restore_keeps_a_copy_of_the_current_database(
    tmp_path: Path, storage: Storage
) -> None:
    await add_client(storage, "Acme")
    backup = create_backup(db_path(tmp_path), tmp_path / "backups", NOW, keep=14)
    await add_client(storage, "Later")
    await storage.backend.close()

    restored = restore_backup(backup, db_path(tmp_path), NOW + timedelta(hours=1))

    assert restored.previous == db_path(tmp_path).with_name(
        "test.sqlite3.before-restore-20261127T041500Z"
    )
    # Nothing of the old file is left beside the new one (a stale -wal would corrupt it).
    assert sorted(snapshot(db_path(tmp_path).parent)) == [
        "test.sqlite3", "test.sqlite3.before-restore-20261127T041500Z"
    ]
    assert await client_names(restored.previous) == ["Acme", "Later"]
    assert await client_names(db_path(tmp_path)) == ["Acme"]


@pytest.mark.sqlite_only  # SQLite's own file backups
async def test_retention_keeps_the_newest(tmp_path: Path, storage: Storage) -> None:
    await add_client(storage, "Acme")
    folder = tmp_path / "backups"
    (folder / "notes").mkdir(parents=True)
    (folder / "my-own-copy.sqlite3").write_bytes(b"not ours")
    made = [
        create_backup(db_path(tmp_path), folder, NOW + timedelta(hours=hour), keep=3)
        for hour in (0, 1, 2, 3, 4)
    ]
    # Two in the same second get distinct names, and the second counts as newer.
    again = create_backup(db_path(tmp_path), folder, NOW + timedelta(hours=4), keep=3)
    assert again.name == "am-assistant-20261127T071500Z-2.sqlite3"

    assert [backup.path for backup in list_backups(folder)] == [made[3], made[4], again]
    assert not made[0].exists()
    assert (folder / "my-own-copy.sqlite3").exists()  # not a backup name: never deleted
    assert (folder / "notes").is_dir()


# --- the scheduled job ---------------------------------------------------------------------


@pytest.mark.sqlite_only  # SQLite's own file backups
async def test_the_job_backs_up_once_per_interval_and_not_again_after_a_restart(
    tmp_path: Path, storage: Storage
) -> None:
    await add_client(storage, "Acme")
    folder = tmp_path / "backups"
    clock = FakeClock(NOW)
    job = ScheduledBackups(db_path(tmp_path), folder, DAY, keep=14, clock=clock)

    first = await job.run()
    assert first is not None and first.exists()
    for step in (timedelta(seconds=30), timedelta(hours=12), timedelta(hours=11, minutes=59)):
        clock.advance(step)
        assert await job.run() is None  # the sweep comes every 30 s: nothing until due
    clock.set(NOW + DAY)
    second = await job.run()
    assert second is not None and second != first

    # A restart an hour later: the newest file's name says a backup is not due yet.
    clock.advance(timedelta(hours=1))
    restarted = ScheduledBackups(db_path(tmp_path), folder, DAY, keep=14, clock=clock)
    assert await restarted.run() is None
    clock.set(NOW + 2 * DAY)
    assert await restarted.run() is not None
    assert len(list_backups(folder)) == 3


async def test_a_failing_job_logs_one_line_and_waits_before_trying_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    clock = FakeClock(NOW)
    missing = tmp_path / "nowhere" / "db.sqlite3"
    job = ScheduledBackups(missing, tmp_path / "backups", DAY, keep=14, clock=clock)
    with caplog.at_level(logging.ERROR, logger="bot.database_backup"):
        assert await job.run() is None
        clock.advance(timedelta(minutes=30))
        assert await job.run() is None
    assert [record.getMessage().count("\n") for record in caplog.records] == [0]
    assert "no database at" in caplog.records[0].getMessage()
    missing.parent.mkdir()
    sqlite3.connect(missing).close()
    clock.advance(timedelta(minutes=30))  # an hour after the failure: tried again
    assert await job.run() is not None


@pytest.mark.sqlite_only  # SQLite's own file backups
async def test_the_bot_runtime_backs_up_on_its_sweep(tmp_path: Path, storage: Storage) -> None:
    await add_client(storage, "Acme")
    clock = FakeClock(NOW)

    def runtime(**settings: object) -> Runtime:
        config = Settings.model_validate(
            {"bot_token": "42:TEST", "database_url": f"sqlite:///{db_path(tmp_path)}", **settings}
        )
        planner = ReminderPlanner(
            storage.reminders, clock, config.invoice_ladder_days, storage.users
        )
        return Runtime(
            bot=create_bot(config, session=LocalSession()), storage=storage, planner=planner,
            i18n=create_i18n("en"), clock=clock, settings=config,
        )

    backups = db_path(tmp_path).parent / "backups"
    off = runtime(backup_every_hours=0)
    await off.run_jobs()
    assert list_backups(backups) == []

    on = runtime()  # BACKUP_EVERY_HOURS=24 by default
    await on.run_jobs()
    await on.run_jobs()
    assert [backup.path.name for backup in list_backups(backups)] == [
        "am-assistant-20261127T031500Z.sqlite3"
    ]


# --- restore refuses bad files -------------------------------------------------------------


@pytest.fixture
async def stopped_db(tmp_path: Path, storage: Storage) -> Path:
    """A database with data, its bot stopped (the storage closed)."""
    await add_client(storage, "Acme", clients=60)  # a few dozen pages
    await storage.backend.close()
    return db_path(tmp_path)


def snapshot(folder: Path) -> dict[str, bytes]:
    # The lock file beside the database (restore takes the bot's lock) is not the database.
    return {
        path.name: path.read_bytes()
        for path in folder.iterdir()
        if path.is_file() and path.suffix != ".lock"
    }


def random_bytes(_database: Path, target: Path) -> Path:
    target.write_bytes(os.urandom(8192))
    return target


def truncated_backup(database: Path, target: Path) -> Path:
    backup = create_backup(database, target.parent / "made", NOW, keep=14)
    data = backup.read_bytes()
    assert len(data) > 16 * 4096
    target.write_bytes(data[: len(data) // 2])
    return target


def newer_schema(database: Path, target: Path) -> Path:
    backup = create_backup(database, target.parent / "made", NOW, keep=14)
    with sqlite3.connect(backup) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    backup.rename(target)
    return target


def not_ours(database: Path, target: Path) -> Path:
    with sqlite3.connect(target) as raw:
        raw.execute("CREATE TABLE t (x)")
    return target


@pytest.mark.sqlite_only  # SQLite's own file backups
@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (random_bytes, "not a SQLite database"),
        (truncated_backup, "not a usable SQLite database|integrity_check failed"),
        (newer_schema, "newer than this code knows"),
        (not_ours, "not an am-assistant database"),
    ],
    ids=["random-bytes", "truncated-backup", "newer-schema", "schema-0"],
)
async def test_restore_refuses_a_bad_file_and_leaves_the_database_alone(
    tmp_path: Path, stopped_db: Path, make: Callable[[Path, Path], Path], reason: str
) -> None:
    bad = make(stopped_db, tmp_path / "bad.sqlite3")
    before = snapshot(stopped_db.parent)

    with pytest.raises(BackupError, match=reason) as error:
        restore_backup(bad, stopped_db, NOW + timedelta(hours=1))

    assert "\n" not in str(error.value)
    assert snapshot(stopped_db.parent) == before  # byte-identical, no copy, no temp file
    assert len(await client_names(stopped_db)) == 60  # and it still works


# --- the command line ----------------------------------------------------------------------


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
def test_cli_backup_then_restore(tmp_path: Path) -> None:
    database = tmp_path / "db" / "assistant.sqlite3"
    missing = run_cli(tmp_path, "backup")
    assert missing.returncode == 1  # no database yet: nothing to copy
    assert missing.stderr.strip() == f"error: backup failed: no database at {database}"
    asyncio.run(seed(database, "Acme"))

    made = run_cli(tmp_path, "backup")
    assert made.returncode == 0, made.stderr
    backup = Path(made.stdout.strip())
    assert backup.parent == database.parent / "backups"
    assert NAME.fullmatch(backup.name)
    asyncio.run(seed(database, "Later"))

    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(os.urandom(4096))
    before = snapshot(database.parent)
    refused = run_cli(tmp_path, "restore", str(garbage))
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: restore refused")
    assert refused.stderr.strip().count("\n") == 0
    assert snapshot(database.parent) == before

    done = run_cli(tmp_path, "restore", str(backup))
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"restored {backup} (schema {len(MIGRATIONS)}) into {database}")
    [aside] = database.parent.glob("assistant.sqlite3.before-restore-*")
    assert str(aside) in done.stdout
    assert asyncio.run(client_names(database)) == ["Acme"]
    assert asyncio.run(client_names(aside)) == ["Acme", "Later"]

    assert run_cli(tmp_path, "restore").returncode == 2  # the file is required
    assert run_cli(tmp_path, "backup", str(backup)).returncode == 2  # and only for restore


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
def test_cli_backup_follows_backup_dir_and_keep(tmp_path: Path) -> None:
    database = tmp_path / "db" / "assistant.sqlite3"
    asyncio.run(seed(database, "Acme"))
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    (folder / "am-assistant-20200101T000000Z.sqlite3").write_bytes(b"")
    env = cli_env(tmp_path) | {"BACKUP_DIR": str(folder), "BACKUP_KEEP": "1"}

    made = run_cli(tmp_path, "backup", env=env)

    assert made.returncode == 0, made.stderr
    assert [path.name for path in folder.iterdir()] == [Path(made.stdout.strip()).name]
    assert not (database.parent / "backups").exists()
