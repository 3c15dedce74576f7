"""Open the storage DATABASE_URL names: a SQLite file or a PostgreSQL server.

`sqlite:///<path>` opens the file (checked read-only first, locked while the bot runs);
`postgresql://...` (or `postgres://...`) connects a pool and migrates. Either way a database
that must not be used (damaged, from newer code, held by another process, unreachable) is
refused with DatabaseUnusableError and one line, nothing written.
"""

from __future__ import annotations

from pathlib import Path

from storage.interfaces import Storage

SQLITE_PREFIX = "sqlite:///"
POSTGRES_PREFIXES = ("postgresql://", "postgres://")


async def open_storage(
    database_url: str, *, exclusive: bool = False, pool_size: int = 10
) -> Storage:
    """The repositories over the database at database_url.

    exclusive (the running bot, the shell): SQLite holds the file's lock until the storage
    is closed, refusing another process (DatabaseInUseError). PostgreSQL serves several
    workers at once and takes no such lock. pool_size: PostgreSQL's connections at most.
    """
    if database_url.startswith(SQLITE_PREFIX):
        # Imported here: a process on one backend never loads the other's driver.
        from storage.sqlite import open_sqlite_storage

        return await open_sqlite_storage(
            Path(database_url[len(SQLITE_PREFIX) :]), exclusive=exclusive
        )
    if database_url.startswith(POSTGRES_PREFIXES):
        from storage.postgres import open_postgres_storage

        return await open_postgres_storage(database_url, max_size=pool_size)
    raise ValueError("DATABASE_URL must start with sqlite:/// or postgresql://")


# The tables `python -m bot check` counts: who uses the bot and what they keep.
COUNTED_TABLES = ("users", "clients", "tasks", "notes", "reminders", "alerts")


async def row_counts(storage: Storage) -> dict[str, int]:
    """Rows of each of COUNTED_TABLES, on either backend (a summary for check)."""
    from storage.postgres import PgDatabase
    from storage.sqlite import Database

    backend = storage.backend
    counts: dict[str, int] = {}
    for table in COUNTED_TABLES:
        sql = f"SELECT count(*) FROM {table}"  # the names are constants
        if isinstance(backend, PgDatabase):
            counts[table] = int(await backend.fetchval(sql))
        elif isinstance(backend, Database):
            row = await backend.fetchone(sql)
            counts[table] = int(row[0]) if row is not None else 0
        else:
            raise TypeError(f"unknown storage backend {type(backend).__name__}")
    return counts
