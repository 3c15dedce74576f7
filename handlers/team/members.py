"""The lead's buttons on a member: remove them, or make them the lead.

Both replace the team's intake address: whatever the person who lost a role knew stops
working. The Teammate filter has checked that the presser leads the team and the member is
in it; a change that raced another press answers as an expired button.
"""

from __future__ import annotations

from aiogram import Bot, html
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.services.intake_address import new_intake_secret, team_address
from bot.settings import Settings
from bot.views.handovers import tell, tell_handover_partners
from bot.views.replies import edit_or_send
from handlers.buttons import button_expired
from handlers.team.views import ended_for_leaver, partners, team_listing
from storage.interfaces import Storage, UserRepo
from storage.models import Team, UserProfile


async def remove_member(
    query: CallbackQuery,
    callback_answer: CallbackAnswer,
    team: Team,
    mate: UserProfile,
    repos: Storage,
    clock: Clock,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    departure = await repos.teams.remove_member(
        team.id, mate.id, now=clock.now(), new_secret=new_intake_secret()
    )
    if departure is None:
        await button_expired(query, callback_answer)
        return
    address = html.code(html.quote(team_address(settings, departure.team)))
    done = "\n".join([
        _("{name} is no longer in the team.").format(name=html.quote(mate.display_name)),
        _("The team's intake address is replaced (the old one answers 403): "
          "{url}").format(url=address),
    ])
    lead_name, team_name = await _names(repos.users, team)
    people = await repos.users.display_names(partners(departure))

    def removed_text() -> str:
        removed = _("{lead} removed you from the team {team}.").format(
            lead=lead_name, team=team_name
        )
        return "\n".join([removed, *ended_for_leaver(departure, mate.id, people)])

    await tell(bot, i18n, settings, mate, removed_text)
    await tell_handover_partners(bot, i18n, settings, repos.users, departure.ended, mate)
    listing = await team_listing(
        departure.team, repos.teams, team.lead_id, clock.now(), settings
    )
    await edit_or_send(query, done + "\n\n" + listing)


async def make_lead(
    query: CallbackQuery,
    callback_answer: CallbackAnswer,
    team: Team,
    mate: UserProfile,
    repos: Storage,
    clock: Clock,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    updated = (
        await repos.teams.get(team.id)
        if await repos.teams.set_lead(team.id, mate.id, new_intake_secret())
        else None
    )
    if updated is None:
        await button_expired(query, callback_answer)
        return
    name = html.quote(mate.display_name)
    done = "\n".join([
        _("{name} now leads the team.").format(name=name),
        _("The team's intake address is replaced (the old one answers 403); {name} "
          "has the new one: /intake.").format(name=name),
    ])
    address = html.code(html.quote(team_address(settings, updated)))
    lead_name, team_name = await _names(repos.users, team)

    def lead_text() -> str:
        return _("{lead} made you the lead of the team {team}. The team's intake "
                 "address is new, put it into the team's monitoring: {url} "
                 "(/intake shows it again).").format(lead=lead_name, team=team_name, url=address)

    await tell(bot, i18n, settings, mate, lead_text)
    # The one who pressed (the lead until now) sees the team as it is now.
    listing = await team_listing(updated, repos.teams, team.lead_id, clock.now(), settings)
    await edit_or_send(query, done + "\n\n" + listing)


async def _names(users: UserRepo, team: Team) -> tuple[str, str]:
    """The (former) lead's and the team's names, escaped, for the member's message."""
    lead = await users.get(team.lead_id)
    return html.quote(lead.display_name if lead is not None else "?"), html.quote(team.name)
