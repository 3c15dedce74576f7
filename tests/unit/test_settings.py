"""Settings: defaults, parsing, and one clear line for each mistake."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import SettingsError, load_settings


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("BOT_TOKEN", "TELEGRAM_API_URL", "DATABASE_URL", "ALLOWED_USER_IDS",
                 "DEFAULT_TIMEZONE", "DEFAULT_LANGUAGE", "LOG_LEVEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


def test_defaults_without_token_for_the_shell() -> None:
    settings = load_settings(require_token=False)
    assert settings.database_path == Path("data/assistant.sqlite3")
    assert settings.allowed_user_ids == frozenset()
    assert settings.default_timezone == "UTC"
    assert settings.default_language == "en"


def test_values_from_env_file(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text(
        "BOT_TOKEN=123:abc\nALLOWED_USER_IDS=1, 2,3\nDEFAULT_TIMEZONE=Europe/Moscow\n"
        "DATABASE_URL=sqlite:////var/tmp/x.db\nTELEGRAM_API_URL=http://localhost:8081/\n"
        "log_level=debug\n"
    )
    settings = load_settings(require_token=True)
    assert settings.allowed_user_ids == frozenset({1, 2, 3})
    assert settings.database_path == Path("/var/tmp/x.db")
    assert settings.telegram_api_url == "http://localhost:8081"
    assert settings.log_level == "DEBUG"
    assert "abc" not in repr(settings)


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("BOT_TOKEN", "", "BOT_TOKEN is not set"),
        ("BOT_TOKEN", "nonsense", "BOT_TOKEN is invalid"),
        ("ALLOWED_USER_IDS", "12,abc", "ALLOWED_USER_IDS is invalid"),
        ("DEFAULT_TIMEZONE", "Mars/Olympus", "DEFAULT_TIMEZONE is invalid"),
        ("DEFAULT_LANGUAGE", "de", "DEFAULT_LANGUAGE is invalid"),
        ("DATABASE_URL", "postgres://x", "DATABASE_URL is invalid"),
        ("TELEGRAM_API_URL", "ftp://x", "TELEGRAM_API_URL is invalid"),
        ("LOG_LEVEL", "loud", "LOG_LEVEL is invalid"),
        ("BACKUP_EVERY_HOURS", "-1", "BACKUP_EVERY_HOURS is invalid"),
        ("BACKUP_EVERY_HOURS", "daily", "BACKUP_EVERY_HOURS is invalid"),
        ("BACKUP_KEEP", "0", "BACKUP_KEEP is invalid"),
    ],
)
def test_each_mistake_names_the_variable(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, expected: str
) -> None:
    monkeypatch.setenv("BOT_TOKEN", "123:abc")
    monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as error:
        load_settings(require_token=True)
    message = str(error.value)
    assert message.startswith(expected)
    assert "\n" not in message


def test_backups_default_to_daily_next_to_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("BACKUP_EVERY_HOURS", "BACKUP_KEEP", "BACKUP_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings = load_settings(require_token=False)
    assert (settings.backup_every_hours, settings.backup_keep) == (24, 14)
    assert settings.backup_path == Path("data/backups")
    monkeypatch.setenv("DATABASE_URL", "sqlite:////srv/am/db.sqlite3")
    monkeypatch.setenv("BACKUP_DIR", " ")
    assert load_settings(require_token=False).backup_path == Path("/srv/am/backups")
    monkeypatch.setenv("BACKUP_DIR", "/var/backups/am")
    monkeypatch.setenv("BACKUP_EVERY_HOURS", "0")
    monkeypatch.setenv("BACKUP_KEEP", "30")
    settings = load_settings(require_token=False)
    assert settings.backup_path == Path("/var/backups/am")
    assert (settings.backup_every_hours, settings.backup_keep) == (0, 30)
