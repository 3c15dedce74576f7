from __future__ import annotations

import re
from datetime import datetime

import aiosqlite

from storage.errors import DuplicateClientError
from storage.models import (
    Channel,
    Client,
    ClientBoardRow,
    ClientStatus,
    ClientSummary,
    Segment,
    StaleClient,
)
from storage.sqlite.codec import decode_time, encode_time, name_key
from storage.sqlite.database import ConstraintError, Database

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
# What is not a letter or digit at the edges of a word: emoji, quotes, punctuation.
_SYMBOLS = re.compile(r"[^\w\s]+")


def client_from_row(row: aiosqlite.Row) -> Client:
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
        created_at=decode_time(row["created_at"]),
        updated_at=decode_time(row["updated_at"]),
        contact_telegram=row["contact_telegram"],
        aliases=tuple(alias for alias in row["aliases"].split("\n") if alias),
    )


async def is_live_client(db: Database, owner_id: int, client_id: int) -> bool:
    """The client exists, is the owner's and is not deleted (before pointing a row at it)."""
    row = await db.fetchone(
        f"SELECT 1 FROM clients WHERE id = ? AND owner_id = ? AND {_LIVE}", (client_id, owner_id)
    )
    return row is not None


def _prefix_upper_bound(prefix: str) -> str:
    """The smallest string greater than every string starting with prefix."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class SqliteClientRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, owner_id: int, name: str, now: datetime) -> Client:
        stamp = encode_time(now)
        try:
            async with self._db.transaction() as conn:
                cursor = await conn.execute(
                    "INSERT INTO clients (owner_id, name, name_key, created_at, updated_at,"
                    " last_used_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                    (owner_id, name, name_key(name), stamp, stamp, stamp),
                )
                row = await cursor.fetchone()
                await cursor.close()
        except ConstraintError as exc:
            raise DuplicateClientError(name) from exc
        assert row is not None
        return client_from_row(row)

    async def get(self, owner_id: int, client_id: int) -> Client | None:
        row = await self._db.fetchone(
            f"SELECT * FROM clients WHERE id = ? AND owner_id = ? AND {_LIVE}",
            (client_id, owner_id),
        )
        return None if row is None else client_from_row(row)

    async def match(self, owner_id: int, query: str, limit: int = 8) -> list[Client]:
        key = name_key(query)
        if not key:
            return []
        exact = await self._db.fetchone(
            f"SELECT * FROM clients WHERE owner_id = ? AND {_LIVE} AND (name_key = ? OR id ="
            " (SELECT client_id FROM client_aliases WHERE owner_id = ? AND alias_key = ?))"
            " ORDER BY name_key = ? DESC LIMIT 1",
            (owner_id, key, owner_id, key, key),
        )
        if exact is not None:
            return [client_from_row(exact)]
        rows = await self._db.fetchall(
            f"SELECT * FROM clients WHERE owner_id = ? AND name_key >= ? AND name_key < ?"
            f" AND {_LIVE} ORDER BY status = 'former', name_key LIMIT ?",
            (owner_id, key, _prefix_upper_bound(key), limit),
        )
        if rows:
            return [client_from_row(row) for row in rows]
        rows = await self._db.fetchall(
            f"SELECT DISTINCT c.* FROM client_aliases a JOIN clients c ON c.id = a.client_id"
            f" WHERE a.owner_id = ? AND a.alias_key >= ? AND a.alias_key < ? AND c.{_LIVE}"
            " ORDER BY c.status = 'former', c.name_key LIMIT ?",
            (owner_id, key, _prefix_upper_bound(key), limit),
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
        rows = await self._db.fetchall(
            f"SELECT * FROM clients WHERE owner_id = ? AND {_LIVE}"
            " AND instr(name_key, ?) > 0 ORDER BY status = 'former', name_key",
            (owner_id, wanted.split()[0]),
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
        row = await self._db.fetchone(
            f"SELECT count(*) FROM clients WHERE owner_id = ? AND {_LIVE}", (owner_id,)
        )
        return int(row[0]) if row else 0

    async def list_summaries(
        self, owner_id: int, *, offset: int, limit: int
    ) -> list[ClientSummary]:
        rows = await self._db.fetchall(
            "SELECT c.*, (SELECT count(*) FROM tasks t WHERE t.client_id = c.id"
            " AND t.status = 'open') AS open_tasks"
            f" FROM clients c WHERE c.owner_id = ? AND c.{_LIVE}"
            " ORDER BY c.status = 'former', c.name_key LIMIT ? OFFSET ?",
            (owner_id, limit, offset),
        )
        return [
            ClientSummary(client=client_from_row(row), open_tasks=row["open_tasks"])
            for row in rows
        ]

    async def recent(self, owner_id: int, limit: int) -> list[Client]:
        rows = await self._db.fetchall(
            f"SELECT * FROM clients WHERE owner_id = ? AND {_LIVE} AND status = 'active'"
            " ORDER BY last_used_at DESC, id DESC LIMIT ?",
            (owner_id, limit),
        )
        return [client_from_row(row) for row in rows]

    async def touch(self, owner_id: int, client_id: int, now: datetime) -> None:
        await self._db.execute(
            "UPDATE clients SET last_used_at = ? WHERE id = ? AND owner_id = ?",
            (encode_time(now), client_id, owner_id),
        )

    async def _update_returning(self, sql: str, params: tuple[object, ...]) -> Client | None:
        async with self._db.transaction() as conn:
            cursor = await conn.execute(sql, params)
            row = await cursor.fetchone()
            await cursor.close()
        return None if row is None else client_from_row(row)

    async def set_field(
        self, owner_id: int, client_id: int, field: str, value: str | None, now: datetime
    ) -> Client | None:
        if field not in _SETTABLE:
            raise ValueError(f"not an editable client field: {field}")
        if field == "name":
            if not value:
                raise ValueError("a client needs a name")
            try:
                return await self._update_returning(
                    f"UPDATE clients SET name = ?, name_key = ?, updated_at = ?"
                    f" WHERE id = ? AND owner_id = ? AND {_LIVE} RETURNING *",
                    (value, name_key(value), encode_time(now), client_id, owner_id),
                )
            except ConstraintError as exc:
                raise DuplicateClientError(value) from exc
        return await self._update_returning(
            f"UPDATE clients SET {field} = ?, updated_at = ?"
            f" WHERE id = ? AND owner_id = ? AND {_LIVE} RETURNING *",
            (value, encode_time(now), client_id, owner_id),
        )

    async def set_status(
        self, owner_id: int, client_id: int, status: ClientStatus, now: datetime
    ) -> Client | None:
        return await self._update_returning(
            f"UPDATE clients SET status = ?, updated_at = ?"
            f" WHERE id = ? AND owner_id = ? AND {_LIVE} RETURNING *",
            (status.value, encode_time(now), client_id, owner_id),
        )

    async def delete(self, owner_id: int, client_id: int, now: datetime) -> Client | None:
        """Soft-delete the client and hide its tasks with it (marked, to come back together)."""
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                f"UPDATE clients SET deleted_at = ?, updated_at = ?"
                f" WHERE id = ? AND owner_id = ? AND {_LIVE} RETURNING *",
                (stamp, stamp, client_id, owner_id),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if row is not None:
                await conn.execute(
                    "UPDATE tasks SET status = 'deleted', hidden_with_client = 1,"
                    " deleted_at = ?, updated_at = ?"
                    " WHERE client_id = ? AND owner_id = ? AND status != 'deleted'",
                    (stamp, stamp, client_id, owner_id),
                )
        return None if row is None else client_from_row(row)

    async def restore(self, owner_id: int, client_id: int, now: datetime) -> Client | None:
        stamp = encode_time(now)
        try:
            async with self._db.transaction() as conn:
                cursor = await conn.execute(
                    "UPDATE clients SET deleted_at = NULL, updated_at = ?"
                    " WHERE id = ? AND owner_id = ? AND deleted_at IS NOT NULL RETURNING *",
                    (stamp, client_id, owner_id),
                )
                row = await cursor.fetchone()
                await cursor.close()
                if row is not None:
                    await conn.execute(
                        "UPDATE tasks SET hidden_with_client = 0, deleted_at = NULL,"
                        " status = CASE WHEN done_at IS NULL THEN 'open' ELSE 'done' END,"
                        " updated_at = ?"
                        " WHERE client_id = ? AND owner_id = ? AND hidden_with_client = 1",
                        (stamp, client_id, owner_id),
                    )
        except ConstraintError as exc:
            raise DuplicateClientError("") from exc
        return None if row is None else client_from_row(row)

    async def last_contacts(self, owner_id: int, before: datetime) -> list[StaleClient]:
        """Clients last heard from (a done task or a note) before the moment, longest silent
        first; a client never worked with counts from when it was added."""
        rows = await self._db.fetchall(
            "SELECT c.*, max(c.created_at,"
            " coalesce((SELECT max(t.done_at) FROM tasks t WHERE t.client_id = c.id"
            " AND t.status = 'done'), ''),"
            " coalesce((SELECT max(n.created_at) FROM notes n WHERE n.client_id = c.id"
            " AND n.deleted_at IS NULL), '')) AS last_contact"
            f" FROM clients c WHERE c.owner_id = ? AND c.{_LIVE} AND last_contact < ?"
            " ORDER BY last_contact",
            (owner_id, encode_time(before)),
        )
        return [
            StaleClient(client=client_from_row(row), last_contact=decode_time(row["last_contact"]))
            for row in rows
        ]

    async def board(self, owner_id: int, now: datetime) -> list[ClientBoardRow]:
        """Each live client with its open and overdue task counts and its last contact (as
        last_contacts counts it). Per client through the (client_id, status) and notes'
        (client_id, created_at) indexes; overdue tasks grouped from the owner's due index,
        which reads only the overdue ones (about 20 ms for 1,000 clients, 20,000 tasks)."""
        rows = await self._db.fetchall(
            "SELECT c.*,"
            " (SELECT count(*) FROM tasks t WHERE t.client_id = c.id AND t.status = 'open')"
            " AS open_tasks, coalesce(o.overdue_tasks, 0) AS overdue_tasks,"
            " max(c.created_at,"
            " coalesce((SELECT max(t.done_at) FROM tasks t WHERE t.client_id = c.id"
            " AND t.status = 'done'), ''),"
            " coalesce((SELECT max(n.created_at) FROM notes n WHERE n.client_id = c.id"
            " AND n.deleted_at IS NULL), '')) AS last_contact"
            " FROM clients c"
            " LEFT JOIN (SELECT client_id, count(*) AS overdue_tasks FROM tasks"
            " WHERE owner_id = ? AND status = 'open' AND due_at < ? AND invoice_id IS NULL"
            " AND client_id IS NOT NULL GROUP BY client_id) o ON o.client_id = c.id"
            f" WHERE c.owner_id = ? AND c.{_LIVE}",
            (owner_id, encode_time(now), owner_id),
        )
        return [
            ClientBoardRow(
                client=client_from_row(row),
                open_tasks=int(row["open_tasks"]),
                overdue_tasks=int(row["overdue_tasks"]),
                last_contact=decode_time(row["last_contact"]),
            )
            for row in rows
        ]

    async def add_alias(self, owner_id: int, client_id: int, alias: str, now: datetime) -> (
        Client | None
    ):
        """Another name the client goes by; raises DuplicateClientError if it is taken."""
        key = name_key(alias)
        taken = await self._db.fetchone(
            f"SELECT 1 FROM clients WHERE owner_id = ? AND name_key = ? AND {_LIVE}",
            (owner_id, key),
        )
        if taken is not None:
            raise DuplicateClientError(alias)
        try:
            async with self._db.transaction() as conn:
                cursor = await conn.execute(
                    f"SELECT aliases FROM clients WHERE id = ? AND owner_id = ? AND {_LIVE}",
                    (client_id, owner_id),
                )
                row = await cursor.fetchone()
                await cursor.close()
                if row is None:
                    return None
                await conn.execute(
                    "INSERT INTO client_aliases (owner_id, client_id, alias, alias_key)"
                    " VALUES (?, ?, ?, ?)",
                    (owner_id, client_id, alias, key),
                )
                aliases = "\n".join([*(a for a in row[0].split("\n") if a), alias])
                await conn.execute(
                    "UPDATE clients SET aliases = ?, updated_at = ? WHERE id = ?",
                    (aliases, encode_time(now), client_id),
                )
        except ConstraintError as exc:
            raise DuplicateClientError(alias) from exc
        return await self.get(owner_id, client_id)

    async def by_telegram(self, owner_id: int, handles: list[str]) -> Client | None:
        """The one client whose contact's Telegram account (@name or id) is among handles."""
        keys = [handle.casefold().lstrip("@") for handle in handles if handle]
        if not keys:
            return None
        marks = ",".join("?" * len(keys))
        rows = await self._db.fetchall(
            f"SELECT * FROM clients WHERE owner_id = ? AND {_LIVE} AND contact_telegram"
            f" IS NOT NULL AND lower(ltrim(contact_telegram, '@')) IN ({marks}) LIMIT 2",
            (owner_id, *keys),
        )
        return client_from_row(rows[0]) if len(rows) == 1 else None

    async def by_contact_name(self, owner_id: int, name: str) -> Client | None:
        """The one client whose contact person is called so (case- and ё-insensitive)."""
        key = name_key(name)
        if not key:
            return None
        rows = await self._db.fetchall(
            f"SELECT * FROM clients WHERE owner_id = ? AND {_LIVE}"
            " AND contact_person IS NOT NULL",
            (owner_id,),
        )
        found = [row for row in rows if name_key(row["contact_person"]) == key]
        return client_from_row(found[0]) if len(found) == 1 else None
