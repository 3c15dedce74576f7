"""Which Telegram update the current writes belong to, so a redelivered one is applied once.

The bot's update middleware opens a mark (`marking`) around each update; the backend's
write path reads it (`pending`) and records ``(bot_id, update_id)`` in the same transaction
as the first write that changes something. Telegram redelivers an update whose HTTP answer
(webhook) or offset confirmation (polling) was lost, e.g. after a kill -9 right after the
commit; the middleware then finds the record and skips it.

A context variable rather than a parameter: every repository write would otherwise need it,
and nothing above storage/ learns how the record is kept.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime


@dataclass(slots=True)
class UpdateMark:
    bot_id: int
    update_id: int
    at: datetime  # when the update was handled (UTC): the record's age for pruning
    recorded: bool = False  # a committed transaction holds the record
    # Closed when the update's handling ends: a task it started (and which inherited the
    # context) must not record it later.
    open: bool = True


_current: ContextVar[UpdateMark | None] = ContextVar("update_mark", default=None)


@contextmanager
def marking(bot_id: int, update_id: int, at: datetime) -> Iterator[UpdateMark]:
    """Writes made inside record the update (once) with the first change they commit."""
    mark = UpdateMark(bot_id, update_id, at)
    token = _current.set(mark)
    try:
        yield mark
    finally:
        mark.open = False
        _current.reset(token)


@contextmanager
def unmarked() -> Iterator[None]:
    """Writes made inside do not record the update: they set a value that repeating sets
    again (profile upkeep, leaving a prompt), so the update's real write still counts."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


def pending() -> UpdateMark | None:
    """The mark a committing write should record, if any (open and not recorded yet)."""
    mark = _current.get()
    if mark is None or not mark.open or mark.recorded:
        return None
    return mark
