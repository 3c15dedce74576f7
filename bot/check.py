"""`python -m bot check`: are settings, database and Telegram ready? One line each.

Settings were loaded (and judged) by `main()` already. The database (DATABASE_URL: a SQLite
file or a PostgreSQL server) is opened as the bot opens it: a damaged one (quick_check), one
from newer code or a server that cannot be reached is refused with one line and left
untouched; otherwise pending migrations are applied, then the schema version, the pending
reminders, the open alerts and the rows of the main tables are reported. It does not take
the bot's lock, so it may run beside the bot. With a BOT_TOKEN set, getMe proves the token
and the Bot API. Exit 0 when all is well, 1 with one line otherwise.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import TextIO

from aiogram import Bot

from bot.app import create_bot
from bot.database_backup import list_backups, pg_dump_command
from bot.settings import Settings
from storage.errors import DatabaseUnusableError, StorageError
from storage.faults import describe
from storage.open import open_storage, row_counts

EXIT_OK = 0
EXIT_FAILED = 1
TELEGRAM_TIMEOUT = 20.0  # seconds for getMe

TelegramCheck = Callable[[Bot, Settings], Awaitable[None]]


async def run_check(
    settings: Settings,
    check_telegram: TelegramCheck,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    token = settings.bot_token.get_secret_value().strip() if settings.bot_token else ""
    secrets = [secret for secret in (token, token.partition(":")[2]) if secret]

    def fail(message: str) -> int:
        for secret in secrets:
            message = message.replace(secret, "***")
        err.write(f"error: {message}\n")
        return EXIT_FAILED

    out.write("settings: ok\n")
    try:
        lines = await _check_database(settings)
    except (StorageError, OSError) as exc:
        return fail(_database_problem(settings, exc))
    out.writelines(f"{line}\n" for line in lines)
    out.write(f"backups: {_describe_backups(settings)}\n")
    if not token:
        out.write("telegram: not checked (BOT_TOKEN is not set)\n")
        return EXIT_OK
    bot = create_bot(settings)
    where = settings.telegram_api_url or "api.telegram.org"
    try:
        # check_telegram logs who the bot is; it raises StartupError with one line.
        await asyncio.wait_for(check_telegram(bot, settings), TELEGRAM_TIMEOUT)
    except TimeoutError:
        return fail(f"no answer from the Bot API at {where} in {TELEGRAM_TIMEOUT:.0f} s")
    except Exception as exc:  # StartupError, or any other API error: one line either way
        return fail(str(exc) or type(exc).__name__)
    finally:
        await bot.session.close()
    out.write(f"telegram: ok, {where} accepts the token\n")
    return EXIT_OK


async def _check_database(settings: Settings) -> list[str]:
    # One connection is enough (PostgreSQL); no lock (SQLite): it may run beside the bot.
    storage = await open_storage(settings.database_url, pool_size=1)
    try:
        version = await storage.backend.schema_version()
        counts = await row_counts(storage)
        lines = [
            f"database: {settings.database_label} (schema {version})",
            f"pending reminders: {await storage.reminders.count_pending()}",
            # Acknowledged but not resolved still needs someone: it re-triggers if left.
            f"open alerts: {await storage.alerts.count_open()}",
            "rows: " + ", ".join(f"{table} {count}" for table, count in counts.items()),
        ]
        return lines
    finally:
        await storage.backend.close()


def _database_problem(settings: Settings, exc: Exception) -> str:
    if isinstance(exc, DatabaseUnusableError):
        return str(exc)  # one line naming the database already
    detail = describe(exc) if isinstance(exc, StorageError) else str(exc)
    return f"database {settings.database_label}: {detail}"


def _describe_backups(settings: Settings) -> str:
    if settings.database_backend != "sqlite":
        return (
            "not made by the bot for PostgreSQL; use the server's own, e.g. "
            + pg_dump_command(settings)
        )
    if not settings.backup_every_hours:
        where = f"; `python -m bot backup` writes to {settings.backup_path}"
        return "scheduled backups are off (BACKUP_EVERY_HOURS=0)" + where
    found = list_backups(settings.backup_path)
    newest = (
        f", newest {found[-1].taken_at:%Y-%m-%d %H:%M} UTC" if found else ", none yet"
    )
    return (
        f"every {settings.backup_every_hours} h, keeping {settings.backup_keep}, "
        f"in {settings.backup_path} ({len(found)} there{newest})"
    )
