"""Natural-language due dates for task input, in Russian and English.

The well-structured phrases people actually type into a task bot ("завтра в 10", "пт 12",
"через 2 часа", "10.12 12:00", "fri 3pm", "1 декабря") are parsed by a small grammar of our own,
because dateparser 1.5 gets several of them wrong:

* "завтра в 10" keeps the current time of day (the hour is lost), and so does "tomorrow";
* "в пятницу в 9" reads "9" as the day of the month and lands in the past;
* "10.12 в 12:00" is not parsed at all, and "10.12.2026" is read month-first (12 Oct);
* "в 10" becomes the 10th day of the month, "пт 12" the 12th;
* ``search_dates`` counts relative phrases from the server's ``datetime.now()`` unless given a
  base; we never use it, and cut the phrase out of the text ourselves.

dateparser stays as a strict fallback for phrases made only of date vocabulary that the grammar
does not assemble ("a week from now", "December the 1st").

The grammar is vocabulary tables (words, typos, multi-word phrases such as "end of month"),
not if-chains. The rules an account manager relies on (README, "How dates are read"):

* **A bare hour** -- a one-digit number with no minutes, no am/pm, no утра/вечера and no part
  of the day ("в 7", "at 5", "пт 3") -- is read inside the working day 08:00-19:59: 8 and 9
  are morning hours, 1-7 mean 13:00-19:00 (``read_bare_hour``). Then, as for any time without
  a date, the next such moment from now. "в 07", "7:00", "7 утра", "утром в 7" are 07:00.
* A date without a time gets the user's morning hour; "end of ..." phrases (eod, end of week,
  end of month) get the end of the working day, ``END_OF_DAY_HOUR``.
* "This afternoon", "сегодня вечером", "eod": that hour today; once it has passed but that part
  of the day is still on, the next full hour; once the part of the day is over, the bot asks.
* A part of the day alone ("утром", "после обеда", "вечером"): its next occurrence; typed while
  that part of the day is on but its hour has passed ("после обеда" at 14:37), the bot asks.
* A phrase that is about time but names no moment ("на днях", "soon", "this week"), "end
  of the week" typed after Friday's end of day, "today" in the last hour of the day, and
  "завтра"/"tomorrow" typed between 00:00 and 03:59 (the day that has just begun, or the one
  after?) are not guessed: the bot asks, with quick picks.
* Slash dates follow the user's language: 10/12 is 10 December for Russian, October 12 for
  English; with no language known, a slash date that reads both ways is asked about.
* Task text may carry its moment at the end, the start, or -- when it cannot be ordinary words
  (a clock time, a date, "завтра", a weekday spelled out) and is ahead -- the middle. A date
  after "от"/"за"/"dated" is a document's date ("счёт от 25.11"), never the task's.
* "в последний день месяца" / "last day of the month" is a one-off date here; schedules ("every
  month on the last day") belong to bot/domain/recurrence.py.

All calendar math happens in the user's zone; results are aware UTC datetimes.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

from dateparser import conf as dateparser_conf
from dateparser.date import DateDataParser
from dateutil.relativedelta import relativedelta

__all__ = [
    "END_OF_DAY_HOUR",
    "DateParser",
    "WhenMatch",
    "at_local",
    "next_weekday_at",
    "read_bare_hour",
]


@dataclass(frozen=True, slots=True)
class WhenMatch:
    due: datetime  # aware, UTC
    text: str  # the input without the date phrase
    phrase: str  # the date phrase exactly as it appeared in the input


# --------------------------------------------------------------------------------------------
# Vocabulary. Tokens are compared after casefold() and ё -> е.


def _words(spec: dict[int, str]) -> dict[str, int]:
    return {word: value for value, words in spec.items() for word in words.split()}


_WEEKDAYS: Final = _words(
    {
        0: "пн понедельник понедельника понедельнику понедельником mon monday",
        1: "вт вторник вторника вторнику вторником tue tues tuesday",
        2: "ср среда среду среды wed weds wednesday",
        3: "чт четверг четверга четвергу четвергом thu thur thurs thursday",
        4: "пт пятница пятницу пятницы fri friday",
        5: "сб суббота субботу субботы sat saturday",
        6: "вс воскресенье воскресенья воскресенью sun sunday",
    }
) | _words(
    {
        # Typos seen in real input; each is a misspelling of one day only.
        0: "понедельнк понеделник понидельник понедельнек пондельник munday monady mondy",
        1: "вторнк вторнек фторник tuseday tusday teusday tuesay",
        2: "сриду срида wensday wendsday wednsday wedensday wednesay wedsday",
        3: "четверк четверх четвер четврг thursay thurday thrusday thursdy",
        4: "пятнецу пятницо пятницк пятниццу fryday firday friady",
        5: "суботу субота суботы saterday satuday saturady",
        6: "воскресение воскрисенье sundy sundya",
    }
)
# Dative forms equal the prepositional ones ("в среде" = "in the environment"), so they count as
# a weekday only in "к среде" (by Wednesday).
_WEEKDAYS_AFTER_K: Final = {"среде": 2, "пятнице": 4, "субботе": 5}

_MONTHS: Final = _words(
    {
        1: "янв январь января jan january",
        2: "фев февр февраль февраля feb february",
        3: "мар март марта mar march",
        4: "апр апрель апреля apr april",
        5: "май мая may",
        6: "июн июнь июня jun june",
        7: "июл июль июля jul july",
        8: "авг август августа aug august",
        9: "сен сент сентябрь сентября sep sept september",
        10: "окт октябрь октября oct october",
        11: "ноя нояб ноябрь ноября nov november",
        12: "дек декабрь декабря dec december",
    }
)

_MINUTE, _HOUR, _DAY, _WEEK, _MONTH, _YEAR = range(6)
_UNITS: Final = _words(
    {
        _MINUTE: "м мин минута минуту минуты минут m min mins minute minutes",
        _HOUR: "ч час часа часов h hr hrs hour hours",
        _DAY: "д дн день дня дней сутки суток d day days",
        _WEEK: "нед неделя неделю недели недель w wk wks week weeks",
        _MONTH: "мес месяц месяца месяцев month months",
        _YEAR: "год года лет year years",
    }
)

_NUMBER_WORDS: Final = _words(
    {
        1: "один одна одну одного a an one",
        2: "два две пару пара пары two couple",
        3: "три three",
        4: "четыре four",
        5: "пять five",
        6: "шесть six",
        7: "семь seven",
        8: "восемь eight",
        9: "девять nine",
        10: "десять ten",
        11: "одиннадцать eleven",
        12: "двенадцать twelve",
        15: "пятнадцать fifteen",
        20: "двадцать twenty",
        30: "тридцать thirty",
        40: "сорок forty",
    }
)
_ONE_AND_A_HALF: Final = frozenset({"полтора", "полторы"})

_DAY_OFFSETS: Final = {
    "сегодня": 0,
    "today": 0,
    "tonight": 0,
    "завтра": 1,
    "tomorrow": 1,
    "tmrw": 1,
    "tmr": 1,
    # typos and shorthands
    "2moro": 1,
    "2morrow": 1,
    "2mrw": 1,
    "tomorow": 1,
    "tommorow": 1,
    "tommorrow": 1,
    "tomorrrow": 1,
    "завтро": 1,
    "завра": 1,
    "седня": 0,
    "сегодн": 0,
    "tdy": 0,
    "2day": 0,
    "послезавтра": 2,
    "послезавтро": 2,
    "вчера": -1,
    "yesterday": -1,
    "позавчера": -2,
}
_DAY_OFFSET_PHRASES: Final = {
    ("day", "after", "tomorrow"): 2,
    ("day", "before", "yesterday"): -2,
}

# The end of the working day: "eod", "end of the week", "end of month", "today" after the morning.
END_OF_DAY_HOUR: Final = 18
# A bare hour ("в 7") is read inside the working day that starts here (see read_bare_hour).
WORKDAY_START_HOUR: Final = 8

_MORNING, _LUNCH, _AFTERNOON, _EOD, _EVENING = "morning", "lunch", "afternoon", "eod", "evening"
_PARTS_OF_DAY: Final = {
    "утром": _MORNING,
    "morning": _MORNING,
    "днем": _AFTERNOON,
    "afternoon": _AFTERNOON,
    "вечером": _EVENING,
    "evening": _EVENING,
    "eod": _EOD,
    "cob": _EOD,
}
# The hour a part of the day means (the morning is the user's own morning hour) ...
_PART_HOURS: Final = {_LUNCH: 13, _AFTERNOON: 14, _EOD: END_OF_DAY_HOUR, _EVENING: 19}
# ... and the hour it is over: "this afternoon" typed at 17:30 is asked about, not guessed.
_PART_ENDS: Final = {_MORNING: 12, _LUNCH: 15, _AFTERNOON: 17, _EOD: 21, _EVENING: 23}
_PM_PARTS: Final = frozenset({_LUNCH, _AFTERNOON, _EOD, _EVENING})

# Multi-word phrases, matched whole before anything else. Prepositions in front of them
# ("в", "к", "до", "by", "the") are fillers and need no entry of their own.
_ASK, _MONTH_END, _MONTH_LAST, _NEXT_MONTH, _NEXT_MONTH_END = (
    "ask", "month_end", "month_last", "next_month", "next_month_end"
)  # fmt: skip
_WEEK_END, _NEXT_WEEK_END, _WEEKEND, _NEXT_WEEKEND, _YEAR_END = (
    "week_end", "next_week_end", "weekend", "next_weekend", "year_end"
)  # fmt: skip


def _phrases(spec: dict[str, str]) -> dict[tuple[str, ...], str]:
    return {
        tuple(phrase.split()): meaning
        for meaning, phrases in spec.items()
        for phrase in phrases.split(",")
    }


_PHRASES: Final = _phrases(
    {
        # dates
        _MONTH_END: "конце месяца,концу месяца,конца месяца,конце этого месяца,"
        "концу этого месяца,конца этого месяца,end of month,end of the month,"
        "end of this month,eom",
        _MONTH_LAST: "последний день месяца,последний день этого месяца,последнее число месяца,"
        "last day of the month,last day of month,last day of this month",
        _NEXT_MONTH_END: "конце следующего месяца,концу следующего месяца,"
        "конца следующего месяца,end of next month,end of the next month",
        _NEXT_WEEK_END: "конце следующей недели,концу следующей недели,конца следующей недели,"
        "end of next week,end of the next week",
        "next_week": "начале следующей недели,начала следующей недели,beginning of next week,"
        "start of next week,early next week",
        _YEAR_END: "конце года,концу года,конца года,конце этого года,концу этого года,"
        "конца этого года,end of the year,end of year,end of this year,eoy",
        _NEXT_MONTH: "следующем месяце,след месяце,следующему месяцу,начале следующего месяца,"
        "next month,beginning of next month,start of next month,early next month",
        _WEEK_END: "конце недели,концу недели,конца недели,конца этой недели,"
        "концу этой недели,end of week,end of the week,end of this week,eow",
        _WEEKEND: "на выходных,на выходные,в выходные,эти выходные,этих выходных,"
        "on the weekend,on weekend,at the weekend,this weekend,over the weekend",
        _NEXT_WEEKEND: "на следующих выходных,следующих выходных,следующие выходные,"
        "next weekend",
        # parts of the day
        _EOD: "конца дня,концу дня,конце дня,конца рабочего дня,концу рабочего дня,"
        "конце рабочего дня,end of day,end of the day,end of business,close of business",
        _MORNING: "с утра,до обеда,первой половине дня,before lunch,first thing",
        _LUNCH: "в обед,at lunch,at lunchtime",
        _AFTERNOON: "после обеда,второй половине дня,after lunch",
        _EVENING: "к вечеру,ближе к вечеру",
        # about time, but no moment: the bot asks
        _ASK: "на днях,скоро,soon,как-нибудь,когда-нибудь,sometime,на неделе,на этой неделе,"
        "this week,в течение недели,в начале недели,в начале месяца,"
        "в течение дня,during the day,asap,как можно скорее,попозже,в середине месяца,"
        "mid-month,mid month,в середине недели,midweek,mid-week",
    }
)
_PHRASE_LENGTHS: Final = sorted({len(words) for words in _PHRASES}, reverse=True)
_DATE_PHRASES: Final = frozenset(
    {
        _MONTH_END,
        _MONTH_LAST,
        _NEXT_MONTH,
        _NEXT_MONTH_END,
        _WEEK_END,
        _NEXT_WEEK_END,
        _WEEKEND,
        _NEXT_WEEKEND,
        _YEAR_END,
    }
)
# Words that make the date after them a document's date: "счёт от 25.11", "invoice dated 1/12".
_CITING: Final = frozenset({"от", "за", "dated", "№"})
# Day abbreviations that are everyday English words, and the words that make them a day.
_WORD_LIKE_DAYS: Final = frozenset({"sun", "sat", "wed"})
_DAY_POINTERS: Final = frozenset({"on", "this", "by", "till", "until", "next", "before"})
# Day-of-month words: "15 числа", "15-го числа".
_MONTHDAY_WORDS: Final = frozenset({"числа", "число", "числу"})
# English ordinals are dates only behind one of these: "on the 15th", but "2nd call" is text.
_ORDINAL_PREPS: Final = frozenset({"on", "by", "the", "before", "until", "till"})
_CLOCK_WORDS: Final = {"полдень": 12, "noon": 12, "midday": 12, "полночь": 0, "midnight": 0}

_HOUR_MARKERS: Final = frozenset({"ч", "час", "часа", "часов"})
_RU_MERIDIEM: Final = frozenset({"утра", "вечера", "дня", "ночи"})
# "2 ночи" is also "two nights" and "3 дня" "three days": only a preposition or a preceding date
# makes them a time of day.
_LOOSE_MERIDIEM: Final = frozenset({"am", "pm", "утра", "вечера"})

_NEXT_WORDS: Final = frozenset(
    {"next", "следующий", "следующую", "следующее", "следующей", "следующего", "след"}
)
_WEEK_WORDS: Final = frozenset({"week", "неделе", "неделю"})
_RELATIVE_WORDS: Final = frozenset({"через", "in", "спустя"})
_AGO_WORDS: Final = frozenset({"назад", "ago"})
# Prepositions that turn a bare number into an hour: "в 10", "к 10", "at 10".
_TIME_PREPS: Final = frozenset({"в", "во", "к", "ко", "до", "около", "at", "by", "around"})
# Words that may sit between the parts of a phrase without meaning anything on their own.
_FILLERS: Final = _TIME_PREPS | frozenset({"на", "on", "the"})
# Only in front of a weekday or a part of day: "проверить это завтра" keeps its "это".
_THIS_WORDS: Final = frozenset({"this", "эту", "этот", "это", "эта", "этой", "этом"})
# Prepositions left hanging at the end of a task once the date phrase is cut out of it.
_DANGLING: Final = _FILLERS | frozenset({"in", "for", "till", "until", "через", "с", "со"})

_DIGITS: Final = re.compile(r"[0-9]{1,2}")
_DIGITS_ONLY: Final = re.compile(r"[0-9]+")
_HHMM: Final = re.compile(r"([0-9]{1,2}):([0-9]{2})(a\.?m\.?|p\.?m\.?)?")
_H_AMPM: Final = re.compile(r"([0-9]{1,2})(a\.?m\.?|p\.?m\.?)")
_AMPM: Final = re.compile(r"(a|p)\.?m\.?")
_H_DOT_MM: Final = re.compile(r"([0-9]{1,2})\.([0-9]{2})")
# Without a year the month takes two digits: "2.5" in task text is a quantity, "02.05" a date.
_DOTTED: Final = re.compile(r"([0-9]{1,2})\.(?:([0-9]{2})|([0-9]{1,2})\.([0-9]{4}|[0-9]{2}))")
_ISO: Final = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_ORDINAL_DAY: Final = re.compile(r"([0-9]{1,2})(?:-?(?:го|ого|е|ое|й|st|nd|rd|th))?")
_RU_ORDINAL: Final = re.compile(r"([0-9]{1,2})-?(?:го|ого|му|ому)")
_EN_ORDINAL: Final = re.compile(r"([0-9]{1,2})(?:st|nd|rd|th)")
_SLASH: Final = re.compile(r"([0-9]{1,2})/([0-9]{1,2})(?:/([0-9]{4}|[0-9]{2}))?")
# Fractions and set phrases that look like slash dates.
_SLASH_NOT_DATES: Final = frozenset("24/7 1/2 1/3 2/3 1/4 3/4 1/5 1/10".split())
# "1030" after a date, "10ч", "10-00": clock times without a colon.
_HHMM_JOINED: Final = re.compile(r"([0-9]{1,2})([0-9]{2})")
_H_MARKED: Final = re.compile(r"([0-9]{1,2})ч")
_H_DASH_MM: Final = re.compile(r"([0-9]{1,2})-([0-9]{2})")
_YEAR_TOKEN: Final = re.compile(r"([0-9]{4})(?:г|года|год)?")
_YEAR_SUFFIXES: Final = frozenset({"г", "года", "год"})
_AMOUNT: Final = re.compile(r"[0-9]{1,4}(?:[.,][0-9]{1,2})?")
_AMOUNT_UNIT: Final = re.compile(r"([0-9]{1,4})(м|мин|ч|д|дн|нед|h|hr|hrs|m|min|mins|d|w|wk|wks)")

_LEADING_PUNCT: Final = "([{\"'«„“‘-—–"
_TRAILING_PUNCT: Final = ")]}\"'»“”’,;:!?….-—–"
_DASHES: Final = "-—–‒―"
_EDGE_JUNK: Final = " \t,;:.!?…-—–"

# Extra words dateparser understands around the vocabulary above; the fallback only ever sees
# phrases built from known date words, so it cannot turn an ordinary word into a date.
_FALLBACK_EXTRA: Final = frozenset(
    {"from", "now", "after", "before", "of", "half", "later", "fortnight", "and", "last"}
)
# A duration is a moment only when something says which way to count: "a week from now" is,
# "2 часа" in "обновить отчёт за 2 часа" is not.
_DIRECTION_WORDS: Final = _RELATIVE_WORDS | _AGO_WORDS | frozenset({"from", "later", "after"})
_MAX_WINDOW: Final = 8
_MAX_FALLBACK_TOKENS: Final = 10


class _NoMatchError(Exception):
    """The tokens are not a phrase of our grammar."""


class _ImpossibleError(Exception):
    """The tokens are clearly a date or time, but one that cannot exist (31.02, 25:00)."""


class _PlainWordError(Exception):
    """The tokens are an ordinary word that also abbreviates a day ("sun"): not a date."""


class _AskError(Exception):
    """The tokens are about time but name no one moment ("на днях", "this week"): ask."""


# --------------------------------------------------------------------------------------------
# Grammar


@dataclass(slots=True)
class _Spec:
    # "offset" | "weekday" | "next_week" | "abs" | "calendar" | "monthday" | a _DATE_PHRASES one
    date_kind: str | None = None
    offset: int = 0
    weekday: int = 0
    weekday_next: bool = False
    day: int = 0
    month: int = 0
    year: int | None = None
    calendar: relativedelta | None = None
    exact: timedelta | None = None
    hour: int | None = None
    minute: int = 0
    meridiem: bool = False
    part: str | None = None
    weak: bool = False  # only "в 10"/"at 10": too ambiguous to cut from the start of a text
    bare_hour: bool = False  # "в 5", "пт 3": an hour with no minutes and no am/pm
    today_part: bool = False  # "this afternoon", "tonight", "eod": a part of *today*
    strong: bool = False  # unmistakably a moment: may be cut from the middle of a text

    def is_empty(self) -> bool:
        return (
            self.date_kind is None
            and self.exact is None
            and self.hour is None
            and self.part is None
        )


def _meridiem(tok: str) -> str | None:
    if tok in _RU_MERIDIEM:
        return tok
    match = _AMPM.fullmatch(tok)
    return None if match is None else match.group(1) + "m"


# The 24-hour clock's hour for each hour a meridiem allows: "3 дня" is 15:00, "12 ночи" is
# 00:00; an hour left out ("8 дня", "7 ночи", "13pm") cannot exist.
_MERIDIEM_HOURS: Final = {
    "am": {hour: hour % 12 for hour in range(1, 13)},
    "pm": {hour: hour % 12 + 12 for hour in range(1, 13)},
    "утра": {hour: hour for hour in range(1, 12)},
    "вечера": {hour: hour + 12 for hour in range(1, 12)},
    "дня": {11: 11, 12: 12} | {hour: hour + 12 for hour in range(1, 7)},
    "ночи": {12: 0}
    | {hour: hour for hour in range(1, 6)}
    | {hour: hour + 12 for hour in range(9, 12)},
}


def _apply_meridiem(hour: int, meridiem: str | None) -> int:
    if meridiem is None:
        if hour > 23:
            raise _ImpossibleError
        return hour
    hour24 = _MERIDIEM_HOURS.get(meridiem, {}).get(hour)
    if hour24 is None:
        raise _ImpossibleError
    return hour24


class _Scanner:
    """Reads a token list left to right; every token must belong to some part of the phrase."""

    def __init__(self, toks: list[str], month_first: bool | None) -> None:
        self.toks = toks
        self.spec = _Spec()
        self.after_date = False
        # slash dates: True "10/12" = October 12 (English), False = 10 December, None = unknown
        self.month_first = month_first
        self.word_day = False

    def tok(self, i: int) -> str:
        return self.toks[i] if 0 <= i < len(self.toks) else ""

    def run(self) -> _Spec:
        # (matcher, whether what it matched is a day that a following bare number is the hour of)
        matchers = (
            (self._phrase, True),
            (self._relative, False),
            (self._ago, False),
            (self._next, True),
            (self._weekday, True),
            (self._day_word, True),
            (self._month_date, True),
            (self._numeric_date, True),
            (self._monthday, True),
            (self._prep_time, False),
            (self._time, False),
            (self._part_of_day, False),
        )
        i, n = 0, len(self.toks)
        while i < n:
            for matcher, is_day in matchers:
                used = matcher(i)
                if used:
                    self.after_date = is_day
                    break
            else:
                if self.toks[i] not in _FILLERS or i + 1 == n:
                    raise _NoMatchError
                used = 1
                self.after_date = False
            i += used
        if self.spec.is_empty():
            raise _NoMatchError
        if self.word_day and self.spec.hour is None and self.spec.part is None:
            raise _PlainWordError  # "in the sun", "sat down", "wed"
        return self.spec

    # -- claims: each part of a phrase may appear once

    def _claim_date(self, kind: str) -> None:
        spec = self.spec
        current = spec.date_kind
        if spec.exact is not None:
            raise _NoMatchError
        if current is None:
            spec.date_kind = kind
        elif {current, kind} == {"weekday", "abs"}:
            # "пятница 27.11": the explicit date wins, the weekday is decoration
            spec.date_kind = "abs"
        elif {current, kind} == {"weekday", "next_week"}:
            spec.date_kind = "weekday"
            spec.weekday_next = True
        else:
            raise _NoMatchError

    def _claim_time(self, hour: int, minute: int, meridiem: str | None) -> None:
        spec = self.spec
        if spec.hour is not None or spec.exact is not None:
            raise _NoMatchError
        if minute > 59:
            raise _ImpossibleError
        spec.hour = _apply_meridiem(hour, meridiem)
        spec.minute = minute
        spec.meridiem = meridiem is not None

    # -- date parts

    def _amount_unit(self, j: int) -> tuple[float, int, int] | None:
        """(amount, unit, tokens used): "2 часа", "2ч", "пару дней", "час", "a couple of days"."""
        t = self.tok(j)
        joined = _AMOUNT_UNIT.fullmatch(t)
        if joined:
            return float(joined.group(1)), _UNITS[joined.group(2)], 1
        if t in _UNITS:
            return 1.0, _UNITS[t], 1
        used = 1
        if _AMOUNT.fullmatch(t):
            amount = float(t.replace(",", "."))
        elif t in _ONE_AND_A_HALF:
            amount = 1.5
        elif t in _NUMBER_WORDS:
            amount = float(_NUMBER_WORDS[t])
            if t in ("a", "an") and self.tok(j + 1) == "couple":
                amount, used = 2.0, 2
            if self.tok(j + used - 1) == "couple" and self.tok(j + used) == "of":
                used += 1
        else:
            return None
        unit = self.tok(j + used)
        if unit not in _UNITS:
            return None
        return amount, _UNITS[unit], used + 1

    def _set_offset(self, amount: float, unit: int, sign: int) -> None:
        spec = self.spec
        if unit in (_MINUTE, _HOUR):
            if spec.date_kind is not None or spec.exact is not None or spec.hour is not None:
                raise _NoMatchError
            spec.exact = timedelta(minutes=sign * amount * (60 if unit == _HOUR else 1))
            return
        if amount != int(amount):
            raise _NoMatchError
        count = sign * int(amount)
        self._claim_date("calendar")
        spec.calendar = {
            _DAY: relativedelta(days=count),
            _WEEK: relativedelta(weeks=count),
            _MONTH: relativedelta(months=count),
            _YEAR: relativedelta(years=count),
        }[unit]

    def _relative(self, i: int) -> int:
        if self.toks[i] not in _RELATIVE_WORDS:
            return 0
        t, nxt = self.tok(i + 1), self.tok(i + 2)
        if t == "полчаса":
            self._set_offset(30, _MINUTE, 1)
            return 2
        if t == "half" and (nxt == "hour" or (nxt in ("a", "an") and self.tok(i + 3) == "hour")):
            self._set_offset(30, _MINUTE, 1)
            return 3 if nxt == "hour" else 4
        found = self._amount_unit(i + 1)
        if found is None:
            return 0
        amount, unit, used = found
        self._set_offset(amount, unit, 1)
        return 1 + used

    def _ago(self, i: int) -> int:
        found = self._amount_unit(i)
        if found is None or self.tok(i + found[2]) not in _AGO_WORDS:
            return 0
        self._set_offset(found[0], found[1], -1)
        return found[2] + 1

    def _next(self, i: int) -> int:
        if self.toks[i] not in _NEXT_WORDS:
            return 0
        t = self.tok(i + 1)
        if t in _WEEKDAYS:
            self._claim_date("weekday")
            self.spec.weekday = _WEEKDAYS[t]
            self.spec.weekday_next = True
            return 2
        if t in _WEEK_WORDS:
            self._claim_date("next_week")
            return 2
        return 0

    def _weekday(self, i: int) -> int:
        t = self.toks[i]
        if t in _THIS_WORDS and self.tok(i + 1) in _WEEKDAYS:
            return 1 + self._weekday(i + 1)
        if t in _WEEKDAYS:
            weekday = _WEEKDAYS[t]
        elif t in _WEEKDAYS_AFTER_K and self.tok(i - 1) in ("к", "ко"):
            weekday = _WEEKDAYS_AFTER_K[t]
        else:
            return 0
        self._claim_date("weekday")
        self.spec.weekday = weekday
        # "пятницу", "friday" but not "sun", "wed", "ср": those are words in ordinary text too
        self.spec.strong = self.spec.strong or len(t) >= 5
        # "sun", "sat", "wed" are a day only beside a time or behind "on"/"this"/"by"
        self.word_day = t in _WORD_LIKE_DAYS and self.tok(i - 1) not in _DAY_POINTERS
        return 1

    def _day_word(self, i: int) -> int:
        t = self.toks[i]
        for words, offset in _DAY_OFFSET_PHRASES.items():
            if tuple(self.toks[i : i + len(words)]) == words:
                self._claim_date("offset")
                self.spec.offset = offset
                return len(words)
        if t not in _DAY_OFFSETS:
            return 0
        self._claim_date("offset")
        self.spec.offset = _DAY_OFFSETS[t]
        self.spec.strong = True
        if t == "tonight":
            self._claim_part(_EVENING)
        return 1

    def _year(self, j: int) -> tuple[int | None, int]:
        match = _YEAR_TOKEN.fullmatch(self.tok(j))
        if match is None:
            return None, 0
        used = 2 if self.tok(j + 1) in _YEAR_SUFFIXES else 1
        return int(match.group(1)), used

    def _set_abs(self, day: int, month: int, year: int | None) -> None:
        self._claim_date("abs")
        self.spec.day, self.spec.month, self.spec.year = day, month, year
        self.spec.strong = True

    def _phrase(self, i: int) -> int:
        """A multi-word phrase of _PHRASES: "в конце месяца", "by end of day", "на днях"."""
        for size in _PHRASE_LENGTHS:
            meaning = _PHRASES.get(tuple(self.toks[i : i + size]))
            if meaning is None:
                continue
            if meaning == _ASK:
                raise _AskError
            if meaning in _DATE_PHRASES or meaning == "next_week":
                self._claim_date(meaning)
            else:
                self._claim_part(meaning)
            self.spec.strong = True
            return size
        return 0

    def _monthday(self, i: int) -> int:
        """A day of this or next month: "15 числа", "к 15-му", "15-го", "on the 15th"."""
        t = self.toks[i]
        plain = _ORDINAL_DAY.fullmatch(t)
        if plain and self.tok(i + 1) in _MONTHDAY_WORDS:
            day, used = int(plain.group(1)), 2
        elif (match := _RU_ORDINAL.fullmatch(t)) or (
            (match := _EN_ORDINAL.fullmatch(t)) and self.tok(i - 1) in _ORDINAL_PREPS
        ):
            day, used = int(match.group(1)), 1
        else:
            return 0
        if used == 1 and self.tok(i + 1) in _MONTHDAY_WORDS:
            used = 2  # "к 1-му числу"
        if not 1 <= day <= 31:
            raise _ImpossibleError
        self._claim_date("monthday")
        self.spec.day = day
        self.spec.strong = True
        return used

    def _month_date(self, i: int) -> int:
        t = self.toks[i]
        day_match = _ORDINAL_DAY.fullmatch(t)
        if day_match:
            j = i + 2 if self.tok(i + 1) == "of" else i + 1
            if self.tok(j) not in _MONTHS:
                return 0
            year, used = self._year(j + 1)
            self._set_abs(int(day_match.group(1)), _MONTHS[self.tok(j)], year)
            return j + 1 + used - i
        if t in _MONTHS:
            day_match = _ORDINAL_DAY.fullmatch(self.tok(i + 1))
            if day_match is None:
                return 0
            year, used = self._year(i + 2)
            self._set_abs(int(day_match.group(1)), _MONTHS[t], year)
            return 2 + used
        return 0

    def _numeric_date(self, i: int) -> int:
        t = self.toks[i]
        match = _DOTTED.fullmatch(t)
        if match:
            day, short_month, month, year = match.groups()
            if year is None:
                self._set_abs(int(day), int(short_month), None)
            else:
                self._set_abs(int(day), int(month), int(year))
            return 1
        match = _ISO.fullmatch(t)
        if match:
            self._set_abs(int(match.group(3)), int(match.group(2)), int(match.group(1)))
            return 1
        match = _SLASH.fullmatch(t)
        if match and t not in _SLASH_NOT_DATES:
            first, second, year = int(match.group(1)), int(match.group(2)), match.group(3)
            month_first = self.month_first
            if month_first is None:
                if first <= 12 and second <= 12 and first != second:
                    raise _AskError  # 10/12: October 12 or 10 December?
                month_first = second > 12
            month, day = (first, second) if month_first else (second, first)
            strong = self.spec.strong
            self._set_abs(day, month, None if year is None else int(year))
            # "купить 1/3 кг": without a year a slash is not cut from the middle of a text
            self.spec.strong = strong or year is not None
            return 1
        return 0

    # -- time parts

    def _time_tail(self, j: int, meridiem: str | None, *, loose: bool) -> tuple[int, str | None]:
        """Optional "часов" and "утра"/"pm" after an hour; (tokens used, meridiem)."""
        used = 0
        if meridiem is None and self.tok(j) in _HOUR_MARKERS:
            used = 1
        if meridiem is None:
            found = _meridiem(self.tok(j + used))
            if found is not None and (loose or found in _LOOSE_MERIDIEM):
                return used + 1, found
        return used, meridiem

    def _joined_time(self, t: str, *, prep: bool) -> bool:
        """Clock times without a colon: "10ч", "10-00", and "1030" once a date is known."""
        marked = _H_MARKED.fullmatch(t)
        if marked and (prep or self.after_date):
            self._claim_time(int(marked.group(1)), 0, None)
            self.spec.bare_hour = len(marked.group(1)) == 1
            return True
        dashed = _H_DASH_MM.fullmatch(t)
        if dashed and (prep or self.after_date or dashed.group(2) == "00"):
            self._claim_time(int(dashed.group(1)), int(dashed.group(2)), None)
            self.spec.strong = True
            return True
        joined = _HHMM_JOINED.fullmatch(t)
        if joined and len(t) >= 3 and self.spec.date_kind is not None:
            self._claim_time(int(joined.group(1)), int(joined.group(2)), None)
            return True
        return False

    def _prep_time(self, i: int) -> int:
        if self.toks[i] not in _TIME_PREPS:
            return 0
        t = self.tok(i + 1)
        if self._joined_time(t, prep=True):
            return 2
        if _DIGITS.fullmatch(t):
            if self.tok(i + 2) in _MONTHS:
                return 0  # "в 10 декабря"
            used, meridiem = self._time_tail(i + 2, None, loose=True)
            self._claim_time(int(t), 0, meridiem)
            self.spec.weak = used == 0
            self.spec.bare_hour = meridiem is None and len(t) == 1
            return 2 + used
        match = _H_DOT_MM.fullmatch(t)
        if match and self.toks[i] in ("в", "во", "at"):
            # "в 10.30" is how Russian speakers write a time; "10.12" without "в" is a date
            used, meridiem = self._time_tail(i + 2, None, loose=True)
            self._claim_time(int(match.group(1)), int(match.group(2)), meridiem)
            self.spec.strong = True
            return 2 + used
        return 0

    def _time(self, i: int) -> int:
        t = self.toks[i]
        used = self._clock_time(i)
        if used:
            return used
        if self._joined_time(t, prep=False):
            return 1
        if t in _CLOCK_WORDS:
            self._claim_time(_CLOCK_WORDS[t], 0, None)
            return 1
        if _DIGITS.fullmatch(t):
            return self._hour_after_day(i)
        return 0

    def _clock_time(self, i: int) -> int:
        """A time written as one: "10:30", "10:30pm", "5pm"; the tokens used, 0 if none."""
        t = self.toks[i]
        match = _HHMM.fullmatch(t)
        if match:
            joined = match.group(3)
            used, meridiem = self._time_tail(
                i + 1, _meridiem(joined) if joined else None, loose=True
            )
            self._claim_time(int(match.group(1)), int(match.group(2)), meridiem)
            self.spec.strong = True
            return 1 + used
        match = _H_AMPM.fullmatch(t)
        if match:
            self._claim_time(int(match.group(1)), 0, _meridiem(match.group(2)))
            self.spec.strong = True
            return 1
        return 0

    def _hour_after_day(self, i: int) -> int:
        """A bare number right after a day is its hour ("пт 12", "завтра 10"); anywhere else
        only "утра", "вечера", "am" or "pm" after it makes it one ("5 pm"). The tokens used,
        0 if the number is not an hour."""
        t = self.toks[i]
        used, meridiem = self._time_tail(i + 1, None, loose=self.after_date)
        if meridiem is None and not self.after_date:
            return 0
        self._claim_time(int(t), 0, meridiem)
        self.spec.bare_hour = meridiem is None and len(t) == 1
        return 1 + used

    def _claim_part(self, part: str) -> None:
        if self.spec.part is not None or self.spec.exact is not None:
            raise _NoMatchError
        self.spec.part = part

    def _part_of_day(self, i: int) -> int:
        t = self.toks[i]
        if t in _PARTS_OF_DAY:
            self._claim_part(_PARTS_OF_DAY[t])
            return 1
        if t in _THIS_WORDS and self.tok(i + 1) in _PARTS_OF_DAY:
            # "this afternoon" is today's, even once 14:00 has passed
            self._claim_date("offset")
            self._claim_part(_PARTS_OF_DAY[self.tok(i + 1)])
            return 2
        if t == "in" and self.tok(i + 1) == "the" and self.tok(i + 2) in _PARTS_OF_DAY:
            self._claim_part(_PARTS_OF_DAY[self.tok(i + 2)])
            return 3
        return 0


# --------------------------------------------------------------------------------------------
# Resolution


def _compose(day: date, hour: int, minute: int, tz: ZoneInfo) -> datetime:
    # fold=0: an ambiguous wall time takes its first occurrence, and a wall time inside a
    # spring-forward gap keeps the pre-transition offset, which lands it past the gap in UTC.
    local = datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
    return local.astimezone(UTC)


def _floor_minute(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(second=0, microsecond=0)


def _local_today(tz: ZoneInfo, now: datetime) -> date:
    return now.astimezone(tz).date()


_RECENT_PAST: Final = timedelta(days=92)


def _abs_day(spec: _Spec, today: date) -> date:
    if not (1 <= spec.month <= 12 and 1 <= spec.day <= 31):
        raise _ImpossibleError
    if spec.year is not None:
        year = spec.year + 2000 if spec.year < 100 else spec.year
        try:
            return date(year, spec.month, spec.day)
        except ValueError:
            raise _ImpossibleError from None
    # No year: this year's date if it is ahead or only recently passed (a task typed a few
    # days late is overdue, not a year away), else the next time this day comes (29.02 waits
    # for a leap year; 8 years span 2100).
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, spec.month, spec.day)
        except ValueError:
            continue
        if candidate >= today - _RECENT_PAST:
            return candidate
    raise _ImpossibleError


def read_bare_hour(hour: int) -> int:
    """The one rule for a bare hour ("в 7", "at 5", "пт 3"): it is read inside the working
    day 08:00-19:59, so 1-7 mean 13:00-19:00 and 8-11 stay morning hours. Nobody books a
    client call at 3 a.m.; "в 07", "7 утра" and "утром в 7" say so when they mean it."""
    return hour + 12 if 1 <= hour < WORKDAY_START_HOUR else hour


def _last_day(year: int, month: int) -> date:
    return date(year, month, 1) + relativedelta(months=1, days=-1)


def _month_start(day: date, months: int) -> date:
    return day.replace(day=1) + relativedelta(months=months)


def _rest_of_today(today: date, tz: ZoneInfo, now: datetime, morning_hour: int) -> datetime:
    """"Today" without a time: the morning hour if still ahead, else 18:00, else the next
    full hour; in the last hour of the day the bot asks."""
    for hour in (morning_hour, END_OF_DAY_HOUR):
        due = _compose(today, hour, 0, tz)
        if due > now:
            return due
    next_hour = (now.astimezone(tz) + timedelta(hours=1)).replace(minute=0, second=0)
    if next_hour.date() == today:
        return _compose(today, next_hour.hour, 0, tz)
    raise _AskError


def _part_of_today(part: str, today: date, tz: ZoneInfo, now: datetime, morning_hour: int) -> (
    datetime
):
    """"This afternoon", "tonight", "eod": the part's hour today; once that has passed, the
    next full hour while the part lasts; once it is over, ask."""
    due = _compose(today, _PART_HOURS.get(part, morning_hour), 0, tz)
    if due > now:
        return due
    next_hour = (now.astimezone(tz) + timedelta(hours=1)).replace(minute=0, second=0)
    if next_hour.date() == today and next_hour.hour <= _PART_ENDS[part]:
        return _compose(today, next_hour.hour, 0, tz)
    raise _AskError


# Until this hour "tomorrow" may mean the day that has just begun: the bot asks.
_NIGHT_END_HOUR: Final = 4

# A phrase-date without a time takes this hour; anything not listed takes the morning hour.
_PHRASE_HOURS: Final = dict.fromkeys(
    (_MONTH_END, _NEXT_MONTH_END, _WEEK_END, _NEXT_WEEK_END, _YEAR_END), END_OF_DAY_HOUR
)


# A day -> that day at the moment's hour and minute, in UTC.
_Compose = Callable[[date], datetime]
# A date phrase's moment, from today, _Compose and now.
_PhraseDay = Callable[[date, _Compose, datetime], datetime]


def _this_or_next_month_end(today: date, compose: _Compose, now: datetime) -> datetime:
    """This month's last day, or next month's once it has passed."""
    due = compose(_last_day(today.year, today.month))
    if due > now:
        return due
    return _next_month_end(today, compose, now)


def _next_month_start(today: date, compose: _Compose, now: datetime) -> datetime:
    return compose(_month_start(today, 1))


def _next_month_end(today: date, compose: _Compose, now: datetime) -> datetime:
    following = _month_start(today, 1)
    return compose(_last_day(following.year, following.month))


def _year_end(today: date, compose: _Compose, now: datetime) -> datetime:
    due = compose(date(today.year, 12, 31))
    return due if due > now else compose(date(today.year + 1, 12, 31))


def _monday(today: date) -> date:
    return today - timedelta(days=today.weekday())


def _week_end(today: date, compose: _Compose, now: datetime) -> datetime:
    due = compose(_monday(today) + timedelta(days=4))
    if due > now:
        return due
    raise _AskError  # Friday's end of day has passed: this Sunday or next Friday?


def _next_week_end(today: date, compose: _Compose, now: datetime) -> datetime:
    return compose(_monday(today) + timedelta(days=11))


def _weekend(today: date, compose: _Compose, now: datetime) -> datetime:
    """Saturday, or Sunday once Saturday's moment has passed, else the next Saturday."""
    monday = _monday(today)
    for offset in (5, 6, 12):
        due = compose(monday + timedelta(days=offset))
        if due > now:
            return due
    raise _NoMatchError


