"""Recurring schedules from words: the rule, its first occurrence, the text left and the
label the user sees (English and Russian), and occurrences across DST changes."""

# ruff: noqa: E501 - one schedule per table row reads best

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from dateutil.rrule import rrulestr

from bot.domain.recurrence import (
    is_occurrence,
    next_occurrence,
    occurrence_in_zone,
    split_recurrence,
)
from bot.i18n import create_i18n
from bot.views.recurrence import describe

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)  # Thursday: 14:37 in Moscow, 06:37 in New York


def local(tz: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=tz).astimezone(UTC)  # type: ignore[arg-type,misc]


# (zone, phrase, RRULE, first occurrence (local), task text left, label in English, in Russian).
# A bare frequency ("ежемесячно", "bi-weekly") starts from today's day; "every 2 weeks on
# Tuesday" starts on the nearest Tuesday.
SCHEDULES = [
    (MOSCOW, "отчёт каждый понедельник в 9", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
     (2026, 11, 30, 9, 0), "отчёт",
     "every week: Monday at 09:00", "каждую неделю: понедельник в 09:00"),
    (MOSCOW, "send the report every month on the 1st at 10:00", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 1, 10, 0), "send the report",
     "every month on day 1 at 10:00", "каждый месяц, 1-го числа, в 10:00"),
    (MOSCOW, "созвон по будням в 18:00", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=18;BYMINUTE=0",
     (2026, 11, 26, 18, 0), "созвон",
     "on working days at 18:00", "по будням в 18:00"),
    (MOSCOW, "invoice last working day of the month", "FREQ=MONTHLY;BYSETPOS=-1;BYDAY=MO,TU,WE,TH,FR;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 30, 10, 0), "invoice",
     "last working day of the month at 10:00", "последний рабочий день месяца в 10:00"),
    (MOSCOW, "отчёт 1 числа каждого месяца", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 1, 10, 0), "отчёт",
     "every month on day 1 at 10:00", "каждый месяц, 1-го числа, в 10:00"),
    (MOSCOW, "sync every 2 weeks on tuesday at 11", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TU;BYHOUR=11;BYMINUTE=0",
     (2026, 12, 1, 11, 0), "sync",
     "every 2 weeks on Tuesdays at 11:00", "раз в 2 недели по вторникам в 11:00"),
    (MOSCOW, "call every monday and thursday at 3pm", "FREQ=WEEKLY;BYDAY=MO,TH;BYHOUR=15;BYMINUTE=0",
     (2026, 11, 26, 15, 0), "call",
     "every week: Monday, Thursday at 15:00", "каждую неделю: понедельник, четверг в 15:00"),
    (MOSCOW, "каждую пятницу в 5 отчёт", "FREQ=WEEKLY;BYDAY=FR;BYHOUR=17;BYMINUTE=0",
     (2026, 11, 27, 17, 0), "отчёт",
     "every week: Friday at 17:00", "каждую неделю: пятница в 17:00"),
    (MOSCOW, "полив цветов каждый день", "FREQ=DAILY;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 27, 10, 0), "полив цветов",
     "every day at 10:00", "каждый день в 10:00"),
    (MOSCOW, "ежемесячно счёт", "FREQ=MONTHLY;BYMONTHDAY=26;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 26, 10, 0), "счёт",
     "every month on day 26 at 10:00", "каждый месяц, 26-го числа, в 10:00"),
    (MOSCOW, "weekly call on Monday", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 30, 10, 0), "call",
     "every week: Monday at 10:00", "каждую неделю: понедельник в 10:00"),
    (MOSCOW, "monthly report on the 1st", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 1, 10, 0), "report",
     "every month on day 1 at 10:00", "каждый месяц, 1-го числа, в 10:00"),
    (MOSCOW, "report on the 1st of every month", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 1, 10, 0), "report",
     "every month on day 1 at 10:00", "каждый месяц, 1-го числа, в 10:00"),
    (MOSCOW, "ежемесячный отчёт 1-го числа", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 1, 10, 0), "отчёт",
     "every month on day 1 at 10:00", "каждый месяц, 1-го числа, в 10:00"),
    (MOSCOW, "созвон раз в 2 недели", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 3, 10, 0), "созвон",
     "every 2 weeks on Thursdays at 10:00", "раз в 2 недели по четвергам в 10:00"),
    (MOSCOW, "созвон раз в две недели по четвергам", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 3, 10, 0), "созвон",
     "every 2 weeks on Thursdays at 10:00", "раз в 2 недели по четвергам в 10:00"),
    (MOSCOW, "каждые две недели сверка", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 3, 10, 0), "сверка",
     "every 2 weeks on Thursdays at 10:00", "раз в 2 недели по четвергам в 10:00"),
    (MOSCOW, "bi-weekly sync", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 3, 10, 0), "sync",
     "every 2 weeks on Thursdays at 10:00", "раз в 2 недели по четвергам в 10:00"),
    (MOSCOW, "biweekly sync on Wednesday at 12:00", "FREQ=WEEKLY;INTERVAL=2;BYDAY=WE;BYHOUR=12;BYMINUTE=0",
     (2026, 12, 2, 12, 0), "sync",
     "every 2 weeks on Wednesdays at 12:00", "раз в 2 недели по средам в 12:00"),
    (MOSCOW, "fortnightly review", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 3, 10, 0), "review",
     "every 2 weeks on Thursdays at 10:00", "раз в 2 недели по четвергам в 10:00"),
    (MOSCOW, "call every other Friday", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 27, 10, 0), "call",
     "every 2 weeks on Fridays at 10:00", "раз в 2 недели по пятницам в 10:00"),
    (MOSCOW, "every other week team lunch", "FREQ=WEEKLY;INTERVAL=2;BYDAY=TH;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 3, 10, 0), "team lunch",
     "every 2 weeks on Thursdays at 10:00", "раз в 2 недели по четвергам в 10:00"),
    (MOSCOW, "каждую вторую пятницу планёрка", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 27, 10, 0), "планёрка",
     "every 2 weeks on Fridays at 10:00", "раз в 2 недели по пятницам в 10:00"),
    (MOSCOW, "еженедельный созвон в понедельник", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 30, 10, 0), "созвон",
     "every week: Monday at 10:00", "каждую неделю: понедельник в 10:00"),
    (MOSCOW, "отчёт каждые 3 месяца", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=26;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 26, 10, 0), "отчёт",
     "every 3 months (quarterly) on day 26 at 10:00", "раз в 3 месяца (ежеквартально), 26-го числа, в 10:00"),
    (MOSCOW, "сверка каждые 3 месяца 1-го числа", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 1, 10, 0), "сверка",
     "every 3 months (quarterly) on day 1 at 10:00", "раз в 3 месяца (ежеквартально), 1-го числа, в 10:00"),
    (MOSCOW, "раз в квартал сверка", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=26;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 26, 10, 0), "сверка",
     "every 3 months (quarterly) on day 26 at 10:00", "раз в 3 месяца (ежеквартально), 26-го числа, в 10:00"),
    (MOSCOW, "quarterly review on the 15th", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 15, 10, 0), "review",
     "every 3 months (quarterly) on day 15 at 10:00", "раз в 3 месяца (ежеквартально), 15-го числа, в 10:00"),
    (MOSCOW, "ежеквартально налоги", "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=26;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 26, 10, 0), "налоги",
     "every 3 months (quarterly) on day 26 at 10:00", "раз в 3 месяца (ежеквартально), 26-го числа, в 10:00"),
    (MOSCOW, "каждый год 15 марта поздравить", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15;BYHOUR=10;BYMINUTE=0",
     (2027, 3, 15, 10, 0), "поздравить",
     "every year on 15 March at 10:00", "каждый год 15 марта в 10:00"),
    (MOSCOW, "ежегодно продлить домен", "FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=26;BYHOUR=10;BYMINUTE=0",
     (2027, 11, 26, 10, 0), "продлить домен",
     "every year on 26 November at 10:00", "каждый год 26 ноября в 10:00"),
    (MOSCOW, "renew the domain every year on March 15", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15;BYHOUR=10;BYMINUTE=0",
     (2027, 3, 15, 10, 0), "renew the domain",
     "every year on 15 March at 10:00", "каждый год 15 марта в 10:00"),
    (MOSCOW, "поздравить с днём рождения каждый год 3 июля в 12:00", "FREQ=YEARLY;BYMONTH=7;BYMONTHDAY=3;BYHOUR=12;BYMINUTE=0",
     (2027, 7, 3, 12, 0), "поздравить с днём рождения",
     "every year on 3 July at 12:00", "каждый год 3 июля в 12:00"),
    (MOSCOW, "yearly audit", "FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=26;BYHOUR=10;BYMINUTE=0",
     (2027, 11, 26, 10, 0), "audit",
     "every year on 26 November at 10:00", "каждый год 26 ноября в 10:00"),
    (MOSCOW, "акт каждый последний день месяца", "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 30, 10, 0), "акт",
     "last day of the month at 10:00", "последний день месяца в 10:00"),
    (MOSCOW, "every last day of the month close the books", "FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 30, 10, 0), "close the books",
     "last day of the month at 10:00", "последний день месяца в 10:00"),
    (MOSCOW, "созвон в 9:30 каждый день", "FREQ=DAILY;BYHOUR=9;BYMINUTE=30",
     (2026, 11, 27, 9, 30), "созвон",
     "every day at 09:30", "каждый день в 09:30"),
    (MOSCOW, "standup every weekday at 9", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=9;BYMINUTE=0",
     (2026, 11, 27, 9, 0), "standup",
     "on working days at 09:00", "по будням в 09:00"),
    (MOSCOW, "по понедельникам в 10 планёрка", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 30, 10, 0), "планёрка",
     "every week: Monday at 10:00", "каждую неделю: понедельник в 10:00"),
    (MOSCOW, "mondays at 10 planning", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 30, 10, 0), "planning",
     "every week: Monday at 10:00", "каждую неделю: понедельник в 10:00"),
    (MOSCOW, "every 3 days water the plants", "FREQ=DAILY;INTERVAL=3;BYHOUR=10;BYMINUTE=0",
     (2026, 11, 27, 10, 0), "water the plants",
     "every 3 days at 10:00", "раз в 3 дня в 10:00"),
    (MOSCOW, "раз в неделю отчёт", "FREQ=WEEKLY;BYDAY=TH;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 3, 10, 0), "отчёт",
     "every week: Thursday at 10:00", "каждую неделю: четверг в 10:00"),
    (MOSCOW, "раз в месяц сверка 5 числа", "FREQ=MONTHLY;BYMONTHDAY=5;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 5, 10, 0), "сверка",
     "every month on day 5 at 10:00", "каждый месяц, 5-го числа, в 10:00"),
    (MOSCOW, "once a month check the invoices", "FREQ=MONTHLY;BYMONTHDAY=26;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 26, 10, 0), "check the invoices",
     "every month on day 26 at 10:00", "каждый месяц, 26-го числа, в 10:00"),
    (MOSCOW, "каждые 2 месяца 10-го отчёт", "FREQ=MONTHLY;INTERVAL=2;BYMONTHDAY=10;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 10, 10, 0), "отчёт",
     "every 2 months on day 10 at 10:00", "раз в 2 месяца, 10-го числа, в 10:00"),
    (MOSCOW, "отчёт каждую среду в 19:00", "FREQ=WEEKLY;BYDAY=WE;BYHOUR=19;BYMINUTE=0",
     (2026, 12, 2, 19, 0), "отчёт",
     "every week: Wednesday at 19:00", "каждую неделю: среда в 19:00"),
    (MOSCOW, "планёрка каждый вторник и четверг в 11", "FREQ=WEEKLY;BYDAY=TU,TH;BYHOUR=11;BYMINUTE=0",
     (2026, 12, 1, 11, 0), "планёрка",
     "every week: Tuesday, Thursday at 11:00", "каждую неделю: вторник, четверг в 11:00"),
    (MOSCOW, "call Ivan weekly", "FREQ=WEEKLY;BYDAY=TH;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 3, 10, 0), "call Ivan",
     "every week: Thursday at 10:00", "каждую неделю: четверг в 10:00"),
    (MOSCOW, "every sunday at 8pm plan the week", "FREQ=WEEKLY;BYDAY=SU;BYHOUR=20;BYMINUTE=0",
     (2026, 11, 29, 20, 0), "plan the week",
     "every week: Sunday at 20:00", "каждую неделю: воскресенье в 20:00"),
    (MOSCOW, "отчёт 15 числа каждого месяца в 12:00", "FREQ=MONTHLY;BYMONTHDAY=15;BYHOUR=12;BYMINUTE=0",
     (2026, 12, 15, 12, 0), "отчёт",
     "every month on day 15 at 12:00", "каждый месяц, 15-го числа, в 12:00"),
    (NEW_YORK, "weekly call on Monday at 9am", "FREQ=WEEKLY;BYDAY=MO;BYHOUR=9;BYMINUTE=0",
     (2026, 11, 30, 9, 0), "call",
     "every week: Monday at 09:00", "каждую неделю: понедельник в 09:00"),
    (NEW_YORK, "monthly report on the 1st", "FREQ=MONTHLY;BYMONTHDAY=1;BYHOUR=10;BYMINUTE=0",
     (2026, 12, 1, 10, 0), "report",
     "every month on day 1 at 10:00", "каждый месяц, 1-го числа, в 10:00"),
    (NEW_YORK, "bi-weekly sync on Friday at 4pm", "FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;BYHOUR=16;BYMINUTE=0",
     (2026, 11, 27, 16, 0), "sync",
     "every 2 weeks on Fridays at 16:00", "раз в 2 недели по пятницам в 16:00"),
    (NEW_YORK, "every year on March 15 file taxes", "FREQ=YEARLY;BYMONTH=3;BYMONTHDAY=15;BYHOUR=10;BYMINUTE=0",
     (2027, 3, 15, 10, 0), "file taxes",
     "every year on 15 March at 10:00", "каждый год 15 марта в 10:00"),
    (NEW_YORK, "every weekday at 8:30 standup", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR;BYHOUR=8;BYMINUTE=30",
     (2026, 11, 26, 8, 30), "standup",
     "on working days at 08:30", "по будням в 08:30"),
]


