"""Notes in PostgreSQL, behaving exactly as storage/sqlite/notes.py; /find is search.py."""

from __future__ import annotations

from datetime import datetime

from storage.models import Note, NoteMedia, SearchHit
from storage.postgres.clients import is_live_client
from storage.postgres.codec import at, at_optional
from storage.postgres.database import PgDatabase, Record
from storage.postgres.search import (
    KINDS,
    RANKED_MATCHES,
    build_query,
)
from storage.stemming import has_every_term, search_terms

_COLUMNS = (
    "id", "owner_id", "client_id", "text", "source_message_id", "created_at", "deleted_at",
    "media_type", "file_id", "duration", "file_size", "forward_from", "forward_date", "task_id",
)
_SELECT = (
    "SELECT " + ", ".join(f"n.{column}" for column in _COLUMNS) + ", c.name AS client_name"
    " FROM notes n LEFT JOIN clients c ON c.id = n.client_id"
)


def note_from_row(row: Record) -> Note:
    return Note(
        id=row["id"],
        owner_id=row["owner_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        text=row["text"],
        source_message_id=row["source_message_id"],
        created_at=row["created_at"],
        deleted=row["deleted_at"] is not None,
        media_type=row["media_type"],
        file_id=row["file_id"],
        duration=row["duration"],
        file_size=row["file_size"],
        forward_from=row["forward_from"],
        forward_date=row["forward_date"],
        task_id=row["task_id"],
    )


class PgNoteRepo:
    def __init__(self, database: PgDatabase) -> None:
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
        stamp = at(now)
        extra = media or NoteMedia()
        async with self._db.transaction() as conn:
            note_id = await conn.fetchval(
                "INSERT INTO notes (owner_id, client_id, text, source_message_id, created_at,"
                " updated_at, media_type, file_id, duration, file_size, forward_from,"
                " forward_date, task_id) VALUES ($1, $2, $3, $4, $5, $5, $6, $7, $8, $9, $10,"
                " $11, $12) RETURNING id",
                owner_id, client_id, text, source_message_id, stamp,
                extra.media_type, extra.file_id, extra.duration, extra.file_size,
                extra.forward_from, at_optional(extra.forward_date), task_id,
            )
            if client_id is not None:
                await conn.execute(
                    "UPDATE clients SET last_used_at = $1 WHERE id = $2 AND owner_id = $3",
                    stamp,
                    client_id,
                    owner_id,
                )
        note = await self.get(owner_id, int(note_id))
        assert note is not None
        return note

    async def get(self, owner_id: int, note_id: int, *, deleted: bool = False) -> Note | None:
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE n.id = $1 AND n.owner_id = $2"
            + ("" if deleted else " AND n.deleted_at IS NULL"),
            note_id,
            owner_id,
        )
        return None if row is None else note_from_row(row)

    async def by_source_message(self, owner_id: int, message_id: int) -> Note | None:
        # Several notes of one message (not expected): SQLite's first is the oldest id.
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE n.owner_id = $1 AND n.source_message_id = $2"
            " AND n.deleted_at IS NULL ORDER BY n.id LIMIT 1",
            owner_id,
            message_id,
        )
        return None if row is None else note_from_row(row)

    async def latest(
        self, owner_id: int, client_id: int | None, *, offset: int, limit: int
    ) -> list[Note]:
        """Newest first: one client's notes, or everyone's when client_id is None."""
        where = "n.owner_id = $1 AND n.deleted_at IS NULL"
        args: list[object] = [owner_id]
        if client_id is not None:
            where += " AND n.client_id = $2"
            args.append(client_id)
        rows = await self._db.fetch(
            f"{_SELECT} WHERE {where} ORDER BY n.created_at DESC, n.id DESC"
            f" LIMIT ${len(args) + 1} OFFSET ${len(args) + 2}",
            *args,
            limit,
            offset,
        )
        return [note_from_row(row) for row in rows]

    async def count(self, owner_id: int, client_id: int | None) -> int:
        where = "owner_id = $1 AND deleted_at IS NULL"
        args: list[object] = [owner_id]
        if client_id is not None:
            where += " AND client_id = $2"
            args.append(client_id)
        value = await self._db.fetchval(f"SELECT count(*) FROM notes WHERE {where}", *args)
        return int(value or 0)

    async def _set(self, owner_id: int, note_id: int, sql: str, *args: object) -> Note | None:
        changed = await self._db.execute(sql, *args)
        return await self.get(owner_id, note_id, deleted=True) if changed else None

    async def set_client(
        self, owner_id: int, note_id: int, client_id: int | None, now: datetime
    ) -> Note | None:
        if client_id is not None and not await is_live_client(self._db, owner_id, client_id):
            return None
        return await self._set(
            owner_id, note_id,
            "UPDATE notes SET client_id = $1, updated_at = $2 WHERE id = $3 AND owner_id = $4"
            " AND deleted_at IS NULL",
            client_id, at(now), note_id, owner_id,
        )

    async def set_text(self, owner_id: int, note_id: int, text: str, now: datetime) -> (
        Note | None
    ):
        return await self._set(
            owner_id, note_id,
            "UPDATE notes SET text = $1, updated_at = $2 WHERE id = $3 AND owner_id = $4"
            " AND deleted_at IS NULL",
            text, at(now), note_id, owner_id,
        )

    async def delete(self, owner_id: int, note_id: int, now: datetime) -> Note | None:
        return await self._set(
            owner_id, note_id,
            "UPDATE notes SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND owner_id = $3"
            " AND deleted_at IS NULL",
            at(now), note_id, owner_id,
        )

    async def restore(self, owner_id: int, note_id: int, now: datetime) -> Note | None:
        return await self._set(
            owner_id, note_id,
            "UPDATE notes SET deleted_at = NULL, updated_at = $1 WHERE id = $2"
            " AND owner_id = $3 AND deleted_at IS NOT NULL",
            at(now), note_id, owner_id,
        )

    async def last_contact(self, owner_id: int, client_id: int) -> datetime | None:
        """The latest note or completed task about the client."""
        value: datetime | None = await self._db.fetchval(
            "SELECT greatest("
            " (SELECT max(created_at) FROM notes WHERE owner_id = $1 AND client_id = $2"
            " AND deleted_at IS NULL),"
            " (SELECT max(done_at) FROM tasks WHERE owner_id = $1 AND client_id = $2"
            " AND status = 'done'))",
            owner_id,
            client_id,
        )
        return value

    async def search(self, owner_id: int, words: list[str], limit: int) -> list[SearchHit]:
        terms = search_terms(words)
        query = build_query(owner_id, terms)
        if query is None:
            return []
        rows = await self._db.fetch(query.sql, *query.args)
        hits = [
            # Lower is better, as SQLite's bm25 scores are.
            SearchHit(kind=KINDS[row["key"] % 4], ref_id=row["key"] // 4, rank=-row["score"])
            for row in rows
            if not query.widened or has_every_term(row["body"], terms)
        ][:RANKED_MATCHES]
        # Stable: equal scores keep the newest first, as in SQLite.
        return sorted(hits, key=lambda hit: hit.rank)[:limit]

    async def get_many(self, owner_id: int, note_ids: list[int]) -> dict[int, Note]:
        if not note_ids:
            return {}
        rows = await self._db.fetch(
            f"{_SELECT} WHERE n.id = ANY($1::bigint[]) AND n.owner_id = $2"
            " AND n.deleted_at IS NULL",
            note_ids,
            owner_id,
        )
        return {row["id"]: note_from_row(row) for row in rows}
