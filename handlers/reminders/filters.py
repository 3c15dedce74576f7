"""The task a reminder button, or the snooze dialog, is about."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import RemindAction
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.handover import covering_handover
from bot.services.catalog import Services
from storage.interfaces import Storage, TaskRepo, TeamRepo
from storage.models import Task, TaskStatus


async def task_for(
    user_id: int, task_id: int, tasks: TaskRepo, teams: TeamRepo, now: datetime
) -> Task | None:
    """The user's own task, or one of a client handed over to them (they got its reminder)."""
    task = await tasks.get(user_id, task_id)
    if task is not None:
        return task
    handovers = await teams.active_handovers(now)
    for owner in {h.owner_id for h in handovers if h.to_user_id == user_id}:
        found = await tasks.get(owner, task_id)
        if found is not None:
            cover = covering_handover(handovers, owner, found.client_id)
            if cover is not None and cover.to_user_id == user_id:
                return found
    return None


async def open_task(
    task_id: object, tasks: TaskRepo, teams: TeamRepo, user: UserContext, clock: Clock
) -> dict[str, Any] | bool:
    task = (
        await task_for(user.id, task_id, tasks, teams, clock.now())
        if isinstance(task_id, int)
        else None
    )
    if task is None or task.status is not TaskStatus.OPEN:
        return False
    return {"task": task}


class ReminderTask(Filter):
    """The open task a reminder button is about, as ``task``."""

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: RemindAction,
        repos: Storage,
        services: Services,
        user: UserContext,
        clock: Clock,
    ) -> dict[str, Any] | bool:
        return await open_task(callback_data.id, services.tasks, repos.teams, user, clock)


class SnoozeDialogTask(Filter):
    """The open task the snooze dialog asks about (its id waits in the dialog state)."""

    async def __call__(
        self,
        message: Message,
        state: FSMContext,
        repos: Storage,
        services: Services,
        user: UserContext,
        clock: Clock,
    ) -> dict[str, Any] | bool:
        data = await state.get_data()
        return await open_task(data.get("task_id"), services.tasks, repos.teams, user, clock)
