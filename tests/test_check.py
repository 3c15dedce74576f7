"""`python -m bot check`: settings, database (migrated), counts, and getMe when a token is set."""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import sqlite3
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.__main__ import check_telegram
from bot.check import run_check
from bot.services.reminders import ReminderPlanner
from bot.settings import Settings
from storage.sqlite import open_sqlite_storage
from storage.sqlite.migrations import MIGRATIONS
from tests.e2e.conftest import BOT_TOKEN
from tests.fakes.clock import FakeClock
from tests.fakes.fake_bot_api import FakeBotAPI
from tests.test_backup import CLI_TIMEOUT, NOW, add_client, cli_env, run_cli

HAS_ALERTS = any("CREATE TABLE alerts" in script for script in MIGRATIONS)


def settings_for(tmp_path: Path, **values: object) -> Settings:
    return Settings.model_validate(
        {"database_url": f"sqlite:///{tmp_path}/db/assistant.sqlite3", **values}
    )


def pending_reminders(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as raw:
        row = raw.execute("SELECT count(*) FROM reminders WHERE status = 'pending'").fetchone()
    return int(row[0])


def free_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def run_cli_async(tmp_path: Path, env: dict[str, str], *args: str) -> tuple[int, str, str]:
    """`python -m bot ...` without blocking the loop (a fake Bot API is served from it)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args, cwd=tmp_path, env=env,
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(process.communicate(), CLI_TIMEOUT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_check_migrates_and_counts_without_a_token(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    storage = await open_sqlite_storage(settings.database_path)
    try:
        await add_client(storage, "Acme")
        planner = ReminderPlanner(
            storage.reminders, FakeClock(NOW), settings.invoice_ladder_days, storage.users
        )
        await planner.reconcile()
    finally:
        await storage.backend.close()
    pending = pending_reminders(settings.database_path)
    assert pending > 0
    out, err = io.StringIO(), io.StringIO()

    code = await run_check(settings, check_telegram, out, err)

    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "settings: ok",
        f"database: {settings.database_path} (schema {len(MIGRATIONS)})",
        f"pending reminders: {pending}",
    ]
    assert ("open alerts: 0" in lines) is HAS_ALERTS
    assert any(line.startswith("backups: every 24 h, keeping 14") for line in lines)
    assert lines[-1] == "telegram: not checked (BOT_TOKEN is not set)"


async def test_check_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    settings.database_path.parent.mkdir()
    with contextlib.closing(sqlite3.connect(settings.database_path)) as raw:
        raw.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    out, err = io.StringIO(), io.StringIO()

    assert await run_check(settings, check_telegram, out, err) == 1

    assert "newer than this code knows" in err.getvalue()
    assert err.getvalue().count("\n") == 1


async def test_check_calls_get_me_when_a_token_is_set(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        settings = settings_for(
            tmp_path, bot_token=SecretStr(BOT_TOKEN), telegram_api_url=api.base_url
        )
        out, err = io.StringIO(), io.StringIO()
        code = await run_check(settings, check_telegram, out, err)
        assert [method for method, _params in api.calls] == ["getMe"]
    assert code == 0, err.getvalue()
    assert out.getvalue().splitlines()[-1] == f"telegram: ok, {api.base_url} accepts the token"


# --- the real process ---------------------------------------------------------------------


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
async def test_cli_check_with_a_token_against_a_fake_bot_api(tmp_path: Path) -> None:
    async with FakeBotAPI() as api:
        env = cli_env(tmp_path) | {"BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": api.base_url}
        code, out, err = await run_cli_async(tmp_path, env, "check")
        assert code == 0, err
        assert "getMe" in [method for method, _params in api.calls]
    assert "settings: ok" in out
    assert f"(schema {len(MIGRATIONS)})" in out
    assert "telegram: ok" in out
    assert "@am_assistant_bot" in err  # check_telegram's log line
    secret = BOT_TOKEN.partition(":")[2]
    assert secret not in out and secret not in err
    assert (tmp_path / "db" / "assistant.sqlite3").exists()  # opened, and so created


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
def test_cli_check_with_an_unreachable_bot_api(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    env = cli_env(tmp_path) | {"BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": url}

    result = run_cli(tmp_path, "check", env=env)

    assert result.returncode == 1
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        f"error: could not reach the Bot API at {url} (TelegramNetworkError): "
        "check the network or TELEGRAM_API_URL"
    ]
    assert "Traceback" not in result.stderr
    assert BOT_TOKEN.partition(":")[2] not in result.stdout + result.stderr


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
def test_cli_check_without_a_token_and_with_bad_settings(tmp_path: Path) -> None:
    fine = run_cli(tmp_path, "check")
    assert fine.returncode == 0, fine.stderr
    assert "telegram: not checked" in fine.stdout

    bad = run_cli(tmp_path, "check", env=cli_env(tmp_path) | {"BACKUP_KEEP": "0"})
    assert bad.returncode == 2
    assert bad.stderr.startswith("error: BACKUP_KEEP is invalid")
    assert bad.stderr.count("\n") == 1

    token = run_cli(tmp_path, "check", env=cli_env(tmp_path) | {"BOT_TOKEN": "nonsense"})
    assert token.returncode == 2
    assert token.stderr.startswith("error: BOT_TOKEN is invalid")