@pytest.mark.parametrize(
    ("tz", "phrase", "rule", "first", "text", "english", "russian"),
    SCHEDULES,
    ids=[row[1] for row in SCHEDULES],
)
def test_schedule_table(
    tz: ZoneInfo,
    phrase: str,
    rule: str,
    first: tuple[int, ...],
    text: str,
    english: str,
    russian: str,
) -> None:
    match = split_recurrence(phrase, tz=tz, now=NOW)
    assert match is not None
    assert str(rrulestr(match.rule)).splitlines()[1] == f"RRULE:{rule};BYSECOND=0"
    assert match.text == text
    assert next_occurrence(match.rule, tz, NOW) == local(tz, *first)
    i18n = create_i18n("en")
    with i18n.context():
        with i18n.use_locale("en"):
            assert describe(match.rule, "en") == english
        with i18n.use_locale("ru"):
            assert describe(match.rule, "ru") == russian


def test_the_table_is_big_enough() -> None:
    assert len(SCHEDULES) >= 40


@pytest.mark.parametrize(
    ("text", "first", "second"),
    [
        ("sync every 2 weeks on tuesday at 11", (2026, 12, 1, 11), (2026, 12, 15, 11)),
        ("call every other Friday", (2026, 11, 27, 10), (2026, 12, 11, 10)),
        ("сверка каждые 3 месяца 1-го числа", (2026, 12, 1, 10), (2027, 3, 1, 10)),
        ("каждый год 15 марта поздравить", (2027, 3, 15, 10), (2028, 3, 15, 10)),
        ("акт каждый последний день месяца", (2026, 11, 30, 10), (2026, 12, 31, 10)),
        ("invoice last working day of the month", (2026, 11, 30, 10), (2026, 12, 31, 10)),
    ],
)
def test_second_occurrences(
    text: str, first: tuple[int, ...], second: tuple[int, ...]
) -> None:
    match = split_recurrence(text, tz=MOSCOW, now=NOW)
    assert match is not None
    one = next_occurrence(match.rule, MOSCOW, NOW)
    assert one == local(MOSCOW, *first)
    assert one is not None
    assert next_occurrence(match.rule, MOSCOW, one) == local(MOSCOW, *second)


