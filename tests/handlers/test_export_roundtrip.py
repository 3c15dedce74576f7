"""/export → /import gives back the same client cards; formula-like cells stay text in a
spreadsheet and come back unchanged; a broken file gets a clear answer, never "Something went
wrong"."""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from aiogram.methods import SendDocument
from aiogram.types import BufferedInputFile, Document

from storage.interfaces import Storage
from storage.models import Channel, Client, ClientStatus, Segment
from tests.fakes.clock import FakeClock
from tests.handlers.harness import USER_ID, ChatHarness, Replies

OTHER_ID = 2002
# Cells a spreadsheet would run as formulas (or trim): each must come back exactly.
FORMULA_NAME = '=HYPERLINK("http://evil.example","Click")'
CARD_FIELDS = (
    "name", "contact_person", "phone", "email", "channel", "report_cadence",
    "emergency_contact", "contact_telegram", "segment", "status", "aliases",
)


def card(client: Client) -> dict[str, object]:
    return {field: getattr(client, field) for field in CARD_FIELDS}


async def make_clients(storage: Storage, clock: FakeClock) -> list[Client]:
    now = clock.now()
    await storage.users.ensure(USER_ID, now)
    full = await storage.clients.create(USER_ID, "Ромашка «Цветы» & Co 🌼", now)
    for field, value in {
        "contact_person": "@anna_boss",  # a spreadsheet would take "@..." as a formula
        "phone": "+7 900 000-00-00",
        "email": "anna@romashka.ru",
        "channel": Channel.TASK_MANAGER.value,
        "report_cadence": "отчёт каждый понедельник в 10",
        "emergency_contact": "-Пётр, +7 901 111-11-11",
        "contact_telegram": "@romashka_pr",
        "segment": Segment.B2C.value,
    }.items():
        await storage.clients.set_field(USER_ID, full.id, field, value, now)
    await storage.clients.add_alias(USER_ID, full.id, "Ромашка", now)
    await storage.clients.add_alias(USER_ID, full.id, "=ROMA", now)
    former = await storage.clients.create(USER_ID, FORMULA_NAME, now)
    await storage.clients.set_field(USER_ID, former.id, "contact_person", "'=1+2", now)
    await storage.clients.set_field(USER_ID, former.id, "contact_telegram", "123456789", now)
    await storage.clients.set_status(USER_ID, former.id, ClientStatus.FORMER, now)
    bare = await storage.clients.create(USER_ID, "Bare", now)
    clients = [await storage.clients.get(USER_ID, c.id) for c in (full, former, bare)]
    return [client for client in clients if client is not None]


def exported_clients_csv(replies: Replies) -> bytes:
    for method in replies:
        if (
            isinstance(method, SendDocument)
            and isinstance(method.document, BufferedInputFile)
            and (method.document.filename or "").endswith(".zip")
        ):
            with zipfile.ZipFile(io.BytesIO(method.document.data)) as archive:
                return archive.read("clients.csv")
    raise AssertionError("no zip was sent")


def csv_document(chat: ChatHarness, content: bytes, name: str = "clients.csv") -> Document:
    file_id = chat.session.add_file(content)
    return Document(
        file_id=file_id, file_unique_id=file_id, file_name=name, mime_type="text/csv",
        file_size=len(content),
    )


@pytest.mark.parametrize("language", ["en", "ru"])
async def test_export_then_import_keeps_every_card_field(
    chat: ChatHarness, storage: Storage, clock: FakeClock, language: str
) -> None:
    originals = await make_clients(storage, clock)
    data = exported_clients_csv(await chat.send("/export", language_code=language))

    await chat.send("/start", user_id=OTHER_ID)
    replies = await chat.send_message(
        user_id=OTHER_ID, document=csv_document(chat, data), caption="/import"
    )
    assert "Clients imported: 3." in replies.text, replies.text
    assert "Rows not imported" not in replies.text
    # Our own export's time columns are not "columns I do not know".
    assert "Columns I do not know" not in replies.text

    snapshot = await storage.user_data.snapshot(OTHER_ID)
    imported = {client.name: client for client in snapshot.clients}
    assert sorted(imported) == sorted(client.name for client in originals)
    for original in originals:
        assert card(imported[original.name]) == card(original), original.name
    # The aliases work as aliases (a note or /client finds the card by them).
    [found] = await storage.clients.match(OTHER_ID, "=ROMA")
    assert found.name == originals[0].name


