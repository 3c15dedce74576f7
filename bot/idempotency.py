"""Each Telegram update is applied at most once, even when Telegram delivers it again.

Telegram redelivers an update when it did not get the webhook's 200 or the next getUpdates
offset, e.g. after a kill -9 between our commit and the answer: the note, task or invoice
would be made twice. The middleware skips an update that storage has recorded as applied,
and opens a mark around the others, so the first write an update commits records it in the
same transaction (storage/update_marks.py). An update that writes nothing is not recorded:
it is harmless to repeat. Records are kept for a week (Telegram redelivers within a day and
picks update ids at random after a week of silence), then pruned on the reminder sweep.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject, Update

from bot.clock import Clock
from bot.middlewares import Handler
from storage import update_marks
from storage.errors import UpdateAlreadyAppliedError
from storage.interfaces import AppliedUpdateRepo

logger = logging.getLogger(__name__)

KEEP_APPLIED = timedelta(days=7)
PRUNE_EVERY = timedelta(hours=1)


class ApplyOnceMiddleware(BaseMiddleware):
    """Outer update middleware: skip an update applied before; record the others' writes."""

    def __init__(self, updates: AppliedUpdateRepo, clock: Clock) -> None:
        self._updates = updates
        self._clock = clock

    async def __call__(
        self, handler: Handler, event: TelegramObject, data: dict[str, Any]
    ) -> Any:
        assert isinstance(event, Update)
        bot: Bot = data["bot"]
        if await self._updates.applied(bot.id, event.update_id):
            self._skipped(event.update_id)
            return None
        with update_marks.marking(bot.id, event.update_id, self._clock.now()):
            try:
                return await handler(event, data)
            except UpdateAlreadyAppliedError:
                # A second delivery raced the first; its write was rolled back.
                self._skipped(event.update_id)
                return None

    @staticmethod
    def _skipped(update_id: int) -> None:
        logger.info("update %s was applied before (delivered again): skipped", update_id)


class PruneAppliedUpdates:
    """The periodic job: forget applied updates older than KEEP_APPLIED, once an hour."""

    def __init__(self, updates: AppliedUpdateRepo, clock: Clock) -> None:
        self._updates = updates
        self._clock = clock
        self._last: datetime | None = None

    async def run(self) -> int:
        now = self._clock.now()
        if self._last is not None and self._last <= now < self._last + PRUNE_EVERY:
            return 0
        self._last = now
        pruned = await self._updates.prune(now - KEEP_APPLIED)
        if pruned:
            logger.info("forgot %d applied update(s) older than %d days", pruned,
                        KEEP_APPLIED.days)
        return pruned
