"""Recurring schedules from words, and their occurrences across DST changes."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.services.recurrence import next_occurrence, split_recurrence

MOSCOW = ZoneInfo("Europe/Moscow")
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)  # Thursday, 14:37 in Moscow


def local(tz: ZoneInfo, *parts: int) -> datetime:
    return datetime(*parts, tzinfo=tz).astimezone(UTC)  # type: ignore[arg-type,misc]


@pytest.mark.parametrize(
    ("text", "task_text", "first", "second"),
    [
        ("отчёт каждый понедельник в 9", "отчёт", (2026, 11, 30, 9), (2026, 12, 7, 9)),
        ("send the report every month on the 1st at 10:00", "send the report",
         (2026, 12, 1, 10), (2027, 1, 1, 10)),
        ("созвон по будням в 18:00", "созвон", (2026, 11, 26, 18), (2026, 11, 27, 18)),
        ("invoice last working day of the month", "invoice", (2026, 11, 30, 10),
         (2026, 12, 31, 10)),
        ("отчёт 1 числа каждого месяца", "отчёт", (2026, 12, 1, 10), (2027, 1, 1, 10)),
        ("sync every 2 weeks on tuesday at 11", "sync", (2026, 12, 8, 11), (2026, 12, 22, 11)),
        ("call every monday and thursday at 3pm", "call", (2026, 11, 26, 15),
         (2026, 11, 30, 15)),
        ("каждую пятницу в 5 отчёт", "отчёт", (2026, 11, 27, 17), (2026, 12, 4, 17)),
        ("акт в последний день месяца", "акт", (2026, 11, 30, 10), (2026, 12, 31, 10)),
        ("полив цветов каждый день", "полив цветов", (2026, 11, 27, 10), (2026, 11, 28, 10)),
        ("ежемесячно счёт", "счёт", (2026, 12, 26, 10), (2027, 1, 26, 10)),
    ],
)
def test_phrases(
    text: str, task_text: str, first: tuple[int, ...], second: tuple[int, ...]
) -> None:
    match = split_recurrence(text, tz=MOSCOW, now=NOW)
    assert match is not None
    assert match.text == task_text
    one = next_occurrence(match.rule, MOSCOW, NOW)
    assert one == local(MOSCOW, *first)
    assert one is not None
    assert next_occurrence(match.rule, MOSCOW, one) == local(MOSCOW, *second)


@pytest.mark.parametrize(
    "text", ["купить каждый", "позвонить завтра в 10", "по делу", "every now and then"]
)
def test_not_schedules(text: str) -> None:
    assert split_recurrence(text, tz=MOSCOW, now=NOW) is None


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