def _next_weekend(today: date, compose: _Compose, now: datetime) -> datetime:
    return compose(_monday(today) + timedelta(days=12))


_PHRASE_DAYS: Final[dict[str, _PhraseDay]] = {
    _MONTH_END: _this_or_next_month_end,
    _MONTH_LAST: _this_or_next_month_end,
    _NEXT_MONTH: _next_month_start,
    _NEXT_MONTH_END: _next_month_end,
    _YEAR_END: _year_end,
    _WEEK_END: _week_end,
    _NEXT_WEEK_END: _next_week_end,
    _WEEKEND: _weekend,
    _NEXT_WEEKEND: _next_weekend,
}


def _phrase_day(kind: str, today: date, compose: _Compose, now: datetime) -> datetime:
    """The moment of a date phrase, or _AskError when it has passed and a guess would be wrong."""
    # (_resolve passes only _DATE_PHRASES; any other kind has always meant the weekend)
    return _PHRASE_DAYS.get(kind, _weekend)(today, compose, now)


def _monthday(day: int, today: date, compose: _Compose, now: datetime) -> datetime:
    """The next day-of-month `day` still ahead ("15 числа"); 31 waits for a month with one."""
    for months in range(13):
        first = _month_start(today, months)
        if day > _last_day(first.year, first.month).day:
            continue
        due = compose(first.replace(day=day))
        if due > now:
            return due
    raise _ImpossibleError


