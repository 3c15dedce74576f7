"""DATABASE_URL=postgresql://... : settings, `check`, `backup`/`restore` guidance and start-up
on a PostgreSQL server (the test server of tests/conftest.py)."""

from __future__ import annotations

import io
import socket
from pathlib import Path

import asyncpg
import pytest

from bot.__main__ import check_telegram
from bot.check import run_check
from bot.database_backup import ScheduledBackups, backup_command, restore_command
from bot.settings import Settings, SettingsError, load_settings
from storage.open import open_storage
from storage.postgres.migrations import MIGRATIONS
from tests.fakes.clock import NOW, FakeClock
from tests.test_backup import add_client, cli_env, run_cli

EXIT_UNUSABLE = 2


def pg_settings(url: str, **values: object) -> Settings:
    return Settings.model_validate({"database_url": url, **values})


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- settings ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://am:secret@db.example.com:5432/assistant",
        "postgres://am@localhost/assistant",
        "postgresql:///assistant?host=/var/run/postgresql",
        "postgresql://am@db/assistant?sslmode=require",
    ],
)
def test_postgresql_urls_select_the_postgresql_backend(url: str) -> None:
    settings = pg_settings(url)
    assert settings.database_backend == "postgresql"
    assert "secret" not in settings.database_label
    assert not settings.backups_scheduled  # BACKUP_EVERY_HOURS defaults to 24: not for it
    with pytest.raises(ValueError, match="no database file"):
        _ = settings.database_path


