"""What the alerts feature says: usage, the intake addresses, and the answers to a press."""

from __future__ import annotations

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.callbacks import AlertOp
from bot.context import UserContext
from bot.services.intake_address import team_address, user_address
from bot.settings import Settings
from storage.interfaces import ClientRepo
from storage.models import Alert, Client, Team


def usage() -> str:
    return _(
        "Raise an urgent alert: <code>/urgent Acme: site is down</code>. It pages the "
        "client's manager (or whoever covers a handover) and repeats until someone "
        "acknowledges it, then goes to the backup and the team lead."
    )


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


def intake_text(
    user: UserContext, personal_secret: str, team: Team | None, settings: Settings
) -> str:
    """/intake: where outside systems POST alerts (the team's address only for its lead)."""
    lines = [
        html.bold(_("Alert intake for outside systems")),
        _("POST JSON {example} to:").format(
            example=html.code(
                '{"client": "Acme", "text": "site down", "severity": "urgent", '
                '"dedup_key": "acme-site"}'
            )
        ),
        _("• yours: {url}").format(
            url=html.code(html.quote(user_address(settings, user.id, personal_secret)))
        ),
    ]
    if team is not None and team.lead_id == user.id:
        lines.append(
            _("• the team's: {url}").format(
                url=html.code(html.quote(team_address(settings, team)))
            )
        )
    if settings.intake_port is None:
        lines.append(_("The intake is off on this server: set INTAKE_PORT to turn it on."))
    lines.append(_("Keep these addresses secret: anyone who has one can page you."))
    lines.append(intake_usage())
    return "\n".join(lines)


def left_team_text() -> str:
    return _(
        "You are no longer in this alert's team: only its members can answer it or open it."
    )


def already_text(alert: Alert, op: AlertOp, people: dict[int, str]) -> str:
    """Someone answered first: who (a resolve pressed after an ack is simply outdated)."""
    if alert.resolved_by is not None:
        return _("Already resolved by {name}.").format(name=people.get(alert.resolved_by, "?"))
    if alert.acked_by is not None and op is not AlertOp.RESOLVE:
        return _("Already acknowledged by {name}.").format(name=people.get(alert.acked_by, "?"))
    return _("This alert has changed; see the latest message.")


def done_text(op: AlertOp) -> str:
    if op is AlertOp.ACK:
        return _("Acknowledged: repeats stopped for everyone. Resolve it when done.")
    if op is AlertOp.RESOLVE:
        return _("Resolved. Thank you!")
    return _("Snoozed for 15 minutes for everyone.")


async def client_of(clients: ClientRepo, alert: Alert) -> Client | None:
    if alert.client_id is None or alert.owner_id is None:
        return None
    return await clients.get(alert.owner_id, alert.client_id)
