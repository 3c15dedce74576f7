"""Notes and full-text search (FTS5) against a real SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.interfaces import Storage
from storage.models import SearchKind, TaskKind

NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)
ALICE, BOB = 1, 2


@pytest.fixture
async def data(storage: Storage) -> Storage:
    for user in (ALICE, BOB):
        await storage.users.ensure(user, NOW)
    return storage


async def test_search_prefix_case_yo_and_isolation(data: Storage) -> None:
    client = await data.clients.create(ALICE, "Ёлка Маркет", NOW)
    note = await data.notes.create(
        ALICE, text="Обсудили БЮДЖЕТ на январь", client_id=client.id,
        source_message_id=10, now=NOW,
    )
    task = await data.tasks.create(
        ALICE, client_id=None, text="согласовать бюджет", kind=TaskKind.OTHER, due_at=None,
        now=NOW,
    )
    await data.notes.create(BOB, text="бюджет Боба", client_id=None, source_message_id=None,
                            now=NOW)
    hits = await data.notes.search(ALICE, ["бюдж"], 10)
    assert {(hit.kind, hit.ref_id) for hit in hits} == {
        (SearchKind.NOTE, note.id), (SearchKind.TASK, task.id)
    }
    assert [(h.kind, h.ref_id) for h in await data.notes.search(ALICE, ["елка"], 10)] == [
        (SearchKind.CLIENT, client.id)
    ]
    assert await data.notes.search(ALICE, ["январь", "бюджет"], 10) != []
    assert await data.notes.search(ALICE, ["январь", "февраль"], 10) == []
    assert len(await data.notes.search(BOB, ["бюдж"], 10)) == 1


async def test_edits_and_deletes_follow_into_the_index(data: Storage) -> None:
    note = await data.notes.create(
        ALICE, text="старый текст", client_id=None, source_message_id=None, now=NOW
    )
    await data.notes.set_text(ALICE, note.id, "новый текст", NOW)
    assert await data.notes.search(ALICE, ["старый"], 10) == []
    assert len(await data.notes.search(ALICE, ["новый"], 10)) == 1
    await data.notes.delete(ALICE, note.id, NOW)
    assert await data.notes.search(ALICE, ["новый"], 10) == []
    await data.notes.restore(ALICE, note.id, NOW)
    assert len(await data.notes.search(ALICE, ["новый"], 10)) == 1


@pytest.mark.parametrize("query", ['"', "*", "AND OR NOT", "body:x", "NEAR(a b)", "'; DROP"])
async def test_fts_syntax_in_user_input_is_harmless(data: Storage, query: str) -> None:
    await data.notes.create(ALICE, text="drop table", client_id=None, source_message_id=None,
                            now=NOW)
    await data.notes.search(ALICE, [query], 10)  # no exception


async def test_a_word_is_found_in_any_form_but_not_inside_other_words(data: Storage) -> None:
    act = await data.notes.create(
        ALICE, text="Подписали акт сверки за ноябрь", client_id=None, source_message_id=None,
        now=NOW,
    )
    acts = await data.notes.create(
        ALICE, text="Акты отправлены курьером", client_id=None, source_message_id=None, now=NOW
    )
    await data.notes.create(
        ALICE, text="актуальный прайс на январь", client_id=None, source_message_id=None,
        now=NOW,
    )
    contract = await data.notes.create(
        ALICE, text="The contract is signed", client_id=None, source_message_id=None, now=NOW
    )
    found = {hit.ref_id for hit in await data.notes.search(ALICE, ["акта"], 10)}
    assert found == {act.id, acts.id}  # not "актуальный"
    assert {hit.ref_id for hit in await data.notes.search(ALICE, ["сверка"], 10)} == {act.id}
    assert {hit.ref_id for hit in await data.notes.search(ALICE, ["contracts"], 10)} == {
        contract.id
    }
    # A typed prefix still finds by prefix.
    assert {hit.ref_id for hit in await data.notes.search(ALICE, ["актуал"], 10)} != set()
