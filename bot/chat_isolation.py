"""One update of a chat at a time, across every worker on a shared database.

aiogram's SimpleEventIsolation serialises a chat's updates inside one process. With several
webhook workers behind a proxy, two quick taps of one person can reach two workers at once
and race through a dialog (both read "waiting for the client's name", both act). Here the
process's own lock comes first (so one worker never asks the database twice for one chat),
then a lease on the chat in the database (storage's SharedLimits.chat_lock), waited for in
short steps. The lease expires after `LEASE_SECONDS`, so a worker killed mid-update does not
hold the chat; an update that waited `WAIT_SECONDS` without getting it goes on anyway, with
a warning: a slow or stuck worker must not make anyone's messages go unanswered.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from aiogram.fsm.storage.base import BaseEventIsolation, StorageKey
from aiogram.fsm.storage.memory import SimpleEventIsolation

from storage.errors import StorageError
from storage.interfaces import SharedLimits

logger = logging.getLogger(__name__)

LEASE_SECONDS = 60.0
WAIT_SECONDS = 30.0
_FIRST_STEP = 0.01
_MAX_STEP = 0.2


def chat_key(key: StorageKey) -> str:
    return f"{key.bot_id}:{key.chat_id}:{key.thread_id or 0}"


class SharedEventIsolation(BaseEventIsolation):
    def __init__(self, limits: SharedLimits) -> None:
        self._limits = limits
        self._local = SimpleEventIsolation()
        # Which worker holds a lease (for the unlock's check), unique per process.
        self._holder = uuid.uuid4().hex

    @asynccontextmanager
    async def lock(self, key: StorageKey) -> AsyncGenerator[None, None]:
        async with self._local.lock(key):
            shared = chat_key(key)
            held = await self._acquire(shared)
            try:
                yield
            finally:
                if held:
                    await self._release(shared)

    async def _acquire(self, key: str) -> bool:
        deadline = time.monotonic() + WAIT_SECONDS
        step = _FIRST_STEP
        while True:
            try:
                if await self._limits.chat_lock(key, self._holder, LEASE_SECONDS):
                    return True
            except StorageError as exc:
                # The database is down: the update goes on (it will meet the outage itself).
                logger.warning("chat lease not taken (%s): handling without it",
                               type(exc).__name__)
                return False
            if time.monotonic() >= deadline:
                logger.warning("chat lease still held by another worker after %.0f s: "
                               "handling without it", WAIT_SECONDS)
                return False
            await asyncio.sleep(step)
            step = min(step * 2, _MAX_STEP)

    async def _release(self, key: str) -> None:
        try:
            await asyncio.shield(self._limits.chat_unlock(key, self._holder))
        except StorageError as exc:
            # The lease expires on its own.
            logger.warning("chat lease not given back (%s)", type(exc).__name__)

    async def close(self) -> None:
        await self._local.close()
