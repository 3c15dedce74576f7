"""Keeping reminder rows in step with tasks.

`PlannedTasks` wraps a TaskRepo: every write that can move, close or reopen a task re-plans
its reminders, so handlers use it exactly like the repository and cannot forget to. If the
process dies between the task write and the planning, start-up (`reconcile`) plans the task.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.domain.reminder_plan import DEFAULT_PAYMENT_LADDER, plan_reminders, still_held
from bot.domain.timezones import user_zone
from storage.interfaces import ReminderRepo, TaskRepo, UserRepo
from storage.models import (
    PlannedReminder,
    ReminderPurpose,
    Task,
    TaskKind,
    TaskReminderPlan,
    TaskStatus,
    WorkingHours,
)

logger = logging.getLogger(__name__)

RECONCILE_BATCH = 1000
# A held reminder can wait out a long weekend after its task's moment, and a payment
# ladder goes on for days after the due day: re-planning looks this far back.
HELD_LOOKBACK = timedelta(days=8)


@dataclass(frozen=True, slots=True)
class _OwnerPlan:
    """What planning needs from the owner's settings."""

    defaults: dict[TaskKind, int] = field(default_factory=dict)
    tz: ZoneInfo | None = None
    hours: WorkingHours | None = None


class ReminderPlanner:
    def __init__(
        self,
        reminders: ReminderRepo,
        clock: Clock,
        payment_ladder: tuple[int, ...] = DEFAULT_PAYMENT_LADDER,
        users: UserRepo | None = None,
        *,
        default_tz: ZoneInfo | None = None,
    ) -> None:
        self._reminders = reminders
        self._clock = clock
        self._ladder = payment_ladder
        self._users = users
        self._default_tz = default_tz or ZoneInfo("UTC")
        self._listeners: list[Callable[[], None]] = []

    async def _owner(self, owner_id: int) -> _OwnerPlan:
        if self._users is None:
            return _OwnerPlan()
        profile = await self._users.get(owner_id)
        if profile is None:
            return _OwnerPlan()
        return _OwnerPlan(
            dict(profile.ahead_defaults),
            user_zone(profile.timezone, self._default_tz),
            profile.hours,
        )

    def _plan(self, task: Task, now: datetime, owner: _OwnerPlan) -> list[PlannedReminder]:
        return plan_reminders(
            task, now, self._ladder, owner.defaults, tz=owner.tz, hours=owner.hours
        )

    def on_change(self, listener: Callable[[], None]) -> None:
        """Called after reminders change (the scheduler re-arms its wake-up)."""
        self._listeners.append(listener)

    def _changed(self) -> None:
        for listener in self._listeners:
            listener()

    async def plan(self, task: Task, *, keep_snoozes: bool = False) -> None:
        now = self._clock.now()
        planned = self._plan(task, now, await self._owner(task.owner_id))
        await self._reminders.replace_for_task(
            task.owner_id, task.id, planned, now, keep_snoozes=keep_snoozes
        )
        self._changed()

    async def replan_owner(self, owner_id: int, tasks: TaskRepo) -> int:
        """After the owner's working hours or timezone change: every open task's reminders
        follow the new settings, and a reminder held past its moment is released at once
        (or at the new start of work). Returns how many tasks were re-planned."""
        now = self._clock.now()
        owner = await self._owner(owner_id)
        lookback = HELD_LOOKBACK + timedelta(days=max((0, *self._ladder)))
        plans = []
        for task in await tasks.open_with_due_after(owner_id, now - lookback):
            planned = self._plan(task, now, owner)
            if owner.tz is not None and owner.hours is not None:
                pending = await self._reminders.pending_for_task(owner_id, task.id)
                planned += still_held(pending, task, now, owner.tz, owner.hours)
            plans.append(TaskReminderPlan(owner_id, task.id, tuple(_one_per_moment(planned))))
        await self._reminders.replace_for_tasks(plans, now, keep_snoozes=True)
        if plans:
            self._changed()
        return len(plans)

    async def cancel(self, task: Task) -> None:
        await self._reminders.cancel_for_task(task.owner_id, task.id)
        self._changed()

    async def snooze(self, task: Task, until: datetime) -> None:
        """A snooze is a reminder of its own: the task's due moment (and series) stay."""
        await self._reminders.snooze(
            task.owner_id,
            task.id,
            PlannedReminder(ReminderPurpose.SNOOZE, until, task.due_at),
            self._clock.now(),
        )
        self._changed()

    async def reconcile(self) -> int:
        """Plan open future tasks that have no reminder for their due moment.

        One transaction per batch: after the reminders migration, or a crash at a busy
        moment, thousands of tasks may need planning and start-up must stay quick.
        """
        planned = 0
        owners: dict[int, _OwnerPlan] = {}
        # Walk by task id: a task whose plan has no 'due' reminder (a payment ladder
        # configured without the due day) still matches the query after planning.
        after_id = 0
        while True:
            now = self._clock.now()
            batch = await self._reminders.tasks_without_reminders(
                now, RECONCILE_BATCH, after_id=after_id
            )
            if not batch:
                break
            after_id = batch[-1].id
            plans = []
            for task in batch:
                if task.owner_id not in owners:
                    owners[task.owner_id] = await self._owner(task.owner_id)
                plans.append(
                    TaskReminderPlan(
                        task.owner_id, task.id,
                        tuple(self._plan(task, now, owners[task.owner_id])),
                    )
                )
            await self._reminders.replace_for_tasks(plans, now)
            planned += len(batch)
            if len(batch) < RECONCILE_BATCH:
                break
        if planned:
            logger.info("planned reminders for %s tasks found without them", planned)
            self._changed()
        return planned


