"""Settings from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LANGUAGES = ("ru", "en")
SQLITE_PREFIX = "sqlite:///"
MAX_BACKUP_EVERY_HOURS = 24 * 366
MAX_BACKUP_KEEP = 10_000


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    database_url: str = "sqlite:///data/assistant.sqlite3"
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    default_timezone: str = "UTC"
    default_language: Literal["ru", "en"] = "en"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    default_currency: str = "RUB"
    invoice_ladder_days: Annotated[tuple[int, ...], NoDecode] = (-3, 0, 3, 7)
    backup_every_hours: int = 24
    backup_keep: int = 14
    backup_dir: Path | None = None

    @field_validator("default_currency")
    @classmethod
    def _check_currency(cls, value: str) -> str:
        code = value.strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError("must be a 3-letter ISO code")
        return code

    @field_validator("invoice_ladder_days", mode="before")
    @classmethod
    def _parse_ladder(cls, value: object) -> object:
        if isinstance(value, str):
            days = tuple(int(part) for part in value.replace(";", ",").split(",") if part.strip())
            if not days or any(abs(day) > 365 for day in days):
                raise ValueError("must be a few day offsets like -3,0,3,7")
            return days
        return value

    @field_validator("allowed_user_ids", mode="before")
    @classmethod
    def _parse_ids(cls, value: object) -> object:
        if isinstance(value, str):
            parts = [part.strip() for part in value.replace(";", ",").split(",")]
            return frozenset(int(part) for part in parts if part)
        return value

    @field_validator("default_timezone")
    @classmethod
    def _check_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown timezone {value!r}") from exc
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @field_validator("telegram_api_url")
    @classmethod
    def _check_api_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip().rstrip("/")
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value

    @field_validator("backup_every_hours")
    @classmethod
    def _check_backup_every(cls, value: int) -> int:
        if not 0 <= value <= MAX_BACKUP_EVERY_HOURS:
            raise ValueError(f"must be 0 (off) to {MAX_BACKUP_EVERY_HOURS} hours")
        return value

    @field_validator("backup_keep")
    @classmethod
    def _check_backup_keep(cls, value: int) -> int:
        if not 1 <= value <= MAX_BACKUP_KEEP:
            raise ValueError(f"must be 1 to {MAX_BACKUP_KEEP} backups")
        return value

    @field_validator("backup_dir", mode="before")
    @classmethod
    def _blank_backup_dir(cls, value: object) -> object:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        if not value.startswith(SQLITE_PREFIX) or len(value) == len(SQLITE_PREFIX):
            raise ValueError("only sqlite:///<path> is supported")
        return value

    @property
    def database_path(self) -> Path:
        """`sqlite:///data/x.db` is relative to the working directory; `sqlite:////abs` is not."""
        return Path(self.database_url[len(SQLITE_PREFIX) :])

    @property
    def backup_path(self) -> Path:
        """BACKUP_DIR, else a `backups` folder next to the database file."""
        if self.backup_dir is not None:
            return self.backup_dir
        return self.database_path.parent / "backups"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


_HINTS = {
    "bot_token": "get a token from @BotFather and put BOT_TOKEN=... in .env or the environment",
    "telegram_api_url": "set TELEGRAM_API_URL to the base URL of your Bot API server, "
    "e.g. http://localhost:8081, or leave it empty",
    "database_url": "use DATABASE_URL=sqlite:///data/assistant.sqlite3 (relative) "
    "or sqlite:////var/lib/assistant/db.sqlite3 (absolute)",
    "allowed_user_ids": "use comma-separated numeric Telegram user ids, e.g. 12345,67890, "
    "or leave it empty",
    "default_timezone": "use an IANA name such as Europe/Moscow or UTC",
    "default_language": "use ru or en",
    "log_level": "use DEBUG, INFO, WARNING or ERROR",
    "default_currency": "use a 3-letter ISO code such as RUB, USD or EUR",
    "invoice_ladder_days": "use day offsets from the due date, e.g. -3,0,3,7",
    "backup_every_hours": "use whole hours between backups, e.g. 24, or 0 to turn them off",
    "backup_keep": "use how many backups to keep, e.g. 14",
    "backup_dir": "use a folder for backups, or leave it empty for a backups folder "
    "next to the database",
}


def load_settings(*, require_token: bool) -> Settings:
    """Load settings, turning any problem into one readable SettingsError."""
    try:
        settings = Settings()
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0]) if error["loc"] else "settings"
        reason = error["msg"].removeprefix("Value error, ")
        hint = _HINTS.get(field, "check .env.example")
        raise SettingsError(f"{field.upper()} is invalid ({reason}): {hint}") from None
    if require_token:
        token = settings.bot_token.get_secret_value().strip() if settings.bot_token else ""
        if not token:
            raise SettingsError(f"BOT_TOKEN is not set: {_HINTS['bot_token']}")
        if ":" not in token or not token.split(":", 1)[0].isdigit():
            raise SettingsError(
                "BOT_TOKEN is invalid (expected <digits>:<secret>): " + _HINTS["bot_token"]
            )
    return settings
