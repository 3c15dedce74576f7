"""Everything one user owns, at once: a snapshot for the export, a bulk import of clients
in one transaction, and erasure (/forget_me) — as storage/sqlite/user_data.py does them."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from storage.errors import StorageError
from storage.forms import encode_time, name_key
from storage.models import (
    ClientDraft,
    ClientImport,
    ExportTable,
    OwnedCounts,
    UserData,
)
from storage.postgres.clients import client_columns, client_from_row
from storage.postgres.codec import at
from storage.postgres.database import Connection, PgDatabase, Record, translated
from storage.postgres.invoices import invoice_from_row
from storage.postgres.notes import note_from_row
from storage.postgres.tasks import TASK_COLUMNS, task_from_row

# Tables of newer features that the export and erasure take in when they exist and have an
# owner column: their rows are exported as they are, with every column.
OPTIONAL_OWNED_TABLES = ("alerts",)
_OWNER_COLUMNS = ("owner_id", "user_id")

Value = str | int | float | None


async def _columns(conn: Connection, table: str) -> list[str]:
    """The table's stored columns in their order (none if it does not exist); generated
    ones (search vectors, which SQLite keeps elsewhere) are left out."""
    rows = await conn.fetch(
        "SELECT column_name FROM information_schema.columns"
        " WHERE table_schema = current_schema() AND table_name = $1 AND is_generated = 'NEVER'"
        " ORDER BY ordinal_position",
        table,
    )
    return [row[0] for row in rows]


def _personal(columns: Sequence[str]) -> str | None:
    """The condition for a user's own rows of a table ($1 the user), or None if it has no
    owner column.

    Rows that belong to a team (a team_id is set) are the team's, not the user's: neither
    exported as theirs nor erased with them.
    """
    owner = next((column for column in _OWNER_COLUMNS if column in columns), None)
    if owner is None:
        return None
    condition = f"{owner} = $1"
    if "team_id" in columns:
        condition += " AND team_id IS NULL"
    return condition


def _plain(value: object) -> Value:
    """A value as the SQLite backend exports it: moments in its text format, flags 0/1."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, datetime):
        return encode_time(value)
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


class PgUserDataRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def snapshot(self, owner_id: int) -> UserData:
        # One REPEATABLE READ transaction, so the files agree with each other (no task of a
        # client that is not in clients.csv because it was added between two reads):
        # PostgreSQL's default READ COMMITTED would take a new snapshot per statement.
        with translated():
            async with (
                self._db.pool.acquire() as conn,
                conn.transaction(isolation="repeatable_read", readonly=True),
            ):
                return await self._snapshot(conn, owner_id)

    async def _snapshot(self, conn: Connection, owner_id: int) -> UserData:
        clients = await conn.fetch(
            f"SELECT {client_columns()} FROM clients WHERE owner_id = $1 AND deleted_at IS NULL"
            ' ORDER BY name_key COLLATE "C", id',  # SQLite's byte order
            owner_id,
        )
        tasks = await conn.fetch(
            f"SELECT {TASK_COLUMNS} FROM tasks t"
            " LEFT JOIN clients c ON c.id = t.client_id"
            " WHERE t.owner_id = $1 AND t.status != 'deleted' ORDER BY t.number",
            owner_id,
        )
        notes = await conn.fetch(
            "SELECT n.id, n.owner_id, n.client_id, n.text, n.source_message_id, n.created_at,"
            " n.deleted_at, n.media_type, n.file_id, n.duration, n.file_size, n.forward_from,"
            " n.forward_date, n.task_id, c.name AS client_name FROM notes n"
            " LEFT JOIN clients c ON c.id = n.client_id"
            " WHERE n.owner_id = $1 AND n.deleted_at IS NULL ORDER BY n.created_at, n.id",
            owner_id,
        )
        invoices = await conn.fetch(
            "SELECT i.*, c.name AS client_name FROM invoices i"
            " JOIN clients c ON c.id = i.client_id"
            " WHERE i.owner_id = $1 AND c.deleted_at IS NULL ORDER BY i.number",
            owner_id,
        )
        extra = [
            table
            for name in OPTIONAL_OWNED_TABLES
            if (table := await self._optional_table(conn, name, owner_id)) is not None
        ]
        return UserData(
            clients=tuple(client_from_row(row) for row in clients),
            tasks=tuple(task_from_row(row) for row in tasks),
            notes=tuple(note_from_row(row) for row in notes),
            invoices=tuple(invoice_from_row(row) for row in invoices),
            extra=tuple(extra),
        )

    async def _optional_table(
        self, conn: Connection, table: str, owner_id: int
    ) -> ExportTable | None:
        columns = await _columns(conn, table)
        condition = _personal(columns)
        if condition is None:
            return None  # absent, or nobody's in particular
        order = " ORDER BY id" if "id" in columns else ""  # SQLite's rowid order
        rows = await conn.fetch(
            f"SELECT {', '.join(columns)} FROM {table} WHERE {condition}{order}", owner_id
        )
        return ExportTable(
            name=table,
            columns=tuple(columns),
            rows=tuple(tuple(_plain(row[column]) for column in columns) for row in rows),
        )

    async def counts(self, owner_id: int) -> OwnedCounts:
        row = await self._db.fetchrow(
            "SELECT"
            " (SELECT count(*) FROM clients WHERE owner_id = $1 AND deleted_at IS NULL),"
            " (SELECT count(*) FROM tasks WHERE owner_id = $1 AND status != 'deleted'),"
            " (SELECT count(*) FROM notes WHERE owner_id = $1 AND deleted_at IS NULL),"
            " (SELECT count(*) FROM invoices WHERE owner_id = $1)",
            owner_id,
        )
        assert row is not None
        return OwnedCounts(clients=row[0], tasks=row[1], notes=row[2], invoices=row[3])

    async def import_clients(
        self, owner_id: int, drafts: Sequence[ClientDraft], now: datetime
    ) -> ClientImport:
        stamp = at(now)
        created = []
        duplicates = []
        taken_aliases: list[tuple[int, str]] = []
        async with self._db.transaction() as conn:
            taken = {
                row[0]
                for row in await conn.fetch(
                    "SELECT name_key FROM clients WHERE owner_id = $1 AND deleted_at IS NULL"
                    " UNION SELECT a.alias_key FROM client_aliases a"
                    " JOIN clients c ON c.id = a.client_id"
                    " WHERE a.owner_id = $1 AND c.deleted_at IS NULL",
                    owner_id,
                )
            }
            # Aliases of deleted clients still hold their key (the table's primary key).
            held = {
                row[0]
                for row in await conn.fetch(
                    "SELECT alias_key FROM client_aliases WHERE owner_id = $1", owner_id
                )
            }
            for index, draft in enumerate(drafts):
                key = name_key(draft.name)
                if not key:
                    raise ValueError("a client needs a name")
                if key in taken:
                    duplicates.append(index)
                    continue
                aliases: list[tuple[str, str]] = []
                refused: list[tuple[int, str]] = []
                for alias in draft.aliases:
                    alias_key = name_key(alias)
                    if not alias_key or alias_key == key:
                        continue
                    if (
                        alias_key in taken
                        or alias_key in held
                        or any(alias_key == mine for _alias, mine in aliases)
                    ):
                        refused.append((index, alias))
                        continue
                    aliases.append((alias, alias_key))
                row = await self._insert_client(conn, owner_id, draft, key, aliases, stamp)
                if row is None:
                    # Another worker created that name since the read above: a duplicate.
                    duplicates.append(index)
                    continue
                taken.add(key)
                taken.update(alias_key for _alias, alias_key in aliases)
                taken_aliases += refused
                await conn.executemany(
                    "INSERT INTO client_aliases (owner_id, client_id, alias, alias_key)"
                    " VALUES ($1, $2, $3, $4)",
                    [(owner_id, row["id"], alias, alias_key) for alias, alias_key in aliases],
                )
                created.append(client_from_row(row))
        return ClientImport(
            created=tuple(created), duplicates=tuple(duplicates),
            taken_aliases=tuple(taken_aliases),
        )

    @staticmethod
    async def _insert_client(
        conn: Connection,
        owner_id: int,
        draft: ClientDraft,
        key: str,
        aliases: list[tuple[str, str]],
        stamp: datetime,
    ) -> Record | None:
        """The new client's row, or None if a live client of that name exists (committed
        by another transaction meanwhile): the partial unique index decides, nothing aborts."""
        return await conn.fetchrow(
            "INSERT INTO clients (owner_id, name, name_key, contact_person, phone,"
            " email, channel, report_cadence, emergency_contact, contact_telegram,"
            " segment, status, aliases, created_at, updated_at, last_used_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14, $14)"
            " ON CONFLICT (owner_id, name_key) WHERE deleted_at IS NULL DO NOTHING"
            f" RETURNING {client_columns()}",
            owner_id, draft.name, key, draft.contact_person, draft.phone,
            draft.email, draft.channel.value if draft.channel else None,
            draft.report_cadence, draft.emergency_contact, draft.contact_telegram,
            draft.segment.value, draft.status.value,
            "\n".join(alias for alias, _key in aliases), stamp,
        )

    async def forget(self, owner_id: int) -> None:
        try:
            await self._forget(owner_id)
        except StorageError as exc:
            if isinstance(exc.__cause__, asyncpg.IntegrityConstraintViolationError):
                # Someone else's rows (a team's) still point at the user's: the transaction
                # was rolled back, nothing was deleted.
                raise StorageError("rows of others refer to this user's data") from exc
            raise

    async def _forget(self, owner_id: int) -> None:
        async with self._db.transaction() as conn:
            # The user row first: a concurrent insert of the user's (its foreign key check
            # takes a share lock on this row) waits for the erasure, then finds no user.
            await conn.execute("SELECT 1 FROM users WHERE id = $1 FOR UPDATE", owner_id)
            await self._leave_team(conn, owner_id)
            # Newer owned tables first: their rows may point at tasks and clients. Rows of
            # other tables pointing at those rows (an alert's pages) go with them.
            for table in OPTIONAL_OWNED_TABLES:
                await self._forget_optional(conn, table, owner_id)
            # (The search vectors are columns of the rows: they go with them.)
            # A task and its invoice point at each other: break the cycle first.
            await conn.execute(
                "UPDATE tasks SET invoice_id = NULL"
                " WHERE owner_id = $1 AND invoice_id IS NOT NULL",
                owner_id,
            )
            for table in (
                "reminders", "notes", "invoices", "tasks", "series", "client_aliases",
                "clients", "dialog_states", "owner_counters",
            ):
                await conn.execute(f"DELETE FROM {table} WHERE owner_id = $1", owner_id)
            await self._forget_user_row(conn, owner_id)

    @staticmethod
    async def _leave_team(conn: Connection, owner_id: int) -> None:
        """Team data stays with the team; the user's place in it goes.

        Team alerts about the user's clients keep the client's name but no longer point at
        the card; a lead hands the team to the longest-serving member (a team of one goes).
        """
        await conn.execute(
            "UPDATE alerts SET client_label = coalesce(client_label,"
            " (SELECT name FROM clients WHERE clients.id = alerts.client_id)),"
            " client_id = NULL, owner_id = NULL WHERE owner_id = $1 AND team_id IS NOT NULL",
            owner_id,
        )
        await conn.execute(
            "DELETE FROM handovers WHERE owner_id = $1 OR to_user_id = $1", owner_id
        )
        await conn.execute("UPDATE users SET backup_id = NULL WHERE backup_id = $1", owner_id)
        await conn.execute(
            "DELETE FROM team_invites WHERE created_by = $1 OR used_by = $1", owner_id
        )
        led = [
            row[0]
            for row in await conn.fetch(
                "SELECT id FROM teams WHERE lead_id = $1 ORDER BY id FOR UPDATE", owner_id
            )
        ]
        await conn.execute("DELETE FROM team_members WHERE user_id = $1", owner_id)
        for team_id in led:
            successor = await conn.fetchval(
                "SELECT user_id FROM team_members WHERE team_id = $1"
                " ORDER BY joined_at, user_id LIMIT 1",
                team_id,
            )
            if successor is not None:
                # The departing lead knew the team's intake address: a new one, like any
                # change of lead (the new lead finds it in /intake).
                await conn.execute(
                    "UPDATE teams SET lead_id = $1, intake_secret = $2 WHERE id = $3",
                    successor, secrets.token_urlsafe(24), team_id,
                )
                continue
            # Nobody is left: the team and everything it kept go.
            await conn.execute(
                "DELETE FROM alert_events WHERE alert_id IN"
                " (SELECT id FROM alerts WHERE team_id = $1)", team_id,
            )
            await conn.execute(
                "DELETE FROM alert_pages WHERE alert_id IN"
                " (SELECT id FROM alerts WHERE team_id = $1)", team_id,
            )
            await conn.execute("DELETE FROM alerts WHERE team_id = $1", team_id)
            await conn.execute("DELETE FROM team_invites WHERE team_id = $1", team_id)
            await conn.execute("DELETE FROM teams WHERE id = $1", team_id)

    async def _forget_optional(self, conn: Connection, table: str, owner_id: int) -> None:
        condition = _personal(await _columns(conn, table))
        if condition is None:
            return
        owned = f"SELECT id FROM {table} WHERE {condition}"
        for child, column in await self._referencing(conn, table):
            await conn.execute(f"DELETE FROM {child} WHERE {column} IN ({owned})", owner_id)
        await conn.execute(f"DELETE FROM {table} WHERE {condition}", owner_id)

    @staticmethod
    async def _referencing(conn: Connection, table: str) -> list[tuple[str, str]]:
        """(table, column) pairs whose foreign key points at `table` (names quoted)."""
        rows = await conn.fetch(
            "SELECT f.conrelid::regclass::text, quote_ident(a.attname) FROM pg_constraint f"
            " JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = ANY (f.conkey)"
            " WHERE f.contype = 'f' AND f.confrelid = to_regclass($1)"
            " AND f.conrelid != f.confrelid ORDER BY 1, 2",
            table,
        )
        return [(row[0], row[1]) for row in rows]

    @staticmethod
    async def _forget_user_row(conn: Connection, owner_id: int) -> None:
        """Delete the user row; if other rows still point at it (a team's), keep a tombstone
        with every optional column cleared instead."""
        try:
            async with conn.transaction():  # a savepoint: only the DELETE is undone
                await conn.execute("DELETE FROM users WHERE id = $1", owner_id)
        except asyncpg.ForeignKeyViolationError:
            cleared = "".join(
                f", {row[0]} = NULL"
                for row in await conn.fetch(
                    "SELECT quote_ident(a.attname) FROM pg_attribute a"
                    " WHERE a.attrelid = 'users'::regclass AND a.attnum > 0"
                    " AND NOT a.attisdropped AND NOT a.attnotnull"
                    " AND a.attname != 'id' ORDER BY a.attnum"
                )
            )
            await conn.execute(
                f"UPDATE users SET active = false{cleared} WHERE id = $1", owner_id
            )
