from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import UserProfile
from storage.sqlite.codec import decode_time, encode_time
from storage.sqlite.database import Database


def _user(row: aiosqlite.Row) -> UserProfile:
    return UserProfile(
        id=row["id"],
        language=row["language"],
        timezone=row["timezone"],
        morning_hour=row["morning_hour"],
        created_at=decode_time(row["created_at"]),
    )


class SqliteUserRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, user_id: int) -> UserProfile | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else _user(row)

    async def ensure(self, user_id: int, now: datetime) -> UserProfile:
        existing = await self.get(user_id)
        if existing is not None:
            return existing
        await self._db.execute(
            "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)",
            (user_id, encode_time(now)),
        )
        created = await self.get(user_id)
        assert created is not None
        return created

    async def set_language(self, user_id: int, language: str) -> None:
        await self._db.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        await self._db.execute("UPDATE users SET timezone = ? WHERE id = ?", (timezone, user_id))
