from __future__ import annotations

from collections.abc import Callable

import pytest
from aiogram import Dispatcher
from pydantic import SecretStr

from bot.app import create_bot, create_dispatcher
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from bot.settings import Settings
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.handlers.harness import ChatHarness

MakeChat = Callable[..., ChatHarness]


def make_settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": SecretStr("42:TEST"),
        "default_timezone": "Europe/Moscow",
        "default_language": "en",
        # Scripted tests type faster than any person; tests/handlers/test_throttling.py
        # turns the flood control on, in virtual time.
        "throttle_burst": 0,
    }
    values.update(overrides)
    # model_validate reads no environment or .env: tests see only these values.
    return Settings.model_validate(values)


@pytest.fixture
def make_chat(storage: Storage, clock: FakeClock, dates: DateParser) -> MakeChat:
    def build(session: LocalSession | None = None, **settings_overrides: object) -> ChatHarness:
        settings = make_settings(**settings_overrides)
        session = session or LocalSession()
        bot = create_bot(settings, session=session)
        dispatcher: Dispatcher = create_dispatcher(
            settings=settings,
            storage=storage,
            clock=clock,
            dates=dates,
            i18n=create_i18n(settings.default_language),
        )
        return ChatHarness(dispatcher, bot, session)

    return build


@pytest.fixture
def chat(make_chat: MakeChat) -> ChatHarness:
    return make_chat()
