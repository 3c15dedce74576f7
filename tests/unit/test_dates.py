"""Natural-language due dates: the phrase table, DST, split(), quick-pick helpers, fuzzing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.dates import DateParser, WhenMatch, at_local, next_weekday_at

MOSCOW = ZoneInfo("Europe/Moscow")
NEW_YORK = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")
ZONES = [pytest.param(MOSCOW, id="moscow"), pytest.param(NEW_YORK, id="new_york")]


@pytest.fixture(scope="module")
def parser() -> DateParser:
    dates = DateParser()
    dates.warm()
    return dates


def frozen_now(tz: ZoneInfo) -> datetime:
    """Thursday 2026-11-26 14:37:25 on the user's wall clock, as the aware UTC the bot passes."""
    return datetime(2026, 11, 26, 14, 37, 25, tzinfo=tz).astimezone(UTC)


def wall(tz: ZoneInfo, local: datetime) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def d(month: int, day: int, hour: int, minute: int = 0, year: int = 2026) -> datetime:
    return datetime(year, month, day, hour, minute)


# ---------------------------------------------------------------------------------------------
# The date table: phrase -> the moment on the user's wall clock, or ASKS (the bot does not guess:
# the task is saved without a time and its card asks "when?" with quick picks).
# Every row runs in Moscow and in New York unless its clock says otherwise.

ASKS = "asks"


@dataclass(frozen=True, slots=True)
class FrozenClock:
    name: str
    local: datetime  # the user's wall clock
    zones: tuple[ZoneInfo, ...] = (MOSCOW, NEW_YORK)


THU = FrozenClock("Thu 26.11 14:37", datetime(2026, 11, 26, 14, 37, 25))
LATE = FrozenClock("Thu 26.11 23:23", datetime(2026, 11, 26, 23, 23))
NIGHT = FrozenClock("Fri 27.11 00:10", datetime(2026, 11, 27, 0, 10))
SAT = FrozenClock("Sat 28.11 11:00", datetime(2026, 11, 28, 11, 0))
MONTH_END = FrozenClock("Mon 30.11 19:00", datetime(2026, 11, 30, 19, 0))
# New York springs forward on Sun 2026-03-08 at 02:00 and falls back on Sun 2026-11-01 at 02:00
SPRING = FrozenClock("Sat 07.03 23:23 NY", datetime(2026, 3, 7, 23, 23), (NEW_YORK,))
FALL = FrozenClock("Sat 31.10 23:23 NY", datetime(2026, 10, 31, 23, 23), (NEW_YORK,))


@dataclass(frozen=True, slots=True)
class Row:
    clock: FrozenClock
    phrase: str
    expected: str  # "YYYY-MM-DD HH:MM" on the wall clock, or ASKS
    locale: str | None

    @property
    def id(self) -> str:
        lang = f" [{self.locale or 'no language'}]" if self.locale != "ru" else ""
        return f"{self.clock.name}: {self.phrase}{lang}"


def rows(clock: FrozenClock, block: str, *, locale: str | None = "ru") -> list[Row]:
    """`phrase | expected` lines; `#` starts a comment."""
    found = []
    for raw in block.splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            phrase, expected = (part.strip() for part in line.split("|"))
            found.append(Row(clock, phrase, expected, locale))
    return found


