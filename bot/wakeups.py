"""Announcing a change the sending runtime must act on, whichever process made it.

A reminder planned or an alert raised by any worker is announced on a topic through the
storage's coordination (PostgreSQL: NOTIFY; SQLite: a direct call in the one process); the
leading process listens (bot/leadership.py) and wakes its runtime at once instead of at its
next periodic check.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from storage.errors import StorageError
from storage.interfaces import Coordination

logger = logging.getLogger(__name__)

REMINDERS = "reminders"
ALERTS = "alerts"


class Notifier:
    """Sync `wake(topic)` for the services' change hooks -> coordination.notify, coalesced:
    while one announcement of a topic is on its way, another adds nothing."""

    def __init__(self, coordination: Coordination) -> None:
        self._coordination = coordination
        self._pending: dict[str, asyncio.Task[None]] = {}

    def wake(self, topic: str) -> None:
        if topic in self._pending:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop: nothing runs that could be woken
        task = loop.create_task(self._notify(topic), name=f"notify-{topic}")
        self._pending[topic] = task

    def waker(self, topic: str) -> Callable[[], None]:
        return lambda: self.wake(topic)

    async def _notify(self, topic: str) -> None:
        try:
            await self._coordination.notify(topic)
        except StorageError as exc:
            # The leader's own periodic checks (every few seconds) still find the change.
            logger.warning("could not announce %s: %s", topic, type(exc).__name__)
        finally:
            self._pending.pop(topic, None)
