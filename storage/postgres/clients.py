"""Clients in PostgreSQL, behaving exactly as storage/sqlite/clients.py.

Names are ordered and compared by code point (COLLATE "C"), as SQLite's BINARY collation
does, whatever the database's default collation is.
"""

from __future__ import annotations

import re
from datetime import datetime

import asyncpg

from storage.errors import DuplicateClientError
from storage.forms import name_key
from storage.models import (
    Channel,
    Client,
    ClientBoardRow,
    ClientStatus,
    ClientSummary,
    Segment,
    StaleClient,
)
from storage.postgres.codec import at
from storage.postgres.database import Connection, PgDatabase, Record

# Columns set_field may touch; the value is checked by the table's CHECK constraints too.
_SETTABLE = frozenset(
    {
        "name",
        "contact_person",
        "phone",
        "email",
        "channel",
        "report_cadence",
        "emergency_contact",
        "segment",
        "contact_telegram",
    }
)

_LIVE = "deleted_at IS NULL"
# Active clients first, then former, by name as SQLite sorts it (code points).
_BY_NAME = "status = 'former', name_key COLLATE \"C\""
# What is not a letter or digit at the edges of a word: emoji, quotes, punctuation.
_SYMBOLS = re.compile(r"[^\w\s]+")
# The row's columns, without the generated search vector (read only by the search).
_COLUMNS = (
    "id", "owner_id", "name", "name_key", "contact_person", "phone", "email", "channel",
    "report_cadence", "emergency_contact", "segment", "status", "created_at", "updated_at",
    "contact_telegram", "aliases",
)


def client_columns(table: str = "") -> str:
    """`c.id, c.owner_id, ...`: the columns client_from_row reads."""
    dot = f"{table}." if table else ""
    return ", ".join(f"{dot}{column}" for column in _COLUMNS)


_RETURNING = f"RETURNING {client_columns()}"


