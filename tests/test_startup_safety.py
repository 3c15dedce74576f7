"""A damaged database, one from newer code, or one a running bot holds: the bot, the shell
and restore stop with one line and exit 2 (`check` with 1), and the file stays as it was."""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import re
import sqlite3
from pathlib import Path

import pytest

from bot.__main__ import check_telegram
from bot.check import run_check
from bot.settings import Settings
from bot.shell import run_shell
from storage.errors import (
    DatabaseDamagedError,
    DatabaseInUseError,
    DatabaseUnusableError,
    SchemaTooNewError,
)
from storage.sqlite import open_sqlite_storage
from storage.sqlite.migrations import MIGRATIONS
from tests.e2e.conftest import BOT_TOKEN
from tests.test_backup import add_client, cli_env, client_names, run_cli

EXIT_UNUSABLE = 2


def database(tmp_path: Path) -> Path:
    return tmp_path / "db" / "assistant.sqlite3"  # where cli_env points DATABASE_URL


def bot_env(tmp_path: Path) -> dict[str, str]:
    """`python -m bot` with a token and a Bot API nobody answers: the database comes first."""
    env = cli_env(tmp_path)
    env.update({"BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": "http://127.0.0.1:9"})
    return env


async def make_database(path: Path, clients: int = 40) -> None:
    storage = await open_sqlite_storage(path)
    try:
        await add_client(storage, "Acme", clients=clients)  # a few dozen pages
    finally:
        await storage.backend.close()  # the last connection folds the -wal into the file
    assert not sidecars(path)


def corrupt_a_page(path: Path) -> None:
    """Overwrite the tasks table's root page with garbage, as a failing disk might."""
    with contextlib.closing(sqlite3.connect(path)) as raw:
        (root,) = raw.execute("SELECT rootpage FROM sqlite_master WHERE name = 'tasks'").fetchone()
        (page_size,) = raw.execute("PRAGMA page_size").fetchone()
    with path.open("r+b") as file:
        file.seek((root - 1) * page_size)
        file.write(bytes((7 * i + 13) % 256 for i in range(page_size)))
    assert not sidecars(path)


def make_newer(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    assert not sidecars(path)


def sidecars(path: Path) -> list[str]:
    return [p.name for p in path.parent.iterdir() if p.name.endswith(("-wal", "-shm"))]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "error" in line]


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
@pytest.mark.parametrize(
    ("spoil", "reason"),
    [(corrupt_a_page, "is damaged (quick_check: "), (make_newer, "newer than this code knows")],
    ids=["corrupted-page", "newer-schema"],
)
async def test_the_bot_the_shell_and_check_refuse_and_write_nothing(
    tmp_path: Path, spoil: object, reason: str
) -> None:
    path = database(tmp_path)
    await make_database(path)
    assert callable(spoil)
    spoil(path)
    before = path.read_bytes()

    run = await asyncio.to_thread(run_cli, tmp_path, env=bot_env(tmp_path))
    assert run.returncode == EXIT_UNUSABLE, run.stderr
    [line] = error_lines(run.stderr)
    assert reason in line and str(path) in line
    assert "Traceback" not in run.stderr
    assert "getMe" not in run.stderr  # stopped before any network call

    settings = Settings.model_validate({"database_url": f"sqlite:///{path}"})
    with pytest.raises(DatabaseUnusableError, match=re.escape(reason)):
        await run_shell(settings, io.StringIO("/today\n"), io.StringIO())  # main(): exit 2

    out, err = io.StringIO(), io.StringIO()
    assert await run_check(settings, check_telegram, out, err) == 1
    [line] = err.getvalue().splitlines()
    assert line.startswith("error: ") and reason in line

    assert path.read_bytes() == before, "not one byte written"
    assert sidecars(path) == [], "no -wal or -shm created"


async def test_open_reports_the_problem_as_a_storage_error(tmp_path: Path) -> None:
    damaged, newer = tmp_path / "a" / "damaged.sqlite3", tmp_path / "b" / "newer.sqlite3"
    for path in (damaged, newer):
        await make_database(path, clients=30)
    corrupt_a_page(damaged)
    make_newer(newer)

    with pytest.raises(DatabaseDamagedError, match="restore a backup"):
        await open_sqlite_storage(damaged)
    with pytest.raises(SchemaTooNewError, match=f"has schema {len(MIGRATIONS) + 1}"):
        await open_sqlite_storage(newer)
    assert sidecars(damaged) == sidecars(newer) == []


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
async def test_restore_refuses_while_the_bot_holds_the_database(tmp_path: Path) -> None:
    path = database(tmp_path)
    await make_database(path, clients=3)
    backup = await asyncio.to_thread(run_cli, tmp_path, "backup")
    assert backup.returncode == 0, backup.stderr
    backup_file = Path(backup.stdout.strip())
    running = await open_sqlite_storage(path, exclusive=True)  # as `python -m bot` does
    try:
        await add_client(running, "Written after the backup")

        restore = await asyncio.to_thread(run_cli, tmp_path, "restore", str(backup_file))

        assert restore.returncode == EXIT_UNUSABLE, restore.stdout + restore.stderr
        [line] = restore.stderr.splitlines()
        assert line.startswith("error: restore refused, the database is unchanged: ")
        assert f"in use by process {os.getpid()}" in line
        assert "systemctl stop am-assistant" in line
        assert restore.stdout == ""
        assert not list(path.parent.glob("*.before-restore-*")), "nothing set aside or swapped"
        # The bot goes on with its file; the write after the backup is still there.
        await add_client(running, "Still writing")
        names = {s.client.name for s in await running.clients.list_summaries(7, offset=0,
                                                                              limit=100)}
        assert {"Written after the backup", "Still writing"} <= names
    finally:
        await running.backend.close()

    # Stopped: now the restore goes ahead.
    restore = await asyncio.to_thread(run_cli, tmp_path, "restore", str(backup_file))
    assert restore.returncode == 0, restore.stderr
    assert await client_names(path) == ["Acme 0", "Acme 1", "Acme 2"]


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
async def test_a_second_bot_on_the_same_database_is_refused(tmp_path: Path) -> None:
    path = database(tmp_path)
    running = await open_sqlite_storage(path, exclusive=True)
    try:
        with pytest.raises(DatabaseInUseError, match=f"process {os.getpid()}"):
            await open_sqlite_storage(path, exclusive=True)
        second = await asyncio.to_thread(run_cli, tmp_path, env=bot_env(tmp_path))
        assert second.returncode == EXIT_UNUSABLE, second.stderr
        [line] = error_lines(second.stderr)
        assert "is in use by process" in line

        # `check` takes no lock: it runs beside the bot.
        out, err = io.StringIO(), io.StringIO()
        settings = Settings.model_validate({"database_url": f"sqlite:///{path}"})
        assert await run_check(settings, check_telegram, out, err) == 0, err.getvalue()
    finally:
        await running.backend.close()
    # Released on close (and by the kernel if the process dies): the next start may lock.
    again = await open_sqlite_storage(path, exclusive=True)
    await again.backend.close()