def test_sqlite_urls_keep_their_file_and_backups() -> None:
    settings = pg_settings("sqlite:///data/x.sqlite3")
    assert settings.database_backend == "sqlite"
    assert settings.database_label == "data/x.sqlite3"
    assert settings.backups_scheduled
    assert not pg_settings("sqlite:///x", backup_every_hours=0).backups_scheduled


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("mysql://am@db/assistant", "must start with sqlite:/// or postgresql://"),
        ("sqlite:///", "needs a file path"),
        ("postgresql://am:secret@db:port/assistant", "port that is not a number"),
        ("postgresql://am:secret@/assistant", "names no server"),
        ("postgresql://am:secret@db.example.com", "names no database"),
    ],
)
def test_bad_database_urls_are_refused_with_a_hint_and_no_password(
    url: str, reason: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.chdir(Path(__file__).parent)  # no .env here
    with pytest.raises(SettingsError) as refused:
        load_settings(require_token=False)
    message = str(refused.value)
    assert message.startswith("DATABASE_URL is invalid")
    assert reason in message
    assert "postgresql://user:password@host:5432/database" in message  # the hint
    assert "secret" not in message


def test_the_pool_size_is_a_setting() -> None:
    assert pg_settings("postgres://a@b/c").database_pool_size == 10
    assert pg_settings("postgres://a@b/c", database_pool_size=3).database_pool_size == 3
    with pytest.raises(ValueError, match="greater than or equal to 1"):
        pg_settings("postgres://a@b/c", database_pool_size=0)


# --- backup and restore: guidance, not pretence --------------------------------------------


def test_backup_and_restore_print_pg_dump_guidance_and_exit_2(tmp_path: Path) -> None:
    settings = pg_settings(
        "postgresql://am:s3cret@db.example.com:5432/assistant", backup_dir=str(tmp_path)
    )
    out, err = io.StringIO(), io.StringIO()
    assert backup_command(settings, out, err) == EXIT_UNUSABLE
    assert out.getvalue() == ""
    text = err.getvalue()
    assert text.startswith("error: `python -m bot backup` copies a SQLite file")
    assert "pg_dump -Fc -d postgresql://am@db.example.com:5432/assistant -f " in text
    assert str(tmp_path / "am-assistant-") in text
    assert "s3cret" not in text
    assert list(tmp_path.iterdir()) == []  # nothing written

    err = io.StringIO()
    assert restore_command(settings, Path("/backups/x.dump"), out, err) == EXIT_UNUSABLE
    text = err.getvalue()
    assert "pg_restore --clean --if-exists --no-owner -d " in text
    assert "postgresql://am@db.example.com:5432/assistant /backups/x.dump" in text
    assert "s3cret" not in text


async def test_the_scheduled_backup_job_does_nothing_for_postgresql(tmp_path: Path) -> None:
    settings = pg_settings("postgres://am@db/assistant", backup_dir=str(tmp_path))
    job = ScheduledBackups.from_settings(settings, FakeClock(NOW))
    assert await job.run() is None
    assert not any(tmp_path.iterdir())  # noqa: ASYNC240 - a test's empty folder


# --- check -------------------------------------------------------------------------------


async def test_check_reports_schema_and_rows_of_a_postgresql_database(
    postgres_url: str,
) -> None:
    storage = await open_storage(postgres_url)
    try:
        await add_client(storage, "Acme")
    finally:
        await storage.backend.close()
    settings = pg_settings(postgres_url)
    out, err = io.StringIO(), io.StringIO()

    code = await run_check(settings, check_telegram, out, err)

    assert code == 0, err.getvalue()
    lines = out.getvalue().splitlines()
    assert lines[:3] == [
        "settings: ok",
        f"database: {settings.database_label} (schema {len(MIGRATIONS)})",
        "pending reminders: 0",
    ]
    assert "open alerts: 0" in lines
    rows = next(line for line in lines if line.startswith("rows: "))
    assert "users 1" in rows and "clients 1" in rows
    assert any(line.startswith("backups: not made by the bot for PostgreSQL") for line in lines)
    assert lines[-1] == "telegram: not checked (BOT_TOKEN is not set)"


async def test_check_refuses_an_unreachable_server_in_one_line() -> None:
    settings = pg_settings(f"postgresql://am:s3cret@127.0.0.1:{free_port()}/assistant")
    out, err = io.StringIO(), io.StringIO()

    assert await run_check(settings, check_telegram, out, err) == 1

    assert err.getvalue().startswith("error: PostgreSQL at postgresql://am@127.0.0.1:")
    assert err.getvalue().count("\n") == 1
    assert "s3cret" not in err.getvalue()


async def test_check_refuses_a_postgresql_schema_newer_than_the_code(postgres_url: str) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute(
            "INSERT INTO schema_version (version) VALUES ($1)", len(MIGRATIONS) + 1
        )
    finally:
        await connection.close()
    out, err = io.StringIO(), io.StringIO()

    assert await run_check(pg_settings(postgres_url), check_telegram, out, err) == 1

    assert "newer than this code knows" in err.getvalue()
    assert err.getvalue().count("\n") == 1


# --- the real process ----------------------------------------------------------------------


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
def test_cli_check_backup_and_start_up_on_postgresql(tmp_path: Path, postgres_url: str) -> None:
    env = cli_env(tmp_path) | {"DATABASE_URL": postgres_url}
    checked = run_cli(tmp_path, "check", env=env)
    assert checked.returncode == 0, checked.stderr
    assert f"(schema {len(MIGRATIONS)})" in checked.stdout
    assert "rows: users 0" in checked.stdout

    backup = run_cli(tmp_path, "backup", env=env)
    assert backup.returncode == EXIT_UNUSABLE
    assert "pg_dump -Fc" in backup.stderr and "Traceback" not in backup.stderr
    assert not (tmp_path / "backups").exists()


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
def test_cli_start_up_refuses_an_unreachable_server_with_exit_2(tmp_path: Path) -> None:
    url = f"postgresql://am:s3cret@127.0.0.1:{free_port()}/assistant"
    env = cli_env(tmp_path) | {"DATABASE_URL": url, "BOT_TOKEN": "42:TEST"}

    started = run_cli(tmp_path, env=env)

    assert started.returncode == EXIT_UNUSABLE, started.stderr
    errors = [line for line in started.stderr.splitlines() if "level=error" in line]
    assert len(errors) == 1 and "cannot be used" in errors[0], started.stderr
    assert "Traceback" not in started.stderr
    assert "s3cret" not in started.stderr


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
async def test_cli_start_up_refuses_a_newer_postgresql_schema_with_exit_2(
    tmp_path: Path, postgres_url: str
) -> None:
    connection = await asyncpg.connect(postgres_url)
    try:
        await connection.execute(
            "INSERT INTO schema_version (version) VALUES ($1)", len(MIGRATIONS) + 1
        )
    finally:
        await connection.close()
    env = cli_env(tmp_path) | {"DATABASE_URL": postgres_url, "BOT_TOKEN": "42:TEST"}

    started = run_cli(tmp_path, env=env)

    assert started.returncode == EXIT_UNUSABLE, started.stderr
    assert "newer than this code knows" in started.stderr
    assert "Traceback" not in started.stderr
