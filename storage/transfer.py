"""Moving a SQLite database into an empty PostgreSQL one (`python -m bot migrate-to URL`).

The SQLite file is only read (``mode=ro``; ``immutable`` as well while no -wal exists, so
not even a -wal or -shm appears beside it), in one read transaction, so the copy is one
consistent snapshot. It is refused, untouched, when it is damaged or not at exactly the
schema this code knows (an older one: start the bot on it once to migrate it first).

The target is brought to this code's PostgreSQL schema, then everything is copied in ONE
PostgreSQL transaction, table after table in foreign-key order, by COPY in batches: a
failure anywhere leaves the target as it was. A target that already holds data is refused
(nothing is ever merged into live data). Ids are kept as they are; afterwards every identity
sequence continues after the highest copied id and the per-owner counters (task and invoice
numbers, the order of completions) after the highest copied number.

Values become PostgreSQL's own types on the way: ISO text moments (UTC, seconds) aware
datetimes, 0/1 flags booleans, the dialog data's JSON text jsonb. Generated columns (the
search vectors) are left to PostgreSQL, which computes them from the copied text.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from storage.errors import DatabaseUnusableError, StorageError
from storage.postgres.database import Connection, PgDatabase, row_count
from storage.sqlite.database import inspect_file
from storage.sqlite.migrations import MIGRATIONS as SQLITE_MIGRATIONS

# Every data table, parents before children. owner_counters is derived (see _set_counters);
# the coordination tables of PostgreSQL (pace, flood buckets) hold seconds-long state only.
TABLES: tuple[str, ...] = (
    "users",
    "teams",
    "team_members",
    "team_invites",
    "clients",
    "client_aliases",
    "series",
    "tasks",
    "invoices",
    "notes",
    "reminders",
    "dialog_states",
    "handovers",
    "alerts",
    "alert_events",
    "alert_pages",
    "applied_updates",
)
# Foreign keys that close a cycle (a user's backup is a user; a task names its invoice, the
# invoice its task): copied as NULL, then set once every row of both sides is in.
_LATER: dict[str, str] = {"users": "backup_id", "tasks": "invoice_id"}
# SQLite's own tables and the full-text index (PostgreSQL's search vectors replace it).
_SQLITE_DERIVED = ("sqlite_", "search_index")
# asyncpg encodes jsonb for COPY only with a binary codec, and the pool's is a text one:
# tables with a jsonb column (dialog states, a row per chat) go by INSERT instead.
_JSON_TYPES = frozenset({"jsonb", "json"})
_PLAIN_TYPES = frozenset({"bigint", "integer", "text"})


class TransferRefusedError(DatabaseUnusableError):
    """The copy cannot start (the source or the target is not fit): nothing was written."""


@dataclass(frozen=True, slots=True)
class TableCopy:
    table: str
    rows: int
    seconds: float


@dataclass(frozen=True, slots=True)
class TransferReport:
    source: Path
    source_schema: int
    target: str  # without its password
    target_schema: int
    tables: tuple[TableCopy, ...]
    seconds: float  # all of it, the checks and the commit included

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    def counts(self) -> dict[str, int]:
        return {table.table: table.rows for table in self.tables}


def public_url(dsn: str) -> str:
    """The URL without its password (in the netloc or as a ``password=`` parameter)."""
    parts = urlsplit(dsn)
    netloc = parts.netloc
    if "@" in netloc:
        credentials, _, host = netloc.rpartition("@")
        user = credentials.split(":", 1)[0]
        netloc = f"{user}@{host}" if user else host
    query = urlencode([(k, v) for k, v in parse_qsl(parts.query) if k != "password"])
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


async def copy_sqlite_to_postgres(
    sqlite_path: Path, dsn: str, *, batch: int = 5000
) -> TransferReport:
    """Copy every row of the SQLite database into the (empty) PostgreSQL database at dsn.

    Raises DatabaseUnusableError (TransferRefusedError, DatabaseDamagedError,
    SchemaTooNewError), with nothing written, when the source or the target is not fit; a
    StorageError when the copy fails midway (rolled back: the target is as it was). The
    caller keeps other writers off the SQLite file meanwhile (migrate-to holds its lock).
    """
    started = time.monotonic()
    source = await asyncio.to_thread(_open_source, sqlite_path)
    try:
        database = await PgDatabase.open(dsn, min_size=1, max_size=1)
        try:
            tables = await _copy(source, database, public_url(dsn), batch)
            target_schema = await database.schema_version()
        except sqlite3.Error as exc:
            # A page quick_check could not see: the PostgreSQL transaction was rolled back.
            raise TransferRefusedError(f"database {sqlite_path} cannot be read: {exc}") from None
        finally:
            await database.close()
    finally:
        await asyncio.to_thread(source.close)
    return TransferReport(
        source=sqlite_path,
        source_schema=len(SQLITE_MIGRATIONS),
        target=public_url(dsn),
        target_schema=target_schema,
        tables=tables,
        seconds=time.monotonic() - started,
    )


# --- the source ---------------------------------------------------------------------------


def _open_source(path: Path) -> sqlite3.Connection:
    """The SQLite file, read-only, checked, in a read transaction (blocking)."""
    if not path.is_file() or path.stat().st_size == 0:
        raise TransferRefusedError(f"no SQLite database at {path}")
    inspect_file(path)  # damaged or newer: DatabaseDamagedError / SchemaTooNewError
    wal = path.with_name(path.name + "-wal").exists()
    mode = "mode=ro" if wal else "mode=ro&immutable=1"
    connection = sqlite3.connect(
        f"{path.resolve().as_uri()}?{mode}", uri=True, isolation_level=None,
        # Batches are read on worker threads, one at a time.
        check_same_thread=False,
    )
    try:
        version = int(connection.execute("PRAGMA user_version").fetchone()[0])
        if version != len(SQLITE_MIGRATIONS):
            raise TransferRefusedError(
                f"database {path} has schema {version}, this code's is "
                f"{len(SQLITE_MIGRATIONS)}: start the bot on it once (it migrates the file), "
                "stop it, then run migrate-to again"
            )
        tables = {
            str(row[0])
            for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
            if not str(row[0]).startswith(_SQLITE_DERIVED)
        }
        unknown = sorted(tables - set(TABLES))
        if unknown:
            raise TransferRefusedError(
                f"database {path} has tables this copy does not know: {', '.join(unknown)}"
            )
        # One snapshot for every table (a WAL read transaction).
        connection.execute("BEGIN")
        connection.execute("SELECT count(*) FROM users").fetchone()
    except sqlite3.DatabaseError as exc:
        connection.close()
        raise TransferRefusedError(f"database {path} cannot be read: {exc}") from None
    except BaseException:
        connection.close()
        raise
    return connection


def _sqlite_columns(source: sqlite3.Connection, table: str) -> set[str]:
    return {str(row[1]) for row in source.execute(f"PRAGMA table_info({table})")}


# --- the copy -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Plan:
    table: str
    columns: tuple[str, ...]
    convert: Callable[[tuple[Any, ...]], tuple[Any, ...]]
    later: int | None  # index of the cycle column copied as NULL, set afterwards
    json: bool  # has a jsonb column: INSERT instead of COPY


async def _copy(
    source: sqlite3.Connection, database: PgDatabase, target: str, batch: int
) -> tuple[TableCopy, ...]:
    copied: list[TableCopy] = []
    async with database.transaction() as connection:
        plans = [await _plan(source, connection, table) for table in TABLES]
        # No worker of the target writes while the copy runs (nor between check and copy).
        await connection.execute("SET LOCAL lock_timeout = '10s'")
        await connection.execute(
            f"LOCK TABLE {', '.join((*TABLES, 'owner_counters'))} IN EXCLUSIVE MODE"
        )
        await _refuse_data(connection, target)
        later: list[tuple[str, str, list[int], list[int]]] = []
        for plan in plans:
            started = time.monotonic()
            ids: list[int] = []
            values: list[int] = []
            rows = await _copy_table(source, connection, plan, batch, ids, values)
            if plan.later is not None:
                later.append((plan.table, plan.columns[plan.later], ids, values))
            copied.append(TableCopy(plan.table, rows, time.monotonic() - started))
        for table, column, ids, values in later:
            await connection.execute(
                f"UPDATE {table} AS t SET {column} = v.value"
                " FROM unnest($1::bigint[], $2::bigint[]) AS v(id, value) WHERE t.id = v.id",
                ids,
                values,
            )
        await _check_counts(source, connection, copied)
        await _set_sequences(connection)
        await _set_counters(connection)
    return tuple(copied)


async def _plan(source: sqlite3.Connection, connection: Connection, table: str) -> _Plan:
    rows = await connection.fetch(
        "SELECT column_name, data_type FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1"
        " AND is_generated = 'NEVER' ORDER BY ordinal_position",
        table,
    )
    if not rows:
        raise TransferRefusedError(f"the PostgreSQL schema has no table {table}")
    columns = tuple(str(row["column_name"]) for row in rows)
    types = [str(row["data_type"]) for row in rows]
    have = await asyncio.to_thread(_sqlite_columns, source, table)
    if have != set(columns):
        missing = sorted(have ^ set(columns))
        raise TransferRefusedError(
            f"table {table} differs between SQLite and PostgreSQL ({', '.join(missing)})"
        )
    converters: list[tuple[int, Callable[[Any], Any]]] = []
    for index, kind in enumerate(types):
        if kind == "timestamp with time zone":
            converters.append((index, _moment))
        elif kind == "boolean":
            converters.append((index, _flag))
        elif kind in _JSON_TYPES:
            converters.append((index, _json))
        elif kind not in _PLAIN_TYPES:
            raise TransferRefusedError(f"column {table}.{columns[index]} has type {kind}")
    later_column = _LATER.get(table)
    later = columns.index(later_column) if later_column is not None else None
    return _Plan(
        table, columns, _converter(converters, later), later,
        json=any(kind in _JSON_TYPES for kind in types),
    )


def _converter(
    converters: Sequence[tuple[int, Callable[[Any], Any]]], later: int | None
) -> Callable[[tuple[Any, ...]], tuple[Any, ...]]:
    if not converters and later is None:
        return tuple

    def convert(row: tuple[Any, ...]) -> tuple[Any, ...]:
        values = list(row)
        for index, function in converters:
            value = values[index]
            if value is not None:
                values[index] = function(value)
        if later is not None:
            values[later] = None
        return tuple(values)

    return convert


def _moment(value: Any) -> datetime:
    moment = datetime.fromisoformat(value)  # reads the trailing Z (3.11)
    if moment.tzinfo is None:
        raise ValueError(f"a moment without a timezone: {value!r}")
    return moment


def _flag(value: Any) -> bool:
    if value not in (0, 1):
        raise ValueError(f"a flag that is neither 0 nor 1: {value!r}")
    return bool(value)


def _json(value: Any) -> Any:
    return json.loads(value)


def _read_batch(
    cursor: sqlite3.Cursor, plan: _Plan, size: int, ids: list[int], values: list[int]
) -> list[tuple[Any, ...]]:
    """The next converted rows (blocking: run on a worker thread)."""
    raw = cursor.fetchmany(size)
    if plan.later is not None:
        for row in raw:
            if row[plan.later] is not None:
                ids.append(row[0])
                values.append(row[plan.later])
    try:
        return [plan.convert(row) for row in raw]
    except (TypeError, ValueError) as exc:
        raise TransferRefusedError(
            f"table {plan.table} holds a value PostgreSQL cannot take: {exc}"
        ) from None


async def _copy_table(
    source: sqlite3.Connection,
    connection: Connection,
    plan: _Plan,
    batch: int,
    ids: list[int],
    values: list[int],
) -> int:
    if plan.later is not None and plan.columns[0] != "id":
        raise TransferRefusedError(f"table {plan.table} has no leading id column")
    names = ", ".join(plan.columns)
    cursor = source.execute(f"SELECT {names} FROM {plan.table}")
    insert = (
        f"INSERT INTO {plan.table} ({names}) VALUES "
        f"({', '.join(f'${n}' for n in range(1, len(plan.columns) + 1))})"
    )
    total = 0
    # The next batch is read and converted while the current one is copied.
    pending = asyncio.ensure_future(
        asyncio.to_thread(_read_batch, cursor, plan, batch, ids, values)
    )
    try:
        while True:
            rows = await pending
            if not rows:
                break
            pending = asyncio.ensure_future(
                asyncio.to_thread(_read_batch, cursor, plan, batch, ids, values)
            )
            if plan.json:
                await connection.executemany(insert, rows)
                total += len(rows)
            else:
                status = await connection.copy_records_to_table(
                    plan.table, records=rows, columns=plan.columns
                )
                total += row_count(status)
    finally:
        if not pending.done():
            # The reading thread cannot be cancelled: let it end before the cursor closes.
            await asyncio.wait([pending])
        if pending.done() and not pending.cancelled():
            pending.exception()  # retrieved: an error after a failed copy is not logged
        await asyncio.to_thread(cursor.close)
    return total


async def _refuse_data(connection: Connection, target: str) -> None:
    probes = " UNION ALL ".join(
        f"SELECT '{table}' WHERE EXISTS (SELECT 1 FROM {table})"
        for table in (*TABLES, "owner_counters")
    )
    holding = [str(row[0]) for row in await connection.fetch(probes)]
    if holding:
        raise TransferRefusedError(
            f"PostgreSQL database {target} already holds data ({', '.join(holding)}): "
            "migrate-to copies into an empty database only and never merges"
        )


async def _check_counts(
    source: sqlite3.Connection, connection: Connection, copied: Sequence[TableCopy]
) -> None:
    """Every table has as many rows as the SQLite snapshot: else nothing is committed."""
    expected = await asyncio.to_thread(
        lambda: {
            table: int(source.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
            for table in TABLES
        }
    )
    counts = " UNION ALL ".join(f"SELECT '{table}', count(*) FROM {table}" for table in TABLES)
    actual = {str(row[0]): int(row[1]) for row in await connection.fetch(counts)}
    reported = {table.table: table.rows for table in copied}
    if not expected == actual == reported:
        wrong = sorted(t for t in TABLES if not expected[t] == actual[t] == reported[t])
        raise StorageError(f"row counts differ after the copy ({', '.join(wrong)}): rolled back")


async def _set_sequences(connection: Connection) -> None:
    """Each identity continues after the highest copied id."""
    identities = await connection.fetch(
        "SELECT table_name, column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND is_identity = 'YES'"
        " AND table_name = ANY($1::text[])",
        list(TABLES),
    )
    for row in identities:
        table, column = str(row["table_name"]), str(row["column_name"])
        # setval(NULL) of an empty table changes nothing: its sequence starts at 1.
        await connection.execute(
            f"SELECT setval(pg_get_serial_sequence($1, $2), max({column})) FROM {table}",
            table,
            column,
        )


async def _set_counters(connection: Connection) -> None:
    """Task and invoice numbers and done_seq continue per owner after the highest copied."""
    await connection.execute(
        "INSERT INTO owner_counters (owner_id, name, last)"
        " SELECT owner_id, 'task', max(number) FROM tasks GROUP BY owner_id"
        " UNION ALL SELECT owner_id, 'invoice', max(number) FROM invoices GROUP BY owner_id"
        " UNION ALL SELECT owner_id, 'done', max(done_seq) FROM tasks"
        " WHERE done_seq IS NOT NULL GROUP BY owner_id"
    )
