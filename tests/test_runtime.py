"""The runtime: the bot's background work as named jobs on one scheduler, over the services
of the composition root, stopped in one place."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from bot.app import create_bot, create_services
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from bot.runtime import Runtime
from bot.sender import Sender
from bot.settings import Settings
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock

NOW = datetime(2026, 11, 26, 9, 0, tzinfo=UTC)


async def test_named_jobs_on_one_scheduler_over_the_apps_services(
    tmp_path: Path, storage: Storage
) -> None:
    settings = Settings.model_validate(
        {"bot_token": "42:TEST", "database_url": f"sqlite:///{tmp_path / 'db.sqlite3'}"}
    )
    clock = FakeClock(NOW)
    i18n = create_i18n("en")
    bot = create_bot(settings, session=LocalSession())
    services = create_services(
        settings=settings, storage=storage, clock=clock, i18n=i18n, sender=Sender(bot)
    )
    runtime = Runtime.for_app(
        bot=bot, storage=storage, i18n=i18n, clock=clock, settings=settings,
        services=services,
    )
    # Built once: the alert service pages through the engine the runtime runs.
    assert services.alerts.engine is runtime.alerts
    assert runtime.sender is services.sender
    await runtime.start()
    try:
        assert runtime.scheduler.running
        assert sorted(job.id for job in runtime.scheduler.get_jobs()) == [
            "applied-updates", "backups", "digests", "series", "sweep-reminders"
        ]
    finally:
        await runtime.stop()
    assert not runtime.scheduler.running
