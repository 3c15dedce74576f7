"""/urgent raises an alert, /alerts lists them, and the alert buttons answer them."""

from __future__ import annotations

from datetime import timedelta

from aiogram import Router, html
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AlertAction
from bot.clock import Clock
from bot.context import UserContext
from bot.services.alert_render import alert_list_line, alert_log, alert_ref
from bot.services.alerts import (
    CLIENT_LIMIT,
    TEXT_LIMIT,
    Access,
    AlertService,
    Answer,
)
from bot.services.intake_address import new_intake_secret, team_address, user_address
from bot.services.task_input import split_client_prefix
from bot.services.text import clean_line, clean_text
from bot.settings import Settings
from handlers.replies import send_long, stale_button
from storage.interfaces import AlertRepo, ClientRepo, TeamRepo, UserRepo
from storage.models import Alert, AlertSeverity, AlertSource, Client

RECENT = timedelta(days=7)
LIST_LIMIT = 20


_ROTATE = {"rotate", "new", "сменить", "новый", "новые"}
_MINE = {"me", "my", "mine", "мой", "мою", "личный"}
_TEAM = {"team", "команда", "командный", "команды"}
_ROTATE_WHICH = {"", "all", "все", "оба"} | _MINE | _TEAM


def intake_usage() -> str:
    return _(
        "Leaked? <code>/intake rotate</code> issues new addresses (yours, and the team's if "
        "you lead it); <code>/intake rotate me</code> or <code>/intake rotate team</code> "
        "replaces only one."
    )


def rotated_text(*, mine: bool, team: bool) -> str:
    if mine and team:
        return _("Your address and the team's are replaced: the old ones stop working now "
                 "(they answer 403). Put the new ones into your monitoring.")
    if team:
        return _("The team's address is replaced: the old one stops working now (it answers "
                 "403). Put the new one into your monitoring.")
    return _("Your address is replaced: the old one stops working now (it answers 403). "
             "Put the new one into your monitoring.")


def left_team_text() -> str:
    return _(
        "You are no longer in this alert's team: only its members can answer it or open it."
    )


def usage() -> str:
    return _(
        "Raise an urgent alert: <code>/urgent Acme: site is down</code>. It pages the "
        "client's manager (or whoever covers a handover) and repeats until someone "
        "acknowledges it, then goes to the backup and the team lead."
    )


async def _client_of(clients: ClientRepo, alert: Alert) -> Client | None:
    if alert.client_id is None or alert.owner_id is None:
        return None
    return await clients.get(alert.owner_id, alert.client_id)


