"""Coordination for a database one process owns (SQLite): that process always leads, and a
wake-up calls this process's listeners directly."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable


class LocalCoordination:
    def __init__(self) -> None:
        self._listeners: defaultdict[str, list[Callable[[], None]]] = defaultdict(list)
        self._closed = asyncio.Event()

    async def try_lead(self) -> bool:
        return True

    async def wait_lost(self) -> None:
        # Never lost while the database is open: no other process can hold it.
        await self._closed.wait()

    async def resign(self) -> None:
        return None

    async def notify(self, topic: str) -> None:
        for wake in list(self._listeners[topic]):
            wake()

    async def listen(self, topic: str, wake: Callable[[], None]) -> None:
        self._listeners[topic].append(wake)

    async def close(self) -> None:
        self._closed.set()
        self._listeners.clear()
