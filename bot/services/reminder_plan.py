"""When a task's reminders fire: at its due moment, and ahead of it by kind or per task.

Pure functions of the task, the user's working hours and now; no storage, no Telegram.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from storage.models import (
    PlannedReminder,
    ReminderPurpose,
    Task,
    TaskKind,
    TaskStatus,
    WorkingHours,
)

# Minutes ahead of the due moment, by kind: a call needs a moment to prepare, a report a day.
DEFAULT_AHEAD_MINUTES: dict[TaskKind, int] = {
    TaskKind.CALL: 15,
    TaskKind.MEETING: 30,
    TaskKind.REPORT: 24 * 60,
    TaskKind.INVOICE: 24 * 60,
    TaskKind.DOCUMENT: 24 * 60,
    TaskKind.OTHER: 0,
}

AHEAD_CHOICES = (0, 15, 60, 24 * 60)


def ahead_minutes(task: Task, defaults: Mapping[TaskKind, int] | None = None) -> int:
    """The task's own setting, else the user's default for its kind, else ours."""
    if task.remind_ahead_minutes is not None:
        return task.remind_ahead_minutes
    if defaults and task.kind in defaults:
        return defaults[task.kind]
    return DEFAULT_AHEAD_MINUTES[task.kind]


# Days from an invoice's due date: 3 before, on the day, then 3 and 7 after until paid.
DEFAULT_PAYMENT_LADDER: tuple[int, ...] = (-3, 0, 3, 7)


def plan_payment_ladder(
    task: Task, now: datetime, ladder: tuple[int, ...]
) -> list[PlannedReminder]:
    assert task.due_at is not None
    planned = []
    for days in sorted(set(ladder)):
        fire_at = task.due_at + timedelta(days=days)
        if fire_at <= now:
            continue
        purpose = (
            ReminderPurpose.AHEAD
            if days < 0
            else ReminderPurpose.DUE
            if days == 0
            else ReminderPurpose.FOLLOWUP
        )
        planned.append(PlannedReminder(purpose, fire_at, task.due_at))
    return planned


def plan_reminders(
    task: Task,
    now: datetime,
    ladder: tuple[int, ...] = DEFAULT_PAYMENT_LADDER,
    defaults: Mapping[TaskKind, int] | None = None,
) -> list[PlannedReminder]:
    """Reminders still ahead of now for an open task with a due moment; an invoice's
    payment task follows the payment ladder, which goes on after the due day."""
    if task.status is not TaskStatus.OPEN or task.due_at is None:
        return []
    if task.invoice_id is not None:
        return plan_payment_ladder(task, now, ladder)
    if task.due_at <= now:
        return []
    planned: list[PlannedReminder] = []
    ahead = ahead_minutes(task, defaults)
    if ahead > 0:
        early = task.due_at - timedelta(minutes=ahead)
        if early > now:
            planned.append(PlannedReminder(ReminderPurpose.AHEAD, early, task.due_at))
    planned.append(PlannedReminder(ReminderPurpose.DUE, task.due_at, task.due_at))
    return planned


def next_working_start(moment: datetime, tz: ZoneInfo, hours: WorkingHours) -> datetime | None:
    """None if moment falls within working hours, else when the next working period starts."""
    if not hours.days or hours.start_minute >= hours.end_minute:
        return None  # no working time configured: everything is deliverable at once
    local = moment.astimezone(tz)
    minute_of_day = local.hour * 60 + local.minute
    if local.weekday() in hours.days and hours.start_minute <= minute_of_day < hours.end_minute:
        return None
    day = local.date()
    if minute_of_day >= hours.start_minute or local.weekday() not in hours.days:
        day += timedelta(days=1)
    start = time(hours.start_minute // 60, hours.start_minute % 60)
    for _ in range(8):
        if day.weekday() in hours.days:
            return datetime.combine(day, start, tzinfo=tz).astimezone(moment.tzinfo)
        day += timedelta(days=1)
    return None