def _means_today(spec: _Spec) -> bool:
    """Today without a time: "сегодня", "this afternoon" (today's, even once 14:00 has
    passed), "eod" alone."""
    kind = spec.date_kind
    return (kind == "offset" and spec.offset == 0) or (kind is None and spec.part == _EOD)


def _typed_hour(spec: _Spec, hour: int) -> int:
    """The hour typed, read by the part of the day beside it or as a bare hour."""
    if not spec.meridiem and spec.part in _PM_PARTS and 1 <= hour < 12:
        return hour + 12  # "вечером в 7"
    if spec.bare_hour and spec.part is None and not spec.meridiem:
        return read_bare_hour(hour)  # "в 5", "пт 3": business hours
    return hour


def _due_time(spec: _Spec, morning_hour: int) -> tuple[int, int]:
    """(hour, minute): the time typed; else the part of the day's hour, the date phrase's
    hour ("end of month" is 18:00) or the morning hour."""
    if spec.hour is not None:
        return _typed_hour(spec, spec.hour), spec.minute
    if spec.part is not None:
        return _PART_HOURS.get(spec.part, morning_hour), 0
    kind = spec.date_kind
    if kind is not None and kind in _PHRASE_HOURS:
        return _PHRASE_HOURS[kind], 0
    return morning_hour, 0


