"""Recurring series: each occurrence is a task; the next appears when the current one is
done or its moment passes. Completing or snoozing an occurrence never touches the rule."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.clock import Clock
from bot.domain.kinds import detect_kind
from bot.domain.recurrence import (
    is_occurrence,
    next_occurrence,
    occurrence_in_zone,
    split_recurrence,
)
from storage.errors import DuplicateOccurrenceError
from storage.interfaces import SeriesRepo, TaskRepo
from storage.models import Client, Series, SeriesStatus, Task, TaskKind

logger = logging.getLogger(__name__)

ADVANCE_BATCH = 500


class SeriesService:
    def __init__(self, series: SeriesRepo, tasks: TaskRepo, clock: Clock) -> None:
        self._series = series
        self._tasks = tasks
        self._clock = clock
        # Series whose upcoming occurrence we are removing ourselves (stop, new rule): the
        # "task closed" hook must not create a replacement from the old state meanwhile.
        self._editing: set[int] = set()

    async def start(
        self,
        owner_id: int,
        *,
        client_id: int | None,
        text: str,
        kind: TaskKind,
        rule: str,
        timezone: str,
        source: str = "user",
    ) -> tuple[Series, Task | None]:
        series = await self._series.create(
            owner_id, client_id=client_id, text=text, kind=kind, rule=rule, timezone=timezone,
            source=source, now=self._clock.now(),
        )
        return series, await self.advance_one(series)

    async def advance_one(self, series: Series, *, fresh: bool = False) -> Task | None:
        """Create the next occurrence if the series has none open ahead of now.

        It follows the last occurrence (done, skipped or missed); `fresh` (a new rule)
        starts from now instead.
        """
        if series.status is not SeriesStatus.ACTIVE:
            return None
        now = self._clock.now()
        if await self._series.next_open_task_id(series.owner_id, series.id, now) is not None:
            return None
        last = None if fresh else await self._series.last_occurrence(series.id)
        after = max(last, now) if last is not None else now - timedelta(seconds=1)
        try:
            tz = ZoneInfo(series.timezone)
        except (ZoneInfoNotFoundError, ValueError):
            logger.warning("series %s has an unknown timezone", series.id)
            return None
        due = next_occurrence(series.rule, tz, after)
        if due is None:
            return None
        try:
            return await self._tasks.create(
                series.owner_id, client_id=series.client_id, text=series.text,
                kind=series.kind, due_at=due, now=now, series_id=series.id,
            )
        except DuplicateOccurrenceError:
            return None  # made by another worker a moment ago

    async def advance_all(self) -> int:
        created = 0
        while True:
            batch = await self._series.needing_next(self._clock.now(), ADVANCE_BATCH)
            made = [await self.advance_one(series) for series in batch]
            created += sum(task is not None for task in made)
            if len(batch) < ADVANCE_BATCH or not any(made):
                return created

    async def after_task_closed(self, task: Task) -> None:
        """An occurrence was done or deleted: show the next one right away."""
        if task.series_id is None or task.series_id in self._editing:
            return
        series = await self._series.get(task.owner_id, task.series_id)
        if series is not None:
            await self.advance_one(series)

    async def _drop_upcoming(self, series: Series) -> None:
        task_id = await self._series.next_open_task_id(
            series.owner_id, series.id, self._clock.now()
        )
        if task_id is None:
            return
        self._editing.add(series.id)
        try:
            await self._tasks.delete(series.owner_id, task_id, self._clock.now())
        finally:
            self._editing.discard(series.id)

    async def set_status(
        self, owner_id: int, series_id: int, status: SeriesStatus
    ) -> Series | None:
        series = await self._series.set_status(owner_id, series_id, status, self._clock.now())
        if series is None:
            return None
        if status is SeriesStatus.STOPPED:
            await self._drop_upcoming(series)
        elif status is SeriesStatus.ACTIVE:
            await self.advance_one(series)
        return series

    async def change_rule(
        self, owner_id: int, series_id: int, rule: str, timezone: str
    ) -> tuple[Series, Task | None] | None:
        series = await self._series.set_rule(
            owner_id, series_id, rule, timezone, self._clock.now()
        )
        if series is None:
            return None
        await self._drop_upcoming(series)
        return series, await self.advance_one(series, fresh=True)

    async def sync_cadence(
        self,
        client: Client,
        cadence: str | None,
        *,
        tz: ZoneInfo,
        morning_hour: int,
        default_text: str,
    ) -> tuple[Series, Task | None] | None:
        """The client card's cadence ("отчёт 1 числа каждого месяца") as its recurring task.

        The previous cadence series stops; None when the cadence is empty or not a schedule.
        """
        for old in await self._series.for_client(client.owner_id, client.id, "cadence"):
            await self.set_status(client.owner_id, old.id, SeriesStatus.STOPPED)
        if not cadence:
            return None
        parsed = split_recurrence(
            cadence, tz=tz, now=self._clock.now(), morning_hour=morning_hour
        )
        if parsed is None:
            return None
        text = parsed.text or default_text
        kind = detect_kind(text)
        return await self.start(
            client.owner_id, client_id=client.id, text=text,
            kind=TaskKind.REPORT if kind is TaskKind.OTHER else kind,
            rule=parsed.rule, timezone=tz.key, source="cadence",
        )

    async def follow_zone(self, owner_id: int, new_tz: ZoneInfo) -> int:
        """The owner moved to another timezone: each series keeps its wall-clock time there.

        Its upcoming occurrence becomes the rule's next one in the new zone (`occurrence_in_
        zone`); an occurrence the user moved by hand is a moment they chose and stays where
        it is. Returns how many moved.
        """
        now = self._clock.now()
        moved = 0
        for series in await self._series.list_live(owner_id):
            if series.timezone == new_tz.key:
                continue
            await self._series.set_rule(owner_id, series.id, series.rule, new_tz.key, now)
            task_id = await self._series.next_open_task_id(owner_id, series.id, now)
            task = await self._tasks.get(owner_id, task_id) if task_id else None
            if task is None or task.due_at is None:
                continue
            try:
                old_tz = ZoneInfo(series.timezone)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            wall = task.due_at.astimezone(old_tz).replace(tzinfo=None)
            if not is_occurrence(series.rule, wall):
                continue
            previous = await self._series.previous_due(owner_id, series.id, task.id)
            due = occurrence_in_zone(series.rule, previous, old_tz, new_tz, now)
            if due is not None and due != task.due_at:
                await self._tasks.set_due(owner_id, task.id, due, now)
                moved += 1
        return moved

    async def next_due(self, series: Series) -> datetime | None:
        task_id = await self._series.next_open_task_id(
            series.owner_id, series.id, self._clock.now()
        )
        task = await self._tasks.get(series.owner_id, task_id) if task_id else None
        return task.due_at if task is not None else None
