"""Shared fixtures: a frozen clock, a real SQLite file, one warmed date parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import FrozenClock
from bot.services.dates import DateParser
from storage.interfaces import Storage
from storage.sqlite import open_sqlite_storage

# Thursday 26 November 2026, 14:37 in Moscow.
NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(NOW)


@pytest.fixture(scope="session")
def dates() -> DateParser:
    parser = DateParser()
    parser.warm()
    return parser


@pytest.fixture
async def storage(tmp_path: Path) -> AsyncIterator[Storage]:
    opened = await open_sqlite_storage(tmp_path / "data" / "test.sqlite3")
    try:
        yield opened
    finally:
        await opened.backend.close()
