"""Client cards through the real dispatcher."""

from __future__ import annotations

from aiogram.methods import EditMessageText, SendMessage

from storage.interfaces import Storage
from tests.handlers.harness import USER_ID, ChatHarness, buttons


async def test_newclient_shows_card_with_edit_buttons(chat: ChatHarness) -> None:
    replies = await chat.send("/newclient Acme")
    assert "Client “Acme” added" in replies.texts[0]
    card = replies.of(SendMessage)[-1]
    assert "Acme" in card.text
    assert "Preferred channel" in card.text
    labels = [text for text, _ in buttons(card.reply_markup)]
    assert "➕ Add task" in labels
    assert "Phone" in labels
    assert "🗄 Mark former" in labels


async def test_html_in_names_is_shown_literally(chat: ChatHarness) -> None:
    replies = await chat.send("/newclient <b>Bold & Co</b>")
    assert "&lt;b&gt;Bold &amp; Co&lt;/b&gt;" in replies.text
    assert "<b>Bold" not in replies.text
    listing = await chat.send("/clients")
    assert "&lt;b&gt;Bold &amp; Co&lt;/b&gt;" in listing.text


async def test_duplicate_name_is_case_and_yo_insensitive(chat: ChatHarness) -> None:
    await chat.send("/newclient Ёлка")
    replies = await chat.send("/newclient елка")
    assert "already have a client" in replies.text
    assert [text for text, _ in buttons(replies.of(SendMessage)[0].reply_markup)] == [
        "Open the card"
    ]


async def test_client_by_unique_prefix_ambiguous_and_unknown(chat: ChatHarness) -> None:
    for name in ("Acme", "Acme Labs", "Romashka"):
        await chat.send(f"/newclient {name}")

    unique = await chat.send("/client rom")
    assert "Romashka" in unique.text and "Contact person" in unique.text

    ambiguous = await chat.send("/client ac")
    assert "Several clients start with “ac”" in ambiguous.text
    assert [text for text, _ in buttons(ambiguous.of(SendMessage)[0].reply_markup)] == [
        "👤 Acme",
        "👤 Acme Labs",
    ]
    picked = await chat.press("Acme Labs")
    assert "Acme Labs" in picked.of(EditMessageText)[0].text

    exact = await chat.send("/client ACME")
    assert "Contact person" in exact.text and "Acme Labs" not in exact.text

    unknown = await chat.send("/client Vector")
    assert "No client “Vector”. Create it?" in unknown.text
    created = await chat.press("Create")
    assert "Vector" in created.text
    assert "Contact person" in created.text


async def test_edit_phone_validates_and_saves(chat: ChatHarness) -> None:
    await chat.send("/newclient Acme")
    prompt = await chat.press("Phone")
    assert "Phone number" in prompt.text
    bad = await chat.send("call me maybe")
    assert "does not look like a phone number" in bad.text
    saved = await chat.send("+7 900 000-00-00")
    assert "Saved." in saved.texts[0]
    assert "Phone: +7 900 000-00-00" in saved.texts[1]


async def test_channel_segment_and_former_status(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.press("Channel")
    chosen = await chat.press("email")
    assert "Preferred channel: email" in chosen.text
    toggled = await chat.press("B2B / B2C")
    assert "Segment: B2C" in toggled.text
    former = await chat.press("Mark former")
    assert "former client" in former.text
    listing = await chat.send("/clients")
    assert "🗄 Acme" in listing.text
    [client] = await storage.clients.match(USER_ID, "acme")
    assert client.status.value == "former"


async def test_delete_client_and_undo(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/task Acme: call tomorrow 10am")
    await chat.send("/client Acme")
    asked = await chat.press("Delete")
    assert "Delete “Acme” and its open tasks (1)?" in asked.text
    assert await storage.clients.match(USER_ID, "acme") != []
    deleted = await chat.press("Yes, delete")
    assert "deleted" in deleted.text
    assert await storage.clients.match(USER_ID, "acme") == []
    assert "call" not in (await chat.send("/week")).text
    restored = await chat.press("Undo")
    assert "Restored." in restored.alerts
    assert "call" in (await chat.send("/week")).text


async def test_long_client_name_is_refused_with_reason(chat: ChatHarness) -> None:
    replies = await chat.send("/newclient " + "x" * 150)
    assert "too long (150 characters)" in replies.text


async def test_clients_list_pages_keep_every_client(chat: ChatHarness) -> None:
    names = [f"Client {index:03}" for index in range(60)]
    for name in names:
        await chat.send(f"/newclient {name}")
    seen: list[str] = []
    page = await chat.send("/clients")
    seen += [line for line in page.text.split("\n") if line.startswith("Client ")]
    while any(text == "▶️" for text, _ in chat.last_keyboard()[1]):
        page = await chat.press("▶️")
        seen += [line for line in page.text.split("\n") if line.startswith("Client ")]
    assert seen == names


async def test_add_task_on_the_card_asks_for_the_task_with_the_client_chosen(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    asked = await chat.press("Add task")
    assert "👤 Acme" in asked.text
    assert "What needs doing?" in asked.text
    saved = await chat.send("send the report")
    assert "✅ Task #1" in saved.texts[0]
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.client_name == "Acme"