DATE_TABLE: list[Row] = [
    *rows(THU, """
    # the list from the spec
    завтра в 10                       | 2026-11-27 10:00
    через 2 часа                      | 2026-11-26 16:37
    в пятницу 15:00                   | 2026-11-27 15:00
    10.12 12:00                       | 2026-12-10 12:00
    1 декабря                         | 2026-12-01 10:00
    tomorrow 10am                     | 2026-11-27 10:00
    next monday                       | 2026-11-30 10:00
    in 3 days                         | 2026-11-29 10:00
    # dateparser 1.5 traps
    в пятницу в 9                     | 2026-11-27 09:00
    tomorrow                          | 2026-11-27 10:00
    завтра                            | 2026-11-27 10:00
    10.12 в 12:00                     | 2026-12-10 12:00
    10.12.2026                        | 2026-12-10 10:00
    пт 12                             | 2026-11-27 12:00
    в 10                              | 2026-11-27 10:00  # 10:00 has passed today: the next one
    # today / tomorrow / yesterday
    # "today" without a time at 14:37: the morning has passed, so the end of the working day
    сегодня                           | 2026-11-26 18:00
    today 18:00                       | 2026-11-26 18:00
    сегодня в 23:59                   | 2026-11-26 23:59
    послезавтра в 9 утра              | 2026-11-28 09:00
    day after tomorrow                | 2026-11-28 10:00
    the day after tomorrow at 5 pm    | 2026-11-28 17:00
    вчера в 10                        | 2026-11-25 10:00
    yesterday                         | 2026-11-25 10:00
    завтра 10                         | 2026-11-27 10:00
    завтра в 10.30                    | 2026-11-27 10:30
    завтра утром                      | 2026-11-27 10:00
    завтра днём                       | 2026-11-27 14:00
    завтра вечером                    | 2026-11-27 19:00
    tonight                           | 2026-11-26 19:00
    tomorrow at noon                  | 2026-11-27 12:00
    # times of day alone: their next occurrence
    в 7 вечера                        | 2026-11-26 19:00
    в 10 вечера                       | 2026-11-26 22:00
    at 3pm                            | 2026-11-26 15:00
    10am                              | 2026-11-27 10:00
    в 9 утра                          | 2026-11-27 09:00
    в 12 дня                          | 2026-11-27 12:00
    в 2 ночи                          | 2026-11-27 02:00
    в полдень                         | 2026-11-27 12:00
    до 18:00                          | 2026-11-26 18:00
    # relative
    через 30 минут                    | 2026-11-26 15:07
    через 3 дня                       | 2026-11-29 10:00
    через 3 дня в 15:00               | 2026-11-29 15:00
    in 2 hours                        | 2026-11-26 16:37
    in 30 min                         | 2026-11-26 15:07
    через час                         | 2026-11-26 15:37
    через полчаса                     | 2026-11-26 15:07
    через 1,5 часа                    | 2026-11-26 16:07
    через два часа                    | 2026-11-26 16:37
    через 2ч                          | 2026-11-26 16:37
    in half an hour                   | 2026-11-26 15:07
    через неделю                      | 2026-12-03 10:00
    in a week                         | 2026-12-03 10:00
    in two days                       | 2026-11-28 10:00
    in a couple of days               | 2026-11-28 10:00
    через пару дней                   | 2026-11-28 10:00
    через месяц                       | 2026-12-26 10:00
    2 дня назад                       | 2026-11-24 10:00
    3 hours ago                       | 2026-11-26 11:37
    # weekdays: the next one strictly in the future
    в четверг                         | 2026-12-03 10:00  # today is Thursday, but 10:00 has passed
    в четверг в 18:00                 | 2026-11-26 18:00
    в следующий понедельник           | 2026-11-30 10:00
    в следующую пятницу               | 2026-12-04 10:00
    next friday 3pm                   | 2026-12-04 15:00
    на следующей неделе               | 2026-11-30 10:00
    next week                         | 2026-11-30 10:00
    fri 3pm                           | 2026-11-27 15:00
    Friday 15:00                      | 2026-11-27 15:00
    on sunday at 9am                  | 2026-11-29 09:00
    this friday                       | 2026-11-27 10:00
    в эту пятницу                     | 2026-11-27 10:00
    в пн                              | 2026-11-30 10:00
    во вторник в 11:30                | 2026-12-01 11:30
    в среду                           | 2026-12-02 10:00
    к среде                           | 2026-12-02 10:00
    к пятнице                         | 2026-11-27 10:00
    в субботу                         | 2026-11-28 10:00
    в воскресенье вечером             | 2026-11-29 19:00
    в пятницу вечером в 7             | 2026-11-27 19:00
    вс 12                             | 2026-11-29 12:00
    # dotted and ISO dates
    10.12                             | 2026-12-10 10:00
    10.01 12:00                       | 2027-01-10 12:00  # passed this year: next year
    10.01.2026 12:00                  | 2026-01-10 12:00  # explicit year: stays in the past
    29.02                             | 2028-02-29 10:00
    2026-12-05 09:15                  | 2026-12-05 09:15
    # month names
    1 dec                             | 2026-12-01 10:00
    December 1                        | 2026-12-01 10:00
    dec 1 15:00                       | 2026-12-01 15:00
    1 декабря 2026 в 15:30            | 2026-12-01 15:30
    # A date without a year that passed less than three months ago stays this year (the task
    # is overdue); an older one means next year.
    1 ноября                          | 2026-11-01 10:00
    20.11 10:00                       | 2026-11-20 10:00
    1 августа                         | 2027-08-01 10:00
    5 января                          | 2027-01-05 10:00
    1st of December                   | 2026-12-01 10:00
    December 1st, 2027 at 3:30 PM     | 2027-12-01 15:30
    # spelling: case, extra spaces, trailing punctuation, ё/е
    Завтра в 10.                      | 2026-11-27 10:00
    ЗАВТРА   В 10!!                   | 2026-11-27 10:00
    завтра днем                       | 2026-11-27 14:00
    # strict dateparser fallback
    a week from now                   | 2026-12-03 10:00
    december the 1st                  | 2026-12-01 10:00
    # -- the phrases that used to fall through (issue 11)
    # end of month: its last day at the end of the working day
    в конце месяца                    | 2026-11-30 18:00
    до конца месяца                   | 2026-11-30 18:00
    end of month                      | 2026-11-30 18:00
    by the end of the month           | 2026-11-30 18:00
    в конце месяца в 12:00            | 2026-11-30 12:00
    # the last day of the month is a one-off date (not a series): the morning hour
    в последний день месяца           | 2026-11-30 10:00
    last day of the month             | 2026-11-30 10:00
    # eod: today at the end of the working day
    eod                               | 2026-11-26 18:00
    by end of day                     | 2026-11-26 18:00
    до конца дня                      | 2026-11-26 18:00
    завтра до конца дня               | 2026-11-27 18:00
    в пятницу в конце дня             | 2026-11-27 18:00
    # next month: the 1st at the morning hour
    next month                        | 2026-12-01 10:00
    в следующем месяце                | 2026-12-01 10:00
    в начале следующего месяца        | 2026-12-01 10:00
    # end of the week: Friday at the end of the working day
    до конца недели                   | 2026-11-27 18:00
    к концу недели                    | 2026-11-27 18:00
    by end of week                    | 2026-11-27 18:00
    к концу следующей недели          | 2026-12-04 18:00
    end of next week                  | 2026-12-04 18:00
    в конце следующего месяца         | 2026-12-31 18:00
    до конца года                     | 2026-12-31 18:00
    end of the year                   | 2026-12-31 18:00
    eod friday                        | 2026-11-27 18:00
    wed morning                       | 2026-12-02 10:00
    к 1-му числу                      | 2026-12-01 10:00
    # the weekend: Saturday morning
    на выходных                       | 2026-11-28 10:00
    this weekend                      | 2026-11-28 10:00
    на следующих выходных             | 2026-12-05 10:00
    next weekend                      | 2026-12-05 10:00
    # parts of the day
    во вторник после обеда            | 2026-12-01 14:00
    пт после обеда                    | 2026-11-27 14:00
    завтра до обеда                   | 2026-11-27 10:00
    завтра с утра                     | 2026-11-27 10:00
    first thing tomorrow              | 2026-11-27 10:00
    в пятницу ближе к вечеру          | 2026-11-27 19:00
    завтра в обед                     | 2026-11-27 13:00
    this afternoon                    | 2026-11-26 15:00  # 14:00 has passed: the next full hour
    сегодня вечером                   | 2026-11-26 19:00
    this evening                      | 2026-11-26 19:00
    this morning                      | asks  # the morning is over
    сегодня утром                     | asks
    после обеда                       | asks  # later today or tomorrow? it is after lunch now
    днём                              | asks
    # a day of the month: the next one still ahead
    15 числа                          | 2026-12-15 10:00
    к 15-му                           | 2026-12-15 10:00
    on the 15th                       | 2026-12-15 10:00
    by the 28th at 3pm                | 2026-11-28 15:00
    30-го                             | 2026-11-30 10:00
    1-го числа                        | 2026-12-01 10:00
    26 числа                          | 2026-12-26 10:00  # today, but its morning has passed
    31 числа                          | 2026-12-31 10:00  # November has no 31st
    # slash dates in a Russian user's order: day/month
    10/12                             | 2026-12-10 10:00
    25/12 в 15:00                     | 2026-12-25 15:00
    # clock times without a colon
    завтра 1030                       | 2026-11-27 10:30
    завтра в 10ч                      | 2026-11-27 10:00
    в 10ч                             | 2026-11-27 10:00
    10-00                             | 2026-11-27 10:00
    завтра в 10-30                    | 2026-11-27 10:30
    в 16-00                           | 2026-11-26 16:00
    пт 1530                           | 2026-11-27 15:30
    # typos and shorthands
    2moro                             | 2026-11-27 10:00
    2moro 3pm                         | 2026-11-27 15:00
    tmrw 9am                          | 2026-11-27 09:00
    tommorow at 11                    | 2026-11-27 11:00
    wensday                           | 2026-12-02 10:00
    thursay 3pm                       | 2026-11-26 15:00
    fryday                            | 2026-11-27 10:00
    saterday at 9am                   | 2026-11-28 09:00
    # "sun", "sat", "wed" are words too: a day only beside a time or behind "on"/"this"
    on sun                            | 2026-11-29 10:00
    sat 10am                          | 2026-11-28 10:00
    this wed                          | 2026-12-02 10:00
    завтро                            | 2026-11-27 10:00
    завтро в 10                       | 2026-11-27 10:00
    понедельнк                        | 2026-11-30 10:00
    в понедельнк в 11                 | 2026-11-30 11:00
    в четверк                         | 2026-12-03 10:00
    в пятнецу                         | 2026-11-27 10:00
    в суботу                          | 2026-11-28 10:00
    # a bare hour is read inside the working day 08:00-19:59: 1..7 are afternoon hours
    в 7                               | 2026-11-26 19:00
    в 8                               | 2026-11-27 08:00
    в 3                               | 2026-11-26 15:00
    at 5                              | 2026-11-26 17:00
    в 11                              | 2026-11-27 11:00
    завтра в 7                        | 2026-11-27 19:00
    пт 8                              | 2026-11-27 08:00
    # ... unless the user says otherwise
    в 07                              | 2026-11-27 07:00
    в 7 утра                          | 2026-11-27 07:00
    утром в 7                         | 2026-11-27 07:00
    вечером в 8                       | 2026-11-26 20:00
    # about time, but no moment: the bot asks
    на днях                           | asks
    скоро                             | asks
    soon                              | asks
    this week                         | asks
    на этой неделе                    | asks
    asap                              | asks
    в середине месяца                 | asks
    mid-month                         | asks
"""),
    # late evening: the "через 5 минут" at 23:23 is 23:28, whatever the working hours
    *rows(LATE, """
    через 5 минут                     | 2026-11-26 23:28
    через 2 часа                      | 2026-11-27 01:23
    в 23:45                           | 2026-11-26 23:45
    в полночь                         | 2026-11-27 00:00
    в 7                               | 2026-11-27 19:00  # the same rule at night: 19:00
    в 8                               | 2026-11-27 08:00
    в 7 утра                          | 2026-11-27 07:00
    at 7am                            | 2026-11-27 07:00
    завтра                            | 2026-11-27 10:00
    завтра в 9:30                     | 2026-11-27 09:30
    tomorrow morning                  | 2026-11-27 10:00
    вечером                           | 2026-11-27 19:00
    в пятницу                         | 2026-11-27 10:00
    в четверг                         | 2026-12-03 10:00
    до конца недели                   | 2026-11-27 18:00
    в конце месяца                    | 2026-11-30 18:00
    на выходных                       | 2026-11-28 10:00
    next month                        | 2026-12-01 10:00
    26 числа                          | 2026-12-26 10:00
    сегодня                           | asks  # the day is over
    tonight                           | asks
    this afternoon                    | asks
    eod                               | asks
"""),
    # just after midnight: "tomorrow" may be the day that has just begun, or the next one
    *rows(NIGHT, """
    завтра                            | asks
    завтра в 10                       | asks
    tomorrow 9am                      | asks
    послезавтра                       | asks
    сегодня                           | 2026-11-27 10:00
    today at 3pm                      | 2026-11-27 15:00
    в 10                              | 2026-11-27 10:00
    в 7                               | 2026-11-27 19:00
    в 2 ночи                          | 2026-11-27 02:00
    через 20 минут                    | 2026-11-27 00:30
    this morning                      | 2026-11-27 10:00
    this afternoon                    | 2026-11-27 14:00
    tonight                           | 2026-11-27 19:00
    eod                               | 2026-11-27 18:00
    до конца недели                   | 2026-11-27 18:00
    в пятницу в 9                     | 2026-11-27 09:00
    в четверг                         | 2026-12-03 10:00
    на выходных                       | 2026-11-28 10:00
    end of month                      | 2026-11-30 18:00
"""),
    *rows(SAT, """
    до конца недели                   | asks  # Friday has passed: this Sunday or next Friday?
    end of the week                   | asks
    на выходных                       | 2026-11-29 10:00  # Saturday's morning has passed
    next weekend                      | 2026-12-05 10:00
    в понедельник                     | 2026-11-30 10:00
    next week                         | 2026-11-30 10:00
    в начале следующей недели         | 2026-11-30 10:00
    early next week                   | 2026-11-30 10:00
"""),
    *rows(MONTH_END, """
    в конце месяца                    | 2026-12-31 18:00  # this month's end has passed
    в последний день месяца           | 2026-12-31 10:00
    last day of the month at 20:00    | 2026-11-30 20:00
    next month                        | 2026-12-01 10:00
    30 числа                          | 2026-12-30 10:00
    31 числа                          | 2026-12-31 10:00
    eod                               | 2026-11-30 20:00  # 18:00 has passed: the next full hour
"""),
    # the night New York springs forward (02:00 -> 03:00)
    *rows(SPRING, """
    завтра в 10                       | 2026-03-08 10:00
    tomorrow 2:30am                   | 2026-03-08 03:30  # 02:30 does not exist that night
    через 3 часа                      | 2026-03-08 03:23  # elapsed time: the wall jumps an hour
    через 12 часов                    | 2026-03-08 12:23
    в воскресенье                     | 2026-03-08 10:00
    в 8                               | 2026-03-08 08:00
    в понедельник в 9                 | 2026-03-09 09:00
    on the 15th                       | 2026-03-15 10:00
    end of month                      | 2026-03-31 18:00
    на выходных                       | 2026-03-08 10:00
"""),
    # the night New York falls back (02:00 -> 01:00)
    *rows(FALL, """
    завтра в 10                       | 2026-11-01 10:00
    через 4 часа                      | 2026-11-01 02:23  # 4 hours elapsed, 3 on the wall
    tomorrow 9am                      | 2026-11-01 09:00
    next month                        | 2026-11-01 10:00
"""),
    # English users write month/day
    *rows(THU, """
    12/10                             | 2026-12-10 10:00
    12/25 3pm                         | 2026-12-25 15:00
    1/15                              | 2027-01-15 10:00
    10/12                             | 2026-10-12 10:00  # October 12: six weeks ago, overdue
    10.12                             | 2026-12-10 10:00  # dots are day.month in any language
""", locale="en"),
    # no language known: a slash date that reads both ways is asked about
    *rows(THU, """
    10/12                             | asks
    25/12                             | 2026-12-25 10:00
    12/25                             | 2026-12-25 10:00
""", locale=None),
]