def _next_occurrence(
    spec: _Spec, today: date, compose: _Compose, tz: ZoneInfo, now: datetime
) -> datetime:
    """A time of day without a date: today if still ahead, else tomorrow."""
    due = compose(today)
    if due > now:
        return due
    part = spec.part
    if spec.hour is None and part is not None and now.astimezone(tz).hour < _PART_ENDS[part]:
        raise _AskError  # "после обеда" at 14:37: later today, or tomorrow?
    return compose(today + timedelta(days=1))


# The moment of a spec whose date is of one kind, from the spec, today, _Compose and now.
_KindMoment = Callable[[_Spec, date, _Compose, datetime], datetime]


def _offset_moment(spec: _Spec, today: date, compose: _Compose, now: datetime) -> datetime:
    return compose(today + timedelta(days=spec.offset))


def _calendar_moment(spec: _Spec, today: date, compose: _Compose, now: datetime) -> datetime:
    if spec.calendar is None:
        raise _NoMatchError
    return compose(today + spec.calendar)


def _abs_moment(spec: _Spec, today: date, compose: _Compose, now: datetime) -> datetime:
    return compose(_abs_day(spec, today))


def _monthday_moment(spec: _Spec, today: date, compose: _Compose, now: datetime) -> datetime:
    return _monthday(spec.day, today, compose, now)


