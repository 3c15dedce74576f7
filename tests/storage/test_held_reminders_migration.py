"""Upgrading releases reminders of typed moments that the old rule held for working hours."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from storage.models import PlannedReminder, ReminderPurpose, TaskKind
from storage.sqlite import database as sqlite_database
from storage.sqlite import open_sqlite_storage
from storage.sqlite.migrations import MIGRATIONS

NOW = datetime(2026, 11, 26, 20, 23, tzinfo=UTC)  # 23:23 in Moscow
OWNER = 1


# The migration under test: the file is made at the version before it, then this code opens
# it (running that migration and every later one).
HELD = next(
    number for number, script in enumerate(MIGRATIONS, start=1)
    if "held_over_from IS NOT NULL" in script
)


async def test_the_upgrade_releases_typed_moments_but_not_series_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "db.sqlite3"
    # As the old code left it: the schema one version before the migration.
    monkeypatch.setattr(sqlite_database, "MIGRATIONS", MIGRATIONS[: HELD - 1])
    storage = await open_sqlite_storage(path)
    typed_at = NOW + timedelta(minutes=5)
    morning = datetime(2026, 11, 27, 6, 0, tzinfo=UTC)  # 09:00 in Moscow
    try:
        await storage.users.ensure(OWNER, NOW)
        typed = await storage.tasks.create(
            OWNER, client_id=None, text="тест", kind=TaskKind.OTHER, due_at=typed_at, now=NOW
        )
        series = await storage.series.create(
            OWNER, client_id=None, text="standup", kind=TaskKind.OTHER,
            rule="DTSTART:20261126T080000\nRRULE:FREQ=DAILY;BYHOUR=8;BYMINUTE=0;BYSECOND=0",
            timezone="Europe/Moscow", source="user", now=NOW,
        )
        occurrence = await storage.tasks.create(
            OWNER, client_id=None, text="standup", kind=TaskKind.OTHER,
            due_at=morning - timedelta(hours=1), now=NOW, series_id=series.id,
        )
        for task in (typed, occurrence):
            assert task.due_at is not None
            held = PlannedReminder(ReminderPurpose.DUE, morning, task.due_at, task.due_at)
            await storage.reminders.replace_for_task(OWNER, task.id, [held], NOW)
    finally:
        await storage.backend.close()
    monkeypatch.setattr(sqlite_database, "MIGRATIONS", MIGRATIONS)
    upgraded = await open_sqlite_storage(path)
    try:
        [released] = await upgraded.reminders.pending_for_task(OWNER, typed.id)
        assert released.fire_at == typed_at
        assert released.held_from == typed_at
        [kept] = await upgraded.reminders.pending_for_task(OWNER, occurrence.id)
        assert kept.fire_at == morning
    finally:
        await upgraded.backend.close()