def _one_per_moment(planned: list[PlannedReminder]) -> list[PlannedReminder]:
    seen: set[datetime] = set()
    kept = []
    for item in sorted(planned, key=lambda item: item.fire_at):
        if item.fire_at not in seen:
            seen.add(item.fire_at)
            kept.append(item)
    return kept


class PlannedTasks:
    """A TaskRepo whose writes keep reminders planned. Reads pass straight through.

    With `atomic` (the storage's StorageBackend.atomic), a task write and its reminders land
    together or not at all: a full disk never leaves a task without its reminders.
    """

    def __init__(
        self,
        tasks: TaskRepo,
        planner: ReminderPlanner,
        atomic: Callable[[], AbstractAsyncContextManager[None]] = nullcontext,
    ) -> None:
        self._tasks = tasks
        self._planner = planner
        self._atomic = atomic
        # Called with a task just done or deleted (a series shows its next occurrence).
        self.after_close: list[Callable[[Task], Awaitable[None]]] = []
        # Called with a task just reopened (/undo after ✅: an invoice is owed again).
        self.after_reopen: list[Callable[[Task], Awaitable[None]]] = []
        self.get = tasks.get
        self.get_by_number = tasks.get_by_number
        self.due_between = tasks.due_between
        self.overdue = tasks.overdue
        self.count_overdue = tasks.count_overdue
        self.count_undated = tasks.count_undated
        self.open_for_client = tasks.open_for_client
        self.count_open_for_client = tasks.count_open_for_client
        self.undated = tasks.undated
        self.open_with_due_after = tasks.open_with_due_after
        self.open_dated = tasks.open_dated
        self.set_text = tasks.set_text
        self.set_client = tasks.set_client

    async def _replanned(self, task: Task | None) -> Task | None:
        if task is not None:
            if task.status is TaskStatus.OPEN:
                await self._planner.plan(task)
            else:
                await self._planner.cancel(task)
        return task

    async def create(
        self,
        owner_id: int,
        *,
        client_id: int | None,
        text: str,
        kind: TaskKind,
        due_at: datetime | None,
        now: datetime,
        series_id: int | None = None,
        invoice_id: int | None = None,
    ) -> Task:
        async with self._atomic():
            task = await self._tasks.create(
                owner_id, client_id=client_id, text=text, kind=kind, due_at=due_at, now=now,
                series_id=series_id, invoice_id=invoice_id,
            )
            await self._planner.plan(task)
        return task

    async def _closed(self, task: Task | None) -> Task | None:
        await self._replanned(task)
        if task is not None:
            for listener in self.after_close:
                await listener(task)
        return task

    async def complete(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        async with self._atomic():
            task = await self._closed(await self._tasks.complete(owner_id, task_id, now))
        return task

    async def _reopened(self, task: Task | None) -> Task | None:
        await self._replanned(task)
        if task is not None:
            for listener in self.after_reopen:
                await listener(task)
        return task

    async def reopen(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        async with self._atomic():
            task = await self._reopened(await self._tasks.reopen(owner_id, task_id, now))
        return task

    async def reopen_last_completed(self, owner_id: int, now: datetime) -> Task | None:
        async with self._atomic():
            task = await self._reopened(
                await self._tasks.reopen_last_completed(owner_id, now)
            )
        return task

    async def delete(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        async with self._atomic():
            task = await self._closed(await self._tasks.delete(owner_id, task_id, now))
        return task

    async def restore(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        async with self._atomic():
            task = await self._replanned(await self._tasks.restore(owner_id, task_id, now))
        return task

    async def set_due(
        self, owner_id: int, task_id: int, due_at: datetime | None, now: datetime
    ) -> Task | None:
        async with self._atomic():
            task = await self._replanned(
                await self._tasks.set_due(owner_id, task_id, due_at, now)
            )
        return task

    async def set_kind(
        self, owner_id: int, task_id: int, kind: TaskKind, now: datetime
    ) -> Task | None:
        # The kind decides how far ahead to remind; a pending snooze stays.
        async with self._atomic():
            task = await self._tasks.set_kind(owner_id, task_id, kind, now)
            if task is not None and task.status is TaskStatus.OPEN:
                await self._planner.plan(task, keep_snoozes=True)
        return task

    async def set_remind_ahead(
        self, owner_id: int, task_id: int, minutes: int | None, now: datetime
    ) -> Task | None:
        async with self._atomic():
            task = await self._tasks.set_remind_ahead(owner_id, task_id, minutes, now)
            if task is not None and task.status is TaskStatus.OPEN:
                await self._planner.plan(task, keep_snoozes=True)
        return task


def _planned_tasks_is_a_task_repo(tasks: PlannedTasks) -> TaskRepo:
    """Type check only: mypy proves the wrapper offers everything a TaskRepo does."""
    return tasks
