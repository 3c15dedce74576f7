"""Telegram updates already applied (see storage/update_marks.py for how they are recorded)."""

from __future__ import annotations

from datetime import datetime

from storage.postgres.codec import at
from storage.postgres.database import PgDatabase


class PgAppliedUpdateRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def applied(self, bot_id: int, update_id: int) -> bool:
        row = await self._db.fetchrow(
            "SELECT 1 FROM applied_updates WHERE bot_id = $1 AND update_id = $2",
            bot_id,
            update_id,
        )
        return row is not None

    async def last_id(self, bot_id: int) -> int:
        value = await self._db.fetchval(
            "SELECT coalesce(max(update_id), 0) FROM applied_updates WHERE bot_id = $1", bot_id
        )
        return int(value or 0)

    async def prune(self, before: datetime) -> int:
        return await self._db.execute(
            "DELETE FROM applied_updates WHERE applied_at < $1", at(before)
        )
