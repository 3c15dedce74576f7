"""The Mini App served by aiohttp's test server over a real database of each backend, with a
frozen clock, and initData signed as Telegram signs it."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import SecretStr

from bot.app import create_services
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.services.catalog import Services
from bot.settings import Settings
from bot.webapp.server import add_webapp_routes
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.init_data import signed_init_data

TOKEN = "42:TEST"
OWNER = 1001

WebClient = TestClient[web.Request, web.Application]


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": SecretStr(TOKEN),
        "default_timezone": "Europe/Moscow",
        "default_language": "en",
    }
    values.update(overrides)
    return Settings.model_validate(values)


def sign_init_data(
    user_id: int,
    auth_date: datetime,
    *,
    token: str = TOKEN,
    language: str | None = "en",
    first_name: str = "Anna",
) -> str:
    """initData as Telegram builds it: fields, and a hash keyed by HMAC("WebAppData", token)."""
    user: dict[str, object] = {"id": user_id, "first_name": first_name}
    if language is not None:
        user["language_code"] = language
    return signed_init_data(user, auth_date=auth_date, token=token)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def services(storage: Storage, clock: FakeClock, settings: Settings) -> Services:
    return create_services(
        settings=settings, storage=storage, clock=clock,
        i18n=create_i18n(settings.default_language),
    )


MakeWeb = Callable[..., Awaitable[WebClient]]


@pytest.fixture
async def make_web(
    storage: Storage, services: Services, clock: FakeClock, dates: DateParser
) -> AsyncIterator[MakeWeb]:
    """build(**settings_overrides) -> a started TestClient; all are closed at the end."""
    started: list[WebClient] = []

    async def build(**overrides: object) -> WebClient:
        settings = make_settings(**overrides)
        app = web.Application()
        add_webapp_routes(
            app, storage=storage, services=services, clock=clock, dates=dates,
            i18n=create_i18n(settings.default_language), settings=settings,
        )
        client: WebClient = TestClient(TestServer(app))
        await client.start_server()
        started.append(client)
        return client

    yield build
    for client in started:
        await client.close()


@pytest.fixture
async def web_client(make_web: MakeWeb) -> WebClient:
    return await make_web()
