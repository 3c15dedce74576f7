"""What the team feature says: the member list, the handover list and the leaver's lines."""

from __future__ import annotations

from datetime import datetime

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.domain.reminder_plan import next_working_start
from bot.domain.timezones import user_zone
from bot.settings import Settings
from storage.interfaces import TeamRepo
from storage.models import Departure, Team, UserProfile


def usage() -> str:
    return _(
        "Teams: <code>/team new Agency</code> creates one (you lead it), "
        "<code>/team invite</code> gives a link for a colleague, "
        "<code>/backup @colleague</code> names who gets your unanswered alerts, "
        "<code>/handover Acme: @colleague until 15.12</code> hands clients over for a while."
    )


def escalation_text(escalate_to_all: bool) -> str:
    return (
        _("Unanswered alerts finally go to the whole team.")
        if escalate_to_all
        else _("Unanswered alerts stop at the lead.")
    )


def reachable(person: UserProfile, now: datetime, settings: Settings) -> bool:
    zone = user_zone(person.timezone, settings.timezone)
    return person.active and next_working_start(now, zone, person.hours) is None


def hours_span(person: UserProfile) -> str:
    """Working hours in the member line: "09:00–18:00", or "any time" when off."""
    hours = person.hours
    if not hours.days or hours.start_minute >= hours.end_minute:
        return _("any time")
    return (
        f"{hours.start_minute // 60:02d}:{hours.start_minute % 60:02d}–"
        f"{hours.end_minute // 60:02d}:{hours.end_minute % 60:02d}"
    )


def member_line(
    person: UserProfile, team: Team, people: dict[int, UserProfile], now: datetime,
    settings: Settings,
) -> str:
    role = _("lead") if person.id == team.lead_id else _("member")
    zone = person.timezone or settings.default_timezone
    state = "🟢 " + _("reachable now") if reachable(person, now, settings) else "🌙 " + _(
        "off hours"
    )
    line = (
        f"• {html.bold(html.quote(person.display_name))} · {role} · {html.quote(zone)}"
        f" · {hours_span(person)} · {state}"
    )
    backup = people.get(person.backup_id or 0)
    if backup is not None:
        line += " · " + _("backup: {name}").format(name=html.quote(backup.display_name))
    return line


async def team_listing(
    team: Team, teams: TeamRepo, viewer_id: int, now: datetime, settings: Settings
) -> str:
    """/team: everyone, reachable or not, and the commands the viewer may use."""
    members = await teams.members(team.id)
    people = {m.id: m for m in members}
    lines = [
        "👥 " + html.bold(html.quote(team.name))
        + " · " + _("{count} people").format(count=len(members))
    ]
    lines += [member_line(m, team, people, now, settings) for m in members]
    lines.append(escalation_text(team.escalate_to_all))
    if team.lead_id == viewer_id:
        lines.append(
            _("Lead: /team invite · /team remove · /team lead · /team overdue · "
              "/team all on|off · /intake")
        )
    else:
        lines.append(_("/backup @colleague · /handover · /team leave"))
    return "\n".join(lines)


def partners(departure: Departure) -> set[int | None]:
    """Everyone on either side of the handovers that ended."""
    found: set[int | None] = set()
    for item in departure.ended:
        found.update((item.owner_id, item.to_user_id))
    return found


def ended_for_leaver(departure: Departure, leaver_id: int, people: dict[int, str]) -> list[str]:
    """What the person who left (or was removed) is told about their handovers."""
    lines = []
    for other in sorted({h.owner_id for h in departure.ended if h.to_user_id == leaver_id}):
        lines.append(
            _("Your cover for {name} has ended: their reminders and alerts go back to "
              "them.").format(name=html.quote(people.get(other, "?")))
        )
    for other in sorted({h.to_user_id for h in departure.ended if h.owner_id == leaver_id}):
        lines.append(
            _("Your handover to {name} has ended: your reminders come to you again.").format(
                name=html.quote(people.get(other, "?"))
            )
        )
    return lines
