"""The process's one aiosqlite connection: pragmas, migrations, transactions.

Before anything is written the file is looked at read-only: a damaged database or one from
newer code is refused (DatabaseUnusableError) with the file left byte for byte as it was. A
transaction made while a Telegram update is handled also records that update (see
storage/update_marks.py), so a redelivery of it is recognised.

Every sqlite3 exception leaving Database (open, transaction(), execute, fetchone, fetchall)
is translated into storage/errors.py's classes, the original kept as ``__cause__``: nothing
above storage/ sees sqlite3. Inside a transaction the yielded connection is aiosqlite's own,
so a repository may still catch sqlite3.IntegrityError around a statement there; a
constraint failure that leaves Database is a ConstraintError.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import aiosqlite

from storage import update_marks
from storage.errors import (
    DatabaseDamagedError,
    SchemaTooNewError,
    StorageConflictError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
    StorageUnavailableError,
    UpdateAlreadyAppliedError,
)
from storage.sqlite.codec import encode_time
from storage.sqlite.lock import DatabaseLock
from storage.sqlite.migrations import MIGRATIONS

Params = Iterable[Any]

logger = logging.getLogger(__name__)

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_BUSY = 5
_SQLITE_LOCKED = 6
_SQLITE_READONLY = 8
_SQLITE_IOERR = 10
_SQLITE_CORRUPT = 11
_SQLITE_FULL = 13
_SQLITE_CANTOPEN = 14
_SQLITE_CONSTRAINT = 19
_SQLITE_NOTADB = 26


class SqliteError(StorageError):
    """A sqlite3 error that is no incident of the machine (a bug, a schema mismatch): the
    write did not happen. ``detail`` is SQLite's one-line message (no row values)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ConstraintError(SqliteError):
    """A constraint (unique, foreign key, check) refused the write: the repositories turn
    the ones they expect into domain errors (DuplicateClientError, ...)."""


_BY_CODE: dict[int, type[StorageError]] = {
    _SQLITE_FULL: StorageFullError,
    _SQLITE_READONLY: StorageReadOnlyError,
    _SQLITE_IOERR: StorageUnavailableError,
    _SQLITE_CANTOPEN: StorageUnavailableError,
    # A page found damaged while running: an incident, as PostgreSQL's XX000 is.
    _SQLITE_CORRUPT: StorageUnavailableError,
    _SQLITE_NOTADB: StorageUnavailableError,
    _SQLITE_BUSY: StorageConflictError,
    _SQLITE_LOCKED: StorageConflictError,
    _SQLITE_CONSTRAINT: ConstraintError,
}
# For exceptions that carry no result code (raised by hand, or by a wrapper).
_BY_TEXT: tuple[tuple[str, type[StorageError]], ...] = (
    ("database or disk is full", StorageFullError),
    ("readonly database", StorageReadOnlyError),
    ("read-only", StorageReadOnlyError),
    ("disk i/o error", StorageUnavailableError),
    ("unable to open database", StorageUnavailableError),
    ("database is locked", StorageConflictError),
    ("constraint failed", ConstraintError),
)


def translate(exc: sqlite3.Error) -> StorageError:
    """The project's error for a sqlite3 one (raise it ``from exc``)."""
    message = " ".join(str(exc).split())
    code = getattr(exc, "sqlite_errorcode", None)
    kind: type[StorageError] | None = None
    if isinstance(code, int):
        kind = _BY_CODE.get(code & 0xFF)
    if kind is None:
        text = message.lower()
        kind = next((k for needle, k in _BY_TEXT if needle in text), SqliteError)
    name = getattr(exc, "sqlite_errorname", None)
    detail = f"{type(exc).__name__} [{name}]: {message}" if name else (
        f"{type(exc).__name__}: {message}"
    )
    return kind(detail)


@contextmanager
def translated() -> Iterator[None]:
    """sqlite3's exceptions leave as the project's own storage errors."""
    try:
        yield
    except sqlite3.Error as exc:
        raise translate(exc) from exc


