"""Alert messages and their buttons, in the recipient's language and timezone."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.callbacks import AlertAction
from bot.domain.escalation import StepRole
from bot.views.render import channel_label, format_clock, format_moment, quoted, shorten
from storage.models import Alert, AlertEvent, AlertSeverity, AlertSource, AlertState, Client

ALERT_TEXT_LIMIT = 1500
# A summary of pages that piled up for one person lists this many, and counts the rest.
SUMMARY_LINES = 15
SUMMARY_CHARS = 3000  # of lines listed: the message stays well under Telegram's 4096


def alert_ref(alert: Alert, client: Client | None) -> str:
    """'A12 · Acme' (escaped)."""
    name = client.name if client is not None else alert.client_label
    return f"A{alert.id}" + (f" · {html.quote(shorten(name, 60))}" if name else "")


def role_label(role: StepRole) -> str:
    labels = {
        StepRole.OWNER: _("account manager"),
        StepRole.COVER: _("covering a handover"),
        StepRole.LEAD: _("team lead"),
        StepRole.BACKUP: _("backup"),
        StepRole.ALL: _("the whole team"),
    }
    return labels[role]


def names(people: Sequence[str]) -> str:
    return ", ".join(html.quote(name) for name in people)


def alert_text(
    alert: Alert,
    client: Client | None,
    people: Mapping[int, str],
    tz: ZoneInfo,
    locale: str,
    now: datetime,
    *,
    header: str | None = None,
) -> str:
    """The alert as every paged person sees it; `header` says why it came now."""
    urgent = alert.severity is AlertSeverity.URGENT
    title = "🚨 " + html.bold(_("URGENT")) if urgent else "⚠️ " + html.bold(_("Alert"))
    lines = [f"{title} · {alert_ref(alert, client)}"]
    if header:
        lines.append(header)
    lines.append(quoted(shorten(alert.text, ALERT_TEXT_LIMIT)))
    if client is not None:
        if client.emergency_contact:
            lines.append(
                _("🆘 Emergency contact: {contact}").format(
                    contact=html.quote(client.emergency_contact)
                )
            )
        contact = " · ".join(
            html.quote(part) for part in (client.contact_person, client.phone) if part
        )
        if contact:
            lines.append(_("👤 Contact: {contact}").format(contact=contact))
        if client.channel is not None:
            lines.append(
                _("Preferred channel: {channel}").format(channel=channel_label(client.channel))
            )
    elif alert.client_label:
        lines.append(
            _("❓ Unknown client: no card named “{name}”.").format(
                name=html.quote(shorten(alert.client_label, 60))
            )
        )
    raised = format_moment(alert.created_at, tz, locale, now)
    if alert.source is AlertSource.INTAKE:
        lines.append(_("Raised by an outside system at {moment}").format(moment=raised))
    else:
        who = people.get(alert.raised_by or 0, "?")
        lines.append(
            _("Raised by {name} at {moment}").format(name=html.quote(who), moment=raised)
        )
    if alert.count > 1:
        lines.append(
            ngettext(
                "🔁 Reported {count} time, last at {time}",
                "🔁 Reported {count} times, last at {time}",
                alert.count,
            ).format(
                count=alert.count, time=format_clock(alert.last_seen_at, tz)
            )
        )
    lines.append(state_line(alert, people, tz))
    return "\n".join(lines)


def state_line(alert: Alert, people: Mapping[int, str], tz: ZoneInfo) -> str:
    if alert.state is AlertState.RESOLVED and alert.resolved_at is not None:
        return "✔️ " + _("Resolved by {name} at {time}").format(
            name=html.quote(people.get(alert.resolved_by or 0, "?")),
            time=format_clock(alert.resolved_at, tz),
        )
    if alert.state is AlertState.ACKED and alert.acked_at is not None:
        return "✅ " + _("Acknowledged by {name} at {time}").format(
            name=html.quote(people.get(alert.acked_by or 0, "?")),
            time=format_clock(alert.acked_at, tz),
        )
    if alert.gave_up:
        return "🔕 " + _("Nobody acknowledged it; repeats stopped.")
    return "⏳ " + _("Not acknowledged yet.")


def alert_keyboard(alert: Alert) -> InlineKeyboardMarkup | None:
    def button(text: str, op: str) -> InlineKeyboardButton:
        data = AlertAction(op=op, id=alert.id).pack()
        return InlineKeyboardButton(text=text, callback_data=data)

    if alert.state is AlertState.RESOLVED:
        return InlineKeyboardMarkup(inline_keyboard=[[button(_("📋 Log"), "log")]])
    if alert.state is AlertState.ACKED:
        return InlineKeyboardMarkup(
            inline_keyboard=[[button(_("✔️ Resolve"), "resolve"), button(_("📋 Log"), "log")]]
        )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button(_("✅ Acknowledge"), "ack"), button(_("✔️ Resolve"), "resolve")],
            [button(_("🔕 Snooze 15 min"), "snooze"), button(_("📋 Log"), "log")],
        ]
    )


def event_line(event: AlertEvent, people: Mapping[int, str], tz: ZoneInfo) -> str:
    who = html.quote(people.get(event.actor_id or 0, "?"))
    listed = names([people.get(int(p), "?") for p in event.detail.split(",") if p.isdigit()])
    texts = {
        "raised": _("raised by {who}").format(who=who)
        if event.actor_id is not None
        else _("raised by an outside system"),
        "repeated": _("reported again"),
        "paged": _("paged {people}").format(people=listed),
        "repeat": _("repeated to {people}").format(people=listed),
        "escalated": _("escalated to {people}").format(people=listed),
        "held": _("held until working hours"),
        "acked": _("acknowledged by {who}").format(who=who),
        "snoozed": _("snoozed 15 min by {who}").format(who=who),
        "resolved": _("resolved by {who}").format(who=who),
        "retriggered": _("not resolved in time: paging again"),
        "gave_up": _("nobody acknowledged: repeats stopped, lead told"),
        "nobody": _("nobody to page"),
    }
    return f"{format_clock(event.at, tz)} · {texts.get(event.kind, html.quote(event.kind))}"


def alert_log(
    alert: Alert,
    client: Client | None,
    events: Sequence[AlertEvent],
    people: Mapping[int, str],
    tz: ZoneInfo,
    locale: str,
    now: datetime,
) -> str:
    lines = [
        "📋 " + html.bold(alert_ref(alert, client)) + " · "
        + format_moment(alert.created_at, tz, locale, now),
        quoted(shorten(alert.text, 300)),
        state_line(alert, people, tz),
        "",
    ]
    shown = events[-40:]
    if len(events) > len(shown):
        earlier = len(events) - len(shown)
        lines.append(
            ngettext("… {count} earlier step", "… {count} earlier steps", earlier).format(
                count=earlier
            )
        )
    lines.extend(event_line(event, people, tz) for event in shown)
    return "\n".join(lines)


def alert_list_line(
    alert: Alert,
    client: Client | None,
    people: Mapping[int, str],
    tz: ZoneInfo,
    paged: Sequence[int] = (),
) -> str:
    icon = {AlertState.OPEN: "🚨", AlertState.ACKED: "✅", AlertState.RESOLVED: "✔️"}[alert.state]
    parts = [
        f"{icon} {html.bold(alert_ref(alert, client))}",
        format_clock(alert.created_at, tz),
        html.quote(shorten(alert.text, 80)),
    ]
    if alert.count > 1:
        parts.append(f"×{alert.count}")
    if paged:
        parts.append(_("paged {people}").format(people=names([people.get(p, "?") for p in paged])))
    if alert.state is AlertState.OPEN:
        parts.append(_("not acknowledged") if not alert.gave_up else _("nobody answered"))
    elif alert.state is AlertState.ACKED and alert.acked_at is not None:
        parts.append(
            _("taken by {name} at {time}").format(
                name=html.quote(people.get(alert.acked_by or 0, "?")),
                time=format_clock(alert.acked_at, tz),
            )
        )
    elif alert.resolved_at is not None:
        parts.append(
            _("resolved by {name} at {time}").format(
                name=html.quote(people.get(alert.resolved_by or 0, "?")),
                time=format_clock(alert.resolved_at, tz),
            )
        )
    return " · ".join(parts)


def alert_summary_line(alert: Alert, client: Client | None) -> str:
    """'🚨 A12 · Acme · site is down' (escaped), for a summary of several pages."""
    icon = "🚨" if alert.severity is AlertSeverity.URGENT else "⚠️"
    return f"{icon} {alert_ref(alert, client)} · {html.quote(shorten(alert.text, 80))}"


def alert_summary(lines: Sequence[str]) -> str:
    """One message standing for several alert messages that came for one person at once
    (Telegram takes one message a second per chat): the first few, the count of the rest,
    and where to answer them. The lines are HTML already."""
    # Lines are HTML: cutting one could split an entity, so whole lines are left out.
    shown: list[str] = []
    budget = SUMMARY_CHARS
    for line in lines[:SUMMARY_LINES]:
        if len(line) > budget:
            break
        shown.append(line)
        budget -= len(line) + 1
    parts = [
        "🚨 " + html.bold(
            ngettext(
                "{count} alert message for you at once:",
                "{count} alert messages for you at once:",
                len(lines),
            ).format(count=len(lines))
        ),
        *shown,
    ]
    rest = len(lines) - len(shown)
    if rest:
        parts.append(_("… and {count} more.").format(count=rest))
    parts.append(_("Answer them in /alerts (📋 opens each one)."))
    return "\n".join(parts)
