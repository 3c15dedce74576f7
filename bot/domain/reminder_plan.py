"""When a task's reminders fire: at its due moment, and ahead of it by kind or per task.

Pure functions of the task, the user's working hours and now; no storage, no Telegram.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace
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
    *,
    tz: ZoneInfo | None = None,
    hours: WorkingHours | None = None,
) -> list[PlannedReminder]:
    """Reminders still ahead of now for an open task with a due moment; an invoice's
    payment task follows the payment ladder, which goes on after the due day.

    With the user's zone and working hours, what the bot timed by itself waits for them
    (`within_hours`); a moment the user typed fires when they said.
    """
    planned = _natural_plan(task, now, ladder, defaults)
    if tz is None or hours is None:
        return planned
    return within_hours(planned, task, tz, hours)


def held_by_hours(purpose: ReminderPurpose, task: Task) -> bool:
    """Working hours hold only what the bot timed by itself: a heads-up ahead of the moment,
    an invoice's ladder steps, a series occurrence (the rule's time, not a moment typed for
    this task). A task's own moment and a snooze the user picked fire when they said."""
    if purpose is ReminderPurpose.SNOOZE:
        return False
    if task.invoice_id is not None or task.series_id is not None:
        return True
    return purpose in (ReminderPurpose.AHEAD, ReminderPurpose.FOLLOWUP)


def within_hours(
    planned: list[PlannedReminder], task: Task, tz: ZoneInfo, hours: WorkingHours
) -> list[PlannedReminder]:
    """Move what the bot timed into working hours, keeping when it would have fired."""
    result: list[PlannedReminder] = []
    seen: set[datetime] = set()
    for original in planned:
        item = original
        start = next_working_start(item.fire_at, tz, hours)
        if held_by_hours(item.purpose, task) and start is not None:
            if (
                item.purpose is ReminderPurpose.AHEAD
                and task.due_at is not None
                and start >= task.due_at
            ):
                continue  # a heads-up that would come after the moment itself
            item = replace(item, fire_at=start, held_from=item.held_from or item.fire_at)
        if item.fire_at in seen:
            continue  # two steps held to the same morning: one message
        seen.add(item.fire_at)
        result.append(item)
    return sorted(result, key=lambda item: item.fire_at)


def still_held(
    pending: list[PlannedReminder],
    task: Task,
    now: datetime,
    tz: ZoneInfo,
    hours: WorkingHours,
) -> list[PlannedReminder]:
    """Reminders whose own moment has passed but that have not gone out (held for working
    hours, or due this very second), re-timed for the hours as they are now: at once when
    the hours no longer hold them (off, wider, a moment the user typed), else at the next
    working start. Fresh planning skips them: their moment has passed."""
    carried = [
        replace(item, fire_at=now)
        for item in pending
        if (item.held_from or item.fire_at) <= now
        and item.purpose is not ReminderPurpose.SNOOZE
        and task.status is TaskStatus.OPEN
        and item.for_due_at == task.due_at
        and not (
            item.purpose is ReminderPurpose.AHEAD
            and task.due_at is not None
            and task.due_at <= now
        )
    ]
    return within_hours(carried, task, tz, hours)


def _natural_plan(
    task: Task,
    now: datetime,
    ladder: tuple[int, ...],
    defaults: Mapping[TaskKind, int] | None,
) -> list[PlannedReminder]:
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


# /hours: "9-19", "10:30-18:00 пн-сб", "mon-sat 9-19", "будни", "off".
_HOURS_SPAN = re.compile(
    r"(?<![\d:])(\d{1,2})(?:[:.](\d{2}))?\s*-\s*(\d{1,2})(?:[:.](\d{2}))?(?![\d:])"
)
_ALWAYS = frozenset({"off", "24/7", "always", "выкл", "всегда", "круглосуточно"})
_WEEKDAYS_FIVE = (0, 1, 2, 3, 4)
_ALL_DAYS = tuple(range(7))
_DAY_NAMES = {
    name: index
    for index, names in enumerate(
        (
            "пн пон понедельник mon monday",
            "вт вторник tue tues tuesday",
            "ср среда wed wednesday",
            "чт чет четверг thu thur thurs thursday",
            "пт пят пятница fri friday",
            "сб суб суббота sat saturday",
            "вс вос воскресенье sun sunday",
        )
    )
    for name in names.split()
}
_DAY_SETS = {
    **dict.fromkeys(("будни", "weekdays", "workdays"), _WEEKDAYS_FIVE),
    **dict.fromkeys(("ежедневно", "daily", "everyday"), _ALL_DAYS),
    **dict.fromkeys(("выходные", "weekends"), (5, 6)),
}
# Phrases of more than one word, said as one of the words above.
_DAY_PHRASES = (
    ("every day", "daily"), ("all days", "daily"), ("все дни", "ежедневно"),
    ("без выходных", "ежедневно"), ("каждый день", "ежедневно"), ("7 дней", "ежедневно"),
    ("рабочие дни", "будни"), ("по будням", "будни"), ("working days", "weekdays"),
)


def _day_span(token: str) -> tuple[int, ...] | None:
    if token in _DAY_SETS:
        return _DAY_SETS[token]
    if token in _DAY_NAMES:
        return (_DAY_NAMES[token],)
    first, dash, last = token.partition("-")
    if dash and first in _DAY_NAMES and last in _DAY_NAMES:
        start, end = _DAY_NAMES[first], _DAY_NAMES[last]
        return tuple((start + step) % 7 for step in range((end - start) % 7 + 1))
    return None


def parse_working_days(text: str) -> tuple[int, ...] | None:
    """'пн-сб', 'mon-fri', 'будни', 'пн, ср, пт', 'every day' as weekdays (0 = Monday)."""
    text = re.sub(r"\s*[-–—]\s*", "-", text.casefold().replace("ё", "е"))
    for phrase, word in _DAY_PHRASES:
        text = text.replace(phrase, word)
    days: set[int] = set()
    for raw in re.split(r"[\s,;/]+", text):
        token = raw.strip(".")
        if not token or token in ("по", "on", "и", "and"):
            continue
        span = _day_span(token)
        if span is None:
            return None
        days.update(span)
    return tuple(sorted(days)) or None


def parse_working_hours(text: str, current: WorkingHours) -> WorkingHours | None:
    """What /hours was told, or None if it is not understood.

    Days not named stay as they were, except after "off" (every day, any hour): then a new
    span of hours means the working week, Monday to Friday, not every day.
    """
    text = " ".join(text.casefold().split())
    if text in _ALWAYS:
        return WorkingHours(0, 24 * 60, _ALL_DAYS)
    text = re.sub(r"[–—]", "-", text)
    span = _HOURS_SPAN.search(text)
    always = current.start_minute == 0 and current.end_minute == 24 * 60
    if span is None:
        start, end = (9 * 60, 19 * 60) if always else (current.start_minute, current.end_minute)
        rest = text
    else:
        if int(span.group(2) or 0) > 59 or int(span.group(4) or 0) > 59:
            return None
        start = int(span.group(1)) * 60 + int(span.group(2) or 0)
        end = int(span.group(3)) * 60 + int(span.group(4) or 0)
        if not 0 <= start < end <= 24 * 60:
            return None
        rest = (text[: span.start()] + " " + text[span.end():]).strip()
    if rest:
        days = parse_working_days(rest)
        if days is None:
            return None
    elif span is None:
        return None
    else:
        days = _WEEKDAYS_FIVE if always and len(current.days) == 7 else current.days
    return WorkingHours(start, end, days)