class Database:
    def __init__(
        self, connection: aiosqlite.Connection, lock: DatabaseLock | None = None
    ) -> None:
        self._connection = connection
        self._lock = lock
        # One connection serves every handler; the lock keeps transactions from interleaving.
        self._write_lock = asyncio.Lock()
        # The asyncio task inside a transaction: its nested transactions become savepoints.
        self._holder: asyncio.Task[Any] | None = None
        self._savepoints = 0

    @classmethod
    async def open(cls, path: Path, *, exclusive: bool = False) -> Database:
        """Open, checking the file first (DatabaseUnusableError: nothing written), and migrate.

        exclusive: hold the database's lock until close() (the running bot), or raise
        DatabaseInUseError when another process holds it. A file that cannot be opened or
        written raises a StorageFaultError (StorageUnavailableError, ...).
        """
        with translated():
            return await cls._open(path, exclusive=exclusive)

    @classmethod
    async def _open(cls, path: Path, *, exclusive: bool) -> Database:
        lock: DatabaseLock | None = None
        if str(path) != ":memory:":
            path.parent.mkdir(parents=True, exist_ok=True)
            if exclusive:
                lock = await asyncio.to_thread(DatabaseLock.acquire, path)
        try:
            if str(path) != ":memory:":
                await asyncio.to_thread(inspect_file, path)
            # isolation_level=None: autocommit, so transactions are exactly the ones we open.
            connection = await aiosqlite.connect(path, isolation_level=None)
        except BaseException:
            if lock is not None:
                lock.release()
            raise
        connection.row_factory = aiosqlite.Row
        try:
            await connection.execute("PRAGMA journal_mode=WAL")
            # FULL: an acknowledged write survives power loss too, not only kill -9.
            await connection.execute("PRAGMA synchronous=FULL")
            await connection.execute("PRAGMA foreign_keys=ON")
            await connection.execute("PRAGMA busy_timeout=5000")
            database = cls(connection, lock)
            await database._migrate(path)
        except BaseException:
            await connection.close()
            if lock is not None:
                lock.release()
            raise
        return database

    async def close(self) -> None:
        async with self._write_lock:
            with translated():
                await self._connection.close()
            if self._lock is not None:
                # Only once the connection is closed: its -wal is checkpointed by now.
                self._lock.release()

    async def schema_version(self) -> int:
        row = await self.fetchone("PRAGMA user_version")
        assert row is not None
        return int(row[0])

    async def _migrate(self, path: Path) -> None:
        current = await self.schema_version()
        if current > len(MIGRATIONS):  # inspect_file saw it first, unless it changed since
            raise SchemaTooNewError(_newer_message(path, current))
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
        """All or nothing. Inside another transaction of the same task: a savepoint.

        The connection yielded is aiosqlite's: inside, sqlite3's exceptions are as SQLite
        raises them; what leaves the block is translated (storage/errors.py).
        """
        with translated():
            async with self._transaction() as connection:
                yield connection

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
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
                    changes = self._connection.total_changes
                    yield self._connection
                    mark = update_marks.pending()
                    if mark is not None and self._connection.total_changes != changes:
                        await self._record_update(mark)
                    else:
                        mark = None
                except BaseException:
                    await self._rollback()
                    raise
                try:
                    await self._connection.execute("COMMIT")
                except BaseException:
                    # A failed COMMIT may leave the transaction open: end it.
                    await self._rollback()
                    raise
                if mark is not None:
                    mark.recorded = True
            finally:
                self._holder = None

    async def _record_update(self, mark: update_marks.UpdateMark) -> None:
        """The update's first change records it, in the same transaction: both or neither."""
        try:
            await self._connection.execute(
                "INSERT INTO applied_updates (bot_id, update_id, applied_at) VALUES (?, ?, ?)",
                (mark.bot_id, mark.update_id, encode_time(mark.at)),
            )
        except sqlite3.IntegrityError:
            # Another delivery of the same update committed first: this one is undone.
            raise UpdateAlreadyAppliedError(mark.update_id) from None

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
        with translated():
            return await self._execute_alone(sql, params)

    async def _execute_alone(self, sql: str, params: Params) -> int:
        if self._holds_transaction():
            return await self._execute(sql, params)
        if update_marks.pending() is not None:
            # The update's first change: it is recorded in the same transaction.
            async with self.transaction():
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
        with translated():
            rows = await self._connection.execute_fetchall(sql, tuple(params))
        return next(iter(rows), None)

    async def fetchall(self, sql: str, params: Params = ()) -> list[aiosqlite.Row]:
        with translated():
            return list(await self._connection.execute_fetchall(sql, tuple(params)))


def inspect_file(path: Path) -> None:
    """Refuse a damaged database or one from newer code, reading only (blocking).

    Read-only, and `immutable` while no -wal exists (no bot has it open), because even a
    read-only connection to a WAL database creates -wal and -shm files: a refused file is
    left exactly as it was. Costs one quick_check, about a second per GB.
    """
    if not path.is_file() or path.stat().st_size == 0:
        return  # a new database
    mode = "mode=ro" if path.with_name(path.name + "-wal").exists() else "immutable=1"
    try:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?{mode}", uri=True)
        try:
            version = int(connection.execute("PRAGMA user_version").fetchone()[0])
            problems = [str(row[0]) for row in connection.execute("PRAGMA quick_check(3)")]
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        if getattr(exc, "sqlite_errorcode", 0) & 0xFF not in (_SQLITE_CORRUPT, _SQLITE_NOTADB):
            # Busy, or a WAL a read-only connection cannot recover: no verdict on the file.
            # Opened as before; the migration step still refuses a newer schema.
            logger.warning("could not check %s read-only first (%s): opening it", path, exc)
            return
        raise DatabaseDamagedError(_damaged_message(path, str(exc))) from None
    if problems != ["ok"]:
        raise DatabaseDamagedError(_damaged_message(path, "; ".join(problems)))
    if version > len(MIGRATIONS):
        raise SchemaTooNewError(_newer_message(path, version))


def _damaged_message(path: Path, problem: str) -> str:
    lines = [line for line in problem.splitlines() if line and not line.startswith("***")]
    detail = "; ".join(lines)[:200] or "unknown problem"
    return f"database {path} is damaged (quick_check: {detail}): restore a backup"


def _newer_message(path: Path, version: int) -> str:
    return (
        f"database {path} has schema {version}, newer than this code knows "
        f"({len(MIGRATIONS)}): run the newer code or restore a backup"
    )
