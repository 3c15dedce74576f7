"""Settings from the environment and `.env` (pydantic-settings)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SUPPORTED_LANGUAGES = ("ru", "en")
SQLITE_PREFIX = "sqlite:///"
POSTGRES_SCHEMES = ("postgresql", "postgres")
MAX_BACKUP_EVERY_HOURS = 24 * 366
MAX_BACKUP_KEEP = 10_000
# Telegram's rule for setWebhook's secret_token (sent back in X-Telegram-Bot-Api-Secret-Token).
WEBHOOK_SECRET_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,256}")
# The only ports api.telegram.org calls webhooks on (a self-hosted Bot API server calls any).
WEBHOOK_PORTS = (443, 80, 88, 8443)


class SettingsError(Exception):
    """A setting is missing or invalid; the message names it and says how to fix it."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=False
    )

    bot_token: SecretStr | None = None
    telegram_api_url: str | None = None
    # Seconds a Bot API call may take before it counts as failed (and is retried); long
    # polling waits 20 s more. aiogram's default.
    telegram_timeout: int = Field(default=60, ge=1, le=600)
    # A reply, edit or document that meets passing failures (429, 5xx, a reset connection)
    # is retried until it is delivered or this many seconds old (bot/sender.py).
    reply_deadline_seconds: int = Field(default=600, ge=10, le=86_400)
    # sqlite:///<path> (the default: one process, one file) or postgresql://... (several
    # workers on one server; see storage/postgres/).
    database_url: str = "sqlite:///data/assistant.sqlite3"
    # PostgreSQL: connections each process keeps at most (SQLite has its one connection).
    database_pool_size: int = Field(default=10, ge=1, le=1000)
    allowed_user_ids: Annotated[frozenset[int], NoDecode] = Field(default_factory=frozenset)
    default_timezone: str = "UTC"
    default_language: Literal["ru", "en"] = "en"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = "INFO"
    default_currency: str = "RUB"
    invoice_ladder_days: Annotated[tuple[int, ...], NoDecode] = (-3, 0, 3, 7)
    # Per-user flood control (bot/throttling.py): a burst, then so many updates a second;
    # faster updates wait their turn, none is dropped. THROTTLE_BURST=0 turns it off.
    throttle_burst: int = Field(default=10, ge=0, le=10_000)
    throttle_per_second: float = Field(default=5.0, gt=0, le=1000)
    backup_every_hours: int = 24
    backup_keep: int = 14
    backup_dir: Path | None = None
    # Urgent alerts: repeat until acknowledged, escalate after some unanswered repeats.
    alert_repeat_seconds: int = Field(default=300, ge=5, le=86_400)
    alert_repeats_before_escalation: int = Field(default=3, ge=1, le=100)
    alert_max_repeats: int = Field(default=9, ge=1, le=1000)
    alert_ack_timeout_minutes: int = Field(default=60, ge=1, le=10_080)
    alert_dedup_minutes: int = Field(default=10, ge=0, le=1440)
    # The HTTP intake for outside systems (POST /alerts/<secret>); off unless a port is set.
    intake_host: str = "127.0.0.1"
    intake_port: int | None = Field(default=None, ge=1, le=65_535)
    intake_max_bytes: int = Field(default=16_384, ge=256, le=1_048_576)
    # One address (a team's or a person's) may post this many requests a minute (a burst of
    # that many at once) and hold this many open alerts; beyond either: 429 + Retry-After.
    intake_rate_per_minute: int = Field(default=60, ge=1, le=100_000)
    intake_max_open: int = Field(default=100, ge=1, le=100_000)
    # A request whose body has not fully arrived after this long is dropped (408).
    intake_read_timeout_seconds: float = Field(default=10.0, gt=0, le=300)
    # Webhook mode instead of long polling when WEBHOOK_URL is set (see bot/webhook.py).
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = Field(default=None, validate_default=True)
    webhook_host: str = "127.0.0.1"
    webhook_port: int = Field(default=8080, ge=1, le=65_535)
    # The bot's public https origin, where the Mini App (/app/) and the calendar feeds
    # (/cal/...) are reached; in webhook mode WEBHOOK_URL's origin unless set. Served by the
    # webhook server, or in polling mode by the intake server (INTAKE_PORT) behind a proxy.
    public_url: str | None = None
    # How old Telegram's signed Mini App launch data (initData's auth_date) may be.
    webapp_auth_max_age_seconds: int = Field(default=86_400, ge=60, le=30 * 86_400)

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

    @field_validator("webhook_url")
    @classmethod
    def _check_webhook_url(cls, value: str | None, info: ValidationInfo) -> str | None:
        if value is None or not value.strip():
            return None
        value = value.strip()
        parts = urlsplit(value)
        # A self-hosted Bot API server (TELEGRAM_API_URL) may call plain http and any port.
        self_hosted = bool(info.data.get("telegram_api_url"))
        if parts.scheme != "https" and not (self_hosted and parts.scheme == "http"):
            raise ValueError("must start with https://")
        if not parts.hostname:
            raise ValueError("has no host name")
        if parts.fragment:
            raise ValueError("must not contain #")
        if not self_hosted and parts.port not in (None, *WEBHOOK_PORTS):
            raise ValueError("Telegram only calls ports 443, 80, 88 and 8443")
        return value

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parts = urlsplit(value.strip())
        # Telegram opens Mini Apps over https only; plain http is for a local try-out.
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an https:// address, e.g. https://bot.example.com")
        if parts.query or parts.fragment:
            raise ValueError("must not contain ? or #")
        return value.strip().rstrip("/")

    @field_validator("webhook_secret")
    @classmethod
    def _check_webhook_secret(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        # Stray blanks around it in .env are not part of it; blank means not set.
        secret = value.get_secret_value().strip() if value is not None else ""
        value = SecretStr(secret) if secret else None
        if value is None:
            if info.data.get("webhook_url"):
                raise ValueError("must be set when WEBHOOK_URL is set")
            return None
        if not WEBHOOK_SECRET_PATTERN.fullmatch(value.get_secret_value()):
            raise ValueError("must be 1 to 256 characters, each A-Z, a-z, 0-9, _ or -")
        return value

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: str) -> str:
        # The messages never repeat the URL: it may hold a password.
        value = value.strip()
        if value.startswith(SQLITE_PREFIX):
            if len(value) == len(SQLITE_PREFIX):
                raise ValueError("sqlite:/// needs a file path after it")
            return value
        parts = urlsplit(value)
        if parts.scheme not in POSTGRES_SCHEMES:
            raise ValueError("must start with sqlite:/// or postgresql://")
        try:
            parts.port  # noqa: B018 - raises ValueError for a port that is not a number
        except ValueError:
            raise ValueError("has a port that is not a number") from None
        query = dict(parse_qsl(parts.query))
        if not (parts.hostname or query.get("host")):
            raise ValueError("names no server (postgresql://user:password@host/database)")
        if not (parts.path.strip("/") or query.get("dbname")):
            raise ValueError("names no database (postgresql://user:password@host/database)")
        return value

    @property
    def database_backend(self) -> Literal["sqlite", "postgresql"]:
        """Which storage DATABASE_URL selects."""
        return "sqlite" if self.database_url.startswith(SQLITE_PREFIX) else "postgresql"

    @property
    def database_path(self) -> Path:
        """`sqlite:///data/x.db` is relative to the working directory; `sqlite:////abs` is not.

        Only for SQLite: a PostgreSQL database has no file (ValueError).
        """
        if self.database_backend != "sqlite":
            raise ValueError("DATABASE_URL is a PostgreSQL server: there is no database file")
        return Path(self.database_url[len(SQLITE_PREFIX) :])

    @property
    def database_label(self) -> str:
        """The database for messages and logs: the file, or the URL without its password."""
        if self.database_backend == "sqlite":
            return str(self.database_path)
        return public_database_url(self.database_url)

    @property
    def backups_scheduled(self) -> bool:
        """The bot backs the database up itself (BACKUP_EVERY_HOURS, SQLite only: a
        PostgreSQL server is backed up by its own tools, pg_dump or the host's)."""
        return bool(self.backup_every_hours) and self.database_backend == "sqlite"

    @property
    def public_origin(self) -> str | None:
        """Where the Mini App and calendar feeds are reached from outside: PUBLIC_URL, else
        (webhook mode) WEBHOOK_URL's scheme and host; None when neither is set."""
        if self.public_url is not None:
            return self.public_url
        if self.webhook_url is None:
            return None
        parts = urlsplit(self.webhook_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def webhook_path(self) -> str:
        """The path of WEBHOOK_URL: where the webhook server takes Telegram's POSTs."""
        return urlsplit(self.webhook_url or "").path or "/"

    @property
    def backup_path(self) -> Path:
        """BACKUP_DIR, else a `backups` folder next to the database file (PostgreSQL: in
        the working directory, where the pg_dump guidance writes)."""
        if self.backup_dir is not None:
            return self.backup_dir
        if self.database_backend != "sqlite":
            return Path("backups")
        return self.database_path.parent / "backups"

    @property
    def timezone(self) -> ZoneInfo:
        return ZoneInfo(self.default_timezone)


_HINTS = {
    "bot_token": "get a token from @BotFather and put BOT_TOKEN=... in .env or the environment",
    "telegram_api_url": "set TELEGRAM_API_URL to the base URL of your Bot API server, "
    "e.g. http://localhost:8081, or leave it empty",
    "database_url": "use DATABASE_URL=sqlite:///data/assistant.sqlite3 (relative), "
    "sqlite:////var/lib/assistant/db.sqlite3 (absolute), or for a PostgreSQL server "
    "postgresql://user:password@host:5432/database",
    "database_pool_size": "use how many PostgreSQL connections a process may open, e.g. 10",
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
    "alert_repeat_seconds": "use seconds between repeats of an unanswered alert, e.g. 300",
    "alert_repeats_before_escalation": "use a count such as 3",
    "alert_max_repeats": "use a count such as 9",
    "alert_ack_timeout_minutes": "use minutes such as 60",
    "alert_dedup_minutes": "use minutes such as 10 (0: only dedup keys)",
    "intake_host": "use an address to listen on, e.g. 127.0.0.1 or 0.0.0.0",
    "intake_port": "use a TCP port such as 8080, or leave it empty to turn the intake off",
    "intake_max_bytes": "use a body size limit in bytes, e.g. 16384",
    "intake_rate_per_minute": "use requests a minute per intake address, e.g. 60",
    "intake_max_open": "use a count of open alerts per intake address, e.g. 100",
    "intake_read_timeout_seconds": "use seconds to wait for a request body, e.g. 10",
    "webhook_url": "use the public https URL Telegram should call, e.g. "
    "https://bot.example.com/telegram, or leave it empty to poll",
    "webhook_secret": "use 1-256 characters of A-Z, a-z, 0-9, _ and -, e.g. from "
    "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
    "webhook_host": "use an address for the webhook server, e.g. 127.0.0.1 behind a proxy",
    "webhook_port": "use a TCP port for the webhook server, e.g. 8080",
    "public_url": "use the bot's public https address, e.g. https://bot.example.com",
    "webapp_auth_max_age_seconds": "use seconds a Mini App launch stays valid, e.g. 86400",
}


def public_database_url(url: str) -> str:
    """The URL without its password (in the user part or as a ``password=`` parameter)."""
    parts = urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user = credentials.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


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
    if settings.public_url and settings.webhook_url is None and settings.intake_port is None:
        # Polling mode has no web server of its own: the intake's serves the Mini App and
        # the calendar feeds, as the webhook server does in webhook mode.
        raise SettingsError(
            "PUBLIC_URL is set but nothing serves it: when polling, set INTAKE_PORT (the "
            "bot's HTTP server for the Mini App, calendar feeds and alerts) and point "
            "PUBLIC_URL's proxy at it, or leave PUBLIC_URL empty"
        )
    return settings
