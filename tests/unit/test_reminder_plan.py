"""When reminders fire: by kind, per task, and within working hours (DST included)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.domain.reminder_plan import (
    held_by_hours,
    next_working_start,
    parse_working_hours,
    plan_reminders,
    still_held,
)
from storage.models import ReminderPurpose, Task, TaskKind, TaskStatus, WorkingHours

NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)
BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")


def task(kind: TaskKind, due: datetime | None, **changes: object) -> Task:
    base = Task(
        id=1, owner_id=1, number=1, client_id=None, client_name=None, text="t", kind=kind,
        due_at=due, status=TaskStatus.OPEN, created_at=NOW, done_at=None,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def test_call_is_reminded_15_minutes_ahead_and_at_the_moment() -> None:
    due = NOW + timedelta(days=1)
    planned = plan_reminders(task(TaskKind.CALL, due), NOW)
    assert [(p.purpose, p.fire_at) for p in planned] == [
        (ReminderPurpose.AHEAD, due - timedelta(minutes=15)),
        (ReminderPurpose.DUE, due),
    ]
    assert all(p.for_due_at == due for p in planned)


def test_report_a_day_ahead_other_only_at_the_moment_and_per_task_override() -> None:
    due = NOW + timedelta(days=3)
    assert plan_reminders(task(TaskKind.REPORT, due), NOW)[0].fire_at == due - timedelta(days=1)
    assert len(plan_reminders(task(TaskKind.OTHER, due), NOW)) == 1
    custom = task(TaskKind.OTHER, due, remind_ahead_minutes=60)
    assert plan_reminders(custom, NOW)[0].fire_at == due - timedelta(hours=1)


def test_nothing_for_past_undated_or_closed_tasks() -> None:
    assert plan_reminders(task(TaskKind.CALL, NOW - timedelta(minutes=1)), NOW) == []
    assert plan_reminders(task(TaskKind.CALL, None), NOW) == []
    closed = task(TaskKind.CALL, NOW + timedelta(days=1), status=TaskStatus.DONE)
    assert plan_reminders(closed, NOW) == []
    # An "ahead" moment already past is skipped; the due one stays.
    soon = plan_reminders(task(TaskKind.CALL, NOW + timedelta(minutes=5)), NOW)
    assert [p.purpose for p in soon] == [ReminderPurpose.DUE]


HOURS = WorkingHours(start_minute=9 * 60, end_minute=19 * 60, days=(0, 1, 2, 3, 4))


@pytest.mark.parametrize(
    ("local", "expected"),
    [
        (datetime(2026, 11, 26, 12, 0), None),  # Thursday noon: inside
        (datetime(2026, 11, 26, 8, 59), datetime(2026, 11, 26, 9, 0)),  # before start
        (datetime(2026, 11, 26, 19, 0), datetime(2026, 11, 27, 9, 0)),  # at the end
        (datetime(2026, 11, 27, 22, 0), datetime(2026, 11, 30, 9, 0)),  # Friday night
        (datetime(2026, 11, 28, 12, 0), datetime(2026, 11, 30, 9, 0)),  # Saturday
        # Across the end of summer time in Berlin (Sun 25 Oct 2026): still 09:00 local.
        (datetime(2026, 10, 24, 12, 0), datetime(2026, 10, 26, 9, 0)),
    ],
)
def test_next_working_start(local: datetime, expected: datetime | None) -> None:
    moment = local.replace(tzinfo=BERLIN).astimezone(UTC)
    start = next_working_start(moment, BERLIN, HOURS)
    if expected is None:
        assert start is None
    else:
        assert start is not None
        assert start.astimezone(BERLIN).replace(tzinfo=None) == expected


def test_working_hours_off_and_round_the_clock() -> None:
    night = datetime(2026, 11, 28, 3, 0, tzinfo=NEW_YORK)
    assert next_working_start(night, NEW_YORK, WorkingHours(0, 24 * 60, tuple(range(7)))) is None
    assert next_working_start(night, NEW_YORK, WorkingHours(days=())) is None


def berlin(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=BERLIN).astimezone(UTC)  # type: ignore[arg-type,misc]


def test_a_typed_moment_fires_then_and_what_the_bot_timed_waits_for_hours() -> None:
    # Sunday 29 Nov 2026 in Berlin; hours 09:00–19:00 Mon–Fri.
    report = task(TaskKind.REPORT, berlin(2026, 11, 30, 10, 0))  # ahead: Sunday 10:00
    planned = plan_reminders(report, NOW, tz=BERLIN, hours=HOURS)
    assert [(p.purpose, p.fire_at, p.held_from) for p in planned] == [
        (ReminderPurpose.AHEAD, berlin(2026, 11, 30, 9, 0), berlin(2026, 11, 29, 10, 0)),
        (ReminderPurpose.DUE, berlin(2026, 11, 30, 10, 0), None),
    ]
    saturday = task(TaskKind.OTHER, berlin(2026, 11, 28, 23, 30))
    [due] = plan_reminders(saturday, NOW, tz=BERLIN, hours=HOURS)
    assert (due.fire_at, due.held_from) == (berlin(2026, 11, 28, 23, 30), None)


def test_a_heads_up_that_would_come_after_the_moment_is_dropped() -> None:
    early_call = task(TaskKind.CALL, berlin(2026, 11, 27, 8, 0))  # ahead 07:45 -> 09:00
    planned = plan_reminders(early_call, NOW, tz=BERLIN, hours=HOURS)
    assert [p.purpose for p in planned] == [ReminderPurpose.DUE]


def test_series_occurrences_and_invoice_steps_wait_for_hours() -> None:
    occurrence = task(TaskKind.OTHER, berlin(2026, 11, 28, 8, 0), series_id=7)
    [due] = plan_reminders(occurrence, NOW, tz=BERLIN, hours=HOURS)
    assert due.fire_at == berlin(2026, 11, 30, 9, 0)
    assert due.held_from == berlin(2026, 11, 28, 8, 0)
    invoice = task(TaskKind.INVOICE, berlin(2026, 12, 5, 10, 0), invoice_id=3)  # Saturday
    steps = plan_reminders(invoice, NOW, ladder=(-3, 0, 3), tz=BERLIN, hours=HOURS)
    assert [p.fire_at for p in steps] == [
        berlin(2026, 12, 2, 10, 0),  # Wednesday: inside
        berlin(2026, 12, 7, 9, 0),  # the due day, a Saturday: Monday morning
        berlin(2026, 12, 8, 10, 0),
    ]


def test_held_reminders_are_released_when_the_hours_change() -> None:
    report = task(TaskKind.REPORT, berlin(2026, 11, 30, 10, 0))
    sunday = berlin(2026, 11, 29, 10, 30)
    held = plan_reminders(report, NOW, tz=BERLIN, hours=HOURS)
    always = WorkingHours(0, 24 * 60, tuple(range(7)))
    [released] = still_held(held, report, sunday, BERLIN, always)
    assert (released.fire_at, released.held_from) == (sunday, berlin(2026, 11, 29, 10, 0))
    # Still held under hours that include Sunday from 11:00.
    weekend = WorkingHours(11 * 60, 19 * 60, tuple(range(7)))
    [later] = still_held(held, report, sunday, BERLIN, weekend)
    assert later.fire_at == berlin(2026, 11, 29, 11, 0)
    # Nothing to release for reminders whose own moment is still ahead.
    assert still_held(held, report, NOW, BERLIN, always) == []


def test_held_by_hours() -> None:
    plain = task(TaskKind.CALL, NOW)
    assert not held_by_hours(ReminderPurpose.DUE, plain)
    assert not held_by_hours(ReminderPurpose.SNOOZE, plain)
    assert held_by_hours(ReminderPurpose.AHEAD, plain)
    assert held_by_hours(ReminderPurpose.DUE, task(TaskKind.CALL, NOW, series_id=1))
    assert held_by_hours(ReminderPurpose.DUE, task(TaskKind.INVOICE, NOW, invoice_id=1))


OFF = WorkingHours(0, 24 * 60, tuple(range(7)))
MON_FRI = (0, 1, 2, 3, 4)


@pytest.mark.parametrize(
    ("text", "current", "expected"),
    [
        ("9-19", OFF, WorkingHours(540, 1140, MON_FRI)),  # after "off": the working week
        ("9-19", WorkingHours(600, 1080, (0, 1, 2, 3, 4, 5)),
         WorkingHours(540, 1140, (0, 1, 2, 3, 4, 5))),
        ("9-19 пн-сб", HOURS, WorkingHours(540, 1140, (0, 1, 2, 3, 4, 5))),
        ("пн-сб 9-19", HOURS, WorkingHours(540, 1140, (0, 1, 2, 3, 4, 5))),
        ("10:30-18:00 mon-sat", HOURS, WorkingHours(630, 1080, (0, 1, 2, 3, 4, 5))),
        ("9–18 Mon–Fri", OFF, WorkingHours(540, 1080, MON_FRI)),
        ("пн-пт", WorkingHours(600, 1080, tuple(range(7))), WorkingHours(600, 1080, MON_FRI)),
        ("будни", HOURS, HOURS),
        ("10-18 по будням", HOURS, WorkingHours(600, 1080, MON_FRI)),
        ("9-19 every day", HOURS, WorkingHours(540, 1140, tuple(range(7)))),
        ("9-19 без выходных", HOURS, WorkingHours(540, 1140, tuple(range(7)))),
        ("пн, ср, пт 10-18", HOURS, WorkingHours(600, 1080, (0, 2, 4))),
        ("сб-вс 10-14", HOURS, WorkingHours(600, 840, (5, 6))),
        ("off", HOURS, OFF),
        ("выкл", HOURS, OFF),
        ("19-9", HOURS, None),
        ("9:70-19", HOURS, None),
        ("9-19 someday", HOURS, None),
        ("когда-нибудь", HOURS, None),
    ],
)
def test_parse_working_hours(
    text: str, current: WorkingHours, expected: WorkingHours | None
) -> None:
    assert parse_working_hours(text, current) == expected


def test_a_reminder_due_this_second_is_not_lost_by_replanning() -> None:
    call = task(TaskKind.OTHER, NOW)
    [due] = plan_reminders(call, NOW - timedelta(minutes=1))
    assert plan_reminders(call, NOW) == []  # fresh planning: its moment has passed
    [kept] = still_held([due], call, NOW, BERLIN, WorkingHours(0, 24 * 60, tuple(range(7))))
    assert (kept.purpose, kept.fire_at) == (ReminderPurpose.DUE, NOW)
