"""/urgent raises an alert, /alerts lists them, /intake shows (or replaces) the addresses
outside systems raise them through."""

from __future__ import annotations

from datetime import timedelta

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.task_input import split_client_prefix
from bot.domain.text import clean_text
from bot.services.alerts import CLIENT_LIMIT, TEXT_LIMIT
from bot.services.catalog import Services
from bot.services.intake_address import new_intake_secret
from bot.settings import Settings
from bot.views.alert_render import alert_list_line, alert_ref
from bot.views.replies import send_long
from handlers.alerts.keyboards import log_keyboard
from handlers.alerts.views import client_of, intake_text, intake_usage, rotated_text, usage
from storage.interfaces import Storage
from storage.models import AlertSeverity, AlertSource

RECENT = timedelta(days=7)
LIST_LIMIT = 20


async def urgent(
    message: Message,
    command: CommandObject,
    user: UserContext,
    repos: Storage,
    services: Services,
) -> None:
    """/urgent [Client:] text"""
    raw = clean_text(command.args or "")
    if len(raw) > TEXT_LIMIT:
        await message.answer(
            _("That is too long for an alert: {limit} characters at most.").format(
                limit=TEXT_LIMIT
            )
        )
        return
    client_query, text = split_client_prefix(raw)
    if client_query is not None and len(client_query) > CLIENT_LIMIT:
        client_query, text = None, raw
    if not text:
        await message.answer(usage())
        return
    team = await repos.teams.team_of(user.id)
    raised = await services.alerts.raise_alert(
        team=team, owner_hint=user.id, raised_by=user.id, client_query=client_query,
        text=text, severity=AlertSeverity.URGENT, dedup_key=None, source=AlertSource.CHAT,
    )
    ref = alert_ref(raised.alert, raised.client)
    if not raised.created:
        await message.answer(
            "🔁 " + _("{alert} is already open: counted again ({count}×), nobody paged "
                      "twice.").format(alert=ref, count=raised.alert.count)
        )
        return
    lines = ["🚨 " + _("{alert} raised: paging now.").format(alert=ref)]
    if client_query is not None and raised.client is None:
        name = html.quote(client_query)
        lines.append(
            _("No client card named “{name}”: it goes to the team lead.").format(name=name)
            if team is not None
            else _("No client card named “{name}”: it is raised for you.").format(name=name)
        )
    lines.append(_("All alerts: /alerts"))
    await message.answer("\n".join(lines))


async def list_alerts(
    message: Message,
    user: UserContext,
    repos: Storage,
    services: Services,
    clock: Clock,
) -> None:
    """/alerts: open ones first, then the last 7 days, each with a button to its log."""
    scopes = await services.alerts.scopes_of(user.id)
    found = await repos.alerts.recent(scopes, clock.now() - RECENT, LIST_LIMIT)
    if not found:
        await message.answer(_("No open alerts, and none in the last 7 days. 👌")
                             + "\n" + usage())
        return
    paged = {a.id: [p.user_id for p in await repos.alerts.pages(a.id)] for a in found}
    people = await repos.users.display_names(
        {a.acked_by for a in found} | {a.resolved_by for a in found}
        | {uid for ids in paged.values() for uid in ids},
    )
    lines = [html.bold(_("Alerts: open first, then the last 7 days"))]
    for alert in found:
        client = await client_of(repos.clients, alert)
        lines.append(alert_list_line(alert, client, people, user.tz, paged[alert.id]))
    await send_long(message, "\n".join(lines), log_keyboard(found))


async def show_intake(
    message: Message, user: UserContext, repos: Storage, settings: Settings
) -> None:
    """/intake: the user's address, and the team's if they lead it."""
    team = await repos.teams.team_of(user.id)
    personal = await repos.users.intake_secret(user.id, new_intake_secret())
    await message.answer(intake_text(user, personal, team, settings))


async def rotate_intake(
    message: Message,
    only_mine: bool,
    only_team: bool,
    user: UserContext,
    repos: Storage,
    settings: Settings,
) -> None:
    """/intake rotate [me|team]: the old addresses stop working at once (they answer 403)."""
    team = await repos.teams.team_of(user.id)
    leads = team is not None and team.lead_id == user.id
    if only_team and not leads:
        await message.answer(_("Only the team lead can replace the team's address."))
        return
    mine, theirs = not only_team, leads and not only_mine
    if mine:
        await repos.users.rotate_intake_secret(user.id, new_intake_secret())
    if theirs and team is not None:
        team = await repos.teams.rotate_intake_secret(team.id, new_intake_secret()) or team
    personal = await repos.users.intake_secret(user.id, new_intake_secret())
    await message.answer(
        "🔑 " + rotated_text(mine=mine, team=theirs) + "\n"
        + intake_text(user, personal, team, settings)
    )


async def intake_help(message: Message) -> None:
    """/intake with words it does not know."""
    await message.answer(intake_usage())
