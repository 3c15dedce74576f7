"""PostgreSQL's own incidents reach the user as the project's storage faults: the server
ending every session (a restart, a failover) or refusing writes gives the same "try again"
answer as SQLite's faults, one log line without a traceback, and the next message works."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

from storage.interfaces import Storage
from storage.postgres import open_postgres_storage
from tests.fault_injection import drop_connections, read_only
from tests.handlers.harness import USER_ID, ChatHarness

SAVE_FAILED = (
    "⚠️ Could not save that: the bot's storage is not accepting changes right now. "
    "Please try again in a few minutes."
)
NOTE = "Acme: budget for January approved"


@pytest.fixture
async def storage(postgres_url: str) -> AsyncIterator[Storage]:
    """PostgreSQL only (the conftest's `storage` runs both; these faults are its own)."""
    opened = await open_postgres_storage(postgres_url, max_size=2)
    try:
        yield opened
    finally:
        await opened.backend.close()


def storage_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        record for record in caplog.records
        if record.name == "handlers.errors" and record.levelno >= logging.ERROR
    ]


async def test_idle_postgres_sessions_ended_by_the_server_are_replaced_unnoticed(
    chat: ChatHarness, storage: Storage, postgres_server: str
) -> None:
    await chat.send("/newclient Acme")
    assert await drop_connections(storage, postgres_server) >= 1
    assert "Note saved → Acme" in (await chat.send(NOTE)).text


async def test_a_postgres_session_ended_mid_request_is_a_try_again(
    chat: ChatHarness, storage: Storage, postgres_server: str,
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch,
) -> None:
    await chat.send("/newclient Acme")
    create = storage.notes.create

    async def server_restarts_meanwhile(*args: Any, **kwargs: Any) -> Any:
        async with storage.backend.atomic():
            await storage.users.get(0)  # the request's connection is taken
            await drop_connections(storage, postgres_server)
            return await create(*args, **kwargs)

    monkeypatch.setattr(storage.notes, "create", server_restarts_meanwhile)
    with caplog.at_level(logging.INFO):
        reply = await chat.send(NOTE)
    assert reply.texts == [SAVE_FAILED]
    [line] = storage_lines(caplog)
    assert line.getMessage().startswith("storage unavailable (unavailable) in update ")
    assert line.exc_info is None and "\n" not in line.getMessage()

    # The pool replaces the lost connection: the same note goes in now.
    monkeypatch.setattr(storage.notes, "create", create)
    assert "Note saved → Acme" in (await chat.send(NOTE)).text
    assert await storage.notes.count(USER_ID, None) == 1


async def test_a_postgres_database_refusing_writes_is_a_try_again(
    chat: ChatHarness, storage: Storage, caplog: pytest.LogCaptureFixture
) -> None:
    await chat.send("/newclient Acme")
    await read_only(storage, True)
    with caplog.at_level(logging.INFO):
        assert (await chat.send(NOTE)).texts == [SAVE_FAILED]
    [line] = storage_lines(caplog)
    assert line.getMessage().startswith("storage unavailable (read-only) in update ")
    assert "ReadOnlySQLTransactionError [25006]" in line.getMessage()
    await read_only(storage, False)
    assert "Note saved → Acme" in (await chat.send(NOTE)).text
