"""Raw SQL for tests that look under the repositories, on either backend.

A test may know which database it runs on (production code may not): each helper takes the
statement in both dialects, SQLite's with `?` placeholders and PostgreSQL's with `$1, $2, ...`,
and runs the one of the storage's backend with the same arguments.
"""

from __future__ import annotations

from typing import Any

from storage.interfaces import Storage
from storage.postgres.database import PgDatabase
from storage.sqlite.database import Database


def is_postgres(storage: Storage) -> bool:
    if isinstance(storage.backend, PgDatabase):
        return True
    assert isinstance(storage.backend, Database), type(storage.backend)
    return False


async def raw_execute(storage: Storage, sql_sqlite: str, sql_postgres: str, *args: Any) -> int:
    """A write in the backend's dialect; the changed row count."""
    backend = storage.backend
    if isinstance(backend, PgDatabase):
        return await backend.execute(sql_postgres, *args)
    assert isinstance(backend, Database), type(backend)
    return await backend.execute(sql_sqlite, args)


async def raw_fetch(
    storage: Storage, sql_sqlite: str, sql_postgres: str, *args: Any
) -> list[tuple[Any, ...]]:
    """The rows of a query in the backend's dialect, as plain tuples."""
    backend = storage.backend
    if isinstance(backend, PgDatabase):
        return [tuple(row) for row in await backend.fetch(sql_postgres, *args)]
    assert isinstance(backend, Database), type(backend)
    return [tuple(row) for row in await backend.fetchall(sql_sqlite, args)]


async def raw_value(storage: Storage, sql_sqlite: str, sql_postgres: str, *args: Any) -> Any:
    """The first column of the first row (None when there is no row)."""
    rows = await raw_fetch(storage, sql_sqlite, sql_postgres, *args)
    return rows[0][0] if rows else None
