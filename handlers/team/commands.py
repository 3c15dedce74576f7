"""/start join-<code> and the /team verbs: new, invite, overdue, remove, lead, all, leave.

Which verb reaches which handler (and whether the user must lead the team) is decided by
the filters in ``router``; each handler here does one verb.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from aiogram import Bot, html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TeamOp
from bot.clock import Clock
from bot.context import UserContext
from bot.services.catalog import Services
from bot.services.intake_address import new_intake_secret
from bot.settings import Settings
from bot.views.handovers import tell, tell_handover_partners
from bot.views.render import task_line
from bot.views.replies import send_long
from handlers.team.keyboards import people_keyboard
from handlers.team.views import (
    ended_for_leaver,
    escalation_text,
    partners,
    team_listing,
    usage,
)
from storage.errors import AlreadyInTeamError
from storage.interfaces import Storage, TeamRepo
from storage.models import Team

INVITE_LIFETIME = timedelta(hours=48)
NAME_LIMIT = 64
OVERDUE_PER_PERSON = 10
_OFF = frozenset({"off", "выкл", "нет", "no"})

# ---------------------------------------------------------------------- joining


async def join(
    message: Message,
    command: CommandObject,
    user: UserContext,
    repos: Storage,
    clock: Clock,
    bot: Bot,
    i18n: I18n,
    settings: Settings,
) -> None:
    """/start join-<code>: an invite link opened."""
    code = (command.args or "").removeprefix("join-")
    try:
        team = await repos.teams.join_by_invite(code, user.id, clock.now())
    except AlreadyInTeamError:
        current = await repos.teams.team_of(user.id)
        await message.answer(
            _("You are already in the team {name}.").format(
                name=html.quote(current.name if current else "?")
            )
        )
        return
    if team is None:
        await message.answer(
            _("This invite link is used up or has expired. Ask your lead for a new one.")
        )
        return
    await message.answer(
        _("Welcome to the team {name}! Alerts about your clients now escalate to your "
          "backup and the lead if you miss them. /team shows everyone.").format(
            name=html.quote(team.name)
        )
    )
    profile = await repos.users.get(user.id)
    lead = await repos.users.get(team.lead_id)
    if lead is not None and profile is not None:
        name, team_name = html.quote(profile.display_name), html.quote(team.name)
        # In the lead's language, and a lead who blocked the bot does not fail the join.
        await tell(
            bot, i18n, settings, lead,
            lambda: _("{name} joined the team {team}.").format(name=name, team=team_name),
        )


# ---------------------------------------------------------------------- anyone


async def create_team(
    message: Message, rest: str, user: UserContext, repos: Storage, clock: Clock
) -> None:
    """/team new Agency"""
    name = rest.strip()
    if not name:
        await message.answer(_("Name the team: <code>/team new Agency</code>"))
        return
    if len(name) > NAME_LIMIT:
        await message.answer(
            _("A team name is at most {limit} characters.").format(limit=NAME_LIMIT)
        )
        return
    try:
        team = await repos.teams.create(user.id, name, new_intake_secret(), clock.now())
    except AlreadyInTeamError:
        await message.answer(_("You are in a team already: /team"))
        return
    await message.answer(
        _("Team {name} is created and you lead it. Invite colleagues: /team invite").format(
            name=html.quote(team.name)
        )
    )


async def show_team(
    message: Message, team: Team, user: UserContext, repos: Storage, clock: Clock,
    settings: Settings,
) -> None:
    """/team alone."""
    await message.answer(await team_listing(team, repos.teams, user.id, clock.now(), settings))


async def unknown_verb(message: Message) -> None:
    await message.answer(usage())


async def no_team(message: Message) -> None:
    await message.answer(_("You are not in a team yet.") + "\n" + usage())


# ---------------------------------------------------------------------- members


async def leave(
    message: Message,
    team: Team,
    user: UserContext,
    repos: Storage,
    clock: Clock,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """/team leave (not the lead): handovers to and from them end with it."""
    departure = await repos.teams.remove_member(
        team.id, user.id, now=clock.now(), new_secret=None
    )
    lines = [_("You left the team {name}.").format(name=html.quote(team.name))]
    leaver = await repos.users.get(user.id)
    if departure is None or leaver is None:
        await message.answer("\n".join(lines))
        return
    people = await repos.users.display_names(partners(departure))
    lines += ended_for_leaver(departure, user.id, people)
    await message.answer("\n".join(lines))
    await tell_handover_partners(bot, i18n, settings, repos.users, departure.ended, leaver)


async def lead_cannot_leave(message: Message) -> None:
    await message.answer(_("You lead the team: make someone else lead first (/team lead)."))


async def only_lead_invites(message: Message) -> None:
    await message.answer(_("Only the team lead can invite."))


async def only_lead_sees_overdue(message: Message) -> None:
    await message.answer(_("Only the team lead sees everyone's overdue tasks."))


async def only_lead(message: Message) -> None:
    await message.answer(_("Only the team lead can do that."))


# ---------------------------------------------------------------------- the lead


async def invite(
    message: Message, team: Team, user: UserContext, repos: Storage, clock: Clock, bot: Bot
) -> None:
    """/team invite: a link that adds one person within 48 hours."""
    code = secrets.token_urlsafe(12)
    await repos.teams.create_invite(code, team.id, user.id, clock.now() + INVITE_LIFETIME)
    me = await bot.me()
    link = f"https://t.me/{me.username}?start=join-{code}"
    await message.answer(
        _("Send this link to a colleague. It adds one person and works for 48 hours:"
          "\n{link}").format(link=html.quote(link))
    )


async def overdue(
    message: Message,
    team: Team,
    user: UserContext,
    repos: Storage,
    services: Services,
    clock: Clock,
) -> None:
    """/team overdue: everyone's overdue tasks, a few per person."""
    now = clock.now()
    tasks = services.tasks
    lines = ["⏰ " + html.bold(_("Overdue in the team {name}").format(
        name=html.quote(team.name)))]
    total = 0
    for member in await repos.teams.members(team.id):
        count = await tasks.count_overdue(member.id, now)
        total += count
        lines.append("")
        lines.append(
            html.bold(html.quote(member.display_name)) + " · "
            + _("{count} overdue").format(count=count)
        )
        for task in await tasks.overdue(member.id, now, limit=OVERDUE_PER_PERSON):
            lines.append(task_line(task, user.tz, user.locale, now, with_day=True))
        if count > OVERDUE_PER_PERSON:
            lines.append(_("… and {count} more").format(count=count - OVERDUE_PER_PERSON))
    if total == 0:
        lines.append(_("Nothing overdue in the team. 👌"))
    await send_long(message, "\n".join(lines), None)


async def ask_removal(message: Message, team: Team, user: UserContext, repos: Storage) -> None:
    """/team remove: a button per member."""
    await pick_member(message, team, user, repos.teams, TeamOp.REMOVE)


async def ask_new_lead(message: Message, team: Team, user: UserContext, repos: Storage) -> None:
    """/team lead: a button per member."""
    await pick_member(message, team, user, repos.teams, TeamOp.LEAD)


async def pick_member(
    message: Message, team: Team, user: UserContext, teams: TeamRepo, op: TeamOp
) -> None:
    members = [m for m in await teams.members(team.id) if m.id != user.id]
    if not members:
        await message.answer(_("There is nobody else in the team yet: /team invite"))
        return
    prompt = (
        _("Whom to remove from the team?") if op is TeamOp.REMOVE else _("Who becomes the lead?")
    )
    await message.answer(prompt, reply_markup=people_keyboard(members, op))


async def escalate_to_all(message: Message, rest: str, team: Team, repos: Storage) -> None:
    """/team all on|off: whether unanswered alerts finally page the whole team."""
    enabled = rest.strip().lower() not in _OFF
    await repos.teams.set_escalate_to_all(team.id, enabled)
    await message.answer(escalation_text(enabled))
