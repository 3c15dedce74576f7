"""The process's one aiosqlite connection: pragmas, migrations, transactions."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage.sqlite.migrations import MIGRATIONS

Params = Iterable[Any]


class Database:
    def __init__(self, connection: aiosqlite.Connection) -> None:
        self._connection = connection
        # One connection serves every handler; the lock keeps transactions from interleaving.
        self._write_lock = asyncio.Lock()

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

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            await self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                await self._connection.execute("ROLLBACK")
                raise
            await self._connection.execute("COMMIT")

    async def execute(self, sql: str, params: Params = ()) -> int:
        """A single-statement write (atomic on its own); returns the changed row count."""
        async with self._write_lock:
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
