"""/export, /import and /forget_me: a user's data as files, clients from a CSV, erasure."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import GetFile, SendDocument, SendMessage
from aiogram.types import BufferedInputFile, Document, PhotoSize
from icalendar import Calendar

from storage.interfaces import Storage
from storage.models import Channel, ClientDraft, SeriesStatus, TaskStatus
from tests.fakes.clock import FakeClock
from tests.handlers.harness import USER_ID, ChatHarness, Replies, buttons
from tests.raw_sql import is_postgres, raw_execute, raw_value

OTHER_ID = 2002
BOM = b"\xef\xbb\xbf"
FANCY_CLIENT = "Ромашка <b>«Цветы»</b> & Co 🌼"
FANCY_TASK = "позвонить <i>бухгалтеру</i> & обсудить 💰"
FANCY_NOTE = "хотят скидку <script>alert(1)</script> &amp; ещё 😀"
# Tables holding per-user rows, and the column naming the user.
OWNED = {
    "clients": "owner_id", "tasks": "owner_id", "notes": "owner_id", "invoices": "owner_id",
    "reminders": "owner_id", "series": "owner_id", "client_aliases": "owner_id",
    "dialog_states": "owner_id", "users": "id",
}


def moscow(day: int, hour: int, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour - 3, tzinfo=UTC)


async def row_counts(storage: Storage, user_id: int) -> dict[str, int]:
    """The user's rows in every table holding per-user data, of either backend.

    Besides OWNED: SQLite's full-text index (rows its triggers keep) and PostgreSQL's
    per-owner number counters (its search vectors are columns of the rows counted here).
    """
    counts = {}
    for table, column in OWNED.items():
        counts[table] = await raw_value(
            storage,
            f"SELECT count(*) FROM {table} WHERE {column} = ?",
            f"SELECT count(*) FROM {table} WHERE {column} = $1",
            user_id,
        )
    if is_postgres(storage):
        counts["owner_counters"] = await raw_value(
            storage, "", "SELECT count(*) FROM owner_counters WHERE owner_id = $1", user_id
        )
    else:
        counts["search_index"] = await raw_value(
            storage, "SELECT count(*) FROM search_index WHERE owner = ?", "", f"o{user_id}"
        )
    return counts


async def fill(chat: ChatHarness, user_id: int, client: str, secret: str) -> None:
    """A client, a timed task, an undated task, a note and an invoice for one user."""
    await chat.send(f"/newclient {client}", user_id=user_id)
    short = client.split(maxsplit=1)[0]
    await chat.send(f"/task {short}: {secret} завтра в 10", user_id=user_id)
    await chat.send(f"/task {short}: отправить акт", user_id=user_id)
    await chat.send(f"{short}: {secret} note", user_id=user_id)
    await chat.send(f"/invoice {short} 120 000 due 01.12 {secret} invoice", user_id=user_id)


def documents(replies: Replies) -> dict[str, bytes]:
    found = {}
    for method in replies.of(SendDocument):
        assert isinstance(method.document, BufferedInputFile)
        found[method.document.filename or ""] = method.document.data
    return found


def read_archive(data: bytes, delimiter: str = ",") -> dict[str, list[dict[str, str]]]:
    tables = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        for name in archive.namelist():
            raw = archive.read(name)
            assert raw.startswith(BOM), name  # Excel reads it as UTF-8
            text = raw.decode("utf-8-sig")
            tables[name] = list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))
    return tables


async def export(
    chat: ChatHarness, user_id: int = USER_ID, language_code: str = "en"
) -> tuple[dict[str, bytes], Replies]:
    replies = await chat.send("/export", user_id=user_id, language_code=language_code)
    files = documents(replies)
    assert [name.rsplit(".", 1)[1] for name in files] == ["zip", "ics"]
    return files, replies


async def test_export_holds_exactly_this_users_data(
    chat: ChatHarness, storage: Storage
) -> None:
    await fill(chat, USER_ID, FANCY_CLIENT, FANCY_TASK)
    await chat.send(f"{FANCY_NOTE}")
    await fill(chat, OTHER_ID, "Vector", "secret-of-vector")

    files, replies = await export(chat)
    [caption] = [
        m.caption for m in replies.of(SendDocument) if m.caption and "clients" in m.caption
    ]
    assert "clients 1, tasks 3, notes 2, invoices 1" in caption
    zip_name = next(name for name in files if name.endswith(".zip"))
    assert zip_name == "am-assistant-2026-11-26.zip"
    for data in files.values():
        assert b"Vector" not in data and b"secret-of-vector" not in data
    tables = read_archive(files[zip_name])
    assert {"clients.csv", "tasks.csv", "notes.csv", "invoices.csv"} <= tables.keys()

    [client] = tables["clients.csv"]
    assert client["name"] == FANCY_CLIENT
    assert client["created_at_utc"] == "2026-11-26T11:37:00Z"
    assert client["created_at_local"] == "2026-11-26T14:37:00+03:00"

    tasks = tables["tasks.csv"]
    stored = [await storage.tasks.get_by_number(USER_ID, n) for n in (1, 2, 3)]
    assert [row["text"] for row in tasks] == [task.text for task in stored if task]
    assert tasks[0]["text"] == FANCY_TASK and tasks[0]["client"] == FANCY_CLIENT
    assert tasks[0]["due_at_utc"] == "2026-11-27T07:00:00Z"
    assert tasks[0]["due_at_local"] == "2026-11-27T10:00:00+03:00"
    assert tasks[1]["text"] == "отправить акт" and tasks[1]["due_at_utc"] == ""
    assert tasks[2]["kind"] == "invoice"  # the invoice's payment task

    notes = tables["notes.csv"]
    assert [row["text"] for row in notes] == [f"{FANCY_TASK} note", FANCY_NOTE]
    assert notes[0]["client"] == FANCY_CLIENT and notes[1]["client"] == ""

    [invoice] = tables["invoices.csv"]
    assert (invoice["number"], invoice["amount"], invoice["currency"]) == ("1", "120000.00", "RUB")
    assert invoice["client"] == FANCY_CLIENT and invoice["note"] == f"{FANCY_TASK} invoice"
    assert invoice["due_at_local"] == "2026-12-01T10:00:00+03:00"

    calendar = Calendar.from_ical(files["am-assistant-tasks-2026-11-26.ics"])
    events = list(calendar.walk("VEVENT"))
    assert len(events) == 2  # the undated task is not in the calendar
    due = {str(event["summary"]): event.decoded("dtstart") for event in events}
    assert due[f"{FANCY_CLIENT}: {FANCY_TASK}"] == moscow(27, 10)
    assert all(moment.tzinfo is not None and moment.utcoffset() == timedelta(0)
               for moment in due.values())
    assert len({str(event["uid"]) for event in events}) == 2
    assert {str(event["status"]) for event in events} == {"CONFIRMED"}

    # The other user's export has only theirs.
    other_files, _replies = await export(chat, OTHER_ID)
    other = read_archive(next(d for n, d in other_files.items() if n.endswith(".zip")))
    assert [row["name"] for row in other["clients.csv"]] == ["Vector"]
    assert FANCY_CLIENT.encode() not in b"".join(other_files.values())


async def test_export_in_russian_uses_semicolons_and_marks_done_tasks(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme", language_code="ru")
    await chat.send("/task Acme: отчёт, итоги; план завтра в 12", language_code="ru")
    await chat.send("/done 1", language_code="ru")
    files, _replies = await export(chat, language_code="ru")
    zipped = next(data for name, data in files.items() if name.endswith(".zip"))
    [task] = read_archive(zipped, delimiter=";")["tasks.csv"]
    assert task["text"] == "отчёт, итоги; план"
    assert task["status"] == TaskStatus.DONE.value
    assert task["done_at_utc"] == "2026-11-26T11:37:00Z"
    [event] = Calendar.from_ical(
        next(data for name, data in files.items() if name.endswith(".ics"))
    ).walk("VEVENT")
    assert str(event["summary"]) == "✅ Acme: отчёт, итоги; план"


def csv_document(chat: ChatHarness, content: bytes, name: str = "clients.csv",
                 mime: str = "text/csv", size: int | None = -1) -> Document:
    file_id = chat.session.add_file(content)
    return Document(
        file_id=file_id, file_unique_id=file_id, file_name=name, mime_type=mime,
        file_size=len(content) if size == -1 else size,
    )


GOOD_AND_BAD = "\n".join([
    "name,contact,phone,email,channel,cadence",
    "Vector,Ivan Petrov,+7 900 000-00-00,ivan@vector.io,email,"
    "report every month on the 1st at 10:00",
    ",Nobody,,,,",
    "acme,Duplicate of an existing client,,,,",
    '"Бета <b>&amp;</b> 🌼","Анна ""Ася""",,anna@beta.ru,телефон,',
    "Gamma,,,,,every blue moon",
    "Delta," + "x" * 250 + ",,,,",
    "VECTOR,duplicate within the file,,,,",
    "Epsilon,,12,,,",
    "Zeta,,,not-an-email,,",
    "Eta,,,,pigeon,",
    "",
]).encode()


