"""Per-update facts about the current user, built by UserMiddleware."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class UserContext:
    id: int
    tz: ZoneInfo
    locale: str
    morning_hour: int
    timezone_chosen: bool