def _next_monday(today: date) -> date:
    return today + timedelta(days=7 - today.weekday())


def _next_week_moment(spec: _Spec, today: date, compose: _Compose, now: datetime) -> datetime:
    return compose(_next_monday(today))


def _weekday_moment(spec: _Spec, today: date, compose: _Compose, now: datetime) -> datetime:
    """Next week's day for "next friday"; for "friday" the next one still ahead."""
    if spec.weekday_next:
        return compose(_next_monday(today) + timedelta(days=spec.weekday))
    day = today + timedelta(days=(spec.weekday - today.weekday()) % 7)
    due = compose(day)
    return due if due > now else compose(day + timedelta(days=7))


# Any other kind ("weekday") is read as a weekday.
_KIND_MOMENTS: Final[dict[str, _KindMoment]] = {
    "offset": _offset_moment,
    "calendar": _calendar_moment,
    "abs": _abs_moment,
    "monthday": _monthday_moment,
    "next_week": _next_week_moment,
}


def _resolve(spec: _Spec, tz: ZoneInfo, now: datetime, morning_hour: int) -> datetime:
    if spec.exact is not None:
        if spec.date_kind is not None or spec.hour is not None or spec.part is not None:
            raise _NoMatchError
        # hours and minutes are elapsed time, not wall time: exact across a DST change
        return _floor_minute(now + spec.exact)

    today = _local_today(tz, now)
    if spec.hour is None and _means_today(spec):
        if spec.part is None:
            return _rest_of_today(today, tz, now, morning_hour)
        return _part_of_today(spec.part, today, tz, now, morning_hour)

    hour, minute = _due_time(spec, morning_hour)

    def compose(day: date) -> datetime:
        return _compose(day, hour, minute, tz)

    kind = spec.date_kind
    if kind is None:
        return _next_occurrence(spec, today, compose, tz, now)
    if kind in _DATE_PHRASES:
        return _phrase_day(kind, today, compose, now)
    if kind == "offset" and spec.offset > 0 and now.astimezone(tz).hour < _NIGHT_END_HOUR:
        raise _AskError  # "завтра" at 00:10: the day that is starting, or the one after?
    return _KIND_MOMENTS.get(kind, _weekday_moment)(spec, today, compose, now)


