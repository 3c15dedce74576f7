"""Benchmark the calendar feed: one user's .ics with 5,000 tasks on SQLite.

Seeds a fresh SQLite database (in a temp dir) for one user through the repositories: open
tasks with a time (a third overdue), some undated and done ones (left out of the feed),
recurring series with their open occurrence, and unpaid invoices. Then, per run:

- generation: the three queries, the calendar built (icalendar, VTIMEZONE included) and
  serialised, the version stored (what one 200 costs the bot, without HTTP);
- HTTP: `GET /cal/<id>-<secret>.ics` through aiohttp on 127.0.0.1 (a fresh fetch), and the
  same with `If-None-Match` (a poller's 304).

Prints median and p99 in ms and the body size.

    python bench/bench_calendar.py [--tasks 5000] [--series 50] [--invoices 200] [--runs 30]

A script that prints numbers, not a test; every answer is checked (status, event count).
"""

from __future__ import annotations

import argparse
import asyncio
import math
import platform
import random
import statistics
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp import web
from pydantic import SecretStr

from bot.calendar_feed.ics import build_feed, load_content
from bot.calendar_feed.web import add_calendar_routes
from bot.clock import FrozenClock
from bot.domain.recurrence import split_recurrence
from bot.i18n import create_i18n
from bot.services.series import SeriesService
from bot.settings import Settings
from storage.interfaces import Storage
from storage.models import TaskKind
from storage.sqlite import open_sqlite_storage

NOW = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
TIMEZONE = "Europe/Berlin"
USER_ID = 1
SECRET = "bench-secret-0123456789abcdefghij"
SCHEDULES = (
    "every Monday at 10", "every Friday at 17", "every month on the 1st at 9",
    "every day at 9:30", "every other Thursday at 11", "every weekday at 8",
)


def settings() -> Settings:
    return Settings.model_validate({
        "bot_token": SecretStr("42:bench"), "default_timezone": TIMEZONE,
        "default_language": "ru", "public_url": "https://bot.example.com",
    })


async def seed(storage: Storage, args: argparse.Namespace) -> int:
    """The user's data; returns how many events the feed must hold."""
    rng = random.Random(args.seed)
    clock = FrozenClock(NOW)
    tz = ZoneInfo(TIMEZONE)
    await storage.users.ensure(USER_ID, NOW)
    await storage.users.set_timezone(USER_ID, TIMEZONE)
    await storage.users.set_language(USER_ID, "ru")
    await storage.users.calendar_secret(USER_ID, SECRET)
    clients = [
        await storage.clients.create(USER_ID, f"Клиент {number}", NOW)
        for number in range(args.clients)
    ]
    dated = 0
    async with storage.backend.atomic():
        for number in range(args.tasks):
            roll = rng.random()
            due = (
                None if roll < 0.03
                else NOW - timedelta(minutes=rng.randrange(90 * 24 * 60)) if roll < 0.35
                else NOW + timedelta(minutes=rng.randrange(120 * 24 * 60))
            )
            client = rng.choice(clients) if rng.random() < 0.8 else None
            task = await storage.tasks.create(
                USER_ID, client_id=client.id if client else None,
                text=f"задача {number}: позвонить и обсудить отчёт",
                kind=rng.choice(list(TaskKind)), due_at=due, now=NOW,
            )
            if due is not None and rng.random() < 0.05:
                await storage.tasks.complete(USER_ID, task.id, NOW)
            elif due is not None:
                dated += 1
    service = SeriesService(storage.series, storage.tasks, clock)
    for number in range(args.series):
        rule = split_recurrence(SCHEDULES[number % len(SCHEDULES)], tz=tz, now=NOW)
        assert rule is not None
        await service.start(
            USER_ID, client_id=rng.choice(clients).id, text=f"серия {number}",
            kind=TaskKind.REPORT, rule=rule.rule, timezone=TIMEZONE,
        )
    for _number in range(args.invoices):
        await storage.invoices.create(
            USER_ID, client_id=rng.choice(clients).id, amount_minor=rng.randrange(1, 10**8),
            currency="EUR", due_at=NOW + timedelta(days=rng.randrange(-60, 60)), note=None,
            now=NOW,
        )
    # Each series' open occurrence sits on its rule: shown by the RRULE, not as a task.
    return dated + int(args.series) + int(args.invoices)


def summary(label: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]
    return (
        f"{label}: median {statistics.median(ordered):.1f} ms, p99 {p99:.1f} ms, "
        f"min {ordered[0]:.1f} ms ({len(ordered)} runs)"
    )


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as folder:
        storage = await open_sqlite_storage(Path(folder) / "bench.sqlite3")
        try:
            started = time.perf_counter()
            expected = await seed(storage, args)
            print(f"seeded {args.tasks} tasks, {args.series} series, {args.invoices} invoices "
                  f"in {time.perf_counter() - started:.1f} s; the feed holds {expected} events")
            config = settings()
            i18n = create_i18n(config.default_language)
            profile = await storage.users.get(USER_ID)
            assert profile is not None
            generation: list[float] = []
            size = 0
            for _run in range(args.runs):
                started = time.perf_counter()
                content = await load_content(storage, profile, config)
                feed = await asyncio.to_thread(build_feed, content, i18n)
                changed = await storage.users.calendar_version(USER_ID, feed.version, NOW)
                body = feed.render(changed)
                generation.append(1000 * (time.perf_counter() - started))
                assert feed.events == expected, (feed.events, expected)
                size = len(body)
            print(summary("generation (queries + build + serialise)", generation))

            app = web.Application()
            add_calendar_routes(app, storage=storage, clock=FrozenClock(NOW), settings=config,
                                i18n=i18n)
            runner = web.AppRunner(app, access_log=None)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0)
            await site.start()
            port = runner.addresses[0][1]
            url = f"http://127.0.0.1:{port}/cal/{USER_ID}-{SECRET}.ics"
            fresh: list[float] = []
            revalidated: list[float] = []
            async with aiohttp.ClientSession() as session:
                for _run in range(args.runs):
                    started = time.perf_counter()
                    async with session.get(url) as response:
                        got = await response.read()
                        etag = response.headers["ETag"]
                    fresh.append(1000 * (time.perf_counter() - started))
                    assert response.status == 200
                    assert len(got) == size
                    started = time.perf_counter()
                    async with session.get(url, headers={"If-None-Match": etag}) as response:
                        await response.read()
                    revalidated.append(1000 * (time.perf_counter() - started))
                    assert response.status == 304
            await runner.cleanup()
            print(summary("HTTP 200 (full body)", fresh))
            print(summary("HTTP 304 (If-None-Match)", revalidated))
            print(f"body {size / 1024:.0f} KiB; Python {platform.python_version()}, "
                  f"{platform.machine()}")
        finally:
            await storage.backend.close()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tasks", type=int, default=5000)
    parser.add_argument("--series", type=int, default=50)
    parser.add_argument("--invoices", type=int, default=200)
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    return parser.parse_args()


if __name__ == "__main__":
    asyncio.run(main(parse()))
