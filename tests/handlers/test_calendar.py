"""/calendar gives the private feed address (which then serves the feed); /calendar rotate
replaces it (the old one answers 404). In English and Russian; without PUBLIC_URL, a clear
answer for whoever runs the bot."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.calendar_feed.web import add_calendar_routes
from handlers import calendar
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import MakeChat, make_settings
from tests.handlers.harness import USER_ID, ChatHarness

ORIGIN = "https://bot.example.com"
_URL = re.compile(re.escape(ORIGIN) + r"/cal/[0-9]+-[A-Za-z0-9_-]+\.ics")



def with_calendar(chat: ChatHarness) -> ChatHarness:
    """The chat's dispatcher with the /calendar router (before the notes fallback), unless
    bot/app.py registers it already."""
    routers = chat.dispatcher.sub_routers
    if not any(router.name == calendar.__name__ for router in routers):
        router = calendar.create_router()
        chat.dispatcher.include_router(router)
        routers.remove(router)
        routers.insert(1, router)
    return chat


@pytest.fixture
def calendar_chat(make_chat: MakeChat) -> ChatHarness:
    return with_calendar(make_chat(public_url=ORIGIN))


@pytest.fixture
async def feed(
    storage: Storage, clock: FakeClock
) -> AsyncIterator[TestClient[web.Request, web.Application]]:
    app = web.Application()
    add_calendar_routes(
        app, storage=storage, clock=clock, settings=make_settings(public_url=ORIGIN)
    )
    async with TestClient(TestServer(app)) as client:
        yield client


def address(text: str) -> str:
    found = _URL.findall(text)
    assert len(found) == 1, text
    return str(found[0])


async def status(client: TestClient[web.Request, web.Application], url: str) -> int:
    response = await client.get(url.removeprefix(ORIGIN))
    return response.status


async def test_calendar_gives_a_working_address_with_how_to(
    calendar_chat: ChatHarness, feed: TestClient[web.Request, web.Application]
) -> None:
    replies = await calendar_chat.send("/calendar")
    url = address(replies.text)
    assert url.startswith(f"{ORIGIN}/cal/{USER_ID}-")
    assert "Google Calendar" in replies.text and "Apple Calendar" in replies.text
    assert "Outlook" in replies.text
    assert "/calendar rotate" in replies.text
    assert await status(feed, url) == 200
    # Asked again: the same address (a subscription keeps working).
    again = await calendar_chat.send("/calendar")
    assert address(again.text) == url


async def test_rotate_replaces_the_address_and_the_old_one_stops(
    calendar_chat: ChatHarness, feed: TestClient[web.Request, web.Application]
) -> None:
    old = address((await calendar_chat.send("/calendar")).text)
    replies = await calendar_chat.send("/calendar rotate")
    new = address(replies.text)
    assert new != old
    assert "the old one no longer works" in replies.text
    assert await status(feed, old) == 404
    assert await status(feed, new) == 200
    assert address((await calendar_chat.send("/calendar")).text) == new


async def test_in_russian(
    calendar_chat: ChatHarness, feed: TestClient[web.Request, web.Application]
) -> None:
    replies = await calendar_chat.send("/calendar", language_code="ru")
    assert "Ваш календарь" in replies.text
    assert "Google Календарь" in replies.text
    old = address(replies.text)
    rotated = await calendar_chat.send("/calendar rotate", language_code="ru")
    assert "старый больше не работает" in rotated.text
    assert await status(feed, old) == 404
    assert await status(feed, address(rotated.text)) == 200


async def test_without_public_url_the_answer_says_who_must_set_it(
    make_chat: MakeChat, storage: Storage
) -> None:
    chat = with_calendar(make_chat())
    english = await chat.send("/calendar")
    assert "PUBLIC_URL" in english.text and "/cal/" not in english.text
    assert await storage.users.stored_calendar_secret(USER_ID) is None
    russian = await chat.send("/calendar", language_code="ru")
    assert "PUBLIC_URL" in russian.text and "публичный адрес" in russian.text


async def test_an_unknown_argument_gets_the_usage(calendar_chat: ChatHarness) -> None:
    replies = await calendar_chat.send("/calendar please")
    assert "/calendar rotate replaces it" in replies.text
    assert "/cal/" not in replies.text
