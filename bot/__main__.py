"""Entry point: `python -m bot` runs the bot (long polling, or a webhook when WEBHOOK_URL is
set); `python -m bot shell` a console."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
from pathlib import Path

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)

from bot.app import (
    InFlightUpdates,
    create_bot,
    create_dispatcher,
    create_sender,
    create_services,
    register_commands,
)
from bot.clock import SystemClock
from bot.i18n import create_i18n
from bot.intake import IntakeServer, IntakeStartError
from bot.logs import configure_logging
from bot.runtime import Runtime, user_blocked
from bot.services.dates import DateParser
from bot.settings import Settings, SettingsError, load_settings
from bot.webhook import WebhookError, remove_webhook, run_webhook
from storage.errors import DatabaseUnusableError
from storage.sqlite import open_sqlite_storage

logger = logging.getLogger("bot")

SHUTDOWN_GRACE_SECONDS = 3.0
EXIT_BAD_SETTINGS = 2
EXIT_STARTUP_FAILED = 1
# Damaged, from newer code, or held by another process: restarting will not fix it.
EXIT_DATABASE_UNUSABLE = 2


class StartupError(Exception):
    """Start-up cannot go on; the message says why in one line."""


async def check_telegram(bot: Bot, settings: Settings) -> None:
    """Fail fast, in one line, when the token is rejected or the API is unreachable."""
    try:
        me = await bot.get_me()
    except TelegramUnauthorizedError:
        raise StartupError(
            "BOT_TOKEN was rejected by Telegram: check the token from @BotFather"
        ) from None
    except (TelegramNetworkError, TelegramServerError) as exc:
        where = settings.telegram_api_url or "api.telegram.org"
        raise StartupError(
            f"could not reach the Bot API at {where} ({type(exc).__name__}): "
            "check the network or TELEGRAM_API_URL"
        ) from None
    logger.info("bot @%s (id %s)", me.username, me.id)


async def run_bot(settings: Settings) -> None:
    # The database first, with no network: a damaged or newer one, or one another process
    # holds, stops start-up here (DatabaseUnusableError) with nothing written to it. Held
    # (a lock beside the file) until the database is closed, so `restore` refuses meanwhile.
    storage = await open_sqlite_storage(settings.database_path, exclusive=True)
    bot = create_bot(settings)
    try:
        await check_telegram(bot, settings)
        if settings.webhook_url is None:
            # Polling and a webhook exclude each other: drop one left by webhook mode.
            await remove_webhook(bot)
    except StartupError:
        await bot.session.close()
        await storage.backend.close()
        raise
    except WebhookError as exc:
        await bot.session.close()
        await storage.backend.close()
        raise StartupError(str(exc)) from None
    dates = DateParser()
    # Everything imported so far lives as long as the process: keep it out of the full
    # collections that otherwise pause a request for ~150 ms now and then.
    gc.freeze()
    # dateparser's first parse costs ~300 ms; pay it now, not on the user's first /task.
    await asyncio.to_thread(dates.warm)
    i18n = create_i18n(settings.default_language)
    clock = SystemClock()
    # The composition root: every object built once, complete. One paced stream for
    # replies, reminders, digests and alert pages.
    sender = create_sender(bot, settings, on_blocked=user_blocked(storage.users))
    services = create_services(
        settings=settings, storage=storage, clock=clock, i18n=i18n, sender=sender
    )
    dispatcher = create_dispatcher(
        settings=settings, storage=storage, clock=clock, dates=dates, i18n=i18n,
        services=services,
    )
    runtime = Runtime.for_app(
        bot=bot, storage=storage, i18n=i18n, clock=clock, settings=settings,
        services=services,
    )
    intake = (
        IntakeServer(services.alerts, settings) if settings.intake_port is not None else None
    )

    async def on_startup(bot: Bot) -> None:
        try:
            await register_commands(bot, i18n)
        except TelegramAPIError as exc:
            # The menu is a convenience; the bot works without it.
            logger.warning("could not register the command menu: %s", exc)
        await runtime.start()
        if intake is not None:
            try:
                await intake.start()
            except IntakeStartError as exc:
                await runtime.stop()
                await storage.backend.close()
                await bot.session.close()
                raise StartupError(str(exc)) from None
        logger.info(
            "started: database %s (schema %s)",
            settings.database_path,
            await storage.backend.schema_version(),
        )

    async def on_shutdown(dispatcher: Dispatcher, in_flight: InFlightUpdates) -> None:
        # Polling has stopped; let handlers already running commit and reply.
        if not await in_flight.wait_idle(SHUTDOWN_GRACE_SECONDS):
            logger.warning("shutdown: some updates were still being handled")
        if intake is not None:
            await intake.stop()
        await runtime.stop()
        await storage.backend.close()
        logger.info("stopped: database closed")

    dispatcher.startup.register(on_startup)
    dispatcher.shutdown.register(on_shutdown)
    if settings.webhook_url is not None:
        try:
            await run_webhook(bot, dispatcher, settings)
        except WebhookError as exc:
            raise StartupError(str(exc)) from None
        return
    await dispatcher.start_polling(
        bot, allowed_updates=dispatcher.resolve_used_update_types(), polling_timeout=20
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="run",
        choices=["run", "shell", "backup", "restore", "check"],
        help="run: the Telegram bot (default); shell: try it locally without a token; "
        "backup: back up the database now; restore FILE: replace the database by a backup "
        "(stop the bot first); check: settings, database and Telegram",
    )
    parser.add_argument("file", nargs="?", type=Path, help="restore: the backup file")
    args = parser.parse_args(argv)
    if (args.command == "restore") != (args.file is not None):
        parser.error("restore takes one backup file; the other commands take none")
    try:
        settings = load_settings(require_token=args.command == "run")
        if args.command == "check" and settings.bot_token is not None:
            # A token that is set must look right, as for run.
            load_settings(require_token=bool(settings.bot_token.get_secret_value().strip()))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - before logging exists
        return EXIT_BAD_SETTINGS
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    webhook_secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    # Never in a log line, even inside an exception's text.
    secrets = [token, token.partition(":")[2], webhook_secret]
    if args.command in ("backup", "restore", "check"):
        configure_logging(settings.log_level, secrets)
        from bot import backup, check

        if args.command == "backup":
            return backup.backup_command(settings)
        if args.command == "restore":
            return backup.restore_command(settings, args.file)
        return asyncio.run(check.run_check(settings, check_telegram))
    if args.command == "shell":
        from bot.shell import run_shell

        configure_logging("WARNING", [token])
        try:
            return asyncio.run(run_shell(settings, sys.stdin, sys.stdout))
        except DatabaseUnusableError as exc:
            print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - the shell logs warnings only
            return EXIT_DATABASE_UNUSABLE
    configure_logging(settings.log_level, secrets)
    with contextlib.suppress(KeyboardInterrupt):
        try:
            asyncio.run(run_bot(settings))
        except StartupError as exc:
            logger.error("%s", exc)
            return EXIT_STARTUP_FAILED
        except DatabaseUnusableError as exc:
            logger.error("%s", exc)
            return EXIT_DATABASE_UNUSABLE
    return 0


if __name__ == "__main__":
    sys.exit(main())