@pytest.mark.parametrize(
    "text",
    [
        "купить каждый",
        "позвонить завтра в 10",
        "по делу",
        "every now and then",
        # One date, not a schedule: the date parser takes these.
        "акт в последний день месяца",
        "в последний день месяца акт",
        "send the invoice on the last day of the month",
        "last day of the month invoice",
        "отчёт 15 числа",
        "call on Monday",
        # A report about a month is not a monthly report.
        "ежемесячный отчёт за ноябрь",
        "send the weekly report",
    ],
)
def test_not_schedules(text: str) -> None:
    assert split_recurrence(text, tz=MOSCOW, now=NOW) is None


def test_is_occurrence_tells_a_moved_occurrence_apart() -> None:
    match = split_recurrence("отчёт каждый понедельник в 9", tz=MOSCOW, now=NOW)
    assert match is not None
    assert is_occurrence(match.rule, datetime(2026, 11, 30, 9, 0))
    assert not is_occurrence(match.rule, datetime(2026, 11, 30, 11, 0))


@pytest.mark.parametrize(
    ("tz", "before", "after"),
    [
        # Berlin leaves summer time on Sun 25 Oct 2026: Mondays stay 09:00 local.
        (BERLIN, (2026, 10, 19, 9), (2026, 10, 26, 9)),
        # New York leaves it on Sun 1 Nov 2026 and enters it on Sun 8 Mar 2026.
        (NEW_YORK, (2026, 10, 26, 9), (2026, 11, 2, 9)),
        (NEW_YORK, (2026, 3, 2, 9), (2026, 3, 9, 9)),
    ],
)
def test_weekly_rule_keeps_wall_time_across_dst(
    tz: ZoneInfo, before: tuple[int, ...], after: tuple[int, ...]
) -> None:
    start = datetime(*before, tzinfo=tz)  # type: ignore[arg-type,misc]
    match = split_recurrence("отчёт каждый понедельник в 9", tz=tz, now=start.astimezone(UTC))
    assert match is not None
    first = next_occurrence(match.rule, tz, local(tz, *before[:3], 8))
    assert first == local(tz, *before)
    assert first is not None
    second = next_occurrence(match.rule, tz, first)
    assert second == local(tz, *after)
    assert second is not None
    # The UTC gap is a week plus or minus the hour the clocks moved.
    assert abs((second - first).total_seconds() - 7 * 86400) == 3600


