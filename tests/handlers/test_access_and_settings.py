"""Who may talk to the bot, groups, language, timezone, errors."""

from __future__ import annotations

from aiogram.methods import AnswerCallbackQuery, SendMessage

from storage.interfaces import Storage
from tests.handlers.conftest import MakeChat
from tests.handlers.harness import USER_ID, ChatHarness

STRANGER = 666


async def test_stranger_gets_one_polite_refusal(make_chat: MakeChat, storage: Storage) -> None:
    chat = make_chat(allowed_user_ids=frozenset({USER_ID}))
    replies = await chat.send("/today", user_id=STRANGER)
    [refusal] = replies
    assert isinstance(refusal, SendMessage)
    assert "not on its list of users" in refusal.text
    assert await storage.users.get(STRANGER) is None
    allowed = await chat.send("/today")
    assert "Today" in allowed.text


async def test_stranger_callback_is_refused_and_changes_nothing(
    make_chat: MakeChat, storage: Storage
) -> None:
    chat = make_chat(allowed_user_ids=frozenset({USER_ID}))
    await chat.send("/task call Ivan today 18:00")
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    replies = await chat.press_data(f"ld:today:0:{task.id}", user_id=STRANGER)
    [answer] = replies
    assert isinstance(answer, AnswerCallbackQuery) and answer.show_alert
    still = await storage.tasks.get(USER_ID, task.id)
    assert still is not None and still.status.value == "open"


async def test_another_users_object_in_a_callback_is_refused(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/task Acme: secret plan today 18:00")
    task = await storage.tasks.get_by_number(USER_ID, 1)
    [client] = await storage.clients.match(USER_ID, "acme")
    assert task is not None
    for data in (f"ld:today:0:{task.id}", f"t:done:{task.id}:", f"t:edit:{task.id}:",
                 f"c:open:{client.id}:", f"c:delete:{client.id}:", f"pc:card:{client.id}:0"):
        replies = await chat.press_data(data, user_id=2002)
        assert "This button is no longer valid." in replies.alerts, data
        assert "secret plan" not in replies.text
        assert "Acme" not in replies.text
    assert (await storage.tasks.get(USER_ID, task.id)) is not None
    assert (await storage.clients.get(USER_ID, client.id)) is not None


async def test_malformed_callback_data(chat: ChatHarness) -> None:
    for data in ("t:done:notanumber:", "garbage", "ld:today:x:y", "c:open:1"):
        replies = await chat.press_data(data)
        assert replies.alerts, data


async def test_group_chat_gets_a_short_explanation(chat: ChatHarness) -> None:
    replies = await chat.send("/today", chat_type="group", chat_id=-100)
    assert replies.texts == [
        "I am a personal assistant and work only in a private chat. Write to me directly."
    ]
    quiet = await chat.send("just chatting", chat_type="group", chat_id=-100)
    assert list(quiet) == []


async def test_language_from_telegram_then_from_lang(chat: ChatHarness) -> None:
    russian = await chat.send("/help", language_code="ru")
    assert "Клиенты" in russian.text
    await chat.send("/lang en", language_code="ru")
    english = await chat.send("/help", language_code="ru")
    assert "Clients" in english.text
    switched = await chat.send("/lang ru")
    assert "Язык: русский." in switched.text
    assert "Неизвестная" not in switched.text
    bad = await chat.send("/lang de")
    assert "ru" in bad.text and "en" in bad.text


async def test_russian_task_reply(chat: ChatHarness) -> None:
    await chat.send("/lang ru")
    await chat.send("/newclient Акме")
    replies = await chat.send("/task акме: выставить счёт на смм пт 12")
    assert "Задача #1" in replies.text
    assert "💰 счёт" in replies.text
    assert "«выставить счёт на смм» — пт 27 нояб., 12:00" in replies.text


async def test_timezone_by_city_and_errors(chat: ChatHarness, storage: Storage) -> None:
    start = await chat.send("/start")
    assert "Europe/Moscow" in start.text
    assert "Moscow" in [label for label, _ in chat.last_keyboard()[1]]
    assert "America/New_York" in (await chat.send("/tz New York")).text
    profile = await storage.users.get(USER_ID)
    assert profile is not None and profile.timezone == "America/New_York"
    assert "don't know the timezone" in (await chat.send("/tz Atlantis")).text
    replies = await chat.send("/task call Ivan tomorrow 10am")
    assert "Fri 27 Nov, 10:00" in replies.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.due_at is not None
    assert task.due_at.hour == 15  # 10:00 EST


async def test_timezone_button(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/start")
    replies = await chat.press("Novosibirsk")
    assert "Asia/Novosibirsk" in replies.text
    profile = await storage.users.get(USER_ID)
    assert profile is not None and profile.timezone == "Asia/Novosibirsk"


async def test_unknown_command_and_stray_text(chat: ChatHarness) -> None:
    assert "/help" in (await chat.send("/frobnicate")).text
    assert "📝 Note saved." in (await chat.send("hello there")).text


async def test_storage_failure_is_reported_not_silent(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/start")
    await storage.backend.close()
    replies = await chat.send("/newclient Acme")
    assert replies.texts
    assert "try again" in replies.text.lower()


async def test_timezone_change_keeps_the_moment_of_upcoming_tasks(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/task call Ivan tomorrow 10am")  # 10:00 in Moscow, the default
    replies = await chat.send("/tz Berlin")
    assert "Europe/Berlin (UTC+01:00, 12:37)" in replies.text
    assert "Tasks keep their moments, now shown in this zone's time." in replies.text
    card = await chat.send("/edit 1")
    assert "Fri 27 Nov, 08:00" in card.text  # the same moment, on Berlin's clock
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.due_at is not None
    assert task.due_at.hour == 7  # 10:00 in Moscow is 07:00 UTC, as it was
    [due] = [r for r in await storage.reminders.pending_for_task(USER_ID, task.id)
             if r.purpose.value == "due"]
    assert due.fire_at == task.due_at
