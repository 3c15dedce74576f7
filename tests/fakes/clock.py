"""The tests' one fake clock: the app's wall clock (``now()``) and the sender's and flood
control's ``monotonic()``/``sleep()``, all standing still until the test or a sleeper moves them.

A ``FakeClock`` is a ``bot.clock.FrozenClock``, so it goes wherever a ``Clock`` does. Time moves
in two ways:

- ``advance(delta)`` moves the wall clock and the monotonic clock together (a float is
  seconds); ``set(moment)`` moves only the wall clock, as a system clock adjustment would;
- ``sleep(delay)``: by default the sleeper moves time forward by ``delay`` at once and yields,
  so every wait of the code under test costs no real time and the times it records are exact.
  With ``sleepers_wait=True`` a sleeper waits instead until the test moves time past its
  wake-up (``advance`` or ``wake_next``), so the test can see who is waiting (``sleeping``).
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
from datetime import UTC, datetime, timedelta

from bot.clock import FrozenClock

# Thursday 26 November 2026, 14:37 in Moscow: "now" of the tests unless one says otherwise.
NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)


class FakeClock(FrozenClock):
    def __init__(self, moment: datetime = NOW, *, sleepers_wait: bool = False) -> None:
        super().__init__(moment)
        self._monotonic = 0.0
        self._sleepers_wait = sleepers_wait
        # (wake-up time, arrival order, future): the earliest wake-up first, ties in order.
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def monotonic(self) -> float:
        return self._monotonic

    async def sleep(self, delay: float) -> None:
        if not self._sleepers_wait:
            self._move_to(self._monotonic + max(delay, 0.0))
            await asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._monotonic + delay, next(self._order), future))
        await future

    @property
    def sleeping(self) -> int:
        """How many sleepers are waiting for time to move (``sleepers_wait=True`` only)."""
        return len(self._sleepers)

    def advance(self, delta: timedelta | float) -> None:
        """Move both clocks forward and wake every sleeper due by then."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else delta
        self._move_to(self._monotonic + seconds)

    def wake_next(self) -> None:
        """Jump to the earliest wake-up and wake whoever is due then."""
        self._move_to(max(self._monotonic, self._sleepers[0][0]))

    def _move_to(self, monotonic: float) -> None:
        # Set, not summed, so a sleeper's wake-up time is reached exactly.
        super().advance(timedelta(seconds=monotonic - self._monotonic))
        self._monotonic = monotonic
        while self._sleepers and self._sleepers[0][0] <= self._monotonic:
            _, _, future = heapq.heappop(self._sleepers)
            future.set_result(None)
