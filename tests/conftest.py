"""Shared fixtures: the fake clock, a real database of each backend, one warmed date parser.

`storage` is parametrised by backend: every test that uses it runs on a real SQLite file and
on a fresh PostgreSQL database (cloned from a migrated template, dropped afterwards). The
PostgreSQL server is TEST_DATABASE_URL when set (.ci/run starts one and exports it), else a
throwaway cluster this session starts itself (tests/pg_cluster.py). When neither works the
PostgreSQL tests fail with the reason: they are never skipped.

A test about one backend's own machinery (SQLite's file, pragmas, triggers) is marked
`sqlite_only` and is not collected for PostgreSQL.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import asyncpg
import pytest

from bot.domain.dates import DateParser
from storage.interfaces import Storage
from storage.postgres import open_postgres_storage
from storage.sqlite import open_sqlite_storage
from tests import pg_cluster
from tests.fakes.clock import NOW, FakeClock

BACKENDS = ("sqlite", "postgres")
_TEMPLATE = "am_test_template"
_database_numbers = itertools.count(1)

TESTS = Path(__file__).resolve().parent
# The suites that take minutes: the real `python -m bot` process (e2e, kill -9 rounds) and the
# fuzzer; elsewhere a test that starts `python -m bot` (check, backup, shell, startup safety)
# carries @pytest.mark.slow itself. pyproject's addopts (-m "not slow") keeps them out of the
# everyday `pytest`; `pytest -m slow` runs them, and .ci/run does on every run, as a step of
# its own.
SLOW = (TESTS / "e2e", TESTS / "fuzz")


@pytest.hookimpl(tryfirst=True)  # before pytest's own -m filter reads the marks
def pytest_collection_modifyitems(
    config: pytest.Config, items: list[pytest.Item]
) -> None:
    kept: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        if any(item.path.is_relative_to(slow) for slow in SLOW):
            item.add_marker(pytest.mark.slow)
        backend = getattr(getattr(item, "callspec", None), "params", {}).get("storage")
        if backend == "postgres" and item.get_closest_marker("sqlite_only"):
            dropped.append(item)
        else:
            kept.append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture(scope="session")
def dates() -> DateParser:
    parser = DateParser()
    parser.warm()
    return parser


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """The DSN of a PostgreSQL server holding a migrated template database."""
    dsn = os.environ.get("TEST_DATABASE_URL")
    directory: Path | None = None
    if not dsn:
        # Not under pytest's tmp dir: that is private to us, and as root the cluster runs
        # as the postgres user, who must reach its directory.
        directory = Path(tempfile.mkdtemp(prefix="am-test-postgres-"))
        try:
            dsn = pg_cluster.start(directory)
        except pg_cluster.ClusterError as exc:
            pytest.fail(f"PostgreSQL tests cannot run: {exc}", pytrace=False)
    try:
        # On a thread of its own: this fixture may first be asked for inside a running loop.
        with ThreadPoolExecutor(1) as thread:
            thread.submit(asyncio.run, _make_template(dsn)).result()
        yield dsn
    finally:
        if directory is not None:
            pg_cluster.stop(directory)
            shutil.rmtree(directory, ignore_errors=True)


def database_url(server: str, name: str) -> str:
    return f"{server.rsplit('/', 1)[0]}/{name}"


async def _make_template(server: str) -> None:
    connection = await asyncpg.connect(server)
    try:
        await connection.execute(f"DROP DATABASE IF EXISTS {_TEMPLATE} WITH (FORCE)")
        await connection.execute(f"CREATE DATABASE {_TEMPLATE}")
    finally:
        await connection.close()
    migrated = await open_postgres_storage(database_url(server, _TEMPLATE))
    await migrated.backend.close()


@asynccontextmanager
async def fresh_postgres_database(server: str) -> AsyncIterator[str]:
    """A fresh, migrated, empty PostgreSQL database, dropped at the end: its URL."""
    name = f"am_test_{os.getpid()}_{next(_database_numbers)}"
    admin = await asyncpg.connect(server)
    try:
        # FILE_COPY: a copy of the template's files, ~20 ms (WAL_LOG is slower for small ones).
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE} STRATEGY FILE_COPY")
        yield database_url(server, name)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


@pytest.fixture
async def postgres_url(postgres_server: str) -> AsyncIterator[str]:
    async with fresh_postgres_database(postgres_server) as url:
        yield url


@pytest.fixture(params=BACKENDS)
async def storage(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Storage]:
    if request.param == "sqlite":
        opened = await open_sqlite_storage(tmp_path / "data" / "test.sqlite3")
        try:
            yield opened
        finally:
            await opened.backend.close()
        return
    # A sync session fixture: safe to ask for from inside this (running) fixture.
    server = request.getfixturevalue("postgres_server")
    async with fresh_postgres_database(server) as url:
        opened = await open_postgres_storage(url)
        try:
            yield opened
        finally:
            await opened.backend.close()
