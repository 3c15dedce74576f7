"""Telegram updates already applied (see storage/update_marks.py for how they are recorded)."""

from __future__ import annotations

from datetime import datetime

from storage.sqlite.codec import encode_time
from storage.sqlite.database import Database


class SqliteAppliedUpdateRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def applied(self, bot_id: int, update_id: int) -> bool:
        row = await self._db.fetchone(
            "SELECT 1 FROM applied_updates WHERE bot_id = ? AND update_id = ?",
            (bot_id, update_id),
        )
        return row is not None

    async def last_id(self, bot_id: int) -> int:
        row = await self._db.fetchone(
            "SELECT coalesce(max(update_id), 0) FROM applied_updates WHERE bot_id = ?",
            (bot_id,),
        )
        return 0 if row is None else int(row[0])

    async def prune(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM applied_updates WHERE applied_at < ?", (encode_time(before),)
        )