def test_occurrence_in_zone_does_not_repeat_a_done_day() -> None:
    match = split_recurrence("standup every day at 9:00", tz=MOSCOW, now=NOW)
    assert match is not None
    morning = datetime(2026, 11, 26, 5, 30, tzinfo=UTC)  # 08:30 in Moscow
    done_today = local(MOSCOW, 2026, 11, 26, 9)
    # Thursday 09:00 in New York is still ahead, but Thursday's is done: Friday's.
    assert occurrence_in_zone(match.rule, done_today, MOSCOW, NEW_YORK, morning) == local(
        NEW_YORK, 2026, 11, 27, 9
    )
    # Nothing done today: Thursday 09:00 there.
    yesterday = local(MOSCOW, 2026, 11, 25, 9)
    assert occurrence_in_zone(match.rule, yesterday, MOSCOW, NEW_YORK, morning) == local(
        NEW_YORK, 2026, 11, 26, 9
    )


@pytest.mark.parametrize("locale", ["en", "ru"])
def test_the_bots_own_examples_are_schedules(locale: str) -> None:
    import re

    from handlers.series.views import rule_examples

    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale(locale):
        examples = re.findall(r"[«“](.+?)[»”]", rule_examples())
    assert len(examples) >= 6
    for example in examples:
        match = split_recurrence(example, tz=MOSCOW, now=NOW)
        assert match is not None, example
        assert match.text == "", example
