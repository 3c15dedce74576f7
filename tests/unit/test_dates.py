"""Natural-language due dates: the phrase table, DST, split(), quick-pick helpers, fuzzing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.services.dates import DateParser, WhenMatch, at_local, next_weekday_at

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


# Expected values are local wall times of the user; "now" is Thu 2026-11-26 14:37:25.
PARSE_TABLE: list[tuple[str, datetime]] = [
    # the list from the spec
    ("завтра в 10", d(11, 27, 10)),
    ("через 2 часа", d(11, 26, 16, 37)),
    ("в пятницу 15:00", d(11, 27, 15)),
    ("10.12 12:00", d(12, 10, 12)),
    ("1 декабря", d(12, 1, 10)),
    ("tomorrow 10am", d(11, 27, 10)),
    ("next monday", d(11, 30, 10)),
    ("in 3 days", d(11, 29, 10)),
    # dateparser 1.5 traps
    ("в пятницу в 9", d(11, 27, 9)),
    ("tomorrow", d(11, 27, 10)),
    ("завтра", d(11, 27, 10)),
    ("10.12 в 12:00", d(12, 10, 12)),
    ("10.12.2026", d(12, 10, 10)),
    ("пт 12", d(11, 27, 12)),
    ("в 10", d(11, 27, 10)),  # 10:00 has passed today: the next one
    # today / tomorrow / yesterday
    # "today" without a time at 14:37: the morning has passed, so the end of the working day
    ("сегодня", d(11, 26, 18)),
    ("today 18:00", d(11, 26, 18)),
    ("сегодня в 23:59", d(11, 26, 23, 59)),
    ("послезавтра в 9 утра", d(11, 28, 9)),
    ("day after tomorrow", d(11, 28, 10)),
    ("the day after tomorrow at 5 pm", d(11, 28, 17)),
    ("вчера в 10", d(11, 25, 10)),
    ("yesterday", d(11, 25, 10)),
    ("завтра 10", d(11, 27, 10)),
    ("завтра в 10.30", d(11, 27, 10, 30)),
    ("завтра утром", d(11, 27, 10)),
    ("завтра днём", d(11, 27, 14)),
    ("завтра вечером", d(11, 27, 19)),
    ("tonight", d(11, 26, 19)),
    ("tomorrow at noon", d(11, 27, 12)),
    # times of day alone: their next occurrence
    ("в 7 вечера", d(11, 26, 19)),
    ("в 10 вечера", d(11, 26, 22)),
    ("at 3pm", d(11, 26, 15)),
    ("10am", d(11, 27, 10)),
    ("в 9 утра", d(11, 27, 9)),
    ("в 12 дня", d(11, 27, 12)),
    ("в 2 ночи", d(11, 27, 2)),
    ("в полдень", d(11, 27, 12)),
    ("до 18:00", d(11, 26, 18)),
    # relative
    ("через 30 минут", d(11, 26, 15, 7)),
    ("через 3 дня", d(11, 29, 10)),
    ("через 3 дня в 15:00", d(11, 29, 15)),
    ("in 2 hours", d(11, 26, 16, 37)),
    ("in 30 min", d(11, 26, 15, 7)),
    ("через час", d(11, 26, 15, 37)),
    ("через полчаса", d(11, 26, 15, 7)),
    ("через 1,5 часа", d(11, 26, 16, 7)),
    ("через два часа", d(11, 26, 16, 37)),
    ("через 2ч", d(11, 26, 16, 37)),
    ("in half an hour", d(11, 26, 15, 7)),
    ("через неделю", d(12, 3, 10)),
    ("in a week", d(12, 3, 10)),
    ("in two days", d(11, 28, 10)),
    ("in a couple of days", d(11, 28, 10)),
    ("через пару дней", d(11, 28, 10)),
    ("через месяц", d(12, 26, 10)),
    ("2 дня назад", d(11, 24, 10)),
    ("3 hours ago", d(11, 26, 11, 37)),
    # weekdays: the next one strictly in the future
    ("в четверг", d(12, 3, 10)),  # today is Thursday, but 10:00 has passed
    ("в четверг в 18:00", d(11, 26, 18)),
    ("в следующий понедельник", d(11, 30, 10)),
    ("в следующую пятницу", d(12, 4, 10)),
    ("next friday 3pm", d(12, 4, 15)),
    ("на следующей неделе", d(11, 30, 10)),
    ("next week", d(11, 30, 10)),
    ("fri 3pm", d(11, 27, 15)),
    ("Friday 15:00", d(11, 27, 15)),
    ("on sunday at 9am", d(11, 29, 9)),
    ("this friday", d(11, 27, 10)),
    ("в эту пятницу", d(11, 27, 10)),
    ("в пн", d(11, 30, 10)),
    ("во вторник в 11:30", d(12, 1, 11, 30)),
    ("в среду", d(12, 2, 10)),
    ("к среде", d(12, 2, 10)),
    ("к пятнице", d(11, 27, 10)),
    ("в субботу", d(11, 28, 10)),
    ("в воскресенье вечером", d(11, 29, 19)),
    ("в пятницу вечером в 7", d(11, 27, 19)),
    ("вс 12", d(11, 29, 12)),
    # dotted and ISO dates
    ("10.12", d(12, 10, 10)),
    ("10.01 12:00", d(1, 10, 12, year=2027)),  # passed this year: next year
    ("10.01.2026 12:00", d(1, 10, 12)),  # explicit year: stays in the past
    ("29.02", d(2, 29, 10, year=2028)),
    ("2026-12-05 09:15", d(12, 5, 9, 15)),
    # month names
    ("1 dec", d(12, 1, 10)),
    ("December 1", d(12, 1, 10)),
    ("dec 1 15:00", d(12, 1, 15)),
    ("1 декабря 2026 в 15:30", d(12, 1, 15, 30)),
    # A date without a year that passed less than three months ago stays this year (the task
    # is overdue); an older one means next year.
    ("1 ноября", d(11, 1, 10)),
    ("20.11 10:00", d(11, 20, 10)),
    ("1 августа", d(8, 1, 10, year=2027)),
    ("5 января", d(1, 5, 10, year=2027)),
    ("1st of December", d(12, 1, 10)),
    ("December 1st, 2027 at 3:30 PM", d(12, 1, 15, 30, year=2027)),
    # spelling: case, extra spaces, trailing punctuation, ё/е
    ("Завтра в 10.", d(11, 27, 10)),
    ("ЗАВТРА   В 10!!", d(11, 27, 10)),
    ("завтра днем", d(11, 27, 14)),
    # strict dateparser fallback
    ("a week from now", d(12, 3, 10)),
    ("december the 1st", d(12, 1, 10)),
]


@pytest.mark.parametrize("tz", ZONES)
@pytest.mark.parametrize(("phrase", "expected"), PARSE_TABLE, ids=[p for p, _ in PARSE_TABLE])
def test_parse_table(parser: DateParser, tz: ZoneInfo, phrase: str, expected: datetime) -> None:
    due = parser.parse(phrase, tz=tz, now=frozen_now(tz))
    assert due == wall(tz, expected)
    assert due is not None
    assert due.tzinfo is UTC
    assert (due.second, due.microsecond) == (0, 0)


def test_table_is_big_enough() -> None:
    assert len(PARSE_TABLE) >= 50


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
    "next month",
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
]


@pytest.mark.parametrize("text", SPLIT_NONE)
def test_split_without_a_moment_is_none(parser: DateParser, text: str) -> None:
    assert parser.split(text, tz=MOSCOW, now=frozen_now(MOSCOW)) is None


@pytest.mark.parametrize(("phrase", "expected"), PARSE_TABLE, ids=[p for p, _ in PARSE_TABLE])
def test_split_of_a_bare_phrase_takes_all_of_it(
    parser: DateParser, phrase: str, expected: datetime
) -> None:
    match = parser.split(phrase, tz=MOSCOW, now=frozen_now(MOSCOW))
    assert match is not None
    assert (match.due, match.text) == (wall(MOSCOW, expected), "")


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
