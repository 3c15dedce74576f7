"""Everything one user owns, at once: a snapshot for the export, a bulk import of clients
in one transaction, and erasure (/forget_me)."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from storage.errors import StorageError
from storage.models import (
    ClientDraft,
    ClientImport,
    ExportTable,
    OwnedCounts,
    UserData,
)
from storage.sqlite.clients import client_from_row
from storage.sqlite.codec import encode_time, name_key
from storage.sqlite.database import ConstraintError, Database
from storage.sqlite.invoices import invoice_from_row
from storage.sqlite.notes import note_from_row
from storage.sqlite.tasks import task_from_row

# Tables of newer features that the export and erasure take in when they exist and have an
# owner column: their rows are exported as they are, with every column.
OPTIONAL_OWNED_TABLES = ("alerts",)
_OWNER_COLUMNS = ("owner_id", "user_id")

Value = str | int | float | None


async def _columns(conn: aiosqlite.Connection, table: str) -> list[str]:
    cursor = await conn.execute("SELECT name FROM pragma_table_info(?)", (table,))
    rows = await cursor.fetchall()
    await cursor.close()
    return [row[0] for row in rows]


def _personal(columns: Sequence[str]) -> str | None:
    """The condition for a user's own rows of a table, or None if it has no owner column.

    Rows that belong to a team (a team_id is set) are the team's, not the user's: neither
    exported as theirs nor erased with them.
    """
    owner = next((column for column in _OWNER_COLUMNS if column in columns), None)
    if owner is None:
        return None
    condition = f"{owner} = ?"
    if "team_id" in columns:
        condition += " AND team_id IS NULL"
    return condition


def _plain(value: object) -> Value:
    if value is None or isinstance(value, str | int | float):
        return value
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


async def _fetchall(
    conn: aiosqlite.Connection, sql: str, params: tuple[object, ...]
) -> list[aiosqlite.Row]:
    cursor = await conn.execute(sql, params)
    rows = await cursor.fetchall()
    await cursor.close()
    return list(rows)


class SqliteUserDataRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def snapshot(self, owner_id: int) -> UserData:
        # One transaction, so the files agree with each other (no task of a client that is
        # not in clients.csv because it was added between two reads).
        async with self._db.transaction() as conn:
            clients = await _fetchall(
                conn,
                "SELECT * FROM clients WHERE owner_id = ? AND deleted_at IS NULL"
                " ORDER BY name_key, id",
                (owner_id,),
            )
            tasks = await _fetchall(
                conn,
                "SELECT t.*, c.name AS client_name FROM tasks t"
                " LEFT JOIN clients c ON c.id = t.client_id"
                " WHERE t.owner_id = ? AND t.status != 'deleted' ORDER BY t.number",
                (owner_id,),
            )
            notes = await _fetchall(
                conn,
                "SELECT n.*, c.name AS client_name FROM notes n"
                " LEFT JOIN clients c ON c.id = n.client_id"
                " WHERE n.owner_id = ? AND n.deleted_at IS NULL ORDER BY n.created_at, n.id",
                (owner_id,),
            )
            invoices = await _fetchall(
                conn,
                "SELECT i.*, c.name AS client_name FROM invoices i"
                " JOIN clients c ON c.id = i.client_id"
                " WHERE i.owner_id = ? AND c.deleted_at IS NULL ORDER BY i.number",
                (owner_id,),
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
        self, conn: aiosqlite.Connection, table: str, owner_id: int
    ) -> ExportTable | None:
        columns = await _columns(conn, table)
        condition = _personal(columns)
        if condition is None:
            return None  # absent, or nobody's in particular
        rows = await _fetchall(
            conn, f"SELECT * FROM {table} WHERE {condition} ORDER BY rowid", (owner_id,)
        )
        return ExportTable(
            name=table,
            columns=tuple(columns),
            rows=tuple(tuple(_plain(row[column]) for column in columns) for row in rows),
        )

    async def counts(self, owner_id: int) -> OwnedCounts:
        row = await self._db.fetchone(
            "SELECT"
            " (SELECT count(*) FROM clients WHERE owner_id = ? AND deleted_at IS NULL),"
            " (SELECT count(*) FROM tasks WHERE owner_id = ? AND status != 'deleted'),"
            " (SELECT count(*) FROM notes WHERE owner_id = ? AND deleted_at IS NULL),"
            " (SELECT count(*) FROM invoices WHERE owner_id = ?)",
            (owner_id, owner_id, owner_id, owner_id),
        )
        assert row is not None
        return OwnedCounts(clients=row[0], tasks=row[1], notes=row[2], invoices=row[3])

    async def import_clients(
        self, owner_id: int, drafts: Sequence[ClientDraft], now: datetime
    ) -> ClientImport:
        stamp = encode_time(now)
        created = []
        duplicates = []
        taken_aliases: list[tuple[int, str]] = []
        async with self._db.transaction() as conn:
            taken = {
                row[0]
                for row in await _fetchall(
                    conn,
                    "SELECT name_key FROM clients WHERE owner_id = ? AND deleted_at IS NULL"
                    " UNION SELECT a.alias_key FROM client_aliases a"
                    " JOIN clients c ON c.id = a.client_id"
                    " WHERE a.owner_id = ? AND c.deleted_at IS NULL",
                    (owner_id, owner_id),
                )
            }
            # Aliases of deleted clients still hold their key (the table's primary key).
            held = {
                row[0]
                for row in await _fetchall(
                    conn, "SELECT alias_key FROM client_aliases WHERE owner_id = ?", (owner_id,)
                )
            }
            for index, draft in enumerate(drafts):
                key = name_key(draft.name)
                if not key:
                    raise ValueError("a client needs a name")
                if key in taken:
                    duplicates.append(index)
                    continue
                taken.add(key)
                aliases: list[tuple[str, str]] = []
                for alias in draft.aliases:
                    alias_key = name_key(alias)
                    if not alias_key or alias_key == key:
                        continue
                    if alias_key in taken or alias_key in held:
                        taken_aliases.append((index, alias))
                        continue
                    taken.add(alias_key)
                    aliases.append((alias, alias_key))
                cursor = await conn.execute(
                    "INSERT INTO clients (owner_id, name, name_key, contact_person, phone,"
                    " email, channel, report_cadence, emergency_contact, contact_telegram,"
                    " segment, status, aliases, created_at, updated_at, last_used_at)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *",
                    (
                        owner_id, draft.name, key, draft.contact_person, draft.phone,
                        draft.email, draft.channel.value if draft.channel else None,
                        draft.report_cadence, draft.emergency_contact, draft.contact_telegram,
                        draft.segment.value, draft.status.value,
                        "\n".join(alias for alias, _key in aliases), stamp, stamp, stamp,
                    ),
                )
                row = await cursor.fetchone()
                await cursor.close()
                assert row is not None
                await conn.executemany(
                    "INSERT INTO client_aliases (owner_id, client_id, alias, alias_key)"
                    " VALUES (?, ?, ?, ?)",
                    [(owner_id, row["id"], alias, alias_key) for alias, alias_key in aliases],
                )
                created.append(client_from_row(row))
        return ClientImport(
            created=tuple(created), duplicates=tuple(duplicates),
            taken_aliases=tuple(taken_aliases),
        )

    async def forget(self, owner_id: int) -> None:
        try:
            await self._forget(owner_id)
        except ConstraintError as exc:
            # Someone else's rows (a team's) still point at the user's: nothing was deleted.
            raise StorageError("rows of others refer to this user's data") from exc

    async def _forget(self, owner_id: int) -> None:
        params = (owner_id,)
        async with self._db.transaction() as conn:
            await self._leave_team(conn, owner_id)
            # Newer owned tables first: their rows may point at tasks and clients. Rows of
            # other tables pointing at those rows (an alert's pages) go with them.
            for table in OPTIONAL_OWNED_TABLES:
                await self._forget_optional(conn, table, owner_id)
            # The search index has no delete triggers: its rows go by the ids they encode.
            await conn.execute(
                "DELETE FROM search_index WHERE rowid IN ("
                " SELECT id * 4 + 1 FROM notes WHERE owner_id = ?"
                " UNION ALL SELECT id * 4 + 2 FROM tasks WHERE owner_id = ?"
                " UNION ALL SELECT id * 4 + 3 FROM clients WHERE owner_id = ?)",
                (owner_id, owner_id, owner_id),
            )
            # A task and its invoice point at each other: break the cycle first.
            await conn.execute(
                "UPDATE tasks SET invoice_id = NULL WHERE owner_id = ? AND invoice_id IS NOT NULL",
                params,
            )
            for table in (
                "reminders", "notes", "invoices", "tasks", "series", "client_aliases",
                "clients", "dialog_states",
            ):
                await conn.execute(f"DELETE FROM {table} WHERE owner_id = ?", params)
            await self._forget_user_row(conn, owner_id)

    @staticmethod
    async def _leave_team(conn: aiosqlite.Connection, owner_id: int) -> None:
        """Team data stays with the team; the user's place in it goes.

        Team alerts about the user's clients keep the client's name but no longer point at
        the card; a lead hands the team to the longest-serving member (a team of one goes).
        """
        await conn.execute(
            "UPDATE alerts SET client_label = coalesce(client_label,"
            " (SELECT name FROM clients WHERE clients.id = alerts.client_id)),"
            " client_id = NULL, owner_id = NULL WHERE owner_id = ? AND team_id IS NOT NULL",
            (owner_id,),
        )
        await conn.execute(
            "DELETE FROM handovers WHERE owner_id = ? OR to_user_id = ?", (owner_id, owner_id)
        )
        await conn.execute("UPDATE users SET backup_id = NULL WHERE backup_id = ?", (owner_id,))
        await conn.execute(
            "DELETE FROM team_invites WHERE created_by = ? OR used_by = ?", (owner_id, owner_id)
        )
        cursor = await conn.execute("SELECT id FROM teams WHERE lead_id = ?", (owner_id,))
        led = [row[0] for row in await cursor.fetchall()]
        await cursor.close()
        await conn.execute("DELETE FROM team_members WHERE user_id = ?", (owner_id,))
        for team_id in led:
            cursor = await conn.execute(
                "SELECT user_id FROM team_members WHERE team_id = ?"
                " ORDER BY joined_at, user_id LIMIT 1",
                (team_id,),
            )
            successor = await cursor.fetchone()
            await cursor.close()
            if successor is not None:
                # The departing lead knew the team's intake address: a new one, like any
                # change of lead (the new lead finds it in /intake).
                await conn.execute(
                    "UPDATE teams SET lead_id = ?, intake_secret = ? WHERE id = ?",
                    (successor[0], secrets.token_urlsafe(24), team_id),
                )
                continue
            # Nobody is left: the team and everything it kept go.
            await conn.execute(
                "DELETE FROM alert_events WHERE alert_id IN"
                " (SELECT id FROM alerts WHERE team_id = ?)", (team_id,),
            )
            await conn.execute(
                "DELETE FROM alert_pages WHERE alert_id IN"
                " (SELECT id FROM alerts WHERE team_id = ?)", (team_id,),
            )
            await conn.execute("DELETE FROM alerts WHERE team_id = ?", (team_id,))
            await conn.execute("DELETE FROM team_invites WHERE team_id = ?", (team_id,))
            await conn.execute("DELETE FROM teams WHERE id = ?", (team_id,))

    async def _forget_optional(
        self, conn: aiosqlite.Connection, table: str, owner_id: int
    ) -> None:
        condition = _personal(await _columns(conn, table))
        if condition is None:
            return
        owned = f"SELECT id FROM {table} WHERE {condition}"
        for child, column in await self._referencing(conn, table):
            await conn.execute(f"DELETE FROM {child} WHERE {column} IN ({owned})", (owner_id,))
        await conn.execute(f"DELETE FROM {table} WHERE {condition}", (owner_id,))

    async def _referencing(
        self, conn: aiosqlite.Connection, table: str
    ) -> list[tuple[str, str]]:
        """(table, column) pairs whose foreign key points at `table`."""
        return [
            (row[0], row[1])
            for row in await _fetchall(
                conn,
                'SELECT m.name, f."from" FROM sqlite_master m,'
                " pragma_foreign_key_list(m.name) f"
                " WHERE m.type = 'table' AND f.\"table\" = ? AND m.name != ?",
                (table, table),
            )
        ]

    async def _forget_user_row(self, conn: aiosqlite.Connection, owner_id: int) -> None:
        """Delete the user row; if other rows still point at it (a team's), keep a tombstone
        with every optional column cleared instead."""
        await conn.execute("SAVEPOINT forget_user")
        try:
            await conn.execute("DELETE FROM users WHERE id = ?", (owner_id,))
        except sqlite3.IntegrityError:
            await conn.execute("ROLLBACK TO forget_user")
            cursor = await conn.execute(
                "SELECT name FROM pragma_table_info('users') WHERE \"notnull\" = 0 AND pk = 0"
            )
            cleared = "".join(f", {row[0]} = NULL" for row in await cursor.fetchall())
            await cursor.close()
            await conn.execute(f"UPDATE users SET active = 0{cleared} WHERE id = ?", (owner_id,))
        await conn.execute("RELEASE forget_user")
