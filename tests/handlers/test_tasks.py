"""Tasks: one line, guided dialog, card buttons, /done, /undo, /edit."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.methods import EditMessageText, SendMessage

from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.handlers.harness import USER_ID, ChatHarness, buttons


async def test_one_line_task_echoes_what_was_understood(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send("/task Acme: позвонить насчёт бюджета завтра в 10")
    [reply] = replies.of(SendMessage)
    assert "✅ Task #1" in reply.text
    assert "Acme" in reply.text
    assert "📞 call" in reply.text
    assert "“позвонить насчёт бюджета” — Fri 27 Nov, 10:00" in reply.text
    labels = [text for text, _ in buttons(reply.reply_markup)]
    assert labels == ["🕓 Change time", "✏️ Edit", "↩️ Undo"]
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    # 10:00 in Moscow is 07:00 UTC.
    assert task.due_at == datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


async def test_english_task_with_weekday(chat: ChatHarness) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send("/task Acme: send the report Friday 15:00")
    assert "📄 report" in replies.text
    assert "“send the report” — Fri 27 Nov, 15:00" in replies.text


async def test_kinds_are_recognised(chat: ChatHarness) -> None:
    expectations = {
        "выставить счёт на смм завтра": "💰 invoice",
        "подписать акт за ноябрь завтра": "📑 document",
        "send the contract tomorrow": "📑 document",
        "встреча с директором завтра": "🤝 meeting",
        "buy flowers tomorrow": "📝 other",
    }
    for text, kind in expectations.items():
        replies = await chat.send(f"/task {text}")
        assert kind in replies.text, text


async def test_task_without_time_asks_with_quick_picks(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Vector")
    replies = await chat.send("/task Vector: позвонить когда-нибудь")
    assert "No due time yet. When should it be done?" in replies.text
    labels = [text for text, _ in chat.last_keyboard()[1]]
    assert labels[:3] == ["In 1 hour", "Today 18:00", "Tomorrow 10:00"]
    assert "Pick…" in labels
    # Saved at once: nothing is lost if the user walks away.
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.due_at is None
    picked = await chat.press("Tomorrow 10:00")
    assert "Fri 27 Nov, 10:00" in picked.of(EditMessageText)[0].text


async def test_pick_asks_and_understands_typed_time(chat: ChatHarness) -> None:
    await chat.send("/task call Ivan")
    asked = await chat.press("Pick…")
    assert "When should task #1 be done?" in asked.text
    wrong = await chat.send("whenever")
    assert "I could not understand the time “whenever”" in wrong.text
    right = await chat.send("в пятницу 15:00")
    assert "Fri 27 Nov, 15:00" in right.text


async def test_past_moment_is_accepted_and_called_overdue(chat: ChatHarness) -> None:
    replies = await chat.send("/task call the bank today 9:00")
    assert "Thu 26 Nov, 09:00" in replies.text
    assert "already overdue" in replies.text


async def test_unknown_client_offers_creation(chat: ChatHarness, storage: Storage) -> None:
    replies = await chat.send("/task Вектор: проверить сайт завтра")
    assert "No client “Вектор” yet" in replies.text
    created = await chat.press("New client")
    assert "Client “Вектор” added." in created.alerts
    assert "Вектор" in created.of(EditMessageText)[0].text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.client_name == "Вектор"


async def test_ambiguous_client_asks_with_buttons(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/newclient Acme Labs")
    replies = await chat.send("/task ac: send invoice tomorrow")
    assert "Which client did you mean by “ac”?" in replies.text
    picked = await chat.press("Acme Labs")
    assert "Acme Labs" in picked.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.client_name == "Acme Labs"


async def test_undo_and_restore_a_new_task(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    undone = await chat.press("Undo")
    assert "Task #1 deleted" in undone.text
    assert await storage.tasks.get_by_number(USER_ID, 1) is None
    restored = await chat.press("Restore")
    assert "Restored." in restored.alerts
    assert await storage.tasks.get_by_number(USER_ID, 1) is not None


async def test_change_time_from_card(chat: ChatHarness) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    menu = await chat.press("Change time")
    labels = [text for text, _ in buttons(menu.of(EditMessageText)[0].reply_markup)]
    assert "Pick…" in labels and "« Back" in labels
    moved = await chat.press("Mon 30 Nov")
    assert "Mon 30 Nov, 10:00" in moved.text


async def test_undo_after_a_change_of_time_puts_the_old_time_back(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    await chat.press("Change time")
    await chat.press("Mon 30 Nov")
    undone = await chat.press("Undo")
    assert "The previous time is back." in undone.alerts
    assert "Fri 27 Nov, 10:00" in undone.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.due_at is not None  # still there, at its old time
    # Typed times too: "Pick…" then a phrase, then Undo.
    await chat.press("Change time")
    await chat.press("Pick…")
    await chat.send("в среду в 15")
    back = await chat.press("Undo")
    assert "Fri 27 Nov, 10:00" in back.text
    assert await storage.tasks.get_by_number(USER_ID, 1) is not None


async def test_edit_text_kind_and_client(chat: ChatHarness) -> None:
    await chat.send("/newclient Romashka")
    await chat.send("/task send something tomorrow 10am")
    await chat.press("Edit")
    await chat.press("Text")
    edited = await chat.send("send the act for November")
    assert "“send the act for November”" in edited.text
    await chat.press("Kind")
    kinded = await chat.press("document")
    assert "📑 document" in kinded.text
    await chat.press("Client")
    moved = await chat.send("roma")
    assert "Romashka" in moved.text


async def test_guided_dialog(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    first = await chat.send("/task")
    assert "Which client?" in first.text
    await chat.press("Acme")
    saved = await chat.send("call Ivan about the budget")
    # Saved at once, then asked when.
    assert "✅ Task #1" in saved.text and "Acme" in saved.text
    assert "When should it be done?" in saved.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.text == "call Ivan about the budget"
    timed = await chat.send("tomorrow 10am")
    assert "Fri 27 Nov, 10:00" in timed.text


async def test_guided_dialog_with_a_new_client_name(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/task")
    typed = await chat.send("Дельта")
    assert "“Дельта” is a new client" in typed.text
    saved = await chat.send("подготовить КП завтра в 11")
    assert "Fri 27 Nov, 11:00" in saved.text
    created = await chat.press("New client")
    assert "Client “Дельта” added." in created.alerts
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.client_name == "Дельта"


async def test_client_and_time_without_text_asks_for_the_text(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Дельта")
    asked = await chat.send("/task Дельта: завтра в 10")
    assert "What needs doing?" in asked.text
    assert "Fri 27 Nov, 10:00" in asked.text
    saved = await chat.send("позвонить директору")
    assert "Дельта" in saved.text and "Fri 27 Nov, 10:00" in saved.text


async def test_impossible_date_is_named(chat: ChatHarness) -> None:
    replies = await chat.send("/task договор 31.02")
    assert "“31.02” is not a real date or time." in replies.text
    assert "When should it be done?" in replies.text


async def test_a_command_ends_an_open_prompt(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.press("Contact")
    await chat.send("/today")
    later = await chat.send("привет как дела")
    assert "Saved." not in later.text
    [client] = await storage.clients.match(USER_ID, "acme")
    assert client.contact_person is None


async def test_guided_dialog_takes_time_in_the_text(chat: ChatHarness) -> None:
    await chat.send("/task")
    replies = await chat.send("call Ivan tomorrow 9am")
    assert "Fri 27 Nov, 09:00" in replies.text


async def test_cancel_leaves_dialog(chat: ChatHarness) -> None:
    await chat.send("/task")
    cancelled = await chat.send("/cancel")
    assert "Cancelled." in cancelled.text
    after = await chat.send("hello")
    assert "Note saved" in after.text


async def test_done_and_undo_commands(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/task call Ivan today 18:00")
    await chat.send("/task call Olga today 19:00")
    done = await chat.send("/done 1 #2 77")
    assert "✅ Done: #1" in done.text and "✅ Done: #2" in done.text
    assert "There is no task #77." in done.text
    again = await chat.send("/done 1")
    assert "#1 is already done." in again.text
    undo = await chat.send("/undo")
    assert "Task #2 is open again" in undo.text
    task = await storage.tasks.get_by_number(USER_ID, 2)
    assert task is not None and task.status.value == "open"


async def test_empty_and_overlong_task_text(chat: ChatHarness) -> None:
    assert "What needs doing?" in (await chat.send("/task Acme:")).text
    assert "too long" in (await chat.send("/task " + "a" * 1500 + " tomorrow")).text


async def test_task_numbers_are_per_user(make_chat: object, chat: ChatHarness) -> None:
    await chat.send("/task mine tomorrow")
    other = await chat.send("/task theirs tomorrow", user_id=2002)
    assert "✅ Task #1" in other.text


async def test_edit_command(chat: ChatHarness, clock: FakeClock) -> None:
    assert "There is no task #5." in (await chat.send("/edit 5")).text
    await chat.send("/task call Ivan tomorrow 10am")
    card = await chat.send("/edit 1")
    labels = [text for text, _ in chat.last_keyboard()[1]]
    assert "✅ Done" in labels and "🗑 Delete" in labels
    assert "Task #1" in card.text


async def test_new_client_offer_survives_picking_a_time(chat: ChatHarness) -> None:
    await chat.send("/task Вектор: позвонить когда-нибудь")
    picked = await chat.press("Tomorrow 10:00")
    assert "Fri 27 Nov, 10:00" in picked.text
    labels = [label for label, _ in chat.last_keyboard()[1]]
    assert "➕ New client “Вектор”" in labels
    created = await chat.press("New client")
    assert "Вектор" in created.of(EditMessageText)[0].text


# ---- dates as account managers type them (issue 11) ---------------------------------------


async def test_slash_dates_follow_the_users_language(chat: ChatHarness, storage: Storage) -> None:
    # English: month/day; Russian: day/month. Both are 10 December, 10:00 Moscow = 07:00 UTC.
    english = await chat.send("/task send the report 12/10")
    assert "“send the report” — Thu 10 Dec, 10:00" in english.text
    await chat.send("/task отчёт 10/12", user_id=2002, language_code="ru")
    for user_id in (USER_ID, 2002):
        task = await storage.tasks.get_by_number(user_id, 1)
        assert task is not None
        assert task.due_at == datetime(2026, 12, 10, 7, 0, tzinfo=UTC)


async def test_moment_in_the_middle_of_the_task_is_cut_out(chat: ChatHarness) -> None:
    replies = await chat.send("/task созвон в 9:30 по поводу тз")
    assert "“созвон по поводу тз” — Fri 27 Nov, 09:30" in replies.text


async def test_end_of_month_and_eod_get_the_end_of_the_working_day(chat: ChatHarness) -> None:
    assert "— Mon 30 Nov, 18:00" in (await chat.send("/task send the invoice end of month")).text
    assert "— Thu 26 Nov, 18:00" in (await chat.send("/task review the deck by eod")).text


async def test_a_morning_that_has_passed_is_asked_about_not_guessed(
    chat: ChatHarness, storage: Storage
) -> None:
    # 14:37: "this morning" is over; the bot does not make up a moment, it asks
    replies = await chat.send("/task отчёт сегодня утром")
    assert "No due time yet. When should it be done?" in replies.text
    labels = [text for text, _ in chat.last_keyboard()[1]]
    assert labels[:3] == ["In 1 hour", "Today 18:00", "Tomorrow 10:00"]
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.due_at is None


async def test_tomorrow_just_after_midnight_is_asked_with_this_morning_offered(
    chat: ChatHarness, clock: FakeClock, storage: Storage
) -> None:
    # Fri 27 Nov 00:10 in Moscow: "завтра" may be the day that has just begun, or Saturday
    clock.set(datetime(2026, 11, 26, 21, 10, tzinfo=UTC))
    replies = await chat.send("/task позвонить Ивану завтра")
    assert "No due time yet. When should it be done?" in replies.text
    labels = [text for text, _ in chat.last_keyboard()[1]]
    assert labels[:4] == ["In 1 hour", "Today 10:00", "Today 18:00", "Tomorrow 10:00"]
    picked = await chat.press("Today 10:00")
    assert "Fri 27 Nov, 10:00" in picked.of(EditMessageText)[0].text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    assert task.due_at == datetime(2026, 11, 27, 7, 0, tzinfo=UTC)


async def test_the_last_day_of_the_month_is_a_one_off_date(
    chat: ChatHarness, storage: Storage
) -> None:
    replies = await chat.send("/task send the act last day of the month")
    assert "“send the act” — Mon 30 Nov, 10:00" in replies.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    assert task.due_at == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
