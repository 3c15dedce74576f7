"""Webhook mode: Telegram POSTs updates to WEBHOOK_URL instead of the bot long-polling.

An aiohttp server on WEBHOOK_HOST:WEBHOOK_PORT (usually behind a TLS-terminating reverse
proxy) takes `POST <path of WEBHOOK_URL>` through aiogram's `SimpleRequestHandler`: a
request without the right `X-Telegram-Bot-Api-Secret-Token` gets 401 and is not handled.
Each update is handled before the answer, so a 200 means it is done and anything else makes
Telegram deliver it again. `GET /health` answers `{"ok": true, "mode": "webhook"}`.

The dispatcher's startup and shutdown hooks are the same as when polling (aiogram's
`setup_application`). The webhook is set once the server listens and left in place on
shutdown, so Telegram keeps updates while the bot restarts; polling mode removes it.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Callable
from contextlib import suppress

from aiogram import Bot, Dispatcher
from aiogram.exceptions import TelegramAPIError
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

from bot.settings import Settings

logger = logging.getLogger(__name__)

HEALTH_PATH = "/health"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
# Updates still being handled were waited for by the shutdown hook already.
_SHUTDOWN_SECONDS = 2.0


class WebhookError(Exception):
    """Webhook mode cannot start, or polling cannot take over; the message says why."""


class _CheckedRequestHandler(SimpleRequestHandler):
    """aiogram's handler, plus one warning line for each request it turns away."""

    def verify_secret(self, telegram_secret_token: str, bot: Bot) -> bool:
        if super().verify_secret(telegram_secret_token, bot):
            return True
        reason = "a wrong" if telegram_secret_token else "no"
        logger.warning("webhook: refused a request with %s %s header", reason, SECRET_HEADER)
        return False


async def health(request: web.Request) -> web.Response:
    return web.json_response({"ok": True, "mode": "webhook"})


def create_app(
    dispatcher: Dispatcher,
    bot: Bot,
    settings: Settings,
    install_pages: Callable[[web.Application], None] | None = None,
) -> web.Application:
    """The webhook application: Telegram's endpoint, health, the dispatcher's hooks, and
    ``install_pages`` (bot/public_web.py: the Mini App and calendar feeds, on the same https
    origin)."""
    if settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_SECRET")
    app = web.Application()
    app.router.add_get(HEALTH_PATH, health)
    if install_pages is not None:
        install_pages(app)
    # Hooks first: aiohttp runs on_shutdown callbacks in order, and the handler's closes the
    # bot session, which updates still finishing in the shutdown hook need for their replies.
    setup_application(app, dispatcher, bot=bot)
    _CheckedRequestHandler(
        dispatcher,
        bot,
        handle_in_background=False,
        secret_token=settings.webhook_secret.get_secret_value(),
    ).register(app, path=settings.webhook_path)
    return app


async def remove_webhook(bot: Bot) -> None:
    """Polling start: drop a webhook left by webhook mode (getUpdates fails while one is set).

    Updates Telegram kept for the webhook stay and come through polling.
    """
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    except TelegramAPIError as exc:
        raise WebhookError(
            f"could not remove the webhook before polling ({type(exc).__name__}: "
            f"{exc.message}): check the network or TELEGRAM_API_URL"
        ) from None


async def run_webhook(
    bot: Bot,
    dispatcher: Dispatcher,
    settings: Settings,
    install_pages: Callable[[web.Application], None] | None = None,
) -> None:
    """Serve the webhook (and ``install_pages``' routes) until SIGTERM or SIGINT; start-up
    problems raise WebhookError."""
    if settings.webhook_url is None or settings.webhook_secret is None:
        raise ValueError("webhook mode needs WEBHOOK_URL and WEBHOOK_SECRET")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals = (signal.SIGTERM, signal.SIGINT)
    for signum in signals:
        loop.add_signal_handler(signum, stop.set)
    runner = web.AppRunner(
        create_app(dispatcher, bot, settings, install_pages),
        access_log=None,  # one line per event, not per request
        shutdown_timeout=_SHUTDOWN_SECONDS,
    )
    host, port = settings.webhook_host, settings.webhook_port
    try:
        await runner.setup()  # runs the dispatcher's startup hooks
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            raise WebhookError(
                f"could not listen for the webhook on {host}:{port} "
                f"({exc.strerror or exc}): check WEBHOOK_HOST and WEBHOOK_PORT"
            ) from None
        # Only now: Telegram may call as soon as the webhook is set.
        try:
            await bot.set_webhook(
                settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value(),
                allowed_updates=dispatcher.resolve_used_update_types(),
                drop_pending_updates=False,
            )
        except TelegramAPIError as exc:
            raise WebhookError(
                f"Telegram did not accept WEBHOOK_URL {settings.webhook_url} "
                f"({type(exc).__name__}: {exc.message})"
            ) from None
        logger.info(
            "webhook mode: Telegram calls %s; listening on %s:%s%s",
            settings.webhook_url, host, port, settings.webhook_path,
        )
        await stop.wait()
        logger.info("webhook mode: stopping")
    finally:
        # Stops listening, runs the shutdown hooks (they wait for updates being handled,
        # then close the database), then closes the bot session.
        await runner.cleanup()
        for signum in signals:
            with suppress(NotImplementedError, RuntimeError):
                loop.remove_signal_handler(signum)
