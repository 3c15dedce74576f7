"""The agenda as the chat groups it: overdue from earlier days, today (by client, as /today),
the next 7 days (by time, as /week), in the user's timezone."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _

from bot.views.agenda import day_bounds
from bot.webapp.views import JSON, task_json
from storage.interfaces import TaskRepo
from storage.models import Task

GROUP_ITEMS = 200
WEEK_DAYS = 7


def group_by_client(tasks: list[Task]) -> list[Task]:
    """Clients in the order of their first task of the day; by time within a client (the
    order of the chat's /today)."""
    order: dict[int | None, int] = {}
    for index, task in enumerate(tasks):
        order.setdefault(task.client_id, index)
    return sorted(tasks, key=lambda task: (order[task.client_id], task.due_at, task.number))


def _group(
    key: str, title: str, empty: str, tasks: list[Task], total: int,
    tz: ZoneInfo, locale: str, now: datetime,
) -> JSON:
    return {
        "key": key,
        "title": title,
        "empty": empty,
        "total": total,
        "items": [task_json(task, tz, locale, now) for task in tasks[:GROUP_ITEMS]],
    }


async def agenda_json(
    tasks: TaskRepo, owner_id: int, now: datetime, tz: ZoneInfo, locale: str
) -> JSON:
    start, end_of_today = day_bounds(now, tz)
    _start, end_of_week = day_bounds(now, tz, WEEK_DAYS + 1)
    overdue = await tasks.overdue(owner_id, start, limit=GROUP_ITEMS)
    overdue_total = (
        len(overdue) if len(overdue) < GROUP_ITEMS else await tasks.count_overdue(owner_id, start)
    )
    today = group_by_client(await tasks.due_between(owner_id, start, end_of_today))
    week = await tasks.due_between(owner_id, end_of_today, end_of_week)
    return {
        "groups": [
            _group("overdue", _("Overdue from earlier days"), _("Nothing is overdue. 👌"),
                   overdue, overdue_total, tz, locale, now),
            _group("today", _("Today"), _("Nothing is due today."),
                   today, len(today), tz, locale, now),
            _group("week", _("Next 7 days"), _("Nothing planned for the next 7 days."),
                   week, len(week), tz, locale, now),
        ]
    }