def create_router() -> Router:
    router = Router(name=__name__)

    @router.message(Command("urgent"))
    async def urgent(
        message: Message,
        command: CommandObject,
        user: UserContext,
        alert_service: AlertService,
        teams: TeamRepo,
    ) -> None:
        raw = clean_text(command.args or "")
        if not raw:
            await message.answer(usage())
            return
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
        team = await teams.team_of(user.id)
        raised = await alert_service.raise_alert(
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
            lines.append(
                _("No client card named “{name}”: it goes to the team lead.").format(
                    name=html.quote(client_query)
                )
                if team is not None
                else _("No client card named “{name}”: it is raised for you.").format(
                    name=html.quote(client_query)
                )
            )
        lines.append(_("All alerts: /alerts"))
        await message.answer("\n".join(lines))

    @router.message(Command("intake"))
    async def intake(
        message: Message,
        command: CommandObject,
        user: UserContext,
        teams: TeamRepo,
        users: UserRepo,
        settings: Settings,
    ) -> None:
        verb, _sep, which = clean_line(command.args or "").lower().partition(" ")
        which = which.strip()
        team = await teams.team_of(user.id)
        leads = team is not None and team.lead_id == user.id
        rotated = ""
        if verb in _ROTATE and which in _ROTATE_WHICH:
            if which in _TEAM and not leads:
                await message.answer(_("Only the team lead can replace the team's address."))
                return
            mine = which not in _TEAM
            theirs = leads and which not in _MINE
            if mine:
                await users.rotate_intake_secret(user.id, new_intake_secret())
            if theirs and team is not None:
                team = await teams.rotate_intake_secret(team.id, new_intake_secret()) or team
            rotated = rotated_text(mine=mine, team=theirs)
        elif verb:
            await message.answer(intake_usage())
            return
        personal = await users.intake_secret(user.id, new_intake_secret())
        lines = [
            html.bold(_("Alert intake for outside systems")),
            _("POST JSON {example} to:").format(
                example=html.code(
                    '{"client": "Acme", "text": "site down", "severity": "urgent", '
                    '"dedup_key": "acme-site"}'
                )
            ),
            _("• yours: {url}").format(
                url=html.code(html.quote(user_address(settings, user.id, personal)))
            ),
        ]
        if leads and team is not None:
            lines.append(
                _("• the team's: {url}").format(
                    url=html.code(html.quote(team_address(settings, team)))
                )
            )
        if settings.intake_port is None:
            lines.append(_("The intake is off on this server: set INTAKE_PORT to turn it on."))
        lines.append(_("Keep these addresses secret: anyone who has one can page you."))
        lines.append(intake_usage())
        if rotated:
            lines.insert(0, "🔑 " + rotated)
        await message.answer("\n".join(lines))

    @router.message(Command("alerts"))
    async def list_alerts(
        message: Message,
        user: UserContext,
        alert_service: AlertService,
        alerts: AlertRepo,
        clients: ClientRepo,
        users: UserRepo,
        clock: Clock,
    ) -> None:
        scopes = await alert_service.scopes_of(user.id)
        found = await alerts.recent(scopes, clock.now() - RECENT, LIST_LIMIT)
        if not found:
            await message.answer(_("No open alerts, and none in the last 7 days. 👌")
                                 + "\n" + usage())
            return
        paged = {a.id: [p.user_id for p in await alerts.pages(a.id)] for a in found}
        people = await users.display_names(
            {a.acked_by for a in found} | {a.resolved_by for a in found}
            | {uid for ids in paged.values() for uid in ids},
        )
        lines = [html.bold(_("Alerts: open first, then the last 7 days"))]
        buttons = []
        for alert in found:
            client = await _client_of(clients, alert)
            lines.append(alert_list_line(alert, client, people, user.tz, paged[alert.id]))
            buttons.append(
                InlineKeyboardButton(
                    text=f"📋 A{alert.id}",
                    callback_data=AlertAction(op="log", id=alert.id).pack(),
                )
            )
        rows = [buttons[i : i + 4] for i in range(0, len(buttons), 4)]
        await send_long(message, "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows))

    @router.callback_query(AlertAction.filter())
    async def answer_alert(
        query: CallbackQuery,
        callback_data: AlertAction,
        user: UserContext,
        alert_service: AlertService,
        alerts: AlertRepo,
        clients: ClientRepo,
        users: UserRepo,
        clock: Clock,
    ) -> None:
        op = callback_data.op
        if op == "log":
            alert = await alerts.get(callback_data.id)
            access = await alert_service.access(user.id, alert) if alert else Access.NOT_YOURS
            if access is Access.LEFT_TEAM:
                await query.answer(left_team_text(), show_alert=True)
                return
            if alert is None or access is not Access.ALLOWED:
                await stale_button(query)
                return
            events = await alerts.events(alert.id)
            people = await users.display_names(
                {e.actor_id for e in events}
                | {int(p) for e in events for p in e.detail.split(",") if p.isdigit()}
                | {alert.acked_by, alert.resolved_by},
            )
            client = await _client_of(clients, alert)
            await query.answer()
            if query.message is not None:
                await send_long(
                    query.message,  # type: ignore[arg-type]
                    alert_log(alert, client, events, people, user.tz, user.locale, clock.now()),
                    None,
                )
            return
        if op == "ack":
            result = await alert_service.acknowledge(callback_data.id, user.id)
        elif op == "resolve":
            result = await alert_service.resolve(callback_data.id, user.id)
        elif op == "snooze":
            result = await alert_service.snooze(callback_data.id, user.id)
        else:
            await stale_button(query)
            return
        if result.answer is Answer.LEFT_TEAM:
            await query.answer(left_team_text(), show_alert=True)
            return
        if result.answer in (Answer.GONE, Answer.NOT_YOURS):
            await stale_button(query)
            return
        alert = result.alert
        assert alert is not None
        people = await users.display_names({alert.acked_by, alert.resolved_by})
        if result.answer is Answer.ALREADY:
            if alert.resolved_by is not None:
                text = _("Already resolved by {name}.").format(
                    name=people.get(alert.resolved_by, "?")
                )
            elif alert.acked_by is not None and op != "resolve":
                text = _("Already acknowledged by {name}.").format(
                    name=people.get(alert.acked_by, "?")
                )
            else:
                text = _("This alert has changed; see the latest message.")
            await query.answer(text, show_alert=True)
            return
        texts = {
            "ack": _("Acknowledged: repeats stopped for everyone. Resolve it when done."),
            "resolve": _("Resolved. Thank you!"),
            "snooze": _("Snoozed for 15 minutes for everyone."),
        }
        await query.answer(texts[op])

    return router