async def test_import_reports_bad_rows_and_imports_the_rest(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/newclient Theirs", user_id=OTHER_ID)
    replies = await chat.send_message(
        document=csv_document(chat, GOOD_AND_BAD), caption="/import"
    )
    text = replies.text
    assert "Clients imported: 2." in text
    assert "Recurring tasks from the cadence: 1." in text
    assert "Rows not imported: 8" in text
    lines = text.split("\n")
    for row, problem in [
        (3, "no name"),
        (4, "“acme”: a client with this name already exists"),
        (6, "the cadence is not a schedule: “every blue moon”"),
        (7, "“contact” is too long (250 characters; the limit is 200)"),
        (8, "“VECTOR”: a client with this name already exists"),
        (9, "not a phone number: “12”"),
        (10, "not an email: “not-an-email”"),
        (11, "unknown channel “pigeon”"),
    ]:
        assert any(line.startswith(f"row {row}: {problem}") for line in lines), (row, text)
    assert "row 2:" not in text and "row 5:" not in text
    assert "<b>&amp;</b>" not in text  # user text is escaped where it appears

    [vector] = await storage.clients.match(USER_ID, "Vector")
    assert (vector.contact_person, vector.phone, vector.email, vector.channel) == (
        "Ivan Petrov", "+7 900 000-00-00", "ivan@vector.io", Channel.EMAIL
    )
    assert vector.report_cadence == "report every month on the 1st at 10:00"
    [beta] = await storage.clients.match(USER_ID, "Бета")
    assert beta.name == "Бета <b>&amp;</b> 🌼" and beta.contact_person == 'Анна "Ася"'
    assert beta.channel is Channel.PHONE
    assert await storage.clients.count(USER_ID) == 3  # Acme, Vector, Бета
    assert await storage.clients.count(OTHER_ID) == 1
    [series] = await storage.series.list_live(USER_ID)
    assert (series.client_id, series.source, series.status) == (
        vector.id, "cadence", SeriesStatus.ACTIVE
    )
    first = await storage.tasks.get_by_number(USER_ID, 1)
    assert first is not None and first.due_at == moscow(1, 10, month=12)


@pytest.mark.parametrize("encoding", ["cp1251", "utf-8-sig", "utf-8"])
async def test_import_russian_headers_semicolons_and_encodings(
    chat: ChatHarness, storage: Storage, encoding: str
) -> None:
    content = "\r\n".join([
        "Название;Контактное лицо;Телефон;Эл. почта;Канал;Периодичность;Заметки",
        "Ромашка;Анна Иванова;+7 (495) 123-45-67;anna@romashka.ru;мессенджер;"
        "отчёт 1 числа каждого месяца",
        '"Лютик; и Ко";Пётр;;;;;что-то ещё',
    ]).encode(encoding)
    replies = await chat.send_message(
        document=csv_document(chat, content, name="Клиенты.CSV", mime="application/vnd.ms-excel"),
        caption="/import",
    )
    assert "Clients imported: 2." in replies.text
    assert "Columns I do not know, skipped: “Заметки”" in replies.text
    assert "Rows not imported" not in replies.text
    [romashka] = await storage.clients.match(USER_ID, "Ромашка")
    assert (romashka.contact_person, romashka.phone, romashka.email, romashka.channel) == (
        "Анна Иванова", "+7 (495) 123-45-67", "anna@romashka.ru", Channel.MESSENGER
    )
    [lutik] = await storage.clients.match(USER_ID, "Лютик")
    assert lutik.name == "Лютик; и Ко" and lutik.contact_person == "Пётр"
    [series] = await storage.series.list_live(USER_ID)
    assert series.client_id == romashka.id


async def test_import_waits_for_the_file_after_the_command(
    chat: ChatHarness, storage: Storage
) -> None:
    replies = await chat.send("/import")
    assert "Send me a CSV file of clients" in replies.text
    replies = await chat.send_message(photo=[PhotoSize(file_id="p", file_unique_id="p",
                                                        width=1, height=1)])
    assert "I am waiting for a CSV file" in replies.text
    assert await storage.notes.count(USER_ID, None) == 0
    replies = await chat.send_message(document=csv_document(chat, b"name\nAcme\n"))
    assert "Clients imported: 1." in replies.text
    # The dialog is over: the next document is a note again, not an import.
    await chat.send_message(document=csv_document(chat, b"name\nBeta\n"))
    assert await storage.clients.count(USER_ID) == 1
    assert await storage.notes.count(USER_ID, None) == 1
    # /cancel leaves the dialog.
    await chat.send("/import")
    assert "Cancelled." in (await chat.send("/cancel")).text


async def test_oversize_and_non_csv_files_are_refused(
    chat: ChatHarness, storage: Storage
) -> None:
    big = b"name\n" + b"Acme\n" * 250_000
    replies = await chat.send_message(document=csv_document(chat, big), caption="/import")
    assert "The file is too large (1221 KB); the limit is 1024 KB." in replies.text
    assert not replies.of(GetFile)  # refused before downloading
    # A client that does not say the size is stopped after the download.
    replies = await chat.send_message(
        document=csv_document(chat, big, size=None), caption="/import"
    )
    assert "The file is too large" in replies.text
    replies = await chat.send_message(
        document=csv_document(
            chat, b"PK\x03\x04 spreadsheet", name="clients.xlsx",
            mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ),
        caption="/import",
    )
    assert "This is not a CSV file." in replies.text
    replies = await chat.send_message(
        document=csv_document(chat, b"PK\x03\x04\x00\x00 zip", name="clients.csv"),
        caption="/import",
    )
    assert "This is not a CSV file." in replies.text
    replies = await chat.send_message(
        document=csv_document(chat, b"phone,email\n123,a@b.c\n"), caption="/import"
    )
    assert "I could not find the name column." in replies.text
    replies = await chat.send_message(
        document=Document(file_id="gone", file_unique_id="gone", file_name="c.csv"),
        caption="/import",
    )
    assert "I could not download the file." in replies.text
    assert await storage.clients.count(USER_ID) == 0


async def rich_data(chat: ChatHarness, user_id: int, name: str) -> None:
    await fill(chat, user_id, name, "private")
    await chat.send(f"/task {name}: отчёт каждый понедельник в 11", user_id=user_id)
    await chat.send(f"/alias {name} {name}-alias", user_id=user_id)
    await chat.send(f"/client {name}", user_id=user_id)
    await chat.send("/newclient", user_id=user_id)  # a dialog waiting for a name


async def test_forget_me_deletes_everything_of_the_user_only(
    chat: ChatHarness, storage: Storage
) -> None:
    await rich_data(chat, USER_ID, "Acme")
    await rich_data(chat, OTHER_ID, "Vector")
    mine, theirs = await row_counts(storage, USER_ID), await row_counts(storage, OTHER_ID)
    assert all(mine.values()), mine  # every kind of row exists before
    replies = await chat.send("/forget_me")
    assert "clients 1, tasks 4, notes 1, invoices 1" in replies.text
    [question] = replies.of(SendMessage)
    assert [text for text, _data in buttons(question.reply_markup)] == [
        "🗑 Delete everything", "Keep my data"
    ]
    replies = await chat.press("Delete everything")
    assert "everything you kept here is deleted" in replies.text
    assert await row_counts(storage, USER_ID) == dict.fromkeys(mine, 0)
    assert await row_counts(storage, OTHER_ID) == theirs
    found = await chat.send("/find private", user_id=OTHER_ID)
    assert "Vector" in found.text
    # Coming back starts from scratch, numbers too.
    assert "No clients yet" in (await chat.send("/clients")).text
    await chat.send("/newclient Beta")
    assert "Invoice I1<" in (await chat.send("/invoice Beta 100 due 01.12")).text
    # (Task #1 is the invoice's payment task.)
    assert "Task #2<" in (await chat.send("/task Beta: call")).text


async def test_stale_or_foreign_forget_buttons_change_nothing(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    await rich_data(chat, USER_ID, "Acme")
    await chat.send("/newclient Vector", user_id=OTHER_ID)
    before = await row_counts(storage, USER_ID)
    other_before = await row_counts(storage, OTHER_ID)

    await chat.send("/forget_me")
    message, found = chat.last_keyboard()
    first_yes = next(data for text, data in found if "Delete" in text)
    # Another user pressing this user's button (in their own chat, or forged).
    replies = await chat.press_data(first_yes, user_id=OTHER_ID)
    assert replies.alerts == ["This button is no longer valid."]
    # A newer question makes the older buttons stale.
    await chat.send("/forget_me")
    replies = await chat.press_data(first_yes, message=message)
    assert replies.alerts == ["This button is no longer valid."]
    # "Keep my data" ends the question; its "delete" button is then stale too.
    _message, found = chat.last_keyboard()
    second_yes = next(data for text, data in found if "Delete" in text)
    replies = await chat.press("Keep my data")
    assert "Nothing was deleted." in replies.text
    assert (await chat.press_data(second_yes)).alerts == ["This button is no longer valid."]
    # A question left for long expires.
    await chat.send("/forget_me")
    clock.set(clock.now() + timedelta(minutes=11))
    assert (await chat.press("Delete everything")).alerts == ["This button is no longer valid."]
    # Made-up data.
    assert (await chat.press_data("fg:yes:1001:00000000")).alerts == [
        "This button is no longer valid."
    ]
    assert await row_counts(storage, USER_ID) == before
    assert await row_counts(storage, OTHER_ID) == other_before


async def test_import_is_all_or_nothing(storage: Storage, clock: FakeClock) -> None:
    await storage.users.ensure(USER_ID, clock.now())
    drafts = [ClientDraft(name="Acme"), ClientDraft(name="Beta"), ClientDraft(name=" ")]
    with pytest.raises(ValueError, match="needs a name"):
        await storage.user_data.import_clients(USER_ID, drafts, clock.now())
    assert await storage.clients.count(USER_ID) == 0
    result = await storage.user_data.import_clients(USER_ID, drafts[:2] * 2, clock.now())
    assert [client.name for client in result.created] == ["Acme", "Beta"]
    assert result.duplicates == (2, 3)


async def test_forget_keeps_a_tombstone_or_nothing_when_others_point_at_the_user(
    chat: ChatHarness, storage: Storage
) -> None:
    await rich_data(chat, USER_ID, "Acme")
    # Stand-ins for a team's rows (teams come later): one points at the user, one at a client.
    await raw_execute(
        storage,
        "CREATE TABLE shared_with (user_id INTEGER REFERENCES users(id))",
        "CREATE TABLE shared_with (user_id bigint REFERENCES users(id))",
    )
    await raw_execute(
        storage,
        "INSERT INTO shared_with VALUES (?)",
        "INSERT INTO shared_with VALUES ($1)",
        USER_ID,
    )
    await raw_execute(
        storage,
        "CREATE TABLE team_things (client_id INTEGER REFERENCES clients(id))",
        "CREATE TABLE team_things (client_id bigint REFERENCES clients(id))",
    )
    [acme] = await storage.clients.match(USER_ID, "Acme")
    await raw_execute(
        storage,
        "INSERT INTO team_things VALUES (?)",
        "INSERT INTO team_things VALUES ($1)",
        acme.id,
    )
    before = await row_counts(storage, USER_ID)
    await chat.send("/lang ru")
    await chat.send("/forget_me")
    replies = await chat.press("Удалить всё")
    assert "Ничего не удалено" in replies.text
    assert await row_counts(storage, USER_ID) == before

    await raw_execute(storage, "DELETE FROM team_things", "DELETE FROM team_things")
    await chat.send("/forget_me")
    replies = await chat.press("Удалить всё")
    assert "всё, что вы здесь хранили, удалено" in replies.text
    counts = await row_counts(storage, USER_ID)
    assert counts.pop("users") == 1  # a tombstone: the row others point at stays, emptied
    assert not any(counts.values()), counts
    profile = await storage.users.get(USER_ID)
    assert profile is not None and profile.language is None and not profile.active
