"""/backup: who gets your unanswered alerts (a teammate; without a team, anyone known)."""

from __future__ import annotations

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TeamOp
from bot.context import UserContext
from bot.domain.text import clean_line
from bot.views.render import shorten
from bot.views.replies import edit_or_send
from handlers.team.filters import USERNAME, find_teammate
from handlers.team.keyboards import people_keyboard
from storage.interfaces import Storage
from storage.models import Team, UserProfile

NAME_LIMIT = 64


def chosen_text(mate: UserProfile) -> str:
    return _("{name} is your backup: your unanswered alerts go to them.").format(
        name=html.quote(mate.display_name)
    )


async def backup_off(message: Message, user: UserContext, repos: Storage) -> None:
    """/backup off"""
    await repos.users.set_backup(user.id, None)
    await message.answer(_("No backup now: unanswered alerts go to the lead."))


async def pick_backup(message: Message, team: Team, user: UserContext, repos: Storage) -> None:
    """/backup alone, in a team: a button per teammate."""
    members = [m for m in await repos.teams.members(team.id) if m.id != user.id]
    if not members:
        await message.answer(_("There is nobody else in the team yet: /team invite"))
        return
    await message.answer(
        _("Who gets your alerts when you do not answer?"),
        reply_markup=people_keyboard(members, TeamOp.BACKUP),
    )


async def backup_usage(message: Message) -> None:
    """/backup alone, without a team."""
    await message.answer(
        _("Name your backup: <code>/backup @colleague</code> (they must have written "
          "to me once). <code>/backup off</code> removes it.")
    )


async def set_backup(
    message: Message, command: CommandObject, user: UserContext, repos: Storage
) -> None:
    """/backup @colleague"""
    arg = clean_line(command.args or "")
    team = await repos.teams.team_of(user.id)
    if team is not None:
        mate = await find_teammate(repos.users, repos.teams, team, arg)
    else:
        # Without a team, anyone who has written to the bot can be the backup.
        match = USERNAME.fullmatch(arg)
        mate = await repos.users.by_username(match.group(1)) if match else None
    if mate is None or mate.id == user.id:
        # Echoed shortened: the argument can be a whole message long (4,096 characters).
        shown = html.quote(shorten(arg, NAME_LIMIT))
        await message.answer(
            _("{name} is not a teammate I know. They must be in your team and have "
              "written to me once.").format(name=shown)
            if team is not None
            else _("I do not know {name}: they must write to me once first.").format(
                name=shown
            )
        )
        return
    await repos.users.set_backup(user.id, mate.id)
    await message.answer(chosen_text(mate))


async def backup_chosen(
    query: CallbackQuery, mate: UserProfile, user: UserContext, repos: Storage
) -> None:
    """A teammate's button under /backup (the Teammate filter found them in the team)."""
    await repos.users.set_backup(user.id, mate.id)
    await edit_or_send(query, chosen_text(mate))
