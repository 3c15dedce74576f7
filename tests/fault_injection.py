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


async def fail_inserts(storage: Storage, table: str, on: bool) -> None:
    """Inserts into table fail inside the database, with an I/O error's message (a trigger:
    the statement reaches the database and the transaction around it rolls back)."""
    backend = storage.backend
    trigger = f"{table}_fail"
    if isinstance(backend, Database):
        if on:
            await backend.execute(
                f"CREATE TEMP TRIGGER {trigger} BEFORE INSERT ON {table}"
                " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
            )
        else:
            await backend.execute(f"DROP TRIGGER {trigger}")
        return
    assert isinstance(backend, PgDatabase)
    if on:
        # 58030: io_error, as a failing disk under the server reports it.
        await backend.execute(
            "CREATE OR REPLACE FUNCTION test_fail_insert() RETURNS trigger LANGUAGE plpgsql"
            " AS $$ BEGIN RAISE EXCEPTION 'disk I/O error' USING ERRCODE = '58030'; END $$"
        )
        await backend.execute(
            f"CREATE TRIGGER {trigger} BEFORE INSERT ON {table}"
            " FOR EACH ROW EXECUTE FUNCTION test_fail_insert()"
        )
    else:
        await backend.execute(f"DROP TRIGGER {trigger} ON {table}")
