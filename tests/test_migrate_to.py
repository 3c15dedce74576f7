"""`python -m bot migrate-to URL` (bot/migrate_to.py): the SQLite database DATABASE_URL names
moves into an empty PostgreSQL database; refused, with nothing written, while the bot holds
the file, for a target that is not empty, or for arguments that cannot be right."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from bot.migrate_to import EXIT_OK, EXIT_REFUSED, run
from bot.settings import Settings
from storage.models import TaskKind
from storage.sqlite import open_sqlite_storage
from storage.sqlite.lock import DatabaseLock
from tests.e2e.conftest import base_env
from tests.fakes.clock import NOW

CLI_TIMEOUT = 120.0  # seconds; a cold `python -m bot` spends a few importing aiogram


async def seed(path: Path) -> None:
    storage = await open_sqlite_storage(path)
    try:
        await storage.users.ensure(1, NOW)
        client = await storage.clients.create(1, "Acme", NOW)
        for number in range(3):
            await storage.tasks.create(
                1, client_id=client.id, text=f"task {number}", kind=TaskKind.CALL,
                due_at=None, now=NOW,
            )
        await storage.notes.create(
            1, text="акт сверки", client_id=client.id, source_message_id=1, now=NOW
        )
    finally:
        await storage.backend.close()


def settings_for(path: Path) -> Settings:
    return Settings(database_url=f"sqlite:///{path}", _env_file=None)


async def count(url: str, table: str) -> int:
    connection = await asyncpg.connect(url)
    try:
        return int(await connection.fetchval(f"SELECT count(*) FROM {table}"))
    finally:
        await connection.close()


async def test_copies_and_prints_the_summary(tmp_path: Path, postgres_url: str) -> None:
    database = tmp_path / "assistant.sqlite3"
    await seed(database)
    out, err = io.StringIO(), io.StringIO()

    code = await run(settings_for(database), postgres_url, out=out, err=err)

    assert code == EXIT_OK, err.getvalue()
    text = out.getvalue()
    assert text.startswith(f"copied {database} (SQLite schema ")
    assert "17 tables, 6 rows" in text
    assert f"next: set DATABASE_URL={postgres_url} " in text
    assert await count(postgres_url, "tasks") == 3
    # The lock is released: the bot may start again (on either database).
    DatabaseLock.acquire(database).release()


async def test_refused_while_the_bot_holds_the_database(
    tmp_path: Path, postgres_url: str
) -> None:
    database = tmp_path / "assistant.sqlite3"
    await seed(database)
    running = await open_sqlite_storage(database, exclusive=True)  # the bot
    err = io.StringIO()
    try:
        code = await run(settings_for(database), postgres_url, out=io.StringIO(), err=err)
    finally:
        await running.backend.close()

    assert code == EXIT_REFUSED
    assert err.getvalue().startswith("error: migrate-to refused, nothing written: database ")
    assert "stop the bot first" in err.getvalue()
    assert err.getvalue().count("\n") == 1
    assert await count(postgres_url, "users") == 0


@pytest.mark.parametrize(
    "target", ["sqlite:///other.sqlite3", "mysql://x/y", "data/assistant.sqlite3", ""]
)
async def test_refuses_a_target_that_is_not_postgresql(tmp_path: Path, target: str) -> None:
    database = tmp_path / "assistant.sqlite3"
    await seed(database)
    err = io.StringIO()

    code = await run(settings_for(database), target, out=io.StringIO(), err=err)

    assert code == EXIT_REFUSED
    assert "postgresql://" in err.getvalue()


async def test_refuses_a_missing_source(tmp_path: Path, postgres_url: str) -> None:
    err = io.StringIO()
    missing = tmp_path / "none" / "assistant.sqlite3"

    code = await run(settings_for(missing), postgres_url, out=io.StringIO(), err=err)

    assert code == EXIT_REFUSED
    assert f"no SQLite database at {missing}" in err.getvalue()
    assert not missing.parent.exists()  # not even the lock file's folder


def run_cli(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = base_env(tmp_path)
    env.pop("BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=tmp_path, env=env,
        capture_output=True, text=True, timeout=CLI_TIMEOUT, check=False,
    )


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
async def test_cli_migrate_to_then_again(tmp_path: Path, postgres_url: str) -> None:
    database = tmp_path / "db" / "assistant.sqlite3"  # base_env's DATABASE_URL
    await seed(database)

    done = await asyncio.to_thread(run_cli, tmp_path, "migrate-to", postgres_url)

    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"copied {database} (SQLite schema ")
    assert "6 rows" in done.stdout
    assert "next: set DATABASE_URL=" in done.stdout
    assert await count(postgres_url, "notes") == 1

    again = await asyncio.to_thread(run_cli, tmp_path, "migrate-to", postgres_url)

    assert again.returncode == 2
    assert again.stderr.startswith("error: migrate-to refused, nothing written: ")
    assert "already holds data" in again.stderr
    assert again.stderr.count("\n") == 1
    assert await count(postgres_url, "tasks") == 3
