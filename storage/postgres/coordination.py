"""Several workers on one PostgreSQL database: who leads, how they wake it, shared limits.

Leadership is a session-level advisory lock held on a connection of its own (not pooled):
PostgreSQL releases it the moment that session ends, so when the leading process dies
(kill -9 closes its sockets; a lost host is found by TCP keepalives) another worker's next
try, at most `LEAD_RETRY_SECONDS` later, takes it. The leader checks its session every
`LEAD_CHECK_SECONDS` and gives up leading when the session is gone, so two processes never
send at once for longer than that check (and the claims' leases cover even that).

Wake-ups are LISTEN/NOTIFY on channels `am_<topic>`, on another dedicated connection that
reconnects after a loss (and then wakes every listener once: a notification sent while it
was away is not lost, only late).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Callable
from typing import Any

import asyncpg

from storage.postgres.database import PgDatabase

logger = logging.getLogger(__name__)

# pg_advisory_lock key of the leader ("am-lead" in ASCII).
LEADER_LOCK = 0x616D2D6C656164
LEAD_CHECK_SECONDS = 1.0
LEAD_RETRY_SECONDS = 1.0
_CONNECT_TIMEOUT_SECONDS = 5.0
_RECONNECT_SECONDS = 1.0
_CHANNEL_PREFIX = "am_"

_CONNECTION_ERRORS = (OSError, asyncio.TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError)


def _channel(topic: str) -> str:
    if not topic.isidentifier():
        raise ValueError(f"topic must be an identifier, got {topic!r}")
    return f"{_CHANNEL_PREFIX}{topic}"


class PgCoordination:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database
        self._lead: asyncpg.Connection[Any] | None = None
        self._listener: asyncpg.Connection[Any] | None = None
        self._listeners: defaultdict[str, list[Callable[[], None]]] = defaultdict(list)
        self._listen_task: asyncio.Task[None] | None = None
        self._listener_ready = asyncio.Event()

    # ------------------------------------------------------------------ leadership

    async def try_lead(self) -> bool:
        if self._lead is not None and not self._lead.is_closed():
            return True
        try:
            connection = await asyncpg.connect(self._db.dsn, timeout=_CONNECT_TIMEOUT_SECONDS)
        except _CONNECTION_ERRORS as exc:
            logger.warning("leadership: cannot connect (%s)", type(exc).__name__)
            return False
        try:
            won = bool(await connection.fetchval("SELECT pg_try_advisory_lock($1)", LEADER_LOCK))
        except _CONNECTION_ERRORS:
            won = False
        if not won:
            await _close_quietly(connection)
            return False
        self._lead = connection
        return True

    async def wait_lost(self) -> None:
        while True:
            connection = self._lead
            if connection is None or connection.is_closed():
                self._lead = None
                return
            try:
                await asyncio.wait_for(
                    connection.fetchval("SELECT 1"), timeout=_CONNECT_TIMEOUT_SECONDS
                )
            except _CONNECTION_ERRORS as exc:
                logger.error("leadership lost: the database session ended (%s)",
                             type(exc).__name__)
                self._lead = None
                connection.terminate()
                return
            await asyncio.sleep(LEAD_CHECK_SECONDS)

    async def resign(self) -> None:
        connection, self._lead = self._lead, None
        if connection is not None:
            # Closing the session releases the lock, even if the unlock itself fails.
            await _close_quietly(connection)

    # ------------------------------------------------------------------ wake-ups

    async def notify(self, topic: str) -> None:
        await self._db.execute("SELECT pg_notify($1, '')", _channel(topic))

    async def listen(self, topic: str, wake: Callable[[], None]) -> None:
        self._listeners[topic].append(wake)
        connection = self._listener
        if connection is not None and not connection.is_closed():
            with contextlib.suppress(*_CONNECTION_ERRORS):
                await connection.add_listener(_channel(topic), self._on_notification)
        if self._listen_task is None:
            self._listen_task = asyncio.create_task(self._keep_listening(), name="pg-listen")
            # The first LISTEN is in place before listen() returns: a notify right after is
            # heard (later reconnects wake everyone instead).
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._listener_ready.wait(), _CONNECT_TIMEOUT_SECONDS)

    def _on_notification(
        self, _connection: Any, _pid: int, channel: str, _payload: object
    ) -> None:
        self._wake(channel.removeprefix(_CHANNEL_PREFIX))

    def _wake(self, topic: str) -> None:
        for wake in list(self._listeners.get(topic, ())):
            wake()

    async def _keep_listening(self) -> None:
        first = True
        while True:
            try:
                connection = await asyncpg.connect(
                    self._db.dsn, timeout=_CONNECT_TIMEOUT_SECONDS
                )
            except _CONNECTION_ERRORS as exc:
                logger.warning("wake-ups: cannot connect (%s)", type(exc).__name__)
                await asyncio.sleep(_RECONNECT_SECONDS)
                continue
            lost = asyncio.Event()
            connection.add_termination_listener(lambda _connection, event=lost: event.set())
            try:
                for topic in list(self._listeners):
                    await connection.add_listener(_channel(topic), self._on_notification)
            except _CONNECTION_ERRORS:
                await _close_quietly(connection)
                await asyncio.sleep(_RECONNECT_SECONDS)
                continue
            self._listener = connection
            self._listener_ready.set()
            if not first:
                # Whatever was notified while we were away: look once.
                for topic in list(self._listeners):
                    self._wake(topic)
            first = False
            await self._watch(connection, lost)
            self._listener = None

    @staticmethod
    async def _watch(connection: asyncpg.Connection[Any], lost: asyncio.Event) -> None:
        """Until the session ends: a cheap query now and then notices a silent loss too."""
        while not lost.is_set():
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(lost.wait(), LEAD_CHECK_SECONDS * 5)
            if lost.is_set():
                break
            try:
                await asyncio.wait_for(connection.fetchval("SELECT 1"), _CONNECT_TIMEOUT_SECONDS)
            except _CONNECTION_ERRORS:
                break
        connection.terminate()

    async def close(self) -> None:
        task, self._listen_task = self._listen_task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        listener, self._listener = self._listener, None
        if listener is not None:
            await _close_quietly(listener)
        await self.resign()
        self._listeners.clear()


class PgSharedLimits:
    """Pacing, flood buckets and chat leases in the database (migrations 0002 and 0003)."""

    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def pace_take(
        self, chat: str, slot: float, interval: float, lead: float = 0.0
    ) -> tuple[float, bool]:
        row = await self._db.fetchrow(
            "SELECT * FROM am_pace_take($1, $2, $3, $4)", chat, slot, interval, lead
        )
        assert row is not None
        return float(row["wait"]), bool(row["chat_only"])

    async def pace_pause(self, seconds: float) -> float:
        return float(await self._db.fetchval("SELECT am_pace_pause($1)", seconds))

    async def pace_paused_for(self) -> float:
        return float(await self._db.fetchval("SELECT am_pace_paused_for()"))

    async def flood_reserve(self, user_id: int, burst: int, rate: float) -> tuple[float, bool]:
        row = await self._db.fetchrow(
            "SELECT * FROM am_flood_reserve($1, $2, $3)", user_id, float(burst), rate
        )
        assert row is not None
        return float(row["wait"]), bool(row["warn"])

    async def chat_lock(self, key: str, holder: str, lease_seconds: float) -> bool:
        taken = await self._db.fetchval(
            "SELECT am_chat_lock($1, $2, $3)", key, holder, lease_seconds
        )
        return bool(taken)

    async def chat_unlock(self, key: str, holder: str) -> None:
        await self._db.execute(
            "DELETE FROM chat_locks WHERE key = $1 AND holder = $2", key, holder
        )


async def _close_quietly(connection: asyncpg.Connection[Any]) -> None:
    try:
        await asyncio.wait_for(connection.close(), _CONNECT_TIMEOUT_SECONDS)
    except (*_CONNECTION_ERRORS, asyncio.CancelledError):
        connection.terminate()
