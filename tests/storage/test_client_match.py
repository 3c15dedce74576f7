"""Finding a client the way people name them: any word of the name, an alias's beginning."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.interfaces import Storage

NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)
ALICE, BOB = 1, 2


async def names(storage: Storage, owner: int, query: str) -> list[str]:
    return [client.name for client in await storage.clients.match(owner, query)]


async def test_a_later_word_of_the_name_finds_the_client(storage: Storage) -> None:
    await storage.users.ensure(ALICE, NOW)
    for name in ("ИП Смирнова А.В.", "ООО «Ромашка»", "Acme Labs", "Beta"):
        await storage.clients.create(ALICE, name, NOW)
    assert await names(storage, ALICE, "смирнова") == ["ИП Смирнова А.В."]
    assert await names(storage, ALICE, "Смирн") == ["ИП Смирнова А.В."]
    assert await names(storage, ALICE, "ромашка") == ["ООО «Ромашка»"]
    assert await names(storage, ALICE, "labs") == ["Acme Labs"]
    # A word's middle is not a word: "мирнова" and "eta" find nothing.
    assert await names(storage, ALICE, "мирнова") == []
    assert await names(storage, ALICE, "eta") == []


async def test_the_first_word_still_wins_over_later_words(storage: Storage) -> None:
    await storage.users.ensure(ALICE, NOW)
    for name in ("Labs of Acme", "Acme Labs"):
        await storage.clients.create(ALICE, name, NOW)
    assert await names(storage, ALICE, "labs") == ["Labs of Acme"]
    assert await names(storage, ALICE, "acme") == ["Acme Labs"]


async def test_an_alias_prefix_finds_the_client(storage: Storage) -> None:
    await storage.users.ensure(ALICE, NOW)
    name = "Общество с ограниченной ответственностью Вектор"
    client = await storage.clients.create(ALICE, name, NOW)
    await storage.clients.add_alias(ALICE, client.id, "ВекторСтрой", NOW)
    assert await names(storage, ALICE, "вектор") == [client.name]  # a word of the name
    assert await names(storage, ALICE, "векторстр") == [client.name]  # the alias's beginning


async def test_other_owners_clients_are_never_found_by_a_word(storage: Storage) -> None:
    await storage.users.ensure(ALICE, NOW)
    await storage.users.ensure(BOB, NOW)
    await storage.clients.create(BOB, "ИП Смирнова А.В.", NOW)
    assert await names(storage, ALICE, "смирнова") == []
