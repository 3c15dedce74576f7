"""When reminders fire: by kind, per task, and within working hours (DST included)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.services.reminder_plan import next_working_start, plan_reminders
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
