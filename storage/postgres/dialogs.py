from __future__ import annotations

from datetime import datetime
from typing import Any

from storage.postgres.codec import at
from storage.postgres.database import PgDatabase


class PgDialogStateRepo:
    """Dialog state and data per key; data is jsonb (a dict both ways)."""

    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def get_state(self, key: str) -> str | None:
        value = await self._db.fetchval("SELECT state FROM dialog_states WHERE key = $1", key)
        return None if value is None else str(value)

    async def set_state(self, key: str, owner_id: int, state: str | None, now: datetime) -> None:
        await self._db.execute(
            "INSERT INTO dialog_states (key, owner_id, state, updated_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (key) DO UPDATE SET state = excluded.state,"
            " updated_at = excluded.updated_at",
            key,
            owner_id,
            state,
            at(now),
        )

    async def get_data(self, key: str) -> dict[str, Any]:
        data = await self._db.fetchval("SELECT data FROM dialog_states WHERE key = $1", key)
        return data if isinstance(data, dict) else {}

    async def set_data(
        self, key: str, owner_id: int, data: dict[str, Any], now: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO dialog_states (key, owner_id, data, updated_at) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (key) DO UPDATE SET data = excluded.data,"
            " updated_at = excluded.updated_at",
            key,
            owner_id,
            data,
            at(now),
        )
