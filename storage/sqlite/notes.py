from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import Note, NoteMedia, SearchHit, SearchKind
from storage.sqlite.clients import is_live_client
from storage.sqlite.codec import decode_optional, decode_time, encode_time
from storage.sqlite.database import Database
from storage.stemming import has_every_term, search_prefix, search_terms

_SELECT = (
    "SELECT n.*, c.name AS client_name FROM notes n LEFT JOIN clients c ON c.id = n.client_id"
)
_KINDS = {1: SearchKind.NOTE, 2: SearchKind.TASK, 3: SearchKind.CLIENT}
RANKED_MATCHES = 200


def note_from_row(row: aiosqlite.Row) -> Note:
    return Note(
        id=row["id"],
        owner_id=row["owner_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        text=row["text"],
        source_message_id=row["source_message_id"],
        created_at=decode_time(row["created_at"]),
        deleted=row["deleted_at"] is not None,
        media_type=row["media_type"],
        file_id=row["file_id"],
        duration=row["duration"],
        file_size=row["file_size"],
        forward_from=row["forward_from"],
        forward_date=decode_optional(row["forward_date"]),
        task_id=row["task_id"],
    )


def fts_query(owner_id: int, terms: list[str]) -> str | None:
    """Every term by its stem as a prefix ("бюдж" finds "бюджет", "акта" the candidates
    "акт", "акты"…), ANDed, within the owner's rows."""
    if not terms:
        return None
    body = " AND ".join(f'body:"{search_prefix(term)}"*' for term in terms)
    return f'owner:"o{owner_id}" AND ({body})'


class SqliteNoteRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(
        self,
        owner_id: int,
        *,
        text: str,
        client_id: int | None,
        source_message_id: int | None,
        now: datetime,
        media: NoteMedia | None = None,
        task_id: int | None = None,
    ) -> Note:
        stamp = encode_time(now)
        extra = media or NoteMedia()
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO notes (owner_id, client_id, text, source_message_id, created_at,"
                " updated_at, media_type, file_id, duration, file_size, forward_from,"
                " forward_date, task_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                " RETURNING id",
                (
                    owner_id, client_id, text, source_message_id, stamp, stamp,
                    extra.media_type, extra.file_id, extra.duration, extra.file_size,
                    extra.forward_from,
                    None if extra.forward_date is None else encode_time(extra.forward_date),
                    task_id,
                ),
            )
            row = await cursor.fetchone()
            await cursor.close()
            if client_id is not None:
                await conn.execute(
                    "UPDATE clients SET last_used_at = ? WHERE id = ? AND owner_id = ?",
                    (stamp, client_id, owner_id),
                )
        assert row is not None
        note = await self.get(owner_id, int(row[0]))
        assert note is not None
        return note

    async def get(self, owner_id: int, note_id: int, *, deleted: bool = False) -> Note | None:
        row = await self._db.fetchone(
            f"{_SELECT} WHERE n.id = ? AND n.owner_id = ?"
            + ("" if deleted else " AND n.deleted_at IS NULL"),
            (note_id, owner_id),
        )
        return None if row is None else note_from_row(row)

    async def by_source_message(self, owner_id: int, message_id: int) -> Note | None:
        row = await self._db.fetchone(
            f"{_SELECT} WHERE n.owner_id = ? AND n.source_message_id = ?"
            " AND n.deleted_at IS NULL",
            (owner_id, message_id),
        )
        return None if row is None else note_from_row(row)

    async def latest(
        self, owner_id: int, client_id: int | None, *, offset: int, limit: int
    ) -> list[Note]:
        """Newest first: one client's notes, or everyone's when client_id is None."""
        where = "n.owner_id = ? AND n.deleted_at IS NULL"
        params: list[object] = [owner_id]
        if client_id is not None:
            where += " AND n.client_id = ?"
            params.append(client_id)
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE {where} ORDER BY n.created_at DESC, n.id DESC LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        return [note_from_row(row) for row in rows]

    async def count(self, owner_id: int, client_id: int | None) -> int:
        where = "owner_id = ? AND deleted_at IS NULL"
        params: list[object] = [owner_id]
        if client_id is not None:
            where += " AND client_id = ?"
            params.append(client_id)
        row = await self._db.fetchone(f"SELECT count(*) FROM notes WHERE {where}", params)
        return int(row[0]) if row else 0

    async def _set(self, owner_id: int, note_id: int, sql: str, params: tuple[object, ...]) -> (
        Note | None
    ):
        changed = await self._db.execute(sql, params)
        return await self.get(owner_id, note_id, deleted=True) if changed else None

    async def set_client(
        self, owner_id: int, note_id: int, client_id: int | None, now: datetime
    ) -> Note | None:
        if client_id is not None and not await is_live_client(self._db, owner_id, client_id):
            return None
        return await self._set(
            owner_id, note_id,
            "UPDATE notes SET client_id = ?, updated_at = ? WHERE id = ? AND owner_id = ?"
            " AND deleted_at IS NULL",
            (client_id, encode_time(now), note_id, owner_id),
        )

    async def set_text(self, owner_id: int, note_id: int, text: str, now: datetime) -> (
        Note | None
    ):
        return await self._set(
            owner_id, note_id,
            "UPDATE notes SET text = ?, updated_at = ? WHERE id = ? AND owner_id = ?"
            " AND deleted_at IS NULL",
            (text, encode_time(now), note_id, owner_id),
        )

    async def delete(self, owner_id: int, note_id: int, now: datetime) -> Note | None:
        stamp = encode_time(now)
        return await self._set(
            owner_id, note_id,
            "UPDATE notes SET deleted_at = ?, updated_at = ? WHERE id = ? AND owner_id = ?"
            " AND deleted_at IS NULL",
            (stamp, stamp, note_id, owner_id),
        )

    async def restore(self, owner_id: int, note_id: int, now: datetime) -> Note | None:
        return await self._set(
            owner_id, note_id,
            "UPDATE notes SET deleted_at = NULL, updated_at = ? WHERE id = ? AND owner_id = ?"
            " AND deleted_at IS NOT NULL",
            (encode_time(now), note_id, owner_id),
        )

    async def last_contact(self, owner_id: int, client_id: int) -> datetime | None:
        """The latest note or completed task about the client."""
        row = await self._db.fetchone(
            "SELECT max(moment) FROM ("
            " SELECT max(created_at) AS moment FROM notes WHERE owner_id = ? AND client_id = ?"
            " AND deleted_at IS NULL"
            " UNION ALL SELECT max(done_at) FROM tasks WHERE owner_id = ? AND client_id = ?"
            " AND status = 'done')",
            (owner_id, client_id, owner_id, client_id),
        )
        return decode_time(row[0]) if row and row[0] else None

    async def search(self, owner_id: int, words: list[str], limit: int) -> list[SearchHit]:
        terms = search_terms(words)
        query = fts_query(owner_id, terms)
        if query is None:
            return []
        # A stem shorter than the typed word widens the candidates ("акт*" for "акта"):
        # read more of them, then keep the rows whose words really match.
        widened = any(search_prefix(term) != term for term in terms)
        # Rank (bm25) only the newest matches: scoring every match of a common word costs
        # tens of milliseconds at 100,000 notes, and the newest are what people look for.
        rows = await self._db.fetchall(
            "SELECT rowid, bm25(search_index, 0.0, 1.0) AS score, body FROM search_index"
            " WHERE search_index MATCH ? ORDER BY rowid DESC LIMIT ?",
            (query, RANKED_MATCHES * 2 if widened else RANKED_MATCHES),
        )
        hits = [
            SearchHit(kind=_KINDS[row["rowid"] % 4], ref_id=row["rowid"] // 4, rank=row["score"])
            for row in rows
            if row["rowid"] % 4 in _KINDS and (not widened or has_every_term(row["body"], terms))
        ][:RANKED_MATCHES]
        return sorted(hits, key=lambda hit: hit.rank)[:limit]

    async def get_many(self, owner_id: int, note_ids: list[int]) -> dict[int, Note]:
        if not note_ids:
            return {}
        marks = ",".join("?" * len(note_ids))
        # "+n.owner_id": filter, don't drive the search by the owner's index.
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE n.id IN ({marks}) AND +n.owner_id = ? AND n.deleted_at IS NULL",
            (*note_ids, owner_id),
        )
        return {row["id"]: note_from_row(row) for row in rows}
