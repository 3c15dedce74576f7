"""Filters that read a team command's words or load what a team button names, so the
handlers neither parse verbs nor check membership by hand."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiogram.filters import CommandObject, Filter
from aiogram.types import CallbackQuery, Message, TelegramObject

from bot.callbacks import TeamAction
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.dates import DateParser
from bot.domain.task_input import split_client_prefix
from bot.domain.text import clean_line
from storage.interfaces import Storage, TeamRepo, UserRepo
from storage.models import Team, UserProfile

USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")
_UNTIL = re.compile(r"^(until|till|до|по)\s+", flags=re.IGNORECASE)


async def find_teammate(
    users: UserRepo, teams: TeamRepo, team: Team, handle: str
) -> UserProfile | None:
    """The team member with this @username (written with or without the @)."""
    match = USERNAME.fullmatch(handle.strip())
    if match is None:
        return None
    person = await users.by_username(match.group(1))
    if person is None:
        return None
    members = {m.id for m in await teams.members(team.id)}
    return person if person.id in members else None


class Verb(Filter):
    """The command's first word is one of ``verbs`` (any case; "" is no word at all); the
    words after it are handed over as ``rest``."""

    def __init__(self, *verbs: str) -> None:
        self.verbs = frozenset(verbs)

    async def __call__(
        self, event: TelegramObject, command: CommandObject
    ) -> bool | dict[str, Any]:
        verb, _sep, rest = clean_line(command.args or "").partition(" ")
        return {"rest": rest} if verb.lower() in self.verbs else False


class Argument(Filter):
    """The command's whole argument is one of ``words`` (any case; "" is none)."""

    def __init__(self, *words: str) -> None:
        self.words = frozenset(words)

    async def __call__(self, event: TelegramObject, command: CommandObject) -> bool:
        return clean_line(command.args or "").lower() in self.words


class InTeam(Filter):
    """The user's team, handed over as ``team``; False when they are in none.

    ``leads``: True, only if they lead it; False, only if they do not."""

    def __init__(self, *, leads: bool | None = None) -> None:
        self.leads = leads

    async def __call__(
        self, event: TelegramObject, user: UserContext, repos: Storage
    ) -> bool | dict[str, Any]:
        team = await repos.teams.team_of(user.id)
        if team is None or self.leads not in (None, team.lead_id == user.id):
            return False
        return {"team": team}


class Teammate(Filter):
    """The member a button names, someone other than the presser in the presser's team:
    handed over as ``mate``, with that ``team``. ``lead_only``: only the lead may press it.

    False (the press then falls to ``button_expired``) when the presser left the team, no
    longer leads it, or the member is gone from it."""

    def __init__(self, *, lead_only: bool) -> None:
        self.lead_only = lead_only

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: TeamAction,
        user: UserContext,
        repos: Storage,
    ) -> bool | dict[str, Any]:
        team = await repos.teams.team_of(user.id)
        if team is None or (self.lead_only and team.lead_id != user.id):
            return False
        mate = await repos.users.get(callback_data.id)
        members = {m.id for m in await repos.teams.members(team.id)}
        if mate is None or mate.id not in members or mate.id == user.id:
            return False
        return {"team": team, "mate": mate}


@dataclass(frozen=True, slots=True)
class HandoverRequest:
    """/handover [Client:] @teammate until <when>, read."""

    mate: UserProfile
    client_query: str | None  # None: all the owner's clients
    ends: datetime


class HandoverTo(Filter):
    """A /handover that names a teammate (not the user) in the user's ``team``: hands over
    ``mate``, ``client_query`` and the ``until`` text."""

    async def __call__(
        self,
        message: Message,
        command: CommandObject,
        user: UserContext,
        team: Team,
        repos: Storage,
    ) -> bool | dict[str, Any]:
        client_query, rest = split_client_prefix(clean_line(command.args or ""))
        handle, _sep, until = rest.partition(" ")
        mate = await find_teammate(repos.users, repos.teams, team, handle)
        if mate is None or mate.id == user.id:
            return False
        return {"mate": mate, "client_query": client_query, "until": until}


class HandoverUntil(Filter):
    """After :class:`HandoverTo`: the ``until`` text is a moment in the future. Hands the
    whole ``request`` over."""

    async def __call__(
        self,
        message: Message,
        mate: UserProfile,
        client_query: str | None,
        until: str,
        user: UserContext,
        dates: DateParser,
        clock: Clock,
    ) -> bool | dict[str, Any]:
        when = _UNTIL.sub("", until.strip())
        if not when:
            return False
        now = clock.now()
        ends = dates.parse(
            when, tz=user.tz, now=now, morning_hour=user.morning_hour, locale=user.locale
        )
        if ends is None or ends <= now:
            return False
        return {"request": HandoverRequest(mate, client_query, ends)}
