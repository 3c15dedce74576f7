"""Filters that read an /intake command or load the alert a button names, so the handlers
neither parse nor check access by hand."""

from __future__ import annotations

from typing import Any

from aiogram.filters import CommandObject, Filter
from aiogram.types import CallbackQuery, Message

from bot.callbacks import AlertAction
from bot.context import UserContext
from bot.domain.text import clean_line
from bot.services.alerts import Access
from bot.services.catalog import Services
from storage.interfaces import Storage

ROTATE = frozenset({"rotate", "new", "сменить", "новый", "новые"})
MINE = frozenset({"me", "my", "mine", "мой", "мою", "личный"})
TEAM = frozenset({"team", "команда", "командный", "команды"})
_ROTATE_WHICH = frozenset({"", "all", "все", "оба"}) | MINE | TEAM


class OwnAlert(Filter):
    """The alert a button names, handed over as ``alert``, when the presser may answer it or
    open it now (AlertService.access: a team's alert, its current members; a personal one,
    its owner and their backup). Otherwise False."""

    wanted = Access.ALLOWED

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: AlertAction,
        user: UserContext,
        repos: Storage,
        services: Services,
    ) -> bool | dict[str, Any]:
        alert = await repos.alerts.get(callback_data.id)
        if alert is None or await services.alerts.access(user.id, alert) is not self.wanted:
            return False
        return {"alert": alert}


class FormerTeamAlert(OwnAlert):
    """A team's alert whose team the presser has left: they are told so, not that the button
    expired (having been paged once grants nothing after leaving)."""

    wanted = Access.LEFT_TEAM


class IntakeRotation(Filter):
    """/intake rotate [me|team] (or all, or nothing): handed over as ``only_mine`` and
    ``only_team``; neither means the user's own address and, if they lead, the team's."""

    async def __call__(self, message: Message, command: CommandObject) -> bool | dict[str, Any]:
        verb, _sep, which = clean_line(command.args or "").lower().partition(" ")
        which = which.strip()
        if verb not in ROTATE or which not in _ROTATE_WHICH:
            return False
        return {"only_mine": which in MINE, "only_team": which in TEAM}


class AnyArgument(Filter):
    """The command has an argument (beyond spaces)."""

    async def __call__(self, message: Message, command: CommandObject) -> bool:
        return bool(clean_line(command.args or ""))
