"""The Mini App and calendar feeds are served by the server the process already runs: the
webhook server (same https origin as the webhook), or the intake server when polling."""

from __future__ import annotations

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.app import create_bot, create_dispatcher, create_services
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.intake import IntakeServer
from bot.local_session import LocalSession
from bot.public_web import PublicWeb
from bot.settings import Settings
from bot.webhook import SECRET_HEADER, create_app
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import make_settings

WEBHOOK_SECRET = "hook-secret_42"


def pages_for(settings: Settings, storage: Storage, clock: FakeClock, dates: DateParser) -> (
    PublicWeb
):
    i18n = create_i18n(settings.default_language)
    services = create_services(settings=settings, storage=storage, clock=clock, i18n=i18n)
    return PublicWeb(storage, services, clock, dates, i18n, settings)


async def check_pages(client: TestClient[web.Request, web.Application]) -> None:
    page = await client.get("/app/")
    assert page.status == 200
    assert "text/html" in page.headers["Content-Type"]
    # The API refuses a request without Telegram's signed launch data.
    api = await client.get("/app/api/board")
    assert api.status == 401
    # A feed address that is no feed's: 404, as for a wrong secret.
    feed = await client.get("/cal/1-not-the-secret.ics")
    assert feed.status == 404


@pytest.mark.sqlite_only
async def test_webhook_server_serves_the_pages_beside_the_webhook(
    storage: Storage, clock: FakeClock, dates: DateParser
) -> None:
    settings = make_settings(
        webhook_url="https://bot.example.com/telegram/hook", webhook_secret=WEBHOOK_SECRET
    )
    bot = create_bot(settings, session=LocalSession())
    dispatcher = create_dispatcher(
        settings=settings, storage=storage, clock=clock, dates=dates,
        i18n=create_i18n(settings.default_language),
    )
    pages = pages_for(settings, storage, clock, dates)
    app = create_app(dispatcher, bot, settings, pages.install)
    async with TestClient(TestServer(app)) as client:
        await check_pages(client)
        # The webhook itself still refuses a request without its secret.
        refused = await client.post("/telegram/hook", json={"update_id": 1})
        assert refused.status == 401
        accepted = await client.post(
            "/telegram/hook", json={"update_id": 1}, headers={SECRET_HEADER: WEBHOOK_SECRET}
        )
        assert accepted.status == 200


@pytest.mark.sqlite_only
async def test_intake_server_serves_the_pages_when_polling(
    storage: Storage, clock: FakeClock, dates: DateParser
) -> None:
    settings = make_settings(intake_port=8099, public_url="https://bot.example.com")
    pages = pages_for(settings, storage, clock, dates)
    server = IntakeServer(pages.services.alerts, settings, port=0, install_pages=pages.install)
    await server.start()
    try:
        async with aiohttp.ClientSession(server.url) as http:
            async with http.get("/app") as redirect:
                # /app leads to /app/ (a redirect, not the intake's JSON error).
                assert redirect.status == 200
                assert str(redirect.url).endswith("/app/")
            async with http.get("/app/api/board") as api:
                assert api.status == 401
            async with http.get("/cal/1-not-the-secret.ics") as feed:
                assert feed.status == 404
            async with http.post("/alerts/u1-wrong", json={"text": "down"}) as alert:
                # The intake's own routes are untouched: JSON, as before.
                assert alert.status in (403, 404)
                assert "error" in await alert.json()
    finally:
        await server.stop()
