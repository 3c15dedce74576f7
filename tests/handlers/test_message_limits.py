"""No message the bot sends is over Telegram's limits, whatever the user typed or stored.

Every card field, name, alias, task, note and alert is filled to the longest the bot accepts
(and every command gets the longest argument a message can carry); then the main commands
run and every button they show is pressed. Each outgoing sendMessage / editMessageText must
fit 4,096 characters as Telegram counts them (after the HTML tags are parsed away and the
entities decoded) in well-formed HTML, each caption 1,024, each popup 200, and each
callback_data 64 bytes.
"""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageText,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import InlineKeyboardMarkup

from bot.domain.text import FIELD_LIMIT, NAME_LIMIT, TASK_TEXT_LIMIT
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.fuzz.test_fuzz_updates import html_problem
from tests.handlers.harness import USER_ID, ChatHarness
from tests.handlers.test_alerts import Pager, invite

MATE = 2002
MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_LIMIT = 64
ANSWER_LIMIT = 200  # a callback query's answer (popup)
# Characters that grow when escaped, letters, and emoji: the longest text in every sense.
FILL = "&<Ж>🌼\"'"


def filled(prefix: str, length: int) -> str:
    return (prefix + FILL * length)[:length]


def visible(text: str) -> str:
    """What Telegram counts: the text with the HTML tags parsed away, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def problems(methods: list[TelegramMethod[Any]], causes: dict[int, str]) -> list[str]:
    """What Telegram would refuse, each with the update that caused it."""
    found = []
    cause = "set-up"
    for index, method in enumerate(methods):
        cause = causes.get(index, cause)
        name = f"{cause[:40]!r} -> {type(method).__name__}"
        if isinstance(method, SendMessage | EditMessageText):
            text = method.text or ""
            length = len(visible(text))
            if length > MESSAGE_LIMIT:
                found.append(f"{name} of {length} characters: {text[:150]!r}")
            # A long message split or cut must not cut through a tag or an entity.
            if problem := html_problem(text):
                found.append(f"{name}: {problem}")
        if isinstance(method, AnswerCallbackQuery) and len(method.text or "") > ANSWER_LIMIT:
            found.append(f"{name} of {len(method.text or '')} characters")
        if isinstance(method, SendDocument) and method.caption is not None:
            length = len(visible(method.caption))
            if length > CAPTION_LIMIT:
                found.append(f"{name} caption of {length} characters")
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for button in row:
                    size = len((button.callback_data or "").encode())
                    if size > CALLBACK_LIMIT:
                        found.append(f"{name}: callback_data of {size} bytes")
    return found


def callback_data(methods: list[TelegramMethod[Any]]) -> list[tuple[int, str]]:
    """(chat, data) of every button shown, in order, without repeats."""
    seen: dict[str, int] = {}
    for method in methods:
        markup = getattr(method, "reply_markup", None)
        if isinstance(markup, InlineKeyboardMarkup):
            for row in markup.inline_keyboard:
                for button in row:
                    if button.callback_data and button.callback_data not in seen:
                        seen[button.callback_data] = int(getattr(method, "chat_id", USER_ID))
    return [(chat, data) for data, chat in seen.items()]


@pytest.fixture
async def full(chat: ChatHarness, storage: Storage, clock: FakeClock) -> ChatHarness:
    """A team of two whose every stored text is as long as the bot lets it be."""
    long_first_name = filled("Mate", 64)
    chat.people.update({USER_ID: (filled("Lead", 64), "lead"), MATE: (long_first_name, "mate")})
    await chat.send(f"/team new {filled('Team', 64)}")
    await invite(chat, MATE)
    await chat.send("/backup @mate")
    now = clock.now()
    names = [filled(first, NAME_LIMIT) for first in ("Acme", "Beta", "Gamma")]
    for name in names:
        await chat.send(f"/newclient {name}")
    [acme] = await storage.clients.match(USER_ID, "Acme")
    for field in ("contact_person", "phone", "email", "report_cadence", "emergency_contact",
                  "contact_telegram"):
        await storage.clients.set_field(USER_ID, acme.id, field, filled(field, FIELD_LIMIT), now)
    for number in range(40):  # aliases have no count limit: 40 of the longest
        await storage.clients.add_alias(USER_ID, acme.id, filled(f"A{number} ", NAME_LIMIT), now)
    for number in range(12):
        text = filled(f"call {number} ", TASK_TEXT_LIMIT - 30)
        await chat.send(f"/task Acme: {text} tomorrow 1{number % 10}:00")
    await chat.send("/task Acme: " + filled("undated ", TASK_TEXT_LIMIT - 30))
    for number in range(4):
        await chat.send("Acme: " + filled(f"note {number} ", 4000))
    await chat.send("/invoice Acme 100 000 due 01.12 " + filled("invoice ", 500))
    await chat.send("/urgent Acme: " + filled("site down ", 3900))
    await chat.send("/handover Acme: @mate until 15.12")
    return chat


def long_argument(command: str) -> str:
    return f"{command} " + filled("Acme ", MESSAGE_LIMIT - len(command) - 1)


COMMANDS = [
    "/start", "/help", "/today", "/week", "/overdue", "/nodate", "/clients", "/client Acme",
    "/notes", "/notes Acme", "/find Acme", "/find site", "/invoices", "/recurring", "/digest",
    "/alerts", "/team", "/intake", "/settings", "/hours", "/tz", "/lang", "/export",
    "/done 1", "/undo", "/backup", "/handover",
    "/done " + " ".join(str(number) for number in range(1, 900)),
    "/urgent " + filled("Zeta ", 199) + ": down",
    "/invoice Acme 5 000 due 01.12 " + filled("note ", 4000),
    "/task Acme: " + filled("call ", 4000) + " tomorrow 10:00",
    "/note Acme: " + filled("note ", 4000),
    "/invoices",
]
DIALOGS = ["/newclient", "/task", "/note", "/urgent", "/invoice", "/handover", "/import",
           "/edit 2", "/client"]
ARGUMENT_COMMANDS = [
    "/task", "/newclient", "/client", "/find", "/note", "/notes", "/invoice", "/urgent",
    "/backup", "/handover", "/team", "/team new", "/intake", "/alias", "/edit 2", "/done",
    "/tz", "/hours", "/lang", "/digest", "/recurring", "/settings", "/alerts", "/invoices",
    "/import",
]


async def test_every_reply_fits_telegrams_limits(
    full: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    chat = full
    # Request index -> what was sent or pressed then, to name the culprit of a failure.
    causes: dict[int, str] = {}
    send, press_data = chat.send, chat.press_data

    async def traced_send(text: str, **kwargs: Any) -> Any:
        causes[len(chat.session.requests)] = text
        return await send(text, **kwargs)

    async def traced_press(data: str, **kwargs: Any) -> Any:
        causes[len(chat.session.requests)] = "button " + data
        return await press_data(data, **kwargs)

    chat.send = traced_send  # type: ignore[method-assign]
    chat.press_data = traced_press  # type: ignore[method-assign]
    pager = Pager(chat, storage, clock)
    await pager.runtime.sender.start()
    try:
        causes[len(chat.session.requests)] = "alert pages"
        await pager.step()  # the urgent alert's pages, with the longest text
        for command in COMMANDS:
            await chat.send(command)
            await chat.send("/cancel")
        for command in ARGUMENT_COMMANDS:
            await chat.send(long_argument(command))
            await chat.send("/cancel")
        for command in DIALOGS:  # the longest answer to each question a dialog asks
            await chat.send(command)
            await chat.send(filled("Acme ", MESSAGE_LIMIT))
            await chat.send(filled("Acme ", MESSAGE_LIMIT))
            await chat.send("/cancel")
        await chat.send(filled("Acme: ", MESSAGE_LIMIT))  # a note as long as a message
        await chat.send("/client Acme", user_id=MATE)
        await chat.send("/alerts", user_id=MATE)
        # Every kind of button, once (buttons lead to more buttons: two rounds). Buttons that
        # differ only in their ids are one kind: n:task:12:0 and n:task:13:0 are "n:task:#:#".
        pressed: set[str] = set()
        for _round in range(2):
            for chat_id, data in callback_data(chat.session.requests):
                kind = re.sub(r"\d+", "#", data)
                if kind in pressed:
                    continue
                pressed.add(kind)
                await chat.press_data(data, user_id=chat_id)
                # A button that asks for a value (edit a field, a new name) gets the longest.
                await chat.send(filled("Acme ", MESSAGE_LIMIT), user_id=chat_id)
                await chat.send("/cancel", user_id=chat_id)
        clock.advance(timedelta(days=1, hours=2))
        causes[len(chat.session.requests)] = "reminders"
        await pager.runtime.delivery.deliver_due()  # reminders of the longest tasks
        await pager.step()
    finally:
        await pager.runtime.sender.stop()
    assert len(pressed) > 30
    assert problems(chat.session.requests, causes) == []


async def test_the_digest_fits_with_a_full_day_of_long_names(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    """A full page of the day's tasks, each of another client with the longest name, plus
    silent clients and invoices to collect: /digest and the morning digest both fit. Plain
    letters here: escaping does not make the text longer than Telegram counts it."""
    start = clock.now()
    clock.set(start - timedelta(days=40))  # the clients were last heard from 40 days ago
    for number in range(14):
        name = f"Client{number:02} " + "Ж" * (NAME_LIMIT - 9)
        await chat.send(f"/newclient {name}")
        await chat.send(f"/invoice Client{number:02} 100 000 due in 3 days")
    clock.set(start)
    for number in range(14):
        await chat.send(f"/task Client{number:02}: call " + "ж" * 200 + " tomorrow 10:00")
    causes = {len(chat.session.requests): "/digest"}
    await chat.send("/digest")
    pager = Pager(chat, storage, clock)
    await pager.runtime.sender.start()
    try:
        await pager.runtime.digests.run()  # plans tomorrow morning's digest
        clock.set(clock.now().replace(hour=6, minute=1) + timedelta(days=1))  # 09:01 MSK
        causes[len(chat.session.requests)] = "morning digest"
        assert await pager.runtime.digests.run() == 1
    finally:
        await pager.runtime.sender.stop()
    assert problems(chat.session.requests, causes) == []


async def test_a_card_lists_ten_aliases_and_counts_the_rest(full: ChatHarness) -> None:
    replies = await full.send("/client Acme")
    [line] = [line for line in replies.text.split("\n") if line.startswith("Also known as")]
    assert line.endswith("…and 30 more.")
    assert line.count(", ") == 9
    assert len(visible(line)) < 1100  # ten of the longest names, not forty
