"""The bot's web pages for people: the Mini App (`/app/`, bot/webapp) and the calendar feeds
(`/cal/<id>-<secret>.ics`, bot/calendar_feed).

Mounted on the aiohttp server the process already runs: the webhook server in webhook mode
(the Mini App is then on the webhook's https origin), or the intake server (INTAKE_PORT) when
polling, behind the proxy that PUBLIC_URL names. Without either server the bot works as before,
with no board buttons (bot/views/board_button.py) and /calendar saying what to set.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiogram.utils.i18n import I18n
from aiohttp import web

from bot.calendar_feed.web import add_calendar_routes
from bot.clock import Clock
from bot.domain.dates import DateParser
from bot.services.catalog import Services
from bot.settings import Settings
from bot.webapp.server import add_webapp_routes
from storage.interfaces import Storage


@dataclass(frozen=True, slots=True)
class PublicWeb:
    """What the pages need, built once by the composition root."""

    storage: Storage
    services: Services
    clock: Clock
    dates: DateParser
    i18n: I18n
    settings: Settings

    def install(self, app: web.Application) -> None:
        """Add the Mini App's and the calendar feeds' routes to ``app``."""
        add_webapp_routes(
            app, storage=self.storage, services=self.services, clock=self.clock,
            dates=self.dates, i18n=self.i18n, settings=self.settings,
        )
        add_calendar_routes(
            app, storage=self.storage, clock=self.clock, settings=self.settings,
            i18n=self.i18n,
        )
