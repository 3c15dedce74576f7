"""Who is paged for an alert, step by step: the account manager (or whoever covers their
client during a handover), their backup, the team lead, then everyone in the team.

Computed afresh at every step from the database, so a removed member or a handover that
started meanwhile takes effect at once.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from bot.domain.escalation import StepRole
from storage.interfaces import TeamRepo, UserRepo
from storage.models import Alert, Team, UserProfile

PersonLookup = Callable[[int | None], Awaitable[UserProfile | None]]


@dataclass(frozen=True, slots=True)
class Step:
    role: StepRole
    people: tuple[UserProfile, ...]


class AlertRouter:
    def __init__(self, users: UserRepo, teams: TeamRepo) -> None:
        self._users = users
        self._teams = teams

    async def chain(self, alert: Alert, now: datetime) -> list[Step]:
        team = await self._teams.get(alert.team_id) if alert.team_id is not None else None
        members = {m.id: m for m in await self._teams.members(team.id)} if team else {}

        async def person(user_id: int | None) -> UserProfile | None:
            if user_id is None:
                return None
            if team is not None:
                return members.get(user_id)  # only teammates are paged for team alerts
            return await self._users.get(user_id)

        primary, role = await self._primary(alert, team, person, now)
        steps: list[Step] = []
        seen: set[int] = set()

        def add(step_role: StepRole, people: list[UserProfile | None]) -> None:
            fresh = tuple(p for p in people if p is not None and p.id not in seen)
            if fresh:
                seen.update(p.id for p in fresh)
                steps.append(Step(step_role, fresh))

        add(role, [primary])
        if primary is not None and primary.backup_id is not None:
            add(StepRole.BACKUP, [await person(primary.backup_id)])
        if team is not None:
            add(StepRole.LEAD, [members.get(team.lead_id)])
            if team.escalate_to_all:
                add(StepRole.ALL, list(members.values()))
        return steps

    async def _primary(
        self, alert: Alert, team: Team | None, person: PersonLookup, now: datetime
    ) -> tuple[UserProfile | None, StepRole]:
        if alert.owner_id is not None:
            cover = await self._teams.covering(alert.owner_id, alert.client_id, now)
            if cover is not None:
                covering = await person(cover.to_user_id)
                if covering is not None:
                    return covering, StepRole.COVER
            owner = await person(alert.owner_id)
            if owner is not None:
                return owner, StepRole.OWNER
        if team is not None:
            # No client, an unknown client, or its manager left the team.
            return await person(team.lead_id), StepRole.LEAD
        return None, StepRole.OWNER
