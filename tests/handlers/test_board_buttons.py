"""The Mini App board's buttons under /today, /clients and /invoices, and the menu button."""

from __future__ import annotations

from typing import Any

from aiogram.methods import SetChatMenuButton
from aiogram.types import InlineKeyboardMarkup, MenuButtonCommands, MenuButtonWebApp

from bot.app import register_menu_button
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from tests.handlers.conftest import MakeChat, make_settings
from tests.handlers.harness import USER_ID, ChatHarness

ORIGIN = "https://bot.example.com"


def web_app_urls(chat: ChatHarness) -> list[str]:
    message, _ = chat.last_keyboard()
    markup: Any = message.reply_markup
    assert isinstance(markup, InlineKeyboardMarkup)
    return [
        button.web_app.url for row in markup.inline_keyboard for button in row if button.web_app
    ]


async def test_lists_offer_the_board_at_the_matching_tab(make_chat: MakeChat) -> None:
    chat = make_chat(public_url=ORIGIN)
    await chat.send("/newclient Acme")
    await chat.send("/task Acme: call today 18:00")
    await chat.send("/today")
    assert web_app_urls(chat) == [f"{ORIGIN}/app/?view=agenda"]
    await chat.send("/clients")
    assert web_app_urls(chat) == [f"{ORIGIN}/app/?view=board"]
    await chat.send("/invoice Acme 1000 due 10.12")
    await chat.send("/invoices")
    assert web_app_urls(chat) == [f"{ORIGIN}/app/?view=charts"]


async def test_done_under_today_keeps_the_board_button(make_chat: MakeChat) -> None:
    chat = make_chat(public_url=ORIGIN)
    await chat.send("/task call Ivan today 18:00")
    await chat.send("/task call Olga today 19:00")
    await chat.send("/today")
    await chat.press("✅ #1")
    assert web_app_urls(chat) == [f"{ORIGIN}/app/?view=agenda"]


async def test_without_a_public_https_origin_there_is_no_board_button(
    make_chat: MakeChat,
) -> None:
    # Polling mode with no PUBLIC_URL: nothing serves the page, so no button leads to it.
    chat = make_chat()
    await chat.send("/task call Ivan today 18:00")
    await chat.send("/today")
    _, found = chat.last_keyboard()
    assert [label for label, _ in found] == ["✅ #1"]


async def test_webhook_mode_opens_the_board_on_the_webhook_origin(make_chat: MakeChat) -> None:
    chat = make_chat(
        webhook_url="https://hooks.example.org:8443/telegram/hook", webhook_secret="s3cret"
    )
    await chat.send("/clients")
    await chat.send("/newclient Acme")
    await chat.send("/clients")
    assert web_app_urls(chat) == ["https://hooks.example.org:8443/app/?view=board"]


async def test_russian_label_of_the_board_button(make_chat: MakeChat) -> None:
    chat = make_chat(public_url=ORIGIN)
    await chat.send("/newclient Acme", language_code="ru")
    await chat.send("/clients", language_code="ru")
    _message, found = chat.last_keyboard(USER_ID)
    assert found[-1][0] == "📊 Доска"


async def test_menu_button_opens_the_board_only_with_a_public_origin() -> None:
    i18n = create_i18n("ru")
    session = LocalSession()
    from bot.app import create_bot

    settings = make_settings(public_url=ORIGIN, default_language="ru")
    bot = create_bot(settings, session=session)
    await register_menu_button(bot, i18n, settings)
    plain = make_settings()
    await register_menu_button(create_bot(plain, session=session), i18n, plain)
    calls = [call for call in session.requests if isinstance(call, SetChatMenuButton)]
    assert len(calls) == 2
    first, second = calls[0].menu_button, calls[1].menu_button
    assert isinstance(first, MenuButtonWebApp)
    assert first.web_app.url == f"{ORIGIN}/app/?view=board"
    assert first.text == "Доска"
    assert isinstance(second, MenuButtonCommands)