# --------------------------------------------------------------------------------------------
# Tokens


def _norm_token(raw: str) -> str:
    tok = raw.casefold().replace("ё", "е").lstrip(_LEADING_PUNCT).rstrip(_TRAILING_PUNCT)
    if all(ch in _DASHES for ch in tok):
        return ""
    return tok


def _is_date_word(tok: str) -> bool:
    """A token that on its own points at a date or time (not just a number or a preposition)."""
    return (
        tok in _WEEKDAYS
        or tok in _WEEKDAYS_AFTER_K
        or tok in _MONTHS
        or tok in _UNITS
        or tok in _DAY_OFFSETS
        or tok in _PARTS_OF_DAY
        or tok in _CLOCK_WORDS
        or tok in ("полчаса", "fortnight")
        or bool(
            _HHMM.fullmatch(tok)
            or _H_AMPM.fullmatch(tok)
            or _DOTTED.fullmatch(tok)
            or _ISO.fullmatch(tok)
            or _AMOUNT_UNIT.fullmatch(tok)
        )
    )


def _is_duration(tok: str) -> bool:
    return tok in _UNITS or tok == "fortnight" or bool(_AMOUNT_UNIT.fullmatch(tok))


def _numbers_count_something(toks: list[str]) -> bool:
    """A number word must count a unit ("one hour"), or it is task text ("recent one")."""
    counted = _UNITS.keys() | _NUMBER_WORDS.keys() | {"couple", "of", "half"}
    return all(
        tok not in _NUMBER_WORDS or (index + 1 < len(toks) and toks[index + 1] in counted)
        for index, tok in enumerate(toks)
    )


