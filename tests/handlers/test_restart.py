"""A restart in the middle of a dialog loses nothing: state and data live in the database."""

from __future__ import annotations

from storage.interfaces import Storage
from tests.handlers.conftest import MakeChat
from tests.handlers.harness import USER_ID


async def test_dialog_continues_after_a_restart(make_chat: MakeChat, storage: Storage) -> None:
    before = make_chat()
    await before.send("/newclient Acme")
    await before.send("/task")
    await before.press("Acme")  # now the bot asks what needs doing

    after = make_chat()  # a new Dispatcher over the same database, as after a restart
    replies = await after.send("call Ivan about the budget tomorrow 10am")
    assert "✅ Task #1" in replies.text
    assert "Acme" in replies.text
    assert "call Ivan about the budget" in replies.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.client_name == "Acme"


async def test_create_client_button_works_after_a_restart(
    make_chat: MakeChat, storage: Storage
) -> None:
    before = make_chat()
    await before.send("/task Вектор: проверить сайт завтра")
    message, buttons = before.last_keyboard()
    [data] = [data for text, data in buttons if "New client" in text]

    after = make_chat()
    replies = await after.press_data(data, message=message)
    assert "Client “Вектор” added." in replies.alerts
    assert [c.name for c in await storage.clients.match(USER_ID, "вектор")] == ["Вектор"]
