"""Entry point: `python -m bot` runs the bot (long polling, or a webhook when WEBHOOK_URL is
set); `python -m bot shell` a console."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from aiogram import Bot, Dispatcher
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.utils.i18n import I18n

from bot.app import (
    InFlightUpdates,
    create_bot,
    create_dispatcher,
    create_sender,
    create_services,
    register_commands,
    register_menu_button,
)
from bot.clock import SystemClock
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.intake import IntakeServer, IntakeStartError
from bot.leadership import Leadership
from bot.logs import configure_logging
from bot.public_web import PublicWeb
from bot.runtime import Runtime, user_blocked
from bot.sender import Sender
from bot.settings import Settings, SettingsError, load_settings
from bot.wakeups import Notifier
from bot.webhook import WebhookError, remove_webhook, run_webhook
from storage.errors import DatabaseUnusableError, StorageError
from storage.faults import describe
from storage.interfaces import Storage
from storage.open import open_storage

logger = logging.getLogger("bot")

SHUTDOWN_GRACE_SECONDS = 3.0
EXIT_BAD_SETTINGS = 2
EXIT_STARTUP_FAILED = 1
# Damaged, from newer code, held by another process, or a PostgreSQL server that cannot be
# reached: restarting will not fix it.
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


async def connect(settings: Settings) -> tuple[Storage, Bot]:
    """The database, then Telegram; on failure nothing stays open."""
    # The database first: a damaged or newer one, one another process holds, or a
    # PostgreSQL server that cannot be reached stops start-up here (DatabaseUnusableError)
    # with nothing written to it. A SQLite file is held (a lock beside it) until the
    # database is closed, so `restore` refuses meanwhile.
    try:
        storage = await open_storage(
            settings.database_url, exclusive=True, pool_size=settings.database_pool_size
        )
    except DatabaseUnusableError:
        raise
    except StorageError as exc:  # a fault (disk full, read-only, ...) while migrating
        raise StartupError(
            f"database {settings.database_label} cannot be opened: {describe(exc)}"
        ) from None
    bot = create_bot(settings)
    try:
        await check_telegram(bot, settings)
        if settings.webhook_url is None:
            # Polling and a webhook exclude each other: drop one left by webhook mode.
            await remove_webhook(bot)
    except (StartupError, WebhookError) as exc:
        await bot.session.close()
        await storage.backend.close()
        if isinstance(exc, WebhookError):
            raise StartupError(str(exc)) from None
        raise
    return storage, bot


async def close_storage(storage: Storage) -> None:
    """Leadership and wake-up sessions first (another worker takes over at once), then the
    database."""
    await storage.coordination.close()
    await storage.backend.close()


@dataclass(frozen=True, slots=True)
class App:
    """What the composition root builds for a running bot, each object once."""

    settings: Settings
    storage: Storage
    i18n: I18n
    dispatcher: Dispatcher
    sender: Sender
    # Runs the sending runtime (reminders, alerts, digests, series) while this process leads:
    # with SQLite at once; with PostgreSQL in one worker at a time.
    leadership: Leadership
    intake: IntakeServer | None
    # The Mini App and calendar feeds, on the webhook server or (polling) the intake's.
    pages: PublicWeb


async def build_app(settings: Settings, storage: Storage, bot: Bot) -> App:
    """The composition root of `python -m bot`."""
    dates = DateParser()
    # Everything imported so far lives as long as the process: keep it out of the full
    # collections that otherwise pause a request for ~150 ms now and then.
    gc.freeze()
    # dateparser's first parse costs ~300 ms; pay it now, not on the user's first /task.
    await asyncio.to_thread(dates.warm)
    i18n = create_i18n(settings.default_language)
    clock = SystemClock()
    # One paced stream for replies, reminders, digests and alert pages; with several workers
    # its pace is the database's, one for all of them.
    sender = create_sender(
        bot, settings, on_blocked=user_blocked(storage.users),
        shared_limits=storage.shared_limits,
    )
    # A planned reminder or a new alert wakes the leading process, whichever process made it.
    notifier = Notifier(storage.coordination)
    services = create_services(
        settings=settings, storage=storage, clock=clock, i18n=i18n, sender=sender,
        wake=notifier.wake,
    )
    dispatcher = create_dispatcher(
        settings=settings, storage=storage, clock=clock, dates=dates, i18n=i18n,
        services=services,
    )

    def build_runtime() -> Runtime:
        # A fresh runtime for each term this process leads; the sender stays the app's.
        return Runtime.for_app(
            bot=bot, storage=storage, i18n=i18n, clock=clock, settings=settings,
            services=services, owns_sender=False, wake_on_plan=False,
        )

    leadership = Leadership(storage.coordination, build_runtime)
    pages = PublicWeb(storage, services, clock, dates, i18n, settings)
    intake = None
    if settings.intake_port is not None:
        # Polling has no other web server: the intake's serves the pages too.
        polling = settings.webhook_url is None
        intake = IntakeServer(
            services.alerts, settings, install_pages=pages.install if polling else None
        )
    app = App(settings, storage, i18n, dispatcher, sender, leadership, intake, pages)
    dispatcher.startup.register(app_startup(app))
    dispatcher.shutdown.register(app_shutdown(app))
    return app


def app_startup(app: App) -> Callable[[Bot], Awaitable[None]]:
    async def on_startup(bot: Bot) -> None:
        try:
            await register_commands(bot, app.i18n)
        except TelegramAPIError as exc:
            # The menu is a convenience; the bot works without it.
            logger.warning("could not register the command menu: %s", exc)
        try:
            await register_menu_button(bot, app.i18n, app.settings)
        except TelegramAPIError as exc:
            logger.warning("could not set the chat menu button: %s", exc)
        await app.sender.start()
        await app.leadership.start()
        if app.intake is not None:
            try:
                await app.intake.start()
            except IntakeStartError as exc:
                await app.leadership.stop()
                await app.sender.stop()
                await close_storage(app.storage)
                await bot.session.close()
                raise StartupError(str(exc)) from None
        logger.info(
            "started: database %s (schema %s)",
            app.settings.database_label,
            await app.storage.backend.schema_version(),
        )

    return on_startup


def app_shutdown(app: App) -> Callable[[InFlightUpdates], Awaitable[None]]:
    async def on_shutdown(in_flight: InFlightUpdates) -> None:
        # Polling has stopped; let handlers already running commit and reply.
        if not await in_flight.wait_idle(SHUTDOWN_GRACE_SECONDS):
            logger.warning("shutdown: some updates were still being handled")
        if app.intake is not None:
            await app.intake.stop()
        # The leading process's runtime drains the stream before unsent claims go back.
        await app.leadership.stop()
        await app.sender.stop()
        await close_storage(app.storage)
        logger.info("stopped: database closed")

    return on_shutdown


async def run_bot(settings: Settings) -> None:
    storage, bot = await connect(settings)
    app = await build_app(settings, storage, bot)
    if settings.webhook_url is not None:
        try:
            await run_webhook(bot, app.dispatcher, settings, app.pages.install)
        except WebhookError as exc:
            raise StartupError(str(exc)) from None
        return
    await app.dispatcher.start_polling(
        bot, allowed_updates=app.dispatcher.resolve_used_update_types(), polling_timeout=20
    )


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    parser.add_argument(
        "command", nargs="?", default="run",
        choices=["run", "shell", "backup", "restore", "check", "migrate-to"],
        help="run: the Telegram bot (default); shell: try it locally without a token; "
        "backup: back up the database now; restore FILE: replace the database by a backup "
        "(stop the bot first); check: settings, database and Telegram; migrate-to URL: copy "
        "the SQLite database into an empty PostgreSQL one (stop the bot first)",
    )
    # str, not Path: a Path would fold migrate-to's postgresql:// into postgresql:/
    parser.add_argument(
        "file", nargs="?", help="restore: the backup file; migrate-to: the PostgreSQL URL"
    )
    args = parser.parse_args(argv)
    if (args.command in ("restore", "migrate-to")) != (args.file is not None):
        parser.error(
            "restore takes one backup file, migrate-to one postgresql:// URL; "
            "the other commands take none"
        )
    return args


def read_settings(command: str) -> Settings | None:
    """The settings for ``command``; None (the reason printed) if they are wrong."""
    try:
        settings = load_settings(require_token=command == "run")
        if command == "check" and settings.bot_token is not None:
            # A token that is set must look right, as for run.
            load_settings(require_token=bool(settings.bot_token.get_secret_value().strip()))
    except SettingsError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - before logging exists
        return None
    return settings


def run_tool(command: str, settings: Settings, file: str | None) -> int:
    """backup, restore FILE, check, migrate-to URL."""
    from bot import check, database_backup, migrate_to

    if command == "backup":
        return database_backup.backup_command(settings)
    if command == "restore":
        assert file is not None  # parse_args
        return database_backup.restore_command(settings, Path(file))
    if command == "migrate-to":
        assert file is not None  # parse_args
        return asyncio.run(migrate_to.run(settings, file))
    return asyncio.run(check.run_check(settings, check_telegram))


def shell(settings: Settings) -> int:
    from bot.shell import run_shell

    try:
        return asyncio.run(run_shell(settings, sys.stdin, sys.stdout))
    except DatabaseUnusableError as exc:
        print(f"error: {exc}", file=sys.stderr)  # noqa: T201 - the shell logs warnings only
        return EXIT_DATABASE_UNUSABLE


def run(settings: Settings) -> int:
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


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = read_settings(args.command)
    if settings is None:
        return EXIT_BAD_SETTINGS
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    webhook_secret = settings.webhook_secret.get_secret_value() if settings.webhook_secret else ""
    # Never in a log line, even inside an exception's text.
    secrets = [token, token.partition(":")[2], webhook_secret]
    if args.command == "migrate-to" and args.file:
        # The target URL's password, should an error quote the URL.
        secrets.append(urlsplit(args.file).password or "")
    if args.command == "shell":
        configure_logging("WARNING", [token])
        return shell(settings)
    configure_logging(settings.log_level, secrets)
    if args.command == "run":
        return run(settings)
    return run_tool(args.command, settings, args.file)


if __name__ == "__main__":
    sys.exit(main())