def expected_moment(row: Row, tz: ZoneInfo) -> datetime | None:
    if row.expected == ASKS:
        return None
    return datetime.strptime(row.expected, "%Y-%m-%d %H:%M").replace(tzinfo=tz).astimezone(UTC)


DATE_CASES = [
    pytest.param(row, tz, id=f"{row.id} @{tz.key}") for row in DATE_TABLE for tz in row.clock.zones
]


@pytest.mark.parametrize(("row", "tz"), DATE_CASES)
def test_date_table(parser: DateParser, row: Row, tz: ZoneInfo) -> None:
    now = row.clock.local.replace(tzinfo=tz).astimezone(UTC)
    due = parser.parse(row.phrase, tz=tz, now=now, locale=row.locale)
    assert due == expected_moment(row, tz)
    if due is not None:
        assert due.tzinfo is UTC
        assert (due.second, due.microsecond) == (0, 0)


def test_date_table_is_big_enough() -> None:
    phrases = {row.phrase for row in DATE_TABLE}
    assert len(phrases) >= 150
    assert sum(row.expected == ASKS for row in DATE_TABLE) >= 20
    assert {row.locale for row in DATE_TABLE} == {"ru", "en", None}


def test_morning_hour_is_used_for_dates_without_time(parser: DateParser) -> None:
    now = frozen_now(MOSCOW)
    assert parser.parse("завтра", tz=MOSCOW, now=now, morning_hour=9) == wall(MOSCOW, d(11, 27, 9))
    assert parser.parse("1 dec", tz=MOSCOW, now=now, morning_hour=8) == wall(MOSCOW, d(12, 1, 8))
    # an explicit time is never replaced
    assert parser.parse("завтра в 15", tz=MOSCOW, now=now, morning_hour=9) == wall(
        MOSCOW, d(11, 27, 15)
    )