async def test_formula_cells_are_exported_as_text(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    await make_clients(storage, clock)
    await chat.send(f"/task Bare: {'=cmd|'}' /C calc'!A0 завтра в 10")
    replies = await chat.send("/export")
    zipped = next(
        m.document.data for m in replies.of(SendDocument) if m.document.filename.endswith(".zip")
    )
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        tables = {
            name: list(csv.reader(io.StringIO(archive.read(name).decode("utf-8-sig"),
                                              newline="")))
            for name in archive.namelist()
        }
    cells = [cell for rows in tables.values() for row in rows for cell in row]
    for cell in cells:
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r")), cell
    assert "'" + FORMULA_NAME in cells
    assert "'+7 900 000-00-00" in cells and "'@anna_boss" in cells
    assert "''=1+2" in cells  # already "'=": one more apostrophe, taken off on import
    assert any(cell.startswith("'=cmd|") for cell in tables["tasks.csv"][1])


@pytest.mark.parametrize(
    "text",
    ["=1+2", "+7 900", "-5", "@x", "\tx", "\rx", "'=1", "''@x", "'plain", "'", "", "a=b",
     "'-", "==", "-"],
)
def test_marking_a_cell_is_undone_exactly(text: str) -> None:
    from bot.services.export import safe_cell, unmark_cell

    marked = safe_cell(text)
    assert isinstance(marked, str)
    assert not marked.startswith(("=", "+", "-", "@", "\t", "\r"))
    assert unmark_cell(marked) == text


@pytest.mark.parametrize(
    ("content", "expected_en", "expected_ru"),
    [
        (b"", "The file is empty.", "Файл пустой."),
        (b'"', "There is no table in the file", "В файле нет таблицы"),
        (b'"";"";""\r\n', "There is no table in the file", "В файле нет таблицы"),
        (b"name,contact,phone\r\n", "The file has no rows under its header.",
         "В файле нет строк под заголовком."),
        (b"name,contact\nAcme," + b"x" * 140_000 + b"\n", "A cell in the file is far too long",
         "Ячейка в файле слишком длинная"),
    ],
    ids=["empty", "quote-only", "blank-cells", "header-only", "huge-cell"],
)
async def test_broken_files_get_a_clear_answer(
    chat: ChatHarness, storage: Storage, content: bytes, expected_en: str, expected_ru: str
) -> None:
    for language, expected in (("en", expected_en), ("ru", expected_ru)):
        await chat.send("/lang " + language)
        replies = await chat.send_message(
            document=csv_document(chat, content), caption="/import"
        )
        assert expected in replies.text, replies.text
        assert "went wrong" not in replies.text and "пошло не так" not in replies.text
    assert await storage.clients.count(USER_ID) == 0


async def test_fields_over_the_card_limits_are_named_row_by_row(
    chat: ChatHarness, storage: Storage
) -> None:
    long_title = "Notes " + "y" * 5000
    content = "\n".join([
        f"name,contact,emergency_contact,aliases,telegram,segment,status,{long_title}",
        "N" * 101 + ",,,,,,,",
        "Ok1," + "c" * 201 + ",,,,,,",
        "Ok2,," + "e" * 201 + ",,,,,",
        "Ok3,,," + "a" * 101 + ",,,,",
        "Ok4,,,,not a handle!,,,",
        "Ok5,,,,,b2x,,",
        "Ok6,,,,,,gone,",
        "Fine,,,,@fine_tg,B2C,former,",
    ]).encode()
    replies = await chat.send_message(document=csv_document(chat, content), caption="/import")
    text = replies.text
    assert all(len(part) <= 4096 for part in replies.texts)
    assert "Clients imported: 1." in text and "Rows not imported: 7" in text
    for row, problem in [
        (2, "“name” is too long (101 characters; the limit is 100)"),
        (3, "“contact” is too long (201 characters; the limit is 200)"),
        (4, "“emergency_contact” is too long (201 characters; the limit is 200)"),
        (5, "“aliases” is too long (101 characters; the limit is 100)"),
        (6, "not a Telegram account: “not a handle!”"),
        (7, "unknown segment “b2x”"),
        (8, "unknown status “gone”"),
    ]:
        assert f"row {row}: {problem}" in text, (row, text)
    assert "y" * 100 not in text  # a long column title is shortened where it is named
    [fine] = await storage.clients.match(USER_ID, "Fine")
    assert (fine.contact_telegram, fine.segment, fine.status) == (
        "@fine_tg", Segment.B2C, ClientStatus.FORMER
    )
    await chat.send("/lang ru")
    replies = await chat.send_message(document=csv_document(chat, content), caption="/import")
    assert "строка 2: «name»: слишком длинно (101 символов; предел — 100)" in replies.text, (
        replies.text
    )
    assert "неизвестный сегмент «b2x»" in replies.text


async def test_an_alias_another_client_has_is_left_out_and_said(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/alias Acme AC")
    content = b'name,aliases\nBeta,"AC\nBB\n-\n"\n'  # "-" is an empty cell, as elsewhere
    replies = await chat.send_message(document=csv_document(chat, content), caption="/import")
    assert "Clients imported: 1." in replies.text
    assert "row 2: imported without the alias “AC”: another client goes by it" in replies.text
    [beta] = await storage.clients.match(USER_ID, "BB")
    assert beta.name == "Beta" and beta.aliases == ("BB",)
