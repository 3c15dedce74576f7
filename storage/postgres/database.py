"""The process's asyncpg pool: migrations, transactions, the project's own errors.

One transaction per asyncio task at a time: a repository write inside ``transaction()``
(or ``atomic()``) runs on the task's connection, and a nested ``transaction()`` of the same
task becomes a savepoint. Reads outside a transaction use any pooled connection; inside
one they use the task's, so a transaction sees its own writes.

A transaction made while a Telegram update is handled also records that update (see
storage/update_marks.py) when it changed something, exactly as the SQLite backend does.
Every asyncpg or socket exception leaves this module as a StorageFaultError subclass (or a
plain StorageError), never as asyncpg's own.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, TypeAlias, TypeVar

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from storage import update_marks
from storage.errors import (
    DatabaseUnusableError,
    SchemaTooNewError,
    StorageError,
    UpdateAlreadyAppliedError,
)
from storage.postgres.faults import translate
from storage.postgres.migrations import MIGRATION_LOCK, MIGRATIONS

logger = logging.getLogger(__name__)
T = TypeVar("T")

# Every connection handed out is a pooled one.
Connection: TypeAlias = "PoolConnectionProxy[asyncpg.Record]"
Record = asyncpg.Record

# Every process's open runs the missing migrations under this transaction-scoped advisory
# lock, so workers started together migrate once.
_CONNECT_TIMEOUT_SECONDS = 10.0


@dataclass(slots=True)
class _Held:
    task: asyncio.Task[Any] | None
    connection: Connection


# The connection of the transaction the current task holds. A child task inherits the
# context, so the holder task is compared too: a child never shares its parent's connection.
_held: ContextVar[_Held | None] = ContextVar("postgres_transaction", default=None)


async def _init_connection(connection: asyncpg.Connection[asyncpg.Record]) -> None:
    await connection.set_type_codec(
        "jsonb",
        encoder=lambda value: json.dumps(value, ensure_ascii=False),
        decoder=json.loads,
        schema="pg_catalog",
    )


class PgDatabase:
    def __init__(self, pool: asyncpg.Pool, dsn: str) -> None:
        self._pool = pool
        # For the sessions that must not be pooled (leadership lock, LISTEN).
        self.dsn = dsn

    @classmethod
    async def open(
        cls, dsn: str, *, min_size: int = 1, max_size: int = 10, migrate: bool = True
    ) -> PgDatabase:
        """Connect and bring the schema up to date.

        Raises DatabaseUnusableError (one line, nothing written) when the server cannot be
        reached or its schema is newer than this code.
        """
        try:
            pool = await asyncpg.create_pool(
                dsn,
                min_size=min_size,
                max_size=max_size,
                init=_init_connection,
                timeout=_CONNECT_TIMEOUT_SECONDS,
                # Statements are plain SQL with parameters; a pooled worker behind
                # PgBouncer in transaction mode must not rely on prepared statements.
                statement_cache_size=100,
            )
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            raise DatabaseUnusableError(
                f"PostgreSQL at {_safe_dsn(dsn)} cannot be used: {_describe(exc)}"
            ) from None
        database = cls(pool, dsn)
        try:
            if migrate:
                await database._migrate(dsn)
            else:
                await database._check_version(dsn)
        except BaseException:
            await pool.close()
            raise
        return database

    async def close(self) -> None:
        await self._pool.close()

    @property
    def pool(self) -> asyncpg.Pool:
        return self._pool

    async def schema_version(self) -> int:
        value = await self.fetchval("SELECT coalesce(max(version), 0) FROM schema_version")
        return int(value)

    async def _check_version(self, dsn: str) -> None:
        with translated():
            exists = await self._pool.fetchval(
                "SELECT to_regclass('schema_version') IS NOT NULL"
            )
            current = 0
            if exists:
                current = int(
                    await self._pool.fetchval(
                        "SELECT coalesce(max(version), 0) FROM schema_version"
                    )
                )
        if current > len(MIGRATIONS):
            raise SchemaTooNewError(_newer_message(dsn, current))

    async def _migrate(self, dsn: str) -> None:
        with translated():
            async with self._pool.acquire() as connection, connection.transaction():
                await connection.execute("SELECT pg_advisory_xact_lock($1)", MIGRATION_LOCK)
                await connection.execute(
                    "CREATE TABLE IF NOT EXISTS schema_version ("
                    " version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
                )
                current = int(
                    await connection.fetchval(
                        "SELECT coalesce(max(version), 0) FROM schema_version"
                    )
                )
                if current > len(MIGRATIONS):
                    raise SchemaTooNewError(_newer_message(dsn, current))
                for version, script in enumerate(MIGRATIONS, start=1):
                    if version <= current:
                        continue
                    # The schema change and its version row land together or not at all.
                    async with connection.transaction():
                        await connection.execute(script)
                        await connection.execute(
                            "INSERT INTO schema_version (version) VALUES ($1)", version
                        )
            # Types made by a migration (none yet beyond jsonb) are known to new connections.
            await self._pool.expire_connections()

    def _held_connection(self) -> Connection | None:
        held = _held.get()
        if held is not None and held.task is asyncio.current_task():
            return held.connection
        return None

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Connection]:
        """All or nothing. Inside another transaction of the same task: a savepoint."""
        connection = self._held_connection()
        if connection is not None:
            with translated():
                async with connection.transaction():
                    yield connection
            return
        with translated():
            pooled, transaction = await self._begin()
            try:
                token = _held.set(_Held(asyncio.current_task(), pooled))
                try:
                    async with self._outer_transaction(pooled, transaction):
                        yield pooled
                finally:
                    _held.reset(token)
            finally:
                await self._pool.release(pooled)

    async def _begin(self) -> tuple[Connection, Any]:
        """A pooled connection with its transaction started. A connection the server ended
        while it sat idle in the pool (a restart, a failover, an idle timeout) fails here,
        before anything of ours ran: it is dropped and the next one taken (once)."""
        for attempt in (1, 2):
            pooled = await self._pool.acquire()
            transaction = pooled.transaction()
            try:
                await transaction.start()
            except _STALE_CONNECTION:
                await self._pool.release(pooled)
                if attempt == 2:
                    raise
                continue
            except BaseException:
                await self._pool.release(pooled)
                raise
            return pooled, transaction
        raise AssertionError("unreachable")

    @asynccontextmanager
    async def _outer_transaction(
        self, connection: Connection, transaction: Any
    ) -> AsyncIterator[None]:
        try:
            yield
            mark = update_marks.pending()
            # A transaction id is assigned at the first write: none means nothing changed.
            if mark is not None and await connection.fetchval(
                "SELECT pg_current_xact_id_if_assigned() IS NOT NULL"
            ):
                await _record_update(connection, mark)
            else:
                mark = None
        except BaseException:
            # Shielded: shutdown's cancellation must not leave the connection mid-transaction.
            await asyncio.shield(_rollback_quietly(transaction))
            raise
        await transaction.commit()
        if mark is not None:
            mark.recorded = True

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """Several repository writes as one transaction (see StorageBackend.atomic)."""
        async with self.transaction():
            yield

    async def execute(self, sql: str, *args: Any) -> int:
        """A single-statement write (atomic on its own); returns the changed row count."""
        connection = self._held_connection()
        if connection is None and update_marks.pending() is not None:
            # The update's first change: it is recorded in the same transaction.
            async with self.transaction() as connection:
                return row_count(await connection.execute(sql, *args))
        with translated():
            if connection is not None:
                return row_count(await connection.execute(sql, *args))
            # Retried on a dead pooled connection only when the statement cannot have run.
            status = await self._on_pool(
                lambda pooled: pooled.execute(sql, *args), retry=_UNSENT
            )
            return row_count(status)

    async def fetch(self, sql: str, *args: Any) -> list[Record]:
        """Rows of a query (or of a write's RETURNING: wrapped like execute)."""
        connection = self._held_connection()
        if connection is None and update_marks.pending() is not None and _writes(sql):
            async with self.transaction() as connection:
                return list(await connection.fetch(sql, *args))
        with translated():
            if connection is not None:
                return list(await connection.fetch(sql, *args))
            # A read may run again; a write's RETURNING only when it cannot have run.
            retry = _UNSENT if _writes(sql) else _STALE_CONNECTION
            return list(await self._on_pool(lambda pooled: pooled.fetch(sql, *args), retry=retry))

    async def _on_pool(
        self, call: Callable[[Connection], Awaitable[T]], *, retry: tuple[type[Exception], ...]
    ) -> T:
        """One statement on a pooled connection; again on another one (once) when the first
        was dead (the server ended it while it sat idle) and `retry` says it is safe."""
        for attempt in (1, 2):
            async with self._pool.acquire() as pooled:
                try:
                    return await call(pooled)
                except retry:
                    if attempt == 2:
                        raise
                    logger.info("a pooled PostgreSQL connection was dead: trying another")
        raise AssertionError("unreachable")

    async def fetchrow(self, sql: str, *args: Any) -> Record | None:
        rows = await self.fetch(sql, *args)
        return rows[0] if rows else None

    async def fetchval(self, sql: str, *args: Any) -> Any:
        row = await self.fetchrow(sql, *args)
        return None if row is None else row[0]


# A pooled connection the server ended: asyncpg notices on use. "Connection is closed"
# (InterfaceError) and a protocol left mid-state (InternalClientError) are raised before
# the statement is sent; a connection lost while a statement ran is ambiguous for a write.
_UNSENT: tuple[type[Exception], ...] = (asyncpg.InterfaceError, asyncpg.InternalClientError)
_STALE_CONNECTION: tuple[type[Exception], ...] = (
    *_UNSENT,
    asyncpg.ConnectionDoesNotExistError,
    asyncpg.AdminShutdownError,
    ConnectionError,
)


def _writes(sql: str) -> bool:
    head = sql.lstrip()[:12].upper()
    return head.startswith(("INSERT", "UPDATE", "DELETE", "WITH"))


def row_count(status: str) -> int:
    """The row count of a command status ("UPDATE 3", "INSERT 0 1", "DELETE 0")."""
    tail = status.rsplit(" ", 1)[-1]
    return int(tail) if tail.isdigit() else 0


async def _record_update(connection: Connection, mark: update_marks.UpdateMark) -> None:
    """The update's first change records it, in the same transaction: both or neither."""
    status = await connection.execute(
        "INSERT INTO applied_updates (bot_id, update_id, applied_at) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        mark.bot_id,
        mark.update_id,
        mark.at.replace(microsecond=0),
    )
    if row_count(status) == 0:
        # Another delivery of the same update committed first: this one is undone.
        raise UpdateAlreadyAppliedError(mark.update_id)


async def _rollback_quietly(transaction: Any) -> None:
    try:
        await transaction.rollback()
    except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
        # The connection is gone or broken: the server rolls back on its own; the pool
        # discards the connection. The error that brought us here is the one raised.
        logger.warning("rollback failed: %s", _describe(exc))


@contextmanager
def translated() -> Iterator[None]:
    """asyncpg's and the socket's exceptions leave as the project's own storage errors."""
    try:
        yield
    except StorageError:
        raise
    except (
        OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError
    ) as exc:
        raise translate(exc) from exc


def _describe(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _safe_dsn(dsn: str) -> str:
    """The DSN without its password, for messages."""
    if "@" not in dsn:
        return dsn
    scheme, _, rest = dsn.partition("://")
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}" if user else f"{scheme}://{host}"


def _newer_message(dsn: str, version: int) -> str:
    return (
        f"database {_safe_dsn(dsn)} has schema {version}, newer than this code knows "
        f"({len(MIGRATIONS)}): run the newer code or restore a backup"
    )
