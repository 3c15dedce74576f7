"""The process's one aiosqlite connection: pragmas, migrations, transactions."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.sqlite.migrations import MIGRATIONS

Params = Iterable[Any]

logger = logging.getLogger(__name__)


class Database:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        # One connection serves every handler; the lock keeps transactions from interleaving.
        self._write_lock = asyncio.Lock()
        # The asyncio task inside a transaction: its nested transactions become savepoints.
        self._holder: asyncio.Task[Any] | None = None
        self._savepoints = 0

    @classmethod
    async def open(cls, path: Path) -> Database:
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
        # isolation_level=None: autocommit, so transactions are exactly the ones we open.
        connection = await aiosqlite.connect(path, isolation_level=None)
        connection.row_factory = aiosqlite.Row
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged write survives power loss too, not only kill -9.
            await connection.execute("PRAGMA synchronous=FULL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            database = cls(connection)
            await database._migrate()
        except BaseException:
            await connection.close()
            raise
        return database

    async def close(self) -> None:
        async with self._write_lock:
            await self._connection.close()

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    async def _migrate(self) -> None:
        current = await self.schema_version()
        for version, script in enumerate(MIGRATIONS, start=1):
            if version <= current:
                continue
            # executescript commits on its own, so BEGIN/COMMIT live inside the script:
            # the schema change and the version bump land together or not at all.
            try:
                await self._connection.executescript(
                    f"BEGIN IMMEDIATE;\n{script}\nPRAGMA user_version = {version};\nCOMMIT;"
                )
            except sqlite3.Error:
                if self._connection.in_transaction:
                    await self._connection.execute("ROLLBACK")
                raise

    def _holds_transaction(self) -> bool:
        return self._holder is not None and self._holder is asyncio.current_task()

    async def _rollback(self, *, only_if_open: bool = False) -> None:
        """Undo the open transaction, if any (SQLite may have ended it already: full disk).

        The connection runs statements one by one on its thread, so a ROLLBACK queued now runs
        after a BEGIN or COMMIT that a cancelled task left queued: nothing stays open. Shielded,
        so shutdown's cancellation cannot stop it half-way.
        """
        if only_if_open and not self._connection.in_transaction:
            return
        try:
            await asyncio.shield(self._connection.execute("ROLLBACK"))
        except sqlite3.Error as exc:
            if "no transaction is active" in str(exc):
                return  # a COMMIT queued before us ended it, or it never began
            # The error that brought us here is the one to raise; the next writer retries.
            logger.error("rollback failed: %s: %s", type(exc).__name__, exc)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """All or nothing. Inside another transaction of the same task: a savepoint."""
        if self._holds_transaction():
            async with self._savepoint():
                yield self._connection
            return
        async with self._write_lock:
            # A COMMIT or ROLLBACK that failed (disk full, I/O error) can leave one open.
            await self._rollback(only_if_open=True)
            self._holder = asyncio.current_task()
            try:
                try:
                    # Inside the try: a task cancelled while BEGIN waits on the connection's
                    # thread still gets its transaction rolled back.
                    await self._connection.execute("BEGIN IMMEDIATE")
                    yield self._connection
                except BaseException:
                    await self._rollback()
                    raise
                try:
                    await self._connection.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT may leave the transaction open: end it.
                    await self._rollback()
                    raise
            finally:
                self._holder = None

    @asynccontextmanager
    async def _savepoint(self) -> AsyncIterator[None]:
        self._savepoints += 1
        name = f"nested_{self._savepoints}"
        try:
            await self._connection.execute(f"SAVEPOINT {name}")
            try:
                yield
            except BaseException:
                # A fault may have rolled the whole transaction back; the outer one reports.
                if self._connection.in_transaction:
                    await self._connection.execute(f"ROLLBACK TO {name}")
                    await self._connection.execute(f"RELEASE {name}")
                raise
            await self._connection.execute(f"RELEASE {name}")
        finally:
            self._savepoints -= 1

    @asynccontextmanager
    async def atomic(self) -> AsyncIterator[None]:
        """Several repository writes as one transaction (see StorageBackend.atomic)."""
        async with self.transaction():
            yield

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single-statement write (atomic on its own); returns the changed row count."""
        if self._holds_transaction():
            return await self._execute(sql, params)
        async with self._write_lock:
            await self._rollback(only_if_open=True)
            return await self._execute(sql, params)

    async def _execute(self, sql: str, params: Params) -> int:
        cursor = await self._connection.execute(sql, tuple(params))
        count = cursor.rowcount
        await cursor.close()
        return count

    async def fetchone(self, sql: str, params: Params = ()) -> aiosqlite.Row | None:
        # One trip to the database thread instead of execute, fetch and close.
        rows = await self._connection.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        return list(await self._connection.execute_fetchall(sql, tuple(params)))
