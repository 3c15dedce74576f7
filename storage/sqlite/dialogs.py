from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from storage.sqlite.codec import encode_time
from storage.sqlite.database import Database


class SqliteDialogStateRepo:
    """Dialog state and data per key; data is stored as JSON."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def get_state(self, key: str) -> str | None:
        row = await self._db.fetchone("SELECT state FROM dialog_states WHERE key = ?", (key,))
        return None if row is None else row["state"]

    async def set_state(self, key: str, owner_id: int, state: str | None, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO dialog_states (key, owner_id, state, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at",
            (key, owner_id, state, encode_time(now)),
        )

    async def get_data(self, key: str) -> dict[str, Any]:
        row = await self._db.fetchone("SELECT data FROM dialog_states WHERE key = ?", (key,))
        if row is None:
            return {}
        data = json.loads(row["data"])
        return data if isinstance(data, dict) else {}

    async def set_data(
        self, key: str, owner_id: int, data: dict[str, Any], now: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO dialog_states (key, owner_id, data, updated_at) VALUES (?, ?, ?, ?)"
            " ON CONFLICT (key) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
            (key, owner_id, json.dumps(data, ensure_ascii=False), encode_time(now)),
        )