DST_CASES = [
    # New York falls back on Sun 2026-11-01: the wall clock stays right, UTC moves by an hour
    (NEW_YORK, d(10, 31, 12), "завтра в 10", datetime(2026, 11, 1, 15, 0, tzinfo=UTC)),
    (NEW_YORK, d(10, 31, 12), "tomorrow 10am", datetime(2026, 11, 1, 15, 0, tzinfo=UTC)),
    (NEW_YORK, d(10, 31, 12), "через 2 дня", datetime(2026, 11, 2, 15, 0, tzinfo=UTC)),
    (NEW_YORK, d(10, 31, 12), "in 2 days", datetime(2026, 11, 2, 15, 0, tzinfo=UTC)),
    (NEW_YORK, d(10, 31, 9), "сегодня в 10", datetime(2026, 10, 31, 14, 0, tzinfo=UTC)),
    # hours are elapsed time: 24 h after 12:00 EDT is 11:00 EST
    (NEW_YORK, d(10, 31, 12), "через 24 часа", datetime(2026, 11, 1, 16, 0, tzinfo=UTC)),
    # 01:30 happens twice on the night of the change: the first one (EDT)
    (NEW_YORK, d(10, 31, 12), "tomorrow 1:30am", datetime(2026, 11, 1, 5, 30, tzinfo=UTC)),
    # New York springs forward on Sun 2026-03-08: 02:30 does not exist and moves to 03:30 EDT
    (NEW_YORK, d(3, 7, 12), "tomorrow 2:30am", datetime(2026, 3, 8, 7, 30, tzinfo=UTC)),
    (NEW_YORK, d(3, 7, 12), "tomorrow 10am", datetime(2026, 3, 8, 14, 0, tzinfo=UTC)),
    # Berlin springs forward on Sun 2026-03-29
    (BERLIN, d(3, 28, 12), "завтра в 10", datetime(2026, 3, 29, 8, 0, tzinfo=UTC)),
    (BERLIN, d(3, 28, 12), "в воскресенье в 9", datetime(2026, 3, 29, 7, 0, tzinfo=UTC)),
    (BERLIN, d(3, 28, 12), "завтра в 2:30", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    (BERLIN, d(3, 28, 12), "через 2 дня", datetime(2026, 3, 30, 8, 0, tzinfo=UTC)),
    (BERLIN, d(3, 28, 23, 30), "через 3 часа", datetime(2026, 3, 29, 1, 30, tzinfo=UTC)),
    # and falls back on Sun 2026-10-25
    (BERLIN, d(10, 24, 12), "завтра в 10", datetime(2026, 10, 25, 9, 0, tzinfo=UTC)),
    (BERLIN, d(10, 24, 12), "завтра в 2:30", datetime(2026, 10, 25, 0, 30, tzinfo=UTC)),
]


@pytest.mark.parametrize(
    ("tz", "local_now", "phrase", "expected"),
    DST_CASES,
    ids=[f"{tz.key}-{phrase}" for tz, _, phrase, _ in DST_CASES],
)
def test_dst(
    parser: DateParser, tz: ZoneInfo, local_now: datetime, phrase: str, expected: datetime
) -> None:
    now = wall(tz, local_now)
    assert parser.parse(phrase, tz=tz, now=now) == expected


IMPOSSIBLE = [
    "31.02",
    "31.02.2026",
    "30 февраля",
    "32 декабря",
    "10.13",
    "00.12",
    "25:00",
    "10:75",
    "в 10:75",
    "завтра в 25:00",
    "завтра в 24",
    "13pm",
    "в 13 вечера",
    "2026-02-30",
]


@pytest.mark.parametrize("phrase", IMPOSSIBLE)
def test_impossible_dates_are_none(parser: DateParser, phrase: str) -> None:
    assert parser.parse(phrase, tz=MOSCOW, now=frozen_now(MOSCOW)) is None


NOT_A_MOMENT = [
    "",
    "   ",
    "купить",
    "2",
    "купить 2",
    "когда-нибудь",
    "в",
    "завтра в",
    "report",
    "декабрь",
    "in december",
    "2026",
    "now",
    "сейчас",
    "2 часа",  # a duration, not a moment
    "3 days",
    "на 2 ночи",
    "в среде",
    "sun",
    "wed",
    "завтра и послезавтра",
]


@pytest.mark.parametrize("phrase", NOT_A_MOMENT)
def test_text_without_a_moment_is_none(parser: DateParser, phrase: str) -> None:
    assert parser.parse(phrase, tz=MOSCOW, now=frozen_now(MOSCOW)) is None


SPLIT_TABLE: list[tuple[str, str, str, datetime]] = [
    (
        "позвонить насчёт бюджета завтра в 10",
        "позвонить насчёт бюджета",
        "завтра в 10",
        d(11, 27, 10),
    ),
    ("завтра в 10 позвонить Ивану", "позвонить Ивану", "завтра в 10", d(11, 27, 10)),
    ("send the report Friday 15:00", "send the report", "Friday 15:00", d(11, 27, 15)),
    ("send the monthly report fri 3pm", "send the monthly report", "fri 3pm", d(11, 27, 15)),
    ("выставить счёт на смм пт 12", "выставить счёт на смм", "пт 12", d(11, 27, 12)),
    ("отчёт 1 декабря", "отчёт", "1 декабря", d(12, 1, 10)),
    ("call John in 3 days", "call John", "in 3 days", d(11, 29, 10)),
    ("Позвонить Ивану, завтра в 10.", "Позвонить Ивану", "завтра в 10", d(11, 27, 10)),
    ("купить билеты на завтра", "купить билеты", "на завтра", d(11, 27, 10)),
    ("подготовить КП к пятнице", "подготовить КП", "к пятнице", d(11, 27, 10)),
    ("встреча с клиентом через 2 часа", "встреча с клиентом", "через 2 часа", d(11, 26, 16, 37)),
    ("Tomorrow 10am: call the bank", "call the bank", "Tomorrow 10am", d(11, 27, 10)),
    ("отправить договор в 10.12 12:00", "отправить договор", "10.12 12:00", d(12, 10, 12)),
    ("сдать отчёт до 18:00", "сдать отчёт", "до 18:00", d(11, 26, 18)),
    ("review budget next monday at 9am", "review budget", "next monday at 9am", d(11, 30, 9)),
    ("проверить это завтра", "проверить это", "завтра", d(11, 27, 10)),
    ("meeting at 10", "meeting", "at 10", d(11, 27, 10)),
    ("Позвонить в пятницу в 9", "Позвонить", "в пятницу в 9", d(11, 27, 9)),
    ("ВСТРЕЧА   В СРЕДУ  В 11:30 !", "ВСТРЕЧА", "В СРЕДУ  В 11:30", d(12, 2, 11, 30)),
    ("завтра в 10", "", "завтра в 10", d(11, 27, 10)),
    # a moment in the middle of the text, when it cannot be ordinary words
    ("созвон в 9:30 по поводу тз", "созвон по поводу тз", "в 9:30", d(11, 27, 9, 30)),
    (
        "отправить завтра в 10 договор Ивану",
        "отправить договор Ивану",
        "завтра в 10",
        d(11, 27, 10),
    ),
    (
        "call John tomorrow at 3pm about the contract",
        "call John about the contract",
        "tomorrow at 3pm",
        d(11, 27, 15),
    ),
    ("встреча в пятницу с Петровым", "встреча с Петровым", "в пятницу", d(11, 27, 10)),
    ("счёт 10.12 для Ромашки", "счёт для Ромашки", "10.12", d(12, 10, 10)),
    ("счёт 25/12/2026 для Ромашки", "счёт для Ромашки", "25/12/2026", d(12, 25, 10)),
    # the new phrases, cut out of the task text
    ("сдать отчёт до конца недели", "сдать отчёт", "до конца недели", d(11, 27, 18)),
    ("send the invoice by end of month", "send the invoice", "by end of month", d(11, 30, 18)),
    ("акт сверки 15 числа", "акт сверки", "15 числа", d(12, 15, 10)),
    ("созвон завтра 1030", "созвон", "завтра 1030", d(11, 27, 10, 30)),
    ("review the deck 2moro 3pm", "review the deck", "2moro 3pm", d(11, 27, 15)),
    # used to become "report end of" next Monday
    ("report end of next week", "report", "end of next week", d(12, 4, 18)),
]


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize(
    ("text", "rest", "phrase", "expected"), SPLIT_TABLE, ids=[t for t, *_ in SPLIT_TABLE]
)
def test_split(
    parser: DateParser, tz: ZoneInfo, text: str, rest: str, phrase: str, expected: datetime
) -> None:
    assert parser.split(text, tz=tz, now=frozen_now(tz)) == WhenMatch(
        due=wall(tz, expected), text=rest, phrase=phrase
    )


SPLIT_NONE = [
    "позвонить когда-нибудь",
    "купить 2 кофе",
    "купить 2",
    "send report",
    "в 10 коробок положить",  # "в 10" at the start is too weak to cut
    "тестировать в среде",
    "I have 2 hours",
    "обновить отчёт за 3 дня",
    "забронировать отель на 2 ночи",
    "бюджет 2.5",
    "",
    # short weekday names and bare numbers are words in the middle of a text
    "check the sun panel today's list",
    "we sat down with Anna about 2 offers",
    "sat down with Anna about 2 offers",
    "lunch in the sun",
    "support 24/7",
    "купить 1/3 кг сыра",
    "долить 1/2",
    # a document's date is not when to do the task
    "оплатить счёт от 25.11",
    "подписать акт за 10.12",
    "send the invoice dated 1 dec",
    "по договору 10.11 выставить счёт",  # a past date in the middle is a reference
    "обсудить ср и пн с командой",
    "встреча в среде разработки",
    # asked about: nothing in the phrase becomes a moment on its own
    "созвон на днях",
    "отчёт сегодня утром",
    "позвонить в банк после обеда",
]


@pytest.mark.parametrize("text", SPLIT_NONE)
def test_split_without_a_moment_is_none(parser: DateParser, text: str) -> None:
    assert parser.split(text, tz=MOSCOW, now=frozen_now(MOSCOW)) is None


@pytest.mark.parametrize(("row", "tz"), DATE_CASES)
def test_split_of_a_bare_phrase_takes_all_of_it(
    parser: DateParser, row: Row, tz: ZoneInfo
) -> None:
    now = row.clock.local.replace(tzinfo=tz).astimezone(UTC)
    match = parser.split(row.phrase, tz=tz, now=now, locale=row.locale)
    expected = expected_moment(row, tz)
    if expected is None:
        assert match is None  # nothing in an asked-about phrase becomes a moment on its own
    else:
        assert match is not None
        assert (match.due, match.text) == (expected, "")


def test_naive_now_is_a_programming_error(parser: DateParser) -> None:
    with pytest.raises(ValueError, match="aware"):
        parser.parse("завтра", tz=MOSCOW, now=datetime(2026, 11, 26, 14, 37))


def test_at_local() -> None:
    now = frozen_now(MOSCOW)
    assert at_local(0, 18, tz=MOSCOW, now=now) == wall(MOSCOW, d(11, 26, 18))
    assert at_local(1, 10, tz=MOSCOW, now=now) == wall(MOSCOW, d(11, 27, 10))
    assert at_local(1, 9, tz=MOSCOW, now=now, minute=30) == wall(MOSCOW, d(11, 27, 9, 30))
    # across the New York fall-back night the wall time stays 10:00
    ny_now = wall(NEW_YORK, d(10, 31, 12))
    assert at_local(1, 10, tz=NEW_YORK, now=ny_now) == datetime(2026, 11, 1, 15, tzinfo=UTC)
    # the local date, not the UTC one: 23:30 in New York is already tomorrow in UTC
    late = wall(NEW_YORK, d(11, 26, 23, 30))
    assert at_local(1, 10, tz=NEW_YORK, now=late) == wall(NEW_YORK, d(11, 27, 10))


def test_next_weekday_at() -> None:
    now = frozen_now(MOSCOW)  # Thursday 14:37
    assert next_weekday_at(0, 10, tz=MOSCOW, now=now) == wall(MOSCOW, d(11, 30, 10))
    assert next_weekday_at(3, 18, tz=MOSCOW, now=now) == wall(MOSCOW, d(11, 26, 18))
    assert next_weekday_at(3, 10, tz=MOSCOW, now=now) == wall(MOSCOW, d(12, 3, 10))
    assert next_weekday_at(4, 9, tz=MOSCOW, now=now) == wall(MOSCOW, d(11, 27, 9))
    due = next_weekday_at(6, 10, tz=NEW_YORK, now=wall(NEW_YORK, d(10, 31, 12)))
    assert due == datetime(2026, 11, 1, 15, tzinfo=UTC)


DATE_WORDS = [
    "завтра", "в", "во", "10", "12", "пт", "через", "2", "часа", "дня", "in", "3", "days",
    "31.02", "25:00", "10.12", "10.12.2026", "dec", "1", "next", "monday", "ago", "назад", "a",
    "week", "from", "now", "pm", "3pm", "утра", "ночи", "к", "среде", "the", "day", "after",
    "tomorrow", "9999", "полтора", "1,5", "0", "00:00", "29.02", "2026", "года", "tonight",
    "вечером", "следующей", "неделе", "of", "1st", "2026-02-30", "в10", ",", "—", "ё", "купить",
    "10/12", "31/02", "24/7", "1030", "2400", "10ч", "25ч", "10-00", "10-75", "числа", "15-го",
    "32-го", "15th", "конца", "конце", "месяца", "недели", "дня", "года", "eod", "end", "выходных",
    "на", "после", "обеда", "sun", "sat", "this", "afternoon", "2moro", "от", "днях", "скоро",
]  # fmt: skip
ZONE_KEYS = [
    "Europe/Moscow",
    "America/New_York",
    "Europe/Berlin",
    "Asia/Kathmandu",
    "Pacific/Chatham",
    "Australia/Lord_Howe",
    "UTC",
]
texts = st.text(max_size=60) | st.lists(
    st.sampled_from(DATE_WORDS) | st.text(max_size=6), max_size=9
).map(" ".join)
nows = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
)
zones = st.sampled_from(ZONE_KEYS).map(ZoneInfo)


