"""Shared fixtures: the fake clock, a real SQLite file, one warmed date parser."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.domain.dates import DateParser
from storage.interfaces import Storage
from storage.sqlite import open_sqlite_storage
from tests.fakes.clock import NOW, FakeClock

TESTS = Path(__file__).resolve().parent
# The suites that take minutes: the real `python -m bot` process (e2e, kill -9 rounds) and the
# fuzzer; elsewhere a test that starts `python -m bot` (check, backup, shell, startup safety)
# carries @pytest.mark.slow itself. pyproject's addopts (-m "not slow") keeps them out of the
# everyday `pytest`; `pytest -m slow` runs them, and .ci/run does on every run, as a step of
# its own.
SLOW = (TESTS / "e2e", TESTS / "fuzz")


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m filter reads the marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if any(item.path.is_relative_to(slow) for slow in SLOW):
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


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
