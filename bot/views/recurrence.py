"""What a recurring task's rule is called for the user: "every week: Monday at 09:00",
«раз в 2 недели по четвергам в 10:00» (gettext plurals, Babel month and weekday names)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Final

from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext
from babel.dates import format_date
from dateutil.rrule import rrulestr


def _weekday_plural(code: str) -> str:
    """'Mondays' / «понедельникам» (for «по понедельникам»)."""
    names = {
        "MO": _("Mondays"), "TU": _("Tuesdays"), "WE": _("Wednesdays"),
        "TH": _("Thursdays"), "FR": _("Fridays"), "SA": _("Saturdays"), "SU": _("Sundays"),
    }
    return names[code]


def _joined(items: list[str]) -> str:
    if len(items) < 2:
        return "".join(items)
    return _("{first} and {last}").format(first=", ".join(items[:-1]), last=items[-1])


# The labels by frequency: each gets the rule's fields (BYDAY=..., BYMONTHDAY=...), its
# interval and its time of day ("09:00").


def _yearly_label(fields: dict[str, str], interval: int, at: str, locale: str) -> str:
    yearly = date(2028, int(fields.get("BYMONTH", "1")), int(fields.get("BYMONTHDAY", "1")))
    shown = str(format_date(yearly, "d MMMM", locale=locale))
    if interval > 1:
        return ngettext(
            "every {count} year on {date} at {time}",
            "every {count} years on {date} at {time}",
            interval,
        ).format(count=interval, date=shown, time=at)
    return _("every year on {date} at {time}").format(date=shown, time=at)


def _monthly_label(fields: dict[str, str], interval: int, at: str, locale: str) -> str:
    day = int(fields.get("BYMONTHDAY", "1"))
    if interval > 1:
        quarterly = " (" + _("quarterly") + ")" if interval == 3 else ""
        where = (
            _("on the last day") if day == -1 else _("on day {day}").format(day=day)
        )
        return ngettext(
            "every {count} month{quarterly} {where} at {time}",
            "every {count} months{quarterly} {where} at {time}",
            interval,
        ).format(count=interval, quarterly=quarterly, where=where, time=at)
    if day == -1:
        return _("last day of the month at {time}").format(time=at)
    return _("every month on day {day} at {time}").format(day=day, time=at)


def _weekly_label(fields: dict[str, str], interval: int, at: str, locale: str) -> str:
    days = fields.get("BYDAY", "")
    if days == "MO,TU,WE,TH,FR" and interval == 1:
        return _("on working days at {time}").format(time=at)
    codes = [code for code in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
             if code in days.split(",")]
    if interval > 1:
        return ngettext(
            "every {count} week on {days} at {time}",
            "every {count} weeks on {days} at {time}",
            interval,
        ).format(count=interval, days=_joined([_weekday_plural(c) for c in codes]),
                 time=at)
    names = ", ".join(
        str(format_date(date(2026, 11, 23) + timedelta(days=index), "EEEE", locale=locale))
        for index, code in enumerate(("MO", "TU", "WE", "TH", "FR", "SA", "SU"))
        if code in codes
    )
    return _("every week: {days} at {time}").format(days=names, time=at)


def _daily_label(fields: dict[str, str], interval: int, at: str, locale: str) -> str:
    if interval > 1:
        return ngettext(
            "every {count} day at {time}", "every {count} days at {time}", interval
        ).format(count=interval, time=at)
    return _("every day at {time}").format(time=at)


# The label of a rule by its FREQ; the rules this module makes are DAILY when none of these.
_LABELS_BY_FREQ: Final[dict[str, Callable[[dict[str, str], int, str, str], str]]] = {
    "YEARLY": _yearly_label,
    "MONTHLY": _monthly_label,
    "WEEKLY": _weekly_label,
}


def describe(rule_text: str, locale: str) -> str:
    """What the user sees: "every week: Monday at 09:00", "every 2 weeks on Thursdays at
    10:00" / «раз в 2 недели по четвергам в 10:00», "every 3 months (quarterly) on day 1",
    "every year on 15 March at 10:00" / «каждый год 15 марта в 10:00»."""
    rule = rrulestr(rule_text)
    parts = str(rule).split("RRULE:", 1)[1].split(";")
    fields = dict(part.split("=", 1) for part in parts)
    at = f"{int(fields.get('BYHOUR', '10')):02}:{int(fields.get('BYMINUTE', '0')):02}"
    if fields.get("BYSETPOS") == "-1":
        return _("last working day of the month at {time}").format(time=at)
    label = _LABELS_BY_FREQ.get(fields["FREQ"], _daily_label)
    return label(fields, int(fields.get("INTERVAL", "1")), at, locale)