def client_from_row(row: Record) -> Client:
    return Client(
        id=row["id"],
        owner_id=row["owner_id"],
        name=row["name"],
        contact_person=row["contact_person"],
        phone=row["phone"],
        email=row["email"],
        channel=Channel(row["channel"]) if row["channel"] else None,
        report_cadence=row["report_cadence"],
        emergency_contact=row["emergency_contact"],
        segment=Segment(row["segment"]),
        status=ClientStatus(row["status"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        contact_telegram=row["contact_telegram"],
        aliases=tuple(alias for alias in row["aliases"].split("\n") if alias),
    )


async def is_live_client(
    db: PgDatabase | Connection, owner_id: int, client_id: int
) -> bool:
    """The client exists, is the owner's and is not deleted (before pointing a row at it)."""
    value = await db.fetchval(
        f"SELECT 1 FROM clients WHERE id = $1 AND owner_id = $2 AND {_LIVE}",
        client_id,
        owner_id,
    )
    return value is not None


class PgClientRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def create(self, owner_id: int, name: str, now: datetime) -> Client:
        stamp = at(now)
        # The unique index on live names decides, also between two workers at once.
        row = await self._db.fetchrow(
            "INSERT INTO clients (owner_id, name, name_key, created_at, updated_at,"
            " last_used_at) VALUES ($1, $2, $3, $4, $4, $4)"
            f" ON CONFLICT (owner_id, name_key) WHERE {_LIVE} DO NOTHING {_RETURNING}",
            owner_id,
            name,
            name_key(name),
            stamp,
        )
        if row is None:
            raise DuplicateClientError(name)
        return client_from_row(row)

    async def get(self, owner_id: int, client_id: int) -> Client | None:
        row = await self._db.fetchrow(
            f"SELECT {client_columns()} FROM clients"
            f" WHERE id = $1 AND owner_id = $2 AND {_LIVE}",
            client_id,
            owner_id,
        )
        return None if row is None else client_from_row(row)

    async def match(self, owner_id: int, query: str, limit: int = 8) -> list[Client]:
        key = name_key(query)
        if not key:
            return []
        exact = await self._db.fetchrow(
            f"SELECT {client_columns()} FROM clients WHERE owner_id = $1 AND {_LIVE}"
            " AND (name_key = $2 OR id = (SELECT client_id FROM client_aliases"
            " WHERE owner_id = $1 AND alias_key = $2))"
            " ORDER BY name_key = $2 DESC LIMIT 1",
            owner_id,
            key,
        )
        if exact is not None:
            return [client_from_row(exact)]
        rows = await self._db.fetch(
            f"SELECT {client_columns()} FROM clients WHERE owner_id = $1"
            f" AND starts_with(name_key, $2) AND {_LIVE} ORDER BY {_BY_NAME} LIMIT $3",
            owner_id,
            key,
            limit,
        )
        if rows:
            return [client_from_row(row) for row in rows]
        rows = await self._db.fetch(
            f"SELECT {client_columns('c')} FROM clients c WHERE c.owner_id = $1 AND c.{_LIVE}"
            " AND EXISTS (SELECT 1 FROM client_aliases a WHERE a.client_id = c.id"
            " AND a.owner_id = $1 AND starts_with(a.alias_key, $2))"
            " ORDER BY c.status = 'former', c.name_key COLLATE \"C\" LIMIT $3",
            owner_id,
            key,
            limit,
        )
        if rows:
            return [client_from_row(row) for row in rows]
        return await self._match_any_word(owner_id, key, limit)

    async def _match_any_word(self, owner_id: int, key: str, limit: int) -> list[Client]:
        """A later word of the name ("смирнова" finds "ИП Смирнова А.В.") or a name behind
        an emoji or quotes ("🍏 Apple", "«Ромашка»"). SQL narrows to names containing the
        text; the word boundary is checked here, past punctuation SQL cannot see."""
        wanted = " " + " ".join(_SYMBOLS.sub(" ", key).split())
        if not wanted.strip():
            return []
        rows = await self._db.fetch(
            f"SELECT {client_columns()} FROM clients WHERE owner_id = $1 AND {_LIVE}"
            f" AND strpos(name_key, $2) > 0 ORDER BY {_BY_NAME}",
            owner_id,
            wanted.split()[0],
        )
        found = []
        for row in rows:
            words = " " + " ".join(_SYMBOLS.sub(" ", row["name_key"]).split())
            if words == wanted:
                return [client_from_row(row)]
            if wanted in words:  # `wanted` starts with a space: a word's beginning
                found.append(client_from_row(row))
        return found[:limit]

    async def count(self, owner_id: int) -> int:
        value = await self._db.fetchval(
            f"SELECT count(*) FROM clients WHERE owner_id = $1 AND {_LIVE}", owner_id
        )
        return int(value or 0)

    async def list_summaries(
        self, owner_id: int, *, offset: int, limit: int
    ) -> list[ClientSummary]:
        rows = await self._db.fetch(
            f"SELECT {client_columns('c')}, (SELECT count(*) FROM tasks t"
            " WHERE t.client_id = c.id AND t.status = 'open') AS open_tasks"
            f" FROM clients c WHERE c.owner_id = $1 AND c.{_LIVE}"
            " ORDER BY c.status = 'former', c.name_key COLLATE \"C\" LIMIT $2 OFFSET $3",
            owner_id,
            limit,
            offset,
        )
        return [
            ClientSummary(client=client_from_row(row), open_tasks=int(row["open_tasks"]))
            for row in rows
        ]

    async def recent(self, owner_id: int, limit: int) -> list[Client]:
        rows = await self._db.fetch(
            f"SELECT {client_columns()} FROM clients WHERE owner_id = $1 AND {_LIVE}"
            " AND status = 'active' ORDER BY last_used_at DESC, id DESC LIMIT $2",
            owner_id,
            limit,
        )
        return [client_from_row(row) for row in rows]

    async def touch(self, owner_id: int, client_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE clients SET last_used_at = $1 WHERE id = $2 AND owner_id = $3",
            at(now),
            client_id,
            owner_id,
        )

    async def set_field(
        self, owner_id: int, client_id: int, field: str, value: str | None, now: datetime
    ) -> Client | None:
        if field not in _SETTABLE:
            raise ValueError(f"not an editable client field: {field}")
        if field == "name":
            if not value:
                raise ValueError("a client needs a name")
            async with self._db.transaction() as conn:
                try:
                    row = await conn.fetchrow(
                        "UPDATE clients SET name = $1, name_key = $2, updated_at = $3"
                        f" WHERE id = $4 AND owner_id = $5 AND {_LIVE} {_RETURNING}",
                        value,
                        name_key(value),
                        at(now),
                        client_id,
                        owner_id,
                    )
                except asyncpg.UniqueViolationError as exc:
                    # The transaction (a savepoint when nested) is rolled back on the way out.
                    raise DuplicateClientError(value) from exc
            return None if row is None else client_from_row(row)
        # field is one of _SETTABLE's literals, never user input.
        row = await self._db.fetchrow(
            f"UPDATE clients SET {field} = $1, updated_at = $2"
            f" WHERE id = $3 AND owner_id = $4 AND {_LIVE} {_RETURNING}",
            value,
            at(now),
            client_id,
            owner_id,
        )
        return None if row is None else client_from_row(row)

    async def set_status(
        self, owner_id: int, client_id: int, status: ClientStatus, now: datetime
    ) -> Client | None:
        row = await self._db.fetchrow(
            "UPDATE clients SET status = $1, updated_at = $2"
            f" WHERE id = $3 AND owner_id = $4 AND {_LIVE} {_RETURNING}",
            status.value,
            at(now),
            client_id,
            owner_id,
        )
        return None if row is None else client_from_row(row)

    async def delete(self, owner_id: int, client_id: int, now: datetime) -> Client | None:
        """Soft-delete the client and hide its tasks with it (marked, to come back together)."""
        stamp = at(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE clients SET deleted_at = $1, updated_at = $1"
                f" WHERE id = $2 AND owner_id = $3 AND {_LIVE} {_RETURNING}",
                stamp,
                client_id,
                owner_id,
            )
            if row is not None:
                await conn.execute(
                    "UPDATE tasks SET status = 'deleted', hidden_with_client = true,"
                    " deleted_at = $1, updated_at = $1"
                    " WHERE client_id = $2 AND owner_id = $3 AND status != 'deleted'",
                    stamp,
                    client_id,
                    owner_id,
                )
        return None if row is None else client_from_row(row)

    async def restore(self, owner_id: int, client_id: int, now: datetime) -> Client | None:
        stamp = at(now)
        async with self._db.transaction() as conn:
            try:
                row = await conn.fetchrow(
                    "UPDATE clients SET deleted_at = NULL, updated_at = $1"
                    " WHERE id = $2 AND owner_id = $3 AND deleted_at IS NOT NULL"
                    f" {_RETURNING}",
                    stamp,
                    client_id,
                    owner_id,
                )
            except asyncpg.UniqueViolationError as exc:
                # A live client took the name meanwhile; nothing is changed.
                raise DuplicateClientError("") from exc
            if row is not None:
                await conn.execute(
                    "UPDATE tasks SET hidden_with_client = false, deleted_at = NULL,"
                    " status = CASE WHEN done_at IS NULL THEN 'open' ELSE 'done' END,"
                    " updated_at = $1"
                    " WHERE client_id = $2 AND owner_id = $3 AND hidden_with_client",
                    stamp,
                    client_id,
                    owner_id,
                )
        return None if row is None else client_from_row(row)

    async def last_contacts(self, owner_id: int, before: datetime) -> list[StaleClient]:
        """Clients last heard from (a done task or a note) before the moment, longest silent
        first; a client never worked with counts from when it was added."""
        rows = await self._db.fetch(
            "SELECT * FROM ("
            f" SELECT {client_columns('c')}, greatest(c.created_at,"
            " (SELECT max(t.done_at) FROM tasks t WHERE t.client_id = c.id"
            " AND t.status = 'done'),"
            " (SELECT max(n.created_at) FROM notes n WHERE n.client_id = c.id"
            " AND n.deleted_at IS NULL)) AS last_contact"
            f" FROM clients c WHERE c.owner_id = $1 AND c.{_LIVE}"
            ") contacts WHERE last_contact < $2 ORDER BY last_contact, id",
            owner_id,
            at(before),
        )
        return [
            StaleClient(client=client_from_row(row), last_contact=row["last_contact"])
            for row in rows
        ]

    async def board(self, owner_id: int, now: datetime) -> list[ClientBoardRow]:
        """Each live client with its open and overdue task counts and its last contact (as
        last_contacts counts it), grouped once per table rather than per client."""
        rows = await self._db.fetch(
            f"SELECT {client_columns('c')}, coalesce(o.open_tasks, 0) AS open_tasks,"
            " coalesce(o.overdue_tasks, 0) AS overdue_tasks,"
            " greatest(c.created_at, d.last_done, n.last_note) AS last_contact"
            " FROM clients c"
            " LEFT JOIN (SELECT client_id, count(*) AS open_tasks,"
            " count(*) FILTER (WHERE due_at < $1 AND invoice_id IS NULL) AS overdue_tasks"
            " FROM tasks"
            " WHERE owner_id = $2 AND status = 'open' AND client_id IS NOT NULL"
            " GROUP BY client_id) o ON o.client_id = c.id"
            " LEFT JOIN (SELECT client_id, max(done_at) AS last_done FROM tasks"
            " WHERE owner_id = $2 AND status = 'done' AND client_id IS NOT NULL"
            " GROUP BY client_id) d ON d.client_id = c.id"
            " LEFT JOIN (SELECT client_id, max(created_at) AS last_note FROM notes"
            " WHERE owner_id = $2 AND deleted_at IS NULL AND client_id IS NOT NULL"
            " GROUP BY client_id) n ON n.client_id = c.id"
            f" WHERE c.owner_id = $2 AND c.{_LIVE}",
            at(now),
            owner_id,
        )
        return [
            ClientBoardRow(
                client=client_from_row(row),
                open_tasks=int(row["open_tasks"]),
                overdue_tasks=int(row["overdue_tasks"]),
                last_contact=row["last_contact"],
            )
            for row in rows
        ]

    async def add_alias(self, owner_id: int, client_id: int, alias: str, now: datetime) -> (
        Client | None
    ):
        """Another name the client goes by; raises DuplicateClientError if it is taken."""
        key = name_key(alias)
        taken = await self._db.fetchval(
            f"SELECT 1 FROM clients WHERE owner_id = $1 AND name_key = $2 AND {_LIVE}",
            owner_id,
            key,
        )
        if taken is not None:
            raise DuplicateClientError(alias)
        async with self._db.transaction() as conn:
            # Locked: two aliases added at once both land in the list.
            row = await conn.fetchrow(
                f"SELECT aliases FROM clients WHERE id = $1 AND owner_id = $2 AND {_LIVE}"
                " FOR UPDATE",
                client_id,
                owner_id,
            )
            if row is None:
                return None
            try:
                await conn.execute(
                    "INSERT INTO client_aliases (owner_id, client_id, alias, alias_key)"
                    " VALUES ($1, $2, $3, $4)",
                    owner_id,
                    client_id,
                    alias,
                    key,
                )
            except asyncpg.UniqueViolationError as exc:
                raise DuplicateClientError(alias) from exc
            aliases = "\n".join([*(a for a in row["aliases"].split("\n") if a), alias])
            await conn.execute(
                "UPDATE clients SET aliases = $1, updated_at = $2 WHERE id = $3",
                aliases,
                at(now),
                client_id,
            )
        return await self.get(owner_id, client_id)

    async def by_telegram(self, owner_id: int, handles: list[str]) -> Client | None:
        """The one client whose contact's Telegram account (@name or id) is among handles."""
        keys = [handle.casefold().lstrip("@") for handle in handles if handle]
        if not keys:
            return None
        rows = await self._db.fetch(
            f"SELECT {client_columns()} FROM clients WHERE owner_id = $1 AND {_LIVE}"
            " AND contact_telegram IS NOT NULL"
            " AND lower(ltrim(contact_telegram, '@')) = ANY($2::text[]) LIMIT 2",
            owner_id,
            keys,
        )
        return client_from_row(rows[0]) if len(rows) == 1 else None

    async def by_contact_name(self, owner_id: int, name: str) -> Client | None:
        """The one client whose contact person is called so (case- and ё-insensitive)."""
        key = name_key(name)
        if not key:
            return None
        rows = await self._db.fetch(
            f"SELECT {client_columns()} FROM clients WHERE owner_id = $1 AND {_LIVE}"
            " AND contact_person IS NOT NULL",
            owner_id,
        )
        found = [row for row in rows if name_key(row["contact_person"]) == key]
        return client_from_row(found[0]) if len(found) == 1 else None
