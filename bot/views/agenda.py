"""What is due when, in the user's timezone: day bounds, pages of /today, /overdue, /week."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import gettext as _

from bot.views.render import format_day, task_line
from storage.interfaces import TaskRepo
from storage.models import Task

PAGE_SIZE = 12
WEEK_DAYS = 7


def local_midnight(day: date, tz: ZoneInfo) -> datetime:
    """The UTC moment a local day starts (handles DST days of 23 or 25 hours)."""
    return datetime.combine(day, time(0), tzinfo=tz).astimezone(ZoneInfo("UTC"))


def day_bounds(now: datetime, tz: ZoneInfo, days: int = 1) -> tuple[datetime, datetime]:
    today = now.astimezone(tz).date()
    return local_midnight(today, tz), local_midnight(today + timedelta(days=days), tz)


@dataclass(frozen=True, slots=True)
class AgendaPage:
    text: str
    tasks: list[Task]
    page: int
    pages: int


def _page_slice(items: list[Task], page: int) -> tuple[list[Task], int, int]:
    pages = max(1, (len(items) + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    return items[page * PAGE_SIZE : (page + 1) * PAGE_SIZE], page, pages


def _group_by_client(tasks: list[Task]) -> list[Task]:
    """Clients in the order of their first task of the day; tasks by time within a client."""
    order: dict[int | None, int] = {}
    for index, task in enumerate(tasks):
        order.setdefault(task.client_id, index)
    return sorted(tasks, key=lambda task: (order[task.client_id], task.due_at, task.number))


async def today_page(
    tasks: TaskRepo, owner_id: int, tz: ZoneInfo, locale: str, now: datetime, page: int
) -> AgendaPage:
    start, end = day_bounds(now, tz)
    due_today = _group_by_client(await tasks.due_between(owner_id, start, end))
    overdue_before_today = await tasks.count_overdue(owner_id, start)
    shown, page, pages = _page_slice(due_today, page)
    lines = [html.bold(_("📅 Today, {day}").format(day=format_day(start.astimezone(tz), locale)))]
    if not due_today:
        lines.append(_("Nothing is due today."))
    previous_client: object = object()
    for task in shown:
        if task.client_id != previous_client:
            lines.append("")
            lines.append(
                html.bold(html.quote(task.client_name)) if task.client_name else html.bold(
                    _("Without a client")
                )
            )
            previous_client = task.client_id
        lines.append(task_line(task, tz, locale, now, with_client=False))
    footer = []
    if overdue_before_today:
        footer.append(
            "⚠️ " + _("Overdue from earlier days: {count} · /overdue").format(
                count=overdue_before_today
            )
        )
    undated = await tasks.count_undated(owner_id)
    if undated:
        footer.append(_("🗒 Tasks without a time: {count} · /nodate").format(count=undated))
    if footer:
        lines += ["", *footer]
    return AgendaPage("\n".join(lines), shown, page, pages)


async def overdue_page(
    tasks: TaskRepo, owner_id: int, tz: ZoneInfo, locale: str, now: datetime, page: int
) -> AgendaPage:
    total = await tasks.count_overdue(owner_id, now)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = await tasks.overdue(owner_id, now, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    lines = [html.bold(_("⚠️ Overdue: {count}").format(count=total))]
    if not total:
        lines = [_("Nothing is overdue. 👌")]
    lines += [
        task_line(task, tz, locale, now, with_day=True, with_lateness=True) for task in shown
    ]
    return AgendaPage("\n".join(lines), shown, page, pages)


async def week_page(
    tasks: TaskRepo, owner_id: int, tz: ZoneInfo, locale: str, now: datetime, page: int
) -> AgendaPage:
    start, end = day_bounds(now, tz, WEEK_DAYS)
    due = await tasks.due_between(owner_id, start, end)
    shown, page, pages = _page_slice(due, page)
    lines = [html.bold(_("🗓 Next 7 days: {count}").format(count=len(due)))]
    if not due:
        lines.append(_("Nothing planned for the next 7 days."))
    previous_day: date | None = None
    for task in shown:
        assert task.due_at is not None
        day = task.due_at.astimezone(tz).date()
        if day != previous_day:
            lines += ["", html.bold(format_day(day, locale))]
            previous_day = day
        lines.append(task_line(task, tz, locale, now))
    return AgendaPage("\n".join(lines), shown, page, pages)


async def nodate_page(
    tasks: TaskRepo, owner_id: int, tz: ZoneInfo, locale: str, now: datetime, page: int
) -> AgendaPage:
    total = await tasks.count_undated(owner_id)
    pages = max(1, (total + PAGE_SIZE - 1) // PAGE_SIZE)
    page = min(max(page, 0), pages - 1)
    shown = await tasks.undated(owner_id, offset=page * PAGE_SIZE, limit=PAGE_SIZE)
    lines = [html.bold(_("🗒 Tasks without a time: {count}").format(count=total))]
    if not total:
        lines = [_("Every open task has a time.")]
    lines += [task_line(task, tz, locale, now) for task in shown]
    if total:
        lines += ["", _("Give one a time: /edit and its number.")]
    return AgendaPage("\n".join(lines), shown, page, pages)


VIEWS = {
    "today": today_page,
    "overdue": overdue_page,
    "week": week_page,
    "nodate": nodate_page,
}