@settings(max_examples=200, deadline=None)
@given(text=texts, tz=zones, now=nows, morning_hour=st.integers(0, 23))
def test_never_raises(
    parser: DateParser, text: str, tz: ZoneInfo, now: datetime, morning_hour: int
) -> None:
    due = parser.parse(text, tz=tz, now=now, morning_hour=morning_hour)
    if due is not None:
        assert due.tzinfo is UTC
        assert (due.second, due.microsecond) == (0, 0)
    match = parser.split(text, tz=tz, now=now, morning_hour=morning_hour)
    if match is not None:
        assert match.due.tzinfo is UTC
        assert match.phrase
        assert match.phrase in text
        assert match.text == match.text.strip()


@pytest.mark.parametrize(
    ("text", "task_text", "expected"),
    [
        ("recent one today 9:00", "recent one", d(11, 26, 9)),
        ("call one client tomorrow", "call one client", d(11, 27, 10)),
        ("купить два кофе завтра в 10", "купить два кофе", d(11, 27, 10)),
    ],
)
def test_number_words_in_task_text_stay_text(
    parser: DateParser, text: str, task_text: str, expected: datetime
) -> None:
    match = parser.split(text, tz=MOSCOW, now=frozen_now(MOSCOW))
    assert match is not None
    assert (match.text, match.due) == (task_text, wall(MOSCOW, expected))


