"""Hostile input, command by command: a clear answer in the user's language, nothing broken,
nothing echoed unescaped, nothing stored but what was meant."""

from __future__ import annotations

import pytest
from aiogram.methods import SendMessage

from storage.interfaces import Storage
from tests.handlers.harness import USER_ID, ChatHarness

EMOJI_FLOOD = "🔥" * 10_000
SQL = "'; DROP TABLE clients; --"
HTML = "<script>alert(1)</script><b>bold"
INVISIBLE = "A\u200bcme\u202e\u0007"

# (command, words the answer must contain)
CASES = [
    ("/task", "client"),  # no argument: the dialog starts and asks
    ("/task Acme: call 31.02", "not a real date"),
    ("/task Acme: call 25:00", "not a real date"),
    ("/invoice Acme 1,5кг", "I need an amount"),
    ("/invoice Acme -100", "I need an amount"),
    ("/invoice Acme 1e9", "I need an amount"),
    ("/invoice Nobody 100", "No client"),
    ("/client " + "x" * 5000, "No client"),
    ("/client " + HTML, "No client"),
    ("/done 99999999999999999999999", "which task"),
    ("/edit " + SQL, "which task"),
    ("/find " + SQL, ""),
    ("/hours 25-99", "did not understand"),
    ("/tz " + HTML, ""),
    ("/urgent", "Raise an urgent alert"),
    ("/handover @nobody until 01.01", "team"),
    ("/backup @" + "x" * 300, ""),
    ("/team new " + "x" * 300, "at most"),
    ("/alias Acme " + INVISIBLE, ""),
]


@pytest.fixture
async def acme(chat: ChatHarness) -> ChatHarness:
    await chat.send("/newclient Acme")
    return chat


@pytest.mark.parametrize(("command", "expected"), CASES)
async def test_bad_arguments_get_a_clear_answer(
    acme: ChatHarness, storage: Storage, command: str, expected: str
) -> None:
    clients_before = await storage.clients.count(USER_ID)
    replies = await acme.send(command)
    sent = replies.of(SendMessage)
    assert sent, f"no answer to {command[:40]!r}"
    for message in sent:
        assert 0 < len(message.text) <= 4096
        assert "<script>" not in message.text
        assert "Something went wrong" not in message.text
    assert expected.lower() in replies.text.lower()
    assert await storage.clients.count(USER_ID) == clients_before


async def test_an_emoji_flood_is_kept_whole_and_the_answer_fits(
    acme: ChatHarness, storage: Storage
) -> None:
    replies = await acme.send(EMOJI_FLOOD)
    assert all(len(m.text) <= 4096 for m in replies.of(SendMessage))
    [note] = await storage.notes.latest(USER_ID, None, offset=0, limit=1)
    assert note.text == EMOJI_FLOOD
    listing = await acme.send("/notes")
    assert all(len(m.text) <= 4096 for m in listing.of(SendMessage))


async def test_sql_and_html_in_names_are_stored_literally_and_shown_escaped(
    acme: ChatHarness, storage: Storage
) -> None:
    await acme.send("/newclient " + SQL)
    await acme.send("/newclient " + HTML)
    names = {c.name for c in await storage.clients.match(USER_ID, "'")} | {
        c.name for c in await storage.clients.match(USER_ID, "<script")
    }
    assert SQL in names and HTML in names
    card = await acme.send("/clients")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;b&gt;bold" in card.text
    assert await storage.clients.count(USER_ID) == 3  # Acme, and both, nothing dropped


async def test_invisible_characters_do_not_make_a_lookalike_client(
    acme: ChatHarness, storage: Storage
) -> None:
    replies = await acme.send("/newclient " + INVISIBLE)
    assert "already" in replies.text.lower()
    assert await storage.clients.count(USER_ID) == 1
