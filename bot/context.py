"""Per-update facts about the current user, built by UserMiddleware."""

from __future__ import annotations

from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from storage.models import TaskKind, WorkingHours


@dataclass(frozen=True, slots=True)
class UserContext:
    id: int
    tz: ZoneInfo
    locale: str
    morning_hour: int
    timezone_chosen: bool
    ahead_defaults: dict[TaskKind, int] = field(default_factory=dict)
    # Working hours, so a confirmation can say when a held reminder will come.
    hours: WorkingHours | None = None
