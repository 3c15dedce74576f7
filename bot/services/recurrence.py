"""Recurring schedules from plain Russian and English, as dateutil RRULEs in local time.

"каждый понедельник в 9", "every month on the 1st at 10:00", "every 2 weeks", "по будням
в 18:00", "last working day of the month". The rule is kept in the user's wall-clock time
(a naive DTSTART), and each occurrence is placed in the user's zone when it is computed, so
09:00 stays 09:00 across daylight-saving changes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.dates import format_date
from dateutil.rrule import (
    DAILY,
    FR,
    MO,
    MONTHLY,
    SA,
    SU,
    TH,
    TU,
    WE,
    WEEKLY,
    rrule,
    rrulestr,
    weekday,
)

_DAYS: Final = (MO, TU, WE, TH, FR, SA, SU)
_WORKDAYS: Final = (MO, TU, WE, TH, FR)

_WEEKDAY_WORDS: Final = {
    word: index
    for index, words in enumerate(
        (
            "пн понедельник понедельника понедельникам mon monday mondays",
            "вт вторник вторника вторникам tue tues tuesday tuesdays",
            "ср среда среду среды средам wed wednesday wednesdays",
            "чт четверг четверга четвергам thu thur thurs thursday thursdays",
            "пт пятница пятницу пятницы пятницам fri friday fridays",
            "сб суббота субботу субботы субботам sat saturday saturdays",
            "вс воскресенье воскресенья воскресеньям sun sunday sundays",
        )
    )
    for word in words.split()
}
_STARTERS: Final = frozenset(
    "every each каждый каждую каждое каждые каждого ежедневно еженедельно ежемесячно"
    " daily weekly monthly по".split()
)
_UNIT_WORDS: Final = {
    **dict.fromkeys(["day", "days", "день", "дня", "дней", "сутки"], DAILY),
    **dict.fromkeys(["week", "weeks", "неделю", "недели", "недель", "неделя"], WEEKLY),
    **dict.fromkeys(["month", "months", "месяц", "месяца", "месяцев"], MONTHLY),
}
_WORKDAY_WORDS: Final = frozenset(
    ["будням", "будние", "рабочим", "weekday", "weekdays", "workday", "workdays", "working"]
)
_NUMBER_WORDS: Final = {"два": 2, "две": 2, "три": 3, "четыре": 4, "two": 2, "three": 3, "four": 4}
_FILLERS: Final = frozenset("в во on at the of a на числа число дням дни and и".split())
_ORDINAL: Final = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|-?го|-?е|-?ое|-?ого)?$")
_CLOCK: Final = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm|a\.m\.|p\.m\.)?$")
_LAST_BARE_AFTERNOON: Final = 7


@dataclass(frozen=True, slots=True)
class RecurrenceMatch:
    rule: str  # dateutil's text: "DTSTART:...\nRRULE:..."
    text: str  # the task text without the schedule words
    phrase: str


def _tokens(text: str) -> list[str]:
    return [
        token.strip(".,;!?").casefold().replace("ё", "е")
        for token in text.split()
    ]


class _RuleBuilder:
    def __init__(self) -> None:
        self.freq: int | None = None
        self.interval = 1
        self.weekdays: list[weekday] = []
        self.monthday: int | None = None
        self.last_workday = False
        self.hour: int | None = None
        self.minute = 0

    def read(self, toks: list[str]) -> bool:
        """Consume every token or fail: a schedule phrase has nothing but schedule words."""
        i = 0
        while i < len(toks):
            tok, nxt = toks[i], toks[i + 1] if i + 1 < len(toks) else ""
            if tok in _STARTERS or tok in _FILLERS:
                if tok in ("ежедневно", "daily"):
                    self.freq = DAILY
                elif tok in ("еженедельно", "weekly"):
                    self.freq = WEEKLY
                elif tok in ("ежемесячно", "monthly"):
                    self.freq = MONTHLY
            elif tok.isdigit() and nxt in _UNIT_WORDS:
                self.interval, self.freq = int(tok), _UNIT_WORDS[nxt]
                i += 1
            elif tok in _NUMBER_WORDS and nxt in _UNIT_WORDS:
                self.interval, self.freq = _NUMBER_WORDS[tok], _UNIT_WORDS[nxt]
                i += 1
            elif tok in _UNIT_WORDS:
                self.freq = _UNIT_WORDS[tok]
            elif tok in _WEEKDAY_WORDS:
                self.weekdays.append(_DAYS[_WEEKDAY_WORDS[tok]])
            elif tok in _WORKDAY_WORDS:
                if tok == "working" and nxt == "day":
                    i += 1
                self.weekdays.extend(_WORKDAYS)
            elif tok in ("последний", "last") and nxt in ("рабочий", "working", "workday"):
                self.last_workday = True
                i += 2 if nxt in ("рабочий", "working") and i + 2 < len(toks) else 1
            elif tok in ("последний", "last") and nxt in ("день", "day"):
                self.monthday = -1
                i += 1
            elif (clock := _CLOCK.match(tok)) and (
                clock.group(2) or clock.group(3) or (i > 0 and toks[i - 1] in ("в", "во", "at"))
            ):
                hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
                meridiem = clock.group(3)
                if meridiem and meridiem.startswith("p") and hour < 12:
                    hour += 12
                elif meridiem and meridiem.startswith("a") and hour == 12:
                    hour = 0
                elif not (meridiem or clock.group(2)) and 1 <= hour <= _LAST_BARE_AFTERNOON:
                    hour += 12  # "в 5" is 17:00, as in one-off tasks
                if hour > 23 or minute > 59 or self.hour is not None:
                    return False
                self.hour, self.minute = hour, minute
            elif (ordinal := _ORDINAL.match(tok)) and 1 <= int(ordinal.group(1)) <= 31:
                self.monthday = int(ordinal.group(1))
            elif tok in ("утра", "am", "morning", "утром", "часов", "часа", "час"):
                pass
            elif tok in ("вечера", "pm", "вечером") and self.hour is not None and self.hour < 12:
                self.hour += 12
            else:
                return False
            i += 1
        return True

    def build(self, start: date, morning_hour: int) -> rrule | None:
        freq = self.freq
        if self.last_workday or self.monthday is not None:
            freq = MONTHLY
        elif self.weekdays and freq in (None, DAILY):
            freq = WEEKLY
        if freq is None:
            return None
        hour = morning_hour if self.hour is None else self.hour
        dtstart = datetime.combine(start, time(hour, self.minute))
        kwargs: dict[str, object] = {
            "dtstart": dtstart,
            "interval": self.interval,
            "byhour": hour,
            "byminute": self.minute,
            "bysecond": 0,
        }
        if self.last_workday:
            kwargs.update(byweekday=_WORKDAYS, bysetpos=-1)
        elif freq == MONTHLY:
            kwargs["bymonthday"] = self.monthday if self.monthday is not None else start.day
        elif self.weekdays:
            kwargs["byweekday"] = tuple(dict.fromkeys(self.weekdays))
        elif freq == WEEKLY:
            kwargs["byweekday"] = _DAYS[start.weekday()]
        return rrule(freq, **kwargs)  # type: ignore[arg-type]


def split_recurrence(
    text: str, *, tz: ZoneInfo, now: datetime, morning_hour: int = 10
) -> RecurrenceMatch | None:
    """Task text with a schedule at its end ("отчёт каждый понедельник в 9"), or None."""
    words = text.split()
    toks = _tokens(text)
    for anchor, tok in enumerate(toks):
        if tok not in _STARTERS and tok not in ("последний", "last"):
            continue
        if tok == "по" and (anchor + 1 >= len(toks) or (
            toks[anchor + 1] not in _WORKDAY_WORDS and toks[anchor + 1] not in _WEEKDAY_WORDS
        )):
            continue
        # The phrase may open a little before its keyword: "1 числа каждого месяца".
        for first in range(max(0, anchor - 2), anchor + 1):
            builder = _RuleBuilder()
            if not builder.read(toks[first:]):
                continue
            rule = builder.build(now.astimezone(tz).date(), morning_hour)
            if rule is None:
                continue
            rest = " ".join(words[:first]).rstrip(" ,-—:")
            return RecurrenceMatch(str(rule), rest, " ".join(words[first:]))
    # Or at the start: "каждую пятницу в 17 отчёт".
    if toks and toks[0] in _STARTERS:
        for end in range(len(toks) - 1, 0, -1):
            builder = _RuleBuilder()
            if builder.read(toks[:end]):
                rule = builder.build(now.astimezone(tz).date(), morning_hour)
                if rule is not None:
                    rest = " ".join(words[end:]).lstrip(" ,-—:")
                    return RecurrenceMatch(str(rule), rest, " ".join(words[:end]))
    return None


def next_occurrence(rule_text: str, tz: ZoneInfo, after: datetime) -> datetime | None:
    """The first occurrence strictly after `after`, as an aware UTC moment."""
    rule = rrulestr(rule_text)
    local_after = after.astimezone(tz).replace(tzinfo=None)
    found = rule.after(local_after, inc=False)
    if found is None:
        return None
    # Wall time in the user's zone; fold=0 picks the first of an ambiguous hour.
    return found.replace(tzinfo=tz).astimezone(UTC)


def is_occurrence(rule_text: str, wall: datetime) -> bool:
    """Whether a naive local moment is one the rule makes (not one moved by hand)."""
    return rrulestr(rule_text).after(wall - timedelta(seconds=1), inc=False) == wall


def describe(rule_text: str, locale: str) -> str:
    """A short human description: "every Monday at 09:00", "каждый месяц, 1-го, в 10:00"."""
    rule = rrulestr(rule_text)
    parts = str(rule).split("RRULE:", 1)[1].split(";")
    fields = dict(part.split("=", 1) for part in parts)
    at = f"{int(fields.get('BYHOUR', '10')):02}:{int(fields.get('BYMINUTE', '0')):02}"
    interval = int(fields.get("INTERVAL", "1"))
    freq = fields["FREQ"]
    days = fields.get("BYDAY", "")
    if fields.get("BYSETPOS") == "-1":
        return _("last working day of the month at {time}").format(time=at)
    if freq == "MONTHLY":
        day = int(fields.get("BYMONTHDAY", "1"))
        if day == -1:
            return _("last day of the month at {time}").format(time=at)
        return _("every month on day {day} at {time}").format(day=day, time=at)
    if freq == "WEEKLY" and days == "MO,TU,WE,TH,FR":
        return _("on working days at {time}").format(time=at)
    if freq == "WEEKLY":
        names = ", ".join(
            str(format_date(date(2026, 11, 23) + timedelta(days=index), "EEEE", locale=locale))
            for index, code in enumerate(("MO", "TU", "WE", "TH", "FR", "SA", "SU"))
            if code in days.split(",")
        )
        if interval > 1:
            return _("every {count} weeks: {days} at {time}").format(
                count=interval, days=names, time=at
            )
        return _("every week: {days} at {time}").format(days=names, time=at)
    if interval > 1:
        return _("every {count} days at {time}").format(count=interval, time=at)
    return _("every day at {time}").format(time=at)