def _fallback_allowed(toks: list[str]) -> bool:
    return (
        0 < len(toks) <= _MAX_FALLBACK_TOKENS
        and _numbers_count_something(toks)
        and toks[-1] not in _DANGLING  # "завтра в" is unfinished, not "tomorrow morning"
        and not any(tok in _WORD_LIKE_DAYS for tok in toks)  # "in the sun"; the grammar decides
        and all(map(_is_vocabulary, toks))
        and any(map(_is_date_word, toks))
        and (not any(map(_is_duration, toks)) or any(t in _DIRECTION_WORDS for t in toks))
    )


def _is_vocabulary(tok: str) -> bool:
    return (
        _is_date_word(tok)
        or tok in _FILLERS
        or tok in _THIS_WORDS
        or tok in _NUMBER_WORDS
        or tok in _ONE_AND_A_HALF
        or tok in _NEXT_WORDS
        or tok in _WEEK_WORDS
        or tok in _RELATIVE_WORDS
        or tok in _AGO_WORDS
        or tok in _HOUR_MARKERS
        or tok in _FALLBACK_EXTRA
        or tok in _YEAR_SUFFIXES
        or _meridiem(tok) is not None
        or bool(_ORDINAL_DAY.fullmatch(tok) or _YEAR_TOKEN.fullmatch(tok))
    )


def _stray_number(norms: list[str], index: int) -> bool:
    """A bare number opening a window belongs to the text ("этап 2 в пятницу"), unless a
    month, a unit or "числа" follows it ("2 декабря", "2 часа", "15 числа")."""
    if not _DIGITS_ONLY.fullmatch(norms[index]):
        return False
    following = norms[index + 1] if index + 1 < len(norms) else ""
    return (
        following not in _MONTHS and following not in _UNITS and following not in _MONTHDAY_WORDS
    )


def _cited(norms: list[str], first: int) -> bool:
    # "счёт от 25.11", "акт за 10.12": a document's date, not when to do the task
    return first > 0 and norms[first - 1] in _CITING


def _may_open(norms: list[str], first: int) -> bool:
    """Whether a moment may start at word `first`: not at a dash, a stray number or a cited
    date."""
    return bool(norms[first]) and not _stray_number(norms, first) and not _cited(norms, first)


def _end_windows(norms: list[str]) -> Iterator[tuple[int, int]]:
    """(first, end) word windows that end the text, longest first, so "в пятницу в 10" wins
    over "в 10"."""
    count = len(norms)
    for size in range(min(_MAX_WINDOW, count), 0, -1):
        first = count - size
        if _may_open(norms, first):
            yield first, count


def _start_windows(norms: list[str]) -> Iterator[tuple[int, int]]:
    """Word windows that start the text, longest first."""
    for size in range(min(_MAX_WINDOW, len(norms)), 0, -1):
        if norms[size - 1]:
            yield 0, size


def _middle_windows(norms: list[str]) -> Iterator[tuple[int, int]]:
    """Word windows inside the text (its first and last word left out), from each start the
    longest first; none ends on a dangling preposition."""
    count = len(norms)
    for first in range(1, count - 1):
        if not _may_open(norms, first):
            continue
        for end in range(min(first + _MAX_WINDOW, count - 1), first, -1):
            if norms[end - 1] and norms[end - 1] not in _DANGLING:
                yield first, end


def _trim_phrase(phrase: str) -> str:
    phrase = phrase.lstrip(_EDGE_JUNK)
    tail = phrase.casefold()
    if tail.endswith(("a.m.", "p.m.")):
        return phrase
    return phrase.rstrip(_EDGE_JUNK)


def _clean_text(words: list[str]) -> str:
    text = " ".join(words).strip(_EDGE_JUNK)
    while text:
        head, _, last = text.rpartition(" ")
        if _norm_token(last) not in _DANGLING:
            break
        text = head.rstrip(_EDGE_JUNK)
    return text


def _month_first(locale: str | None) -> bool | None:
    """Slash-date order for the user's language: month first in English (10/12 = Oct 12)."""
    if not locale:
        return None
    return locale.casefold().startswith("en")


def _check_args(now: datetime, morning_hour: int) -> None:
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be an aware datetime")
    if not 0 <= morning_hour <= 23:
        raise ValueError("morning_hour must be within 0..23")


# --------------------------------------------------------------------------------------------
# Public API


