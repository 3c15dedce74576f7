"""Quick capture and search through the real dispatcher."""

from __future__ import annotations

from aiogram.methods import SendMessage
from aiogram.types import Chat, Message, Update, User

from storage.interfaces import Storage
from tests.handlers.harness import USER_ID, ChatHarness, buttons


async def test_plain_text_is_a_note_at_once_with_buttons(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    replies = await chat.send("акме хотят расширить смм на январь")
    [reply] = replies.of(SendMessage)
    assert reply.text == "📝 Note saved."
    labels = [text for text, _ in buttons(reply.reply_markup)]
    assert labels == ["👤 Acme", "👤 Other client…", "📌 Make a task", "🗑 Delete"]
    [note] = await storage.notes.latest(USER_ID, None, offset=0, limit=5)
    assert note.text == "акме хотят расширить смм на январь"
    attached = await chat.press("👤 Acme")
    assert "Note saved → Acme" in attached.text


async def test_client_prefix_and_tag_attach(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/newclient Ромашка")
    prefixed = await chat.send("Acme: хотят скидку")
    assert "Note saved → Acme" in prefixed.text
    tagged = await chat.send("звонила бухгалтер #ромашка насчёт акта")
    assert "Note saved → Ромашка" in tagged.text
    notes = await storage.notes.latest(USER_ID, None, offset=0, limit=5)
    assert [note.text for note in notes] == ["звонила бухгалтер #ромашка насчёт акта",
                                             "хотят скидку"]


async def test_a_word_before_a_colon_is_not_a_client_by_a_prefix(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Итоговая компания")
    await chat.send("/newclient Acme Corp")
    summary = await chat.send("Итог: договорились о скидке")
    assert summary.text.startswith("📝 Note saved.")
    assert "Итоговая" not in summary.text
    whole_word = await chat.send("acme: ждут счёт")
    assert "Note saved → Acme Corp" in whole_word.text
    [latest, first] = await storage.notes.latest(USER_ID, None, offset=0, limit=2)
    assert first.text == "Итог: договорились о скидке" and first.client_id is None
    assert latest.text == "ждут счёт"


async def test_note_survives_byte_for_byte_and_html_is_escaped(
    chat: ChatHarness, storage: Storage
) -> None:
    text = "<b>Bold</b> & «ёлка» 👩‍💻 שלום"
    await chat.send(text)
    [note] = await storage.notes.latest(USER_ID, None, offset=0, limit=1)
    assert note.text == text
    listing = await chat.send("/notes")
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; «ёлка» 👩‍💻 שלום" in listing.text


async def test_make_a_task_from_a_note(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    await chat.send("Acme: подготовить КП")
    replies = await chat.press("Make a task")
    assert "✅ Task #1" in replies.text and "Acme" in replies.text
    assert "When should it be done?" in replies.text
    timed = await chat.send("завтра в 11")
    assert "Fri 27 Nov, 11:00" in timed.text


async def test_a_task_from_a_note_takes_the_moment_written_in_it(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("Acme: позвонить бухгалтеру завтра в 10")
    replies = await chat.press("Make a task")
    assert "✅ Task #1" in replies.text and "Fri 27 Nov, 10:00" in replies.text
    assert "When should it be done?" not in replies.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.text == "позвонить бухгалтеру"


async def test_a_client_prefix_alone_is_not_saved_as_an_empty_note(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Ромашка")
    reply = await chat.send("/note Ромашка:")
    assert "Write the note after the command" in reply.text
    assert await storage.notes.latest(USER_ID, None, offset=0, limit=5) == []


async def test_text_after_an_undated_task_is_a_note_not_a_time(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/task позвонить Ивану")
    replies = await chat.send("клиент просил перезвонить позже")
    assert "Note saved" in replies.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.due_at is None


async def test_delete_and_undo(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("черновик")
    deleted = await chat.press("Delete")
    assert "Note deleted." in deleted.text
    assert await storage.notes.count(USER_ID, None) == 0
    await chat.press("Undo")
    assert await storage.notes.count(USER_ID, None) == 1


async def test_edited_message_edits_the_note(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("встреча в среду")
    [note] = await storage.notes.latest(USER_ID, None, offset=0, limit=1)
    assert note.source_message_id is not None
    from datetime import UTC, datetime

    edited = Message(
        message_id=note.source_message_id, date=datetime.now(UTC),
        chat=Chat(id=USER_ID, type="private"),
        from_user=User(id=USER_ID, is_bot=False, first_name="Marina"),
        text="встреча в четверг", edit_date=1,
    )
    await chat.dispatcher.feed_update(chat.bot, Update(update_id=10**6, edited_message=edited))
    updated = await storage.notes.get(USER_ID, note.id)
    assert updated is not None and updated.text == "встреча в четверг"


async def test_find_groups_highlights_and_isolates(chat: ChatHarness) -> None:
    await chat.send("/newclient Бюджетник")
    await chat.send("/task согласовать бюджет завтра")
    await chat.send("Обсудили <b>бюджет</b> на январь")
    await chat.send("чужой бюджет", user_id=2002)
    replies = await chat.send("/find бюдж")
    text = replies.text
    assert "👤 <b>Бюджетник</b>" in text
    assert "согласовать <b>бюджет</b>" in text
    assert "Обсудили &lt;b&gt;<b>бюджет</b>&lt;/b&gt; на январь" in text
    assert "чужой" not in text
    assert text.index("Clients") < text.index("Tasks") < text.index("Notes")
    nothing = await chat.send("/find зебра")
    assert "Nothing found for “зебра”." in nothing.text


async def test_find_reads_words_in_any_form(chat: ChatHarness) -> None:
    await chat.send("Подписали акт сверки с бухгалтерией")
    await chat.send("актуальный прайс на январь")
    replies = await chat.send("/find акта")
    assert "Подписали <b>акт</b> сверки" in replies.text
    assert "актуальный" not in replies.text


async def test_client_card_shows_last_notes_and_contact(chat: ChatHarness) -> None:
    await chat.send("/newclient Acme")
    for index in range(4):
        await chat.send(f"Acme: заметка {index}")
    card = await chat.send("/client Acme")
    assert "Latest notes:" in card.text
    assert "заметка 3" in card.text and "заметка 1" in card.text
    assert "заметка 0" not in card.text
    assert "Last contact: Thu 26 Nov, 14:37" in card.text


async def test_voice_note_keeps_file_and_can_be_sent_back(
    chat: ChatHarness, storage: Storage
) -> None:
    from aiogram.methods import SendVoice
    from aiogram.types import Voice

    replies = await chat.send_message(
        voice=Voice(file_id="VOICE-1", file_unique_id="u1", duration=42, file_size=9000),
        caption="Acme: созвон, записал",
    )
    assert "🎤 0:42" in replies.text
    [note] = await storage.notes.latest(USER_ID, None, offset=0, limit=1)
    assert (note.media_type, note.file_id, note.duration, note.file_size) == (
        "voice", "VOICE-1", 42, 9000
    )
    listing = await chat.send("/notes")
    assert "🎤" in listing.text
    resent = await chat.press("▶️")
    [voice] = resent.of(SendVoice)
    assert voice.voice == "VOICE-1" and voice.caption == "Acme: созвон, записал"
    found = await chat.send("/find записал")
    assert "записал" in found.text  # captions are searchable


async def test_photo_with_caption_and_document(chat: ChatHarness, storage: Storage) -> None:
    from aiogram.types import Document, PhotoSize

    await chat.send_message(
        photo=[PhotoSize(file_id="small", file_unique_id="s", width=90, height=90),
               PhotoSize(file_id="big", file_unique_id="b", width=900, height=900,
                         file_size=120000)],
        caption="макет главной",
    )
    await chat.send_message(
        document=Document(file_id="DOC", file_unique_id="d", file_name="act.pdf",
                          file_size=5000),
    )
    notes = await storage.notes.latest(USER_ID, None, offset=0, limit=2)
    assert [(n.media_type, n.file_id, n.text) for n in notes] == [
        ("document", "DOC", ""), ("photo", "big", "макет главной")
    ]


async def test_forward_from_a_known_contact_attaches_to_the_client(
    chat: ChatHarness, storage: Storage
) -> None:
    from datetime import UTC, datetime

    from aiogram.types import MessageOriginHiddenUser, MessageOriginUser, User

    await chat.send("/newclient Acme")
    await chat.press("Telegram")
    await chat.send("@ivan_acme")
    await chat.send("/newclient Ромашка")
    await chat.press("Contact")
    await chat.send("Ольга Петрова")
    sent_at = datetime(2026, 11, 25, 14, 2, tzinfo=UTC)
    known = await chat.send_message(
        text="Когда будет отчёт?",
        forward_origin=MessageOriginUser(
            date=sent_at,
            sender_user=User(id=777, is_bot=False, first_name="Иван", username="ivan_acme"),
        ),
    )
    assert "Note saved → Acme" in known.text and "forwarded from Иван" in known.text
    hidden = await chat.send_message(
        text="Счёт получили", forward_origin=MessageOriginHiddenUser(
            date=sent_at, sender_user_name="ольга петрова"
        ),
    )
    assert "Note saved → Ромашка" in hidden.text
    stranger = await chat.send_message(
        text="реклама", forward_origin=MessageOriginHiddenUser(
            date=sent_at, sender_user_name="Кто-то"
        ),
    )
    assert "Note saved." in stranger.text and "forwarded from Кто-то" in stranger.text
    [first] = await storage.notes.latest(USER_ID, None, offset=2, limit=1)
    assert first.forward_from == "Иван" and first.forward_date == sent_at


async def test_alias_attaches_notes(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/newclient Acme")
    added = await chat.send("/alias Acme АКМЕ")
    assert "“Acme” is also “АКМЕ” now" in added.text
    note = await chat.send("акме: хотят расширить смм")
    assert "Note saved → Acme" in note.text
    card = await chat.send("/client акме")
    assert "Also known as: АКМЕ" in card.text
    taken = await chat.send("/newclient Beta")
    assert taken.texts
    clash = await chat.send("/alias Beta acme")
    assert "already names a client" in clash.text
    found = await chat.send("/find акме")
    assert "Acme" in found.text


async def test_reply_to_a_task_or_client_card_attaches_the_note(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/newclient Beta")
    await chat.send("/task Acme: call about the budget tomorrow 10am")
    task_card, _buttons = chat.last_keyboard()
    replied = await chat.send_message(text="они просят перенести", reply_to_message=task_card)
    assert "Note saved → Acme" in replied.text and "about the task" in replied.text
    await chat.send("/client Beta")
    card, _buttons = chat.last_keyboard()
    on_card = await chat.send_message(text="новый бухгалтер", reply_to_message=card)
    assert "Note saved → Beta" in on_card.text
    notes = await storage.notes.latest(USER_ID, None, offset=0, limit=2)
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    assert [(n.client_name, n.task_id) for n in notes] == [("Beta", None), ("Acme", task.id)]


async def test_find_needs_two_letters_and_edit_keeps_text_exact(
    chat: ChatHarness, storage: Storage
) -> None:
    assert "at least two letters" in (await chat.send("/find п")).text
    await chat.send("/newclient Acme")
    await chat.send("Acme: первая  версия")
    [note] = await storage.notes.latest(USER_ID, None, offset=0, limit=1)
    from datetime import UTC, datetime

    edited = Message(
        message_id=note.source_message_id or 0, date=datetime.now(UTC),
        chat=Chat(id=USER_ID, type="private"),
        from_user=User(id=USER_ID, is_bot=False, first_name="Marina"),
        text="Acme: вторая  версия\u200b", edit_date=1,
    )
    await chat.dispatcher.feed_update(chat.bot, Update(update_id=10**6 + 1, edited_message=edited))
    updated = await storage.notes.get(USER_ID, note.id)
    assert updated is not None and updated.text == "вторая  версия\u200b"


async def test_a_name_starting_with_an_emoji_or_quotes_is_found_by_its_words(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient 🍏 Apple")
    await chat.send("/newclient «Ромашка»")
    note = await chat.send("apple: renewal in March")
    assert "Note saved → 🍏 Apple" in note.text
    task = await chat.send("/task ромашка: акт за ноябрь завтра в 10")
    assert "«Ромашка»" in task.text
    card = await chat.send("/client ром")
    assert "«Ромашка»" in card.text


async def test_a_task_from_a_note_reads_slash_dates_in_the_users_order(
    chat: ChatHarness, storage: Storage
) -> None:
    # an English user writes month/day: 12/10 is December 10
    await chat.send("/newclient Acme")
    await chat.send("Acme: send the renewal quote 12/10")
    replies = await chat.press("Make a task")
    assert "Thu 10 Dec, 10:00" in replies.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.text == "send the renewal quote"
