"""Recurring schedules from plain Russian and English, as dateutil RRULEs in local time.

"каждый понедельник в 9", "every month on the 1st at 10:00", «раз в 2 недели по четвергам»,
"every other Friday", "monthly report on the 1st", «ежемесячный отчёт 1-го числа», «каждые
3 месяца», «каждый год 15 марта», "last working day of the month". The rule is kept in the
user's wall-clock time (a naive DTSTART), and each occurrence is placed in the user's zone
when it is computed, so 09:00 stays 09:00 across daylight-saving changes.

A schedule needs a word that says "again": every/каждый, раз в, по понедельникам, weekly/
ежемесячно... Without one, «в последний день месяца» or "on Monday" is a single date and
is left to the date parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta
from typing import ClassVar, Final
from zoneinfo import ZoneInfo

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
    YEARLY,
    rrule,
    rrulestr,
    weekday,
)

from bot.domain.dates import read_bare_hour

_DAYS: Final = (MO, TU, WE, TH, FR, SA, SU)
_WORKDAYS: Final = (MO, TU, WE, TH, FR)


def _table(rows: tuple[str, ...], start: int = 0) -> dict[str, int]:
    return {word: index for index, words in enumerate(rows, start) for word in words.split()}


_WEEKDAY_WORDS: Final = _table(
    (
        "пн понедельник понедельника mon monday",
        "вт вторник вторника tue tues tuesday",
        "ср среда среду среды wed wednesday",
        "чт четверг четверга thu thur thurs thursday",
        "пт пятница пятницу пятницы fri friday",
        "сб суббота субботу субботы sat saturday",
        "вс воскресенье воскресенья sun sunday",
    )
)
# "по понедельникам", "on Mondays": the plural alone says "again".
_WEEKDAY_PLURALS: Final = _table(
    (
        "понедельникам mondays",
        "вторникам tuesdays",
        "средам wednesdays",
        "четвергам thursdays",
        "пятницам fridays",
        "субботам saturdays",
        "воскресеньям sundays",
    )
)
_MONTH_WORDS: Final = _table(
    (
        "января jan january", "февраля feb february", "марта mar march",
        "апреля apr april", "мая may", "июня jun june", "июля jul july",
        "августа aug august", "сентября sep sept september", "октября oct october",
        "ноября nov november", "декабря dec december",
    ),
    start=1,
)
# Words that say "again" and may be followed by a unit: "каждые 2 недели", "every month".
_STARTERS: Final = frozenset(
    "every each каждый каждую каждое каждые каждого каждой каждом".split()
)
# (frequency, interval) of a word that is a whole schedule: "ежемесячно", "bi-weekly".
_ADVERBS: Final = {
    **dict.fromkeys(("daily", "ежедневно"), (DAILY, 1)),
    **dict.fromkeys(("weekly", "еженедельно"), (WEEKLY, 1)),
    **dict.fromkeys(
        ("biweekly", "bi-weekly", "fortnightly", "раз-в-две-недели"), (WEEKLY, 2)
    ),
    **dict.fromkeys(("monthly", "ежемесячно"), (MONTHLY, 1)),
    **dict.fromkeys(("quarterly", "ежеквартально"), (MONTHLY, 3)),
    **dict.fromkeys(("yearly", "annually", "ежегодно"), (YEARLY, 1)),
}
# Russian adjectives by stem: «ежемесячный отчёт», «еженедельная встреча».
_ADJECTIVE_STEMS: Final = (
    ("ежедневн", (DAILY, 1)),
    ("еженедельн", (WEEKLY, 1)),
    ("ежемесячн", (MONTHLY, 1)),
    ("ежеквартальн", (MONTHLY, 3)),
    ("ежегодн", (YEARLY, 1)),
)
_UNIT_WORDS: Final = {
    **dict.fromkeys(["day", "days", "день", "дня", "дней", "сутки"], (DAILY, 1)),
    **dict.fromkeys(["week", "weeks", "неделю", "недели", "недель", "неделя"], (WEEKLY, 1)),
    **dict.fromkeys(["month", "months", "месяц", "месяца", "месяцев"], (MONTHLY, 1)),
    **dict.fromkeys(["quarter", "quarters", "квартал", "квартала"], (MONTHLY, 3)),
    **dict.fromkeys(["year", "years", "год", "года", "лет"], (YEARLY, 1)),
}
_WORKDAY_WORDS: Final = frozenset(
    ["будням", "будние", "рабочим", "weekday", "weekdays", "workday", "workdays", "working"]
)
_NUMBER_WORDS: Final = {
    "два": 2, "две": 2, "три": 3, "четыре": 4, "шесть": 6,
    "two": 2, "three": 3, "four": 4, "six": 6,
}
# "every other Friday", «каждую вторую пятницу»: every second one.
_OTHER: Final = frozenset("other second вторую второй второе".split())
_FIRST: Final = frozenset("first первого первое".split())
_FILLERS: Final = frozenset("в во on at the of a на числа число дням дни and и по".split())
_ORDINAL: Final = re.compile(r"^(\d{1,2})(?:st|nd|rd|th|-?го|-?е|-?ое|-?ого)$")
_CLOCK: Final = re.compile(r"^(\d{1,2})(?::(\d{2}))?(am|pm|a\.m\.|p\.m\.)?$")
_AT_HOUR: Final = ("в", "во", "at")  # a bare number after one is an hour: «в 5», "at 9"
# «раз в месяц», "once a week", "once per quarter".
_ONCE: Final = ("раз", "once")
_PER: Final = ("в", "a", "per")
# «в 9 утра», "at 9 am", «в 9 часов»: the hour stays as read.
_HOUR_AS_IS: Final = frozenset("утра am morning утром часов часа час".split())
_EVENING: Final = ("вечера", "pm", "вечером")
_REJECT: Final = 0  # a reader's answer for a token that cannot be in a schedule


@dataclass(frozen=True, slots=True)
class RecurrenceMatch:
    rule: str  # dateutil's text: "DTSTART:...\nRRULE:..."
    text: str  # the task text without the schedule words
    phrase: str


def _tokens(text: str) -> list[str]:
    return [
        token.strip(".,;!?").casefold().replace("ё", "е")
        for token in text.replace("раз в две недели", "раз-в-две-недели").split()
    ]


def _adjective(tok: str) -> tuple[int, int] | None:
    """A frequency said by one word anywhere in the text: "weekly", «ежемесячный»."""
    if tok in _ADVERBS:
        return _ADVERBS[tok]
    for stem, found in _ADJECTIVE_STEMS:
        if tok.startswith(stem):
            return found
    return None


@dataclass(frozen=True, slots=True)
class _At:
    """One token with its neighbours ("" past either end), as the readers see it."""

    tok: str
    nxt: str
    prev: str
    prev2: str
    left: int  # tokens from this one to the end, this one included

    @classmethod
    def of(cls, toks: list[str], i: int) -> _At:
        return cls(
            tok=toks[i],
            nxt=toks[i + 1] if i + 1 < len(toks) else "",
            prev=toks[i - 1] if i > 0 else "",
            prev2=toks[i - 2] if i > 1 else "",
            left=len(toks) - i,
        )


def _day_of_month(at: _At) -> int | None:
    """The day of the month a token names: "first", "1st", «1-го», or a number said as a
    day ("the 15", «15 числа», «15 марта»)."""
    if at.tok in _FIRST:
        return 1
    if (ordinal := _ORDINAL.match(at.tok)) and 1 <= int(ordinal.group(1)) <= 31:
        return int(ordinal.group(1))
    if at.tok.isdigit() and 1 <= int(at.tok) <= 31 and (
        at.nxt in ("числа", "число") or at.nxt in _MONTH_WORDS or at.prev == "the"
    ):
        return int(at.tok)
    return None


def _clock_time(clock: re.Match[str]) -> tuple[int, int]:
    """Hour and minute of "9", "10:30", "3pm", "12 a.m." (not checked for range)."""
    hour, minute = int(clock.group(1)), int(clock.group(2) or 0)
    meridiem = clock.group(3)
    if meridiem and meridiem.startswith("p") and hour < 12:
        hour += 12
    elif meridiem and meridiem.startswith("a") and hour == 12:
        hour = 0
    elif not (meridiem or clock.group(2)):
        hour = read_bare_hour(hour)  # "в 5" is 17:00, as in one-off tasks
    return hour, minute


@dataclass
class _RuleBuilder:
    freq: int | None = None
    interval: int = 1
    weekdays: list[weekday] = field(default_factory=list)
    monthday: int | None = None
    month: int | None = None
    last_workday: bool = False
    hour: int | None = None
    minute: int = 0
    again: bool = False  # a word that says the task repeats
    content: bool = False  # something beyond fillers: a day, a time, a unit
    of_month: bool = False  # a day of the month was named: "of the month" adds nothing

    def frequency(self, found: tuple[int, int]) -> None:
        self.freq, interval = found
        if self.interval == 1:
            self.interval = interval
        self.again = True

    def read(self, toks: list[str]) -> bool:
        """Consume every token or fail: a schedule phrase has nothing but schedule words."""
        i = 0
        while i < len(toks):
            used = self._read_token(_At.of(toks, i))
            if used == _REJECT:
                return False
            i += used
        return True

    def _read_token(self, at: _At) -> int:
        """How many tokens the first reader that knows this one consumes; _REJECT if none
        does, or if the one that does finds it out of range."""
        for reader in self._READERS:
            used = reader(self, at)
            if used is not None:
                return used
        return _REJECT

    # Each reader looks at one token (and its neighbours). It returns None when the token
    # is not of its kind, so the next reader is asked; otherwise how many tokens it consumed,
    # or _REJECT when the phrase cannot be a schedule.

    def _starter(self, at: _At) -> int | None:
        if at.tok not in _STARTERS:
            return None
        self.again = True
        return 1

    def _frequency_word(self, at: _At) -> int | None:
        found = _adjective(at.tok)
        if found is None:
            return None
        self.frequency(found)
        # «ежемесячно» is a whole schedule; «ежемесячный» needs a day or time.
        self.content = self.content or at.tok in _ADVERBS
        return 1

    def _once_per(self, at: _At) -> int | None:
        """«раз в», "once a", "once per": the unit follows."""
        if not (at.tok in _ONCE and at.nxt in _PER):
            return None
        self.again = True
        return 2

    def _other(self, at: _At) -> int | None:
        """"every other", «каждую вторую»."""
        if not (at.tok in _OTHER and at.prev in _STARTERS):
            return None
        self.interval = 2
        return 1

    def _count_of_units(self, at: _At) -> int | None:
        """"3 months", «две недели»."""
        if not ((at.tok.isdigit() or at.tok in _NUMBER_WORDS) and at.nxt in _UNIT_WORDS):
            return None
        count = int(at.tok) if at.tok.isdigit() else _NUMBER_WORDS[at.tok]
        if not 1 <= count <= 99:
            return _REJECT
        freq, unit = _UNIT_WORDS[at.nxt]
        self.freq, self.interval, self.content = freq, count * unit, True
        return 2

    def _unit(self, at: _At) -> int | None:
        """"every month", "every other week", «раз в квартал»."""
        if at.tok not in _UNIT_WORDS:
            return None
        freq, unit = _UNIT_WORDS[at.tok]
        if freq == MONTHLY and self.of_month:
            return 1  # "the 1st of the month", «последний день месяца»: the day says it
        if not (
            at.prev in _STARTERS
            or at.prev in _OTHER
            or (at.prev in _PER and at.prev2 in _ONCE)
        ):
            return None
        self.freq = freq
        self.interval *= unit
        self.content = True
        return 1

    def _weekday(self, at: _At) -> int | None:
        """"Monday", «пятницу»; the plural ("по понедельникам", "on Mondays") also says
        "again"."""
        if at.tok in _WEEKDAY_WORDS:
            self.weekdays.append(_DAYS[_WEEKDAY_WORDS[at.tok]])
        elif at.tok in _WEEKDAY_PLURALS:
            self.weekdays.append(_DAYS[_WEEKDAY_PLURALS[at.tok]])
            self.again = True
        else:
            return None
        self.content = True
        return 1

    def _workdays(self, at: _At) -> int | None:
        """«по будням», "on weekdays", "every working day"."""
        if at.tok not in _WORKDAY_WORDS:
            return None
        self.weekdays.extend(_WORKDAYS)
        self.again = self.content = True
        return 2 if at.tok == "working" and at.nxt in ("day", "days") else 1

    def _last_workday(self, at: _At) -> int | None:
        """"last working day", «последний рабочий день», "last workday"."""
        if not (
            at.tok in ("последний", "last") and at.nxt in ("рабочий", "working", "workday")
        ):
            return None
        self.last_workday = self.again = self.content = self.of_month = True
        # "working"/«рабочий» takes the word after it along (the day), when there is one.
        return 3 if at.nxt in ("рабочий", "working") and at.left > 2 else 2

    def _last_day(self, at: _At) -> int | None:
        """"last day", «последний день», «последнего числа»."""
        if not (
            at.tok in ("последний", "последнего", "last") and at.nxt in ("день", "day", "числа")
        ):
            return None
        self.monthday, self.content, self.of_month = -1, True, True
        return 2

    def _month(self, at: _At) -> int | None:
        """«марта», "March", and "March 15"."""
        if at.tok not in _MONTH_WORDS:
            return None
        self.month, self.content = _MONTH_WORDS[at.tok], True
        if at.nxt.isdigit() and 1 <= int(at.nxt) <= 31 and self.monthday is None:
            self.monthday = int(at.nxt)  # "March 15"
            return 2
        return 1

    def _monthday(self, at: _At) -> int | None:
        """"first", "1st", «1-го», "the 1", «1 числа», «15 марта»."""
        day = _day_of_month(at)
        if day is None:
            return None
        self.monthday, self.content, self.of_month = day, True, True
        return 1

    def _clock(self, at: _At) -> int | None:
        """"at 9", «в 5», "10:30", "3pm"."""
        clock = _CLOCK.match(at.tok)
        if not (clock and (clock.group(2) or clock.group(3) or at.prev in _AT_HOUR)):
            return None
        hour, minute = _clock_time(clock)
        if hour > 23 or minute > 59 or self.hour is not None:
            return _REJECT
        self.hour, self.minute, self.content = hour, minute, True
        return 1

    def _evening(self, at: _At) -> int | None:
        """«в 7 вечера», "at 7 pm": the hour already read moves to the afternoon."""
        if not (at.tok in _EVENING and self.hour is not None and self.hour < 12):
            return None
        self.hour += 12
        return 1

    def _filler(self, at: _At) -> int | None:
        """Words that add nothing: «в», "on the", «числа», «утра», «часов»."""
        return 1 if at.tok in _HOUR_AS_IS or at.tok in _FILLERS else None

    # The order matters: the first reader that knows a token takes it.
    _READERS: ClassVar[tuple[Callable[[_RuleBuilder, _At], int | None], ...]] = (
        _starter,
        _frequency_word,
        _once_per,
        _other,
        _count_of_units,
        _unit,
        _weekday,
        _workdays,
        _last_workday,
        _last_day,
        _month,
        _monthday,
        _clock,
        _evening,
        _filler,
    )

    def _freq(self) -> int | None:
        if self.month is not None and self.monthday is not None:
            return YEARLY if self.freq in (None, YEARLY) else None
        if self.last_workday or self.monthday is not None:
            return self.freq if self.freq in (MONTHLY, YEARLY) else MONTHLY
        if self.weekdays and self.freq in (None, DAILY, WEEKLY):
            return WEEKLY
        return self.freq

    def build(self, now_local: datetime, morning_hour: int) -> rrule | None:
        freq = self._freq()
        if freq is None or not self.again:
            return None
        if self.weekdays and freq != WEEKLY:
            return None  # "monthly on Friday": which Friday? Not guessed.
        hour = morning_hour if self.hour is None else self.hour
        start = now_local.date()
        kwargs: dict[str, object] = {
            "byhour": hour,
            "byminute": self.minute,
            "bysecond": 0,
        }
        if self.last_workday:
            kwargs.update(byweekday=_WORKDAYS, bysetpos=-1)
        elif freq == YEARLY:
            kwargs["bymonth"] = self.month or start.month
            kwargs["bymonthday"] = self.monthday or start.day
        elif freq == MONTHLY:
            kwargs["bymonthday"] = self.monthday if self.monthday is not None else start.day
        elif self.weekdays:
            kwargs["byweekday"] = tuple(dict.fromkeys(self.weekdays))
        elif freq == WEEKLY:
            kwargs["byweekday"] = _DAYS[start.weekday()]
        dtstart = datetime.combine(start, time(hour, self.minute))
        if self.interval > 1:
            # "every 2 weeks on Tuesday" said on Thursday: the nearest Tuesday, then every
            # other one (not the Tuesday of the week after next).
            first = rrule(freq, dtstart=dtstart, **kwargs).after(  # type: ignore[arg-type]
                now_local.replace(tzinfo=None), inc=True
            )
            if first is None:
                return None
            dtstart = first
        return rrule(freq, dtstart=dtstart, interval=self.interval, **kwargs)  # type: ignore[arg-type]


def _match(
    toks: list[str],
    block: Sequence[int],
    adjective: int | None,
    now_local: datetime,
    hour: int,
) -> rrule | None:
    builder = _RuleBuilder()
    if adjective is not None and adjective not in block:
        found = _adjective(toks[adjective])
        assert found is not None
        builder.frequency(found)
    if not builder.read([toks[i] for i in block]):
        return None
    if not builder.content and len(block) > 0:
        return None  # fillers only ("в", "on the"), or «ежемесячный» with no day or time
    return builder.build(now_local, hour)


def split_recurrence(
    text: str, *, tz: ZoneInfo, now: datetime, morning_hour: int = 10
) -> RecurrenceMatch | None:
    """Task text with a schedule at its end ("отчёт каждый понедельник в 9") or start
    ("каждую пятницу в 5 отчёт"), a frequency word anywhere ("weekly call on Monday"),
    or None when the text does not say the task repeats."""
    words = text.replace("раз в две недели", "раз-в-две-недели").split()
    toks = _tokens(text)
    if len(words) != len(toks):
        return None
    now_local = now.astimezone(tz)
    adjective = next(
        (index for index, tok in enumerate(toks) if _adjective(tok) is not None), None
    )

    def rest_of(kept: range) -> str:
        return " ".join(
            words[i] for i in kept if i != adjective
        ).strip(" ,-—:")

    # The schedule at the end, as long as it can be: "report on the 1st of every month".
    for first in range(len(toks)):
        rule = _match(toks, range(first, len(toks)), adjective, now_local, morning_hour)
        if rule is not None:
            return RecurrenceMatch(str(rule), rest_of(range(first)), " ".join(words[first:]))
    # Or at the start: "каждую пятницу в 17 отчёт", and its day or time may close the
    # text: «раз в месяц сверка 5 числа».
    for end in range(len(toks) - 1, 0, -1):
        rule = _match(toks, range(end), adjective, now_local, morning_hour)
        if rule is None:
            continue
        for first in range(end + 1, len(toks)):
            both = [*range(end), *range(first, len(toks))]
            whole = _match(toks, both, adjective, now_local, morning_hour)
            if whole is not None:
                return RecurrenceMatch(
                    str(whole), rest_of(range(end, first)),
                    " ".join([*words[:end], "…", *words[first:]]),
                )
        return RecurrenceMatch(
            str(rule), rest_of(range(end, len(toks))), " ".join(words[:end])
        )
    # A frequency alone: «ежемесячно счёт», "call Ivan weekly" (an adverb, not «ежемесячный
    # отчёт за ноябрь», a report about a month, nor "send the weekly report").
    if adjective is not None and toks[adjective] in _ADVERBS and (
        toks[adjective].startswith("еже") or adjective in (0, len(toks) - 1)
    ):
        rule = _match(toks, range(0), adjective, now_local, morning_hour)
        if rule is not None:
            return RecurrenceMatch(
                str(rule), rest_of(range(len(toks))), words[adjective]
            )
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


def occurrence_in_zone(
    rule_text: str,
    previous: datetime | None,
    old_tz: ZoneInfo,
    new_tz: ZoneInfo,
    now: datetime,
) -> datetime | None:
    """The upcoming occurrence once the user is in `new_tz`: the rule's first one there that
    is ahead of now and on a later day than the series' previous occurrence (`previous`, on
    the old zone's clock). So a day already done is not done again, none is skipped, and
    moving back restores the original moment, even when the first move had to pass a
    morning that was already gone in the new zone."""
    after = now
    if previous is not None:
        day = previous.astimezone(old_tz).date() + timedelta(days=1)
        next_day = datetime.combine(day, time(0), tzinfo=new_tz)
        after = max(now, next_day.astimezone(UTC) - timedelta(microseconds=1))
    return next_occurrence(rule_text, new_tz, after)