class DateParser:
    """Parses due dates. One instance is meant to live for the whole process.

    `languages` configures the dateparser fallback; the grammar itself always reads Russian and
    English. The fallback is guarded by a lock because its settings object carries the relative
    base of the call in flight.
    """

    __slots__ = ("_ddp", "_dp_settings", "_lock")

    def __init__(self, languages: tuple[str, ...] = ("ru", "en")) -> None:
        config: dict[str, Any] = {
            # replaced before every call; dateparser binds settings to the parser at build time
            "RELATIVE_BASE": datetime(2000, 1, 1),
            "PREFER_DATES_FROM": "future",
            "RETURN_TIME_AS_PERIOD": True,
            # the relative base is a naive *local* time, so dateparser must not convert it
            "TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "DMY",
            "PREFER_LOCALE_DATE_ORDER": False,
            # no unix timestamps or custom formats: numbers in task text are not dates
            "PARSERS": ["relative-time", "absolute-time"],
        }
        self._dp_settings = dateparser_conf.settings.replace(mod_settings=config, **config)
        self._ddp = DateDataParser(languages=list(languages), settings=self._dp_settings)
        self._lock = threading.Lock()

    def warm(self) -> None:
        """Parse a couple of phrases so the first user request is fast (dateparser's first call
        costs ~300 ms)."""
        now = datetime(2026, 1, 1, 12, tzinfo=UTC)
        tz = ZoneInfo("UTC")
        for phrase in ("a week from now", "через неделю", "december the 1st"):
            self._fallback(phrase.split(), tz, now, 10)
        self.parse("завтра в 10", tz=tz, now=now)

    def parse(
        self,
        phrase: str,
        *,
        tz: ZoneInfo,
        now: datetime,
        morning_hour: int = 10,
        locale: str | None = None,
    ) -> datetime | None:
        """The whole phrase is a moment ("завтра в 10", "fri 3pm"). None if it is not a moment,
        or if it is about time but the bot must ask which moment ("на днях").

        `locale` (the user's language, "ru" or "en") orders slash dates: 10/12 is 10 December
        in Russian and October 12 in English."""
        _check_args(now, morning_hour)
        toks = [tok for tok in map(_norm_token, phrase.split()) if tok]
        try:
            found = self._parse_tokens(toks, tz, now, morning_hour, _month_first(locale))
        except _AskError:
            return None
        return None if found is None else found[0]

    def split(
        self,
        text: str,
        *,
        tz: ZoneInfo,
        now: datetime,
        morning_hour: int = 10,
        locale: str | None = None,
    ) -> WhenMatch | None:
        """Task text with a moment at its end, its start, or (when unmistakable) its middle.

        "позвонить насчёт бюджета завтра в 10" -> text "позвонить насчёт бюджета", due tomorrow
        10:00; "завтра в 10 позвонить Ивану" and "созвон в 9:30 по поводу тз" work too. None if
        no moment is found; the remaining text may be empty.
        """
        _check_args(now, morning_hour)
        try:
            return self._split(text, tz, now, morning_hour, _month_first(locale))
        except _AskError:
            # "созвон на днях", "отчёт сегодня утром" typed at 15:00: no part of it may become
            # a moment on its own ("утром" alone would be tomorrow morning); the bot asks.
            return None

    def _split(
        self, text: str, tz: ZoneInfo, now: datetime, morning_hour: int, month_first: bool | None
    ) -> WhenMatch | None:
        spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        norms = [_norm_token(text[start:end]) for start, end in spans]

        def found_in(first: int, end: int) -> tuple[datetime, bool, bool] | None:
            toks = [t for t in norms[first:end] if t]
            return self._parse_tokens(toks, tz, now, morning_hour, month_first)

        def match(due: datetime, first: int, end: int) -> WhenMatch:
            rest = [text[a:b] for a, b in spans[:first]] + [text[a:b] for a, b in spans[end:]]
            phrase = text[spans[first][0] : spans[end - 1][1]]
            return WhenMatch(due, _clean_text(rest), _trim_phrase(phrase))

        def anything(found: tuple[datetime, bool, bool]) -> bool:
            return True

        def not_weak(found: tuple[datetime, bool, bool]) -> bool:
            return not found[1]  # "в 10 коробок ..." must not become a 10:00 task

        def unmistakable_and_ahead(found: tuple[datetime, bool, bool]) -> bool:
            # In the middle only a phrase that cannot be ordinary text: a clock time, a date,
            # "завтра", a weekday spelled out ("созвон в 9:30 по поводу тз"). A past moment
            # there is a reference ("по договору 10.11 выставить счёт"), not a due.
            due, weak, strong = found
            return strong and not weak and due > now

        searches = (
            (_end_windows(norms), anything),
            (_start_windows(norms), not_weak),
            (_middle_windows(norms), unmistakable_and_ahead),
        )
        for windows, fits in searches:
            for first, end in windows:
                found = found_in(first, end)
                if found is not None and fits(found):
                    return match(found[0], first, end)
        return None

    def impossible_moment(self, text: str) -> str | None:
        """A date or time in the text that cannot exist ("31.02", "25:00"), if any: the
        caller tells the user instead of silently treating the task as undated."""
        for raw in text.split():
            tok = _norm_token(raw)
            clock = _HHMM.fullmatch(tok)
            if clock and (int(clock.group(1)) > 23 or int(clock.group(2)) > 59):
                return raw
            dotted = _DOTTED.fullmatch(tok)
            if dotted:
                day = int(dotted.group(1))
                month = int(dotted.group(2) or dotted.group(3))
                year = dotted.group(4)
                try:
                    date(int(year) if year and len(year) == 4 else 2028, month, day)
                except ValueError:
                    return raw
        return None

    def _parse_tokens(
        self,
        toks: list[str],
        tz: ZoneInfo,
        now: datetime,
        morning_hour: int,
        month_first: bool | None,
    ) -> tuple[datetime, bool, bool] | None:
        """(due, weak, strong) or None; _AskError when the tokens are about time but the bot
        must ask which moment."""
        if not toks:
            return None
        try:
            spec = _Scanner(toks, month_first).run()
            weak = spec.weak and spec.date_kind is None and spec.part is None
            return _resolve(spec, tz, now, morning_hour), weak, spec.strong
        except _NoMatchError:
            pass
        except (_PlainWordError, _ImpossibleError, ValueError, OverflowError):
            return None
        due = self._fallback(toks, tz, now, morning_hour)
        return None if due is None else (due, False, False)

    def _fallback(
        self, toks: list[str], tz: ZoneInfo, now: datetime, morning_hour: int
    ) -> datetime | None:
        if not _fallback_allowed(toks):
            return None
        try:
            base = now.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
            with self._lock:
                self._dp_settings.RELATIVE_BASE = base
                data = self._ddp.get_date_data(" ".join(toks))
            found = data.date_obj
            # `parts` (dateparser >= 1.5) says which fields came from the text, not the base
            parts: tuple[str, ...] = getattr(data, "parts", ())
            if found is None or "day" not in parts:
                return None  # "march", "2027": not a moment
            if found.tzinfo is not None:
                return _floor_minute(found)
            if "time" in parts:
                return _compose(found.date(), found.hour, found.minute, tz)
            return _compose(found.date(), morning_hour, 0, tz)
        except Exception:  # dateparser raises assorted errors on odd input; none is ours to show
            return None


def at_local(
    day_offset: int, hour: int, *, tz: ZoneInfo, now: datetime, minute: int = 0
) -> datetime:
    """The local date of `now` plus `day_offset` days at hour:minute, returned in UTC."""
    return _compose(_local_today(tz, now) + timedelta(days=day_offset), hour, minute, tz)


def next_weekday_at(weekday: int, hour: int, *, tz: ZoneInfo, now: datetime) -> datetime:
    """The next `weekday` (0 = Monday) at hour:00 strictly after `now`, returned in UTC."""
    if not 0 <= weekday <= 6:
        raise ValueError("weekday must be within 0..6")
    today = _local_today(tz, now)
    day = today + timedelta(days=(weekday - today.weekday()) % 7)
    due = _compose(day, hour, 0, tz)
    return due if due > now else _compose(day + timedelta(days=7), hour, 0, tz)