@pytest.mark.parametrize(
    ("text", "task_text", "expected"),
    [
        ("обсудить тариф 2 в пятницу", "обсудить тариф 2", d(11, 27, 10)),
        ("этап 2 в понедельник", "этап 2", d(11, 30, 10)),
        ("discuss plan 2 on friday", "discuss plan 2", d(11, 27, 10)),
        ("обсудить пакет 3 завтра в 10", "обсудить пакет 3", d(11, 27, 10)),
        ("phase 2 tomorrow", "phase 2", d(11, 27, 10)),
        ("отчёт 2 декабря", "отчёт", d(12, 2, 10)),
        ("позвонить завтра в 5", "позвонить", d(11, 27, 17)),
        ("позвонить в пн в 4", "позвонить", d(11, 30, 16)),
        ("созвон завтра в 9", "созвон", d(11, 27, 9)),
        ("созвон завтра в 05:00", "созвон", d(11, 27, 5)),
        ("созвон завтра в 7 утра", "созвон", d(11, 27, 7)),
    ],
)
def test_review_cases(parser: DateParser, text: str, task_text: str, expected: datetime) -> None:
    match = parser.split(text, tz=MOSCOW, now=frozen_now(MOSCOW))
    assert match is not None
    assert (match.text, match.due) == (task_text, wall(MOSCOW, expected))


@pytest.mark.parametrize(
    ("text", "impossible"),
    [
        ("договор 31.02", "31.02"),
        ("позвонить завтра в 25:00", "25:00"),
        ("встреча 10:75", "10:75"),
        ("позвонить завтра в 10", None),
        ("отчёт 29.02.2028", None),
    ],
)
def test_impossible_moment_is_named(parser: DateParser, text: str, impossible: str | None) -> None:
    assert parser.impossible_moment(text) == impossible


def test_today_late_in_the_evening_is_the_next_full_hour(parser: DateParser) -> None:
    evening = wall(MOSCOW, d(11, 26, 20)) + timedelta(minutes=25)
    due = parser.parse("сегодня", tz=MOSCOW, now=evening)
    assert due == wall(MOSCOW, d(11, 26, 21))
