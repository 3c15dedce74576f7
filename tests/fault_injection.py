"""Storage faults made on purpose, on either backend, for tests of what the user sees.

Read-only is SQLite's `PRAGMA query_only` (it refuses writes even when the tests run as
root) or PostgreSQL's `default_transaction_read_only` set on the database, the pool's
connections replaced so they see it. Unreachable is every server connection of the test
database terminated (pg_terminate_backend): the pool's next use fails once, then reconnects.

`scalar` and `column` run a raw query with `?` placeholders on either backend (turned into
`$1, $2, ...` for PostgreSQL), for tests that count rows the repositories do not.
"""

from __future__ import annotations

import re
from typing import Any

import asyncpg

from storage.interfaces import Storage
from storage.postgres import PgDatabase
from storage.sqlite import Database


def is_postgres(storage: Storage) -> bool:
    return isinstance(storage.backend, PgDatabase)


def _pg_sql(sql: str) -> str:
    numbers = iter(range(1, 1000))
    return re.sub(r"\?", lambda _: f"${next(numbers)}", sql)


async def column(storage: Storage, sql: str, *params: object) -> list[Any]:
    """The first column of a query's rows."""
    backend = storage.backend
    if isinstance(backend, PgDatabase):
        return [row[0] for row in await backend.fetch(_pg_sql(sql), *params)]
    assert isinstance(backend, Database)
    return [row[0] for row in await backend.fetchall(sql, params)]


async def scalar(storage: Storage, sql: str, *params: object) -> int:
    [value] = await column(storage, sql, *params)
    return int(value)


async def read_only(storage: Storage, on: bool) -> None:
    """The database refuses every write (on), or takes them again (off)."""
    backend = storage.backend
    if isinstance(backend, Database):
        await backend.fetchone(f"PRAGMA query_only = {int(on)}")
        return
    assert isinstance(backend, PgDatabase)
    async with backend.pool.acquire() as connection:
        # A read-only session cannot run ALTER DATABASE: this one is made writable first.
        await connection.execute("SET default_transaction_read_only = off")
        name = await connection.fetchval("SELECT current_database()")
        setting = "SET default_transaction_read_only = on" if on else (
            "RESET default_transaction_read_only"
        )
        await connection.execute(f'ALTER DATABASE "{name}" {setting}')
    # A database setting applies to new sessions: the pool's are replaced on next use.
    await backend.pool.expire_connections()


async def drop_connections(storage: Storage, server_dsn: str) -> int:
    """PostgreSQL: end every server session of the storage's database (as a restarting or
    failing-over server does); returns how many."""
    backend = storage.backend
    assert isinstance(backend, PgDatabase)
    name = await backend.fetchval("SELECT current_database()")
    admin = await asyncpg.connect(server_dsn)
    try:
        ended = await admin.fetch(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = $1 AND pid <> pg_backend_pid()",
            name,
        )
    finally:
        await admin.close()
    return len(ended)
