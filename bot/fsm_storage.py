"""aiogram FSM storage kept in our database, so a restart mid-dialog loses nothing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from aiogram.fsm.state import State
from aiogram.fsm.storage.base import BaseStorage, StateType, StorageKey

from bot.clock import Clock
from storage.interfaces import DialogStateRepo


def _key(key: StorageKey) -> str:
    return ":".join(
        str(part)
        for part in (
            key.bot_id,
            key.chat_id,
            key.user_id,
            key.thread_id or "",
            key.business_connection_id or "",
            key.destiny,
        )
    )


class DatabaseFSMStorage(BaseStorage):
    def __init__(self, dialogs: DialogStateRepo, clock: Clock) -> None:
        self._dialogs = dialogs
        self._clock = clock

    async def set_state(self, key: StorageKey, state: StateType = None) -> None:
        value = state.state if isinstance(state, State) else state
        await self._dialogs.set_state(_key(key), key.user_id, value, self._clock.now())

    async def get_state(self, key: StorageKey) -> str | None:
        return await self._dialogs.get_state(_key(key))

    async def set_data(self, key: StorageKey, data: Mapping[str, Any]) -> None:
        await self._dialogs.set_data(_key(key), key.user_id, dict(data), self._clock.now())

    async def get_data(self, key: StorageKey) -> dict[str, Any]:
        return await self._dialogs.get_data(_key(key))

    async def close(self) -> None:
        """The database is closed by its owner, after the dispatcher stops."""
