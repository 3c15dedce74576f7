"""The outbound pace shared by every worker on one database (bot/sender.py's PaceBudget over
storage's SharedLimits).

The store keeps the global slot schedule, a 429's pause and each chat's turn on its own clock
and answers in seconds from now; here they become moments on this sender's monotonic clock.
When the store cannot be asked (the database is down), this process paces itself alone with
a MemoryBudget at the same rates until the store answers again (one log line per outage):
Telegram's own 429s, which pause everyone, still bound what several workers might overshoot.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable

from bot.outage import OutageLog
from bot.sender import GLOBAL_RATE, PER_CHAT_INTERVAL, ChatKey, MemoryBudget, Refusal
from storage.errors import StorageError
from storage.interfaces import SharedLimits

logger = logging.getLogger(__name__)

# How early a global slot may be taken (seconds); see migration 0002's am_pace_take.
LEAD = 0.015
# How much later than granted a request may reach Telegram, relative to the next one.
JITTER = 0.035
# The same room for one chat's turn, wider: it costs no throughput (another chat's message
# goes in the meantime), and a request held up after its grant (the event loop busy rendering
# a batch of reminders, the database answering late on a loaded machine) by more than 35 ms
# met the chat's next message at Telegram under a second after it (bench_workers: 3 chat 429s
# in 30,000 reminders with 35 ms).
CHAT_MARGIN = 0.25


class SharedBudget:
    def __init__(
        self,
        limits: SharedLimits,
        *,
        global_rate: float = GLOBAL_RATE,
        per_chat_interval: float = PER_CHAT_INTERVAL,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._limits = limits
        self._local = MemoryBudget(global_rate=global_rate, per_chat_interval=per_chat_interval)
        # Slots are taken up to LEAD early (this sender asks a few milliseconds late each
        # time: the round trip, the event loop), so lateness does not push every later slot
        # back; each slot is (LEAD + JITTER)/30 s longer, so no second holds a 31st message
        # even when a granted request reaches Telegram up to JITTER later than the next one
        # (several processes, several connections: measured 10 x 429 in a 10,000 burst with
        # two workers without it).
        self._slot = (
            0.0 if math.isinf(global_rate) else (1.001 + LEAD + JITTER) / global_rate
        )
        self._per_chat_interval = per_chat_interval
        self._monotonic = monotonic
        self._outage = OutageLog(logger, what="shared outbound pace", retrying="on every send")

    async def try_take(self, chat: ChatKey, now: float) -> Refusal | None:
        try:
            # A chat's turn leaves the same room for requests reaching Telegram out of step.
            wait, chat_only = await self._limits.pace_take(
                str(chat), self._slot, self._per_chat_interval + CHAT_MARGIN, LEAD
            )
        except StorageError as exc:
            self._outage.failed(exc, "taking a send slot failed; pacing this process alone")
            return await self._local.try_take(chat, now)
        self._outage.recovered()
        if wait <= 0:
            return None
        return Refusal(now + wait, chat_only=chat_only)

    async def pause(self, until: float) -> None:
        await self._local.pause(until)
        try:
            await self._limits.pace_pause(until - self._monotonic())
        except StorageError as exc:
            self._outage.failed(exc, "sharing a 429 pause failed; pausing this process")

    async def paused_until(self) -> float:
        # Asked just before each request goes out: a database round trip here would hold
        # the request a varying few milliseconds after its slot was granted, and requests
        # reaching Telegram out of step make a 31st in some second. This process's own 429s
        # are known here at once; another process's pause reaches us with the next slot we
        # ask for (am_pace_take refuses during it).
        return await self._local.paused_until()
