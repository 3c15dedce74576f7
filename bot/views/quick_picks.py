"""The one-tap answers to "when?": later today, in an hour, tomorrow morning, Monday."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date

from bot.domain.dates import END_OF_DAY_HOUR, at_local, next_weekday_at

# "Today 18:00" is the same end of the working day as "eod" and "end of month" in typed dates.
EVENING_HOUR = END_OF_DAY_HOUR


@dataclass(frozen=True, slots=True)
class QuickPick:
    code: str
    label: str


def quick_picks(tz: ZoneInfo, now: datetime, morning_hour: int, locale: str) -> list[QuickPick]:
    picks = [QuickPick("h1", _("In 1 hour"))]
    if now.astimezone(tz).hour < morning_hour:
        # After midnight "tomorrow" is asked about: this morning is the likely answer.
        picks.append(QuickPick("morning", _("Today {hour}:00").format(hour=morning_hour)))
    if now.astimezone(tz).hour < EVENING_HOUR:
        picks.append(QuickPick("today", _("Today {hour}:00").format(hour=EVENING_HOUR)))
    picks.append(QuickPick("tomorrow", _("Tomorrow {hour}:00").format(hour=morning_hour)))
    monday = next_weekday_at(0, morning_hour, tz=tz, now=now)
    picks.append(
        QuickPick(
            "monday",
            "{day} {hour}:00".format(
                day=format_date(monday.astimezone(tz), "EEE d MMM", locale=locale),
                hour=morning_hour,
            ),
        )
    )
    return picks


def resolve_quick_pick(code: str, tz: ZoneInfo, now: datetime, morning_hour: int) -> (
    datetime | None
):
    if code == "h1":
        return (now + timedelta(hours=1)).replace(second=0, microsecond=0)
    if code == "morning":
        return at_local(0, morning_hour, tz=tz, now=now)
    if code == "today":
        return at_local(0, EVENING_HOUR, tz=tz, now=now)
    if code == "tomorrow":
        return at_local(1, morning_hour, tz=tz, now=now)
    if code == "monday":
        return next_weekday_at(0, morning_hour, tz=tz, now=now)
    return None
