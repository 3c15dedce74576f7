"""Benchmark /today and /overdue through the real dispatcher against a large SQLite database.

Seeds a fresh database (in a temp dir) for one user through the repositories, then feeds
/today and /overdue updates to the app's dispatcher (all middlewares, handlers, i18n, storage)
with an in-process LocalSession bot, and the same updates to a bare aiogram Dispatcher whose
handlers do nothing (the framework's own floor). Prints per-request wall times.

    python bench/bench_agenda.py [--requests 500] [--clients 1000] [--tasks 20000]
                                 [--warmup 20] [--seed 42] [--profile]

This is a script that prints numbers, not a test. Every app reply is checked for correctness.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import itertools
import math
import os
import platform
import pstats
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import aiogram
import aiosqlite
from aiogram import Bot, Dispatcher, Router
from aiogram.filters import Command
from aiogram.methods import SendMessage
from aiogram.types import Chat, Message, MessageEntity, Update, User
from aiogram.utils.i18n import I18n
from pydantic import SecretStr

from bot.app import create_bot, create_dispatcher
from bot.clock import FrozenClock
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from bot.settings import Settings
from bot.views.agenda import PAGE_SIZE, day_bounds
from storage.interfaces import Storage
from storage.models import TaskKind
from storage.sqlite import open_sqlite_storage

NOW = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)  # 14:00 in Moscow, a Thursday
TIMEZONE = "Europe/Moscow"
USER_ID = 1
TOKEN = "42:bench"
LANGUAGE = "ru"
TARGET_P99_MS = 20.0

# Shares of all tasks by due time; the rest is due in the future (next 120 days).
SHARE_TODAY = 0.02
SHARE_OVERDUE = 0.30  # before today, spread over the past 90 days
SHARE_UNDATED = 0.015
SHARE_DONE = 0.10  # drawn from all of the above
PAST_DAYS = 90
FUTURE_DAYS = 120

KIND_WEIGHTS = {
    TaskKind.CALL: 30,
    TaskKind.MEETING: 20,
    TaskKind.REPORT: 15,
    TaskKind.OTHER: 15,
    TaskKind.INVOICE: 10,
    TaskKind.DOCUMENT: 10,
}

RU_PHRASES = (
    "Позвонить по поводу продления договора",
    "отправить счёт за ноябрь",
    "согласовать бюджет на первый квартал",
    "напомнить про акт сверки",
    "подготовить ежемесячный отчёт по рекламе",
    "встреча с отделом закупок",
    "уточнить контакты бухгалтерии",
    "обсудить условия SLA и штрафы",
    "выслать КП с новыми тарифами",
    "проверить оплату по счёту № 1482",
    "собрать обратную связь после запуска",
    "передать доступы новому менеджеру",
    "созвон с ЛПР в 15:00 <срочно>",
    "подписать допсоглашение & приложение",
    "обновить презентацию для клиента",
)
EN_PHRASES = (
    "Call about the contract renewal",
    "send the November invoice",
    "agree on the Q1 budget",
    "follow up on the signed NDA",
    "prepare the monthly performance report",
    "meeting with procurement",
    "check the payment status",
    "review SLA terms & penalties",
    "send the updated proposal",
    "ask for feedback on onboarding",
    "hand over access to the new AM",
    "sync with <decision maker> at 3pm",
    "update the quarterly business review deck",
)
CLIENT_PREFIXES = ("ООО", "АО", "ИП", "LLC", "Ltd", "GmbH")
CLIENT_ROOTS = (
    "Ромашка", "Вектор", "Северсталь-Сервис", "Альфа", "Гранит", "Восход", "Меридиан",
    "Техносфера", "Сибирь", "Арсенал", "Nordwind", "Bluefin", "Acme", "Globex", "Initech",
    "Umbrella", "Stark", "Wayne", "Soylent", "Hooli", "Pied Piper", "Vandelay", "Cyberdyne",
    "Tyrell", "Wonka", "Aperture", "Black Mesa", "Oceanic", "Monarch", "Dunder Mifflin",
)
CLIENT_CITIES = (
    "Москва", "Санкт-Петербург", "Казань", "Екатеринбург", "Новосибирск", "Самара", "Пермь",
    "Тверь", "Сочи", "Уфа", "Berlin", "London", "Dubai", "Almaty", "Minsk", "Yerevan",
    "Tbilisi", "Riga", "Warsaw", "Prague",
)


# --- seeding -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TaskSpec:
    client_index: int
    text: str
    kind: TaskKind
    due_at: datetime | None
    created_at: datetime
    done: bool


@dataclass(frozen=True, slots=True)
class Seeded:
    seconds: float
    clients: int
    tasks: int
    done: int
    undated_open: int
    due_today_open: int  # open, due within the user's local today
    overdue_open: int  # open, due before now (what /overdue counts)
    overdue_before_today: int  # open, due before the local day started


def client_names(rng: random.Random, count: int) -> list[str]:
    combos = list(itertools.product(CLIENT_PREFIXES, CLIENT_ROOTS, CLIENT_CITIES))
    if count <= len(combos):
        picked = rng.sample(combos, count)
        return [f"{prefix} «{root}» {city}" for prefix, root, city in picked]
    return [f"{prefix} «{root}» {city} {index}"
            for index, (prefix, root, city) in enumerate(rng.choices(combos, k=count))]


def task_text(rng: random.Random) -> str:
    phrases = RU_PHRASES if rng.random() < 0.6 else EN_PHRASES
    target = rng.randint(20, 120)
    text = rng.choice(phrases)
    while len(text) < target:
        text += rng.choice((", ", "; ", " — ")) + rng.choice(phrases)
    if len(text) > target:
        cut = text.rfind(" ", 20, target + 1)
        text = text[:cut] if cut > 0 else text[:target]
    return text.rstrip(",;— ")


def local_moment(day: date, tz: ZoneInfo, rng: random.Random) -> datetime:
    """A working-hours time on a local day, on a quarter hour, as UTC."""
    clock = dtime(rng.randint(9, 19), rng.choice((0, 15, 30, 45)))
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def plan_tasks(rng: random.Random, tasks: int, clients: int, tz: ZoneInfo) -> list[TaskSpec]:
    today = NOW.astimezone(tz).date()
    counts = {
        "today": round(tasks * SHARE_TODAY),
        "overdue": round(tasks * SHARE_OVERDUE),
        "undated": round(tasks * SHARE_UNDATED),
    }
    counts["future"] = tasks - sum(counts.values())
    categories = [name for name, count in counts.items() for _ in range(count)]
    rng.shuffle(categories)
    done = set(rng.sample(range(tasks), round(tasks * SHARE_DONE)))
    kinds = list(KIND_WEIGHTS)
    weights = list(KIND_WEIGHTS.values())
    specs = []
    for index, category in enumerate(categories):
        due: datetime | None
        if category == "today":
            due = local_moment(today, tz, rng)
        elif category == "overdue":
            due = local_moment(today - timedelta(days=rng.randint(1, PAST_DAYS)), tz, rng)
        elif category == "future":
            due = local_moment(today + timedelta(days=rng.randint(1, FUTURE_DAYS)), tz, rng)
        else:
            due = None
        created = (due if due is not None else NOW) - timedelta(
            days=rng.randint(1, 14), minutes=rng.randint(0, 600)
        )
        specs.append(
            TaskSpec(
                client_index=rng.randrange(clients),
                text=task_text(rng),
                kind=rng.choices(kinds, weights)[0],
                due_at=due,
                created_at=min(created, NOW),
                done=index in done,
            )
        )
    return specs


async def seed(storage: Storage, rng: random.Random, clients: int, tasks: int) -> Seeded:
    tz = ZoneInfo(TIMEZONE)
    specs = plan_tasks(rng, tasks, clients, tz)
    names = client_names(rng, clients)
    started = time.perf_counter()
    await storage.users.ensure(USER_ID, NOW - timedelta(days=200))
    await storage.users.set_timezone(USER_ID, TIMEZONE)
    client_ids = [
        (await storage.clients.create(USER_ID, name, NOW - timedelta(days=180))).id
        for name in names
    ]
    for spec in specs:
        task = await storage.tasks.create(
            USER_ID,
            client_id=client_ids[spec.client_index],
            text=spec.text,
            kind=spec.kind,
            due_at=spec.due_at,
            now=spec.created_at,
        )
        if spec.done:
            completed = await storage.tasks.complete(USER_ID, task.id, NOW - timedelta(hours=1))
            assert completed is not None
    seconds = time.perf_counter() - started

    start, end = day_bounds(NOW, tz)
    open_due = [spec.due_at for spec in specs if not spec.done and spec.due_at is not None]
    return Seeded(
        seconds=seconds,
        clients=clients,
        tasks=tasks,
        done=sum(spec.done for spec in specs),
        undated_open=sum(not spec.done and spec.due_at is None for spec in specs),
        due_today_open=sum(start <= due < end for due in open_due),
        overdue_open=sum(due < NOW for due in open_due),
        overdue_before_today=sum(due < start for due in open_due),
    )


# --- feeding updates -----------------------------------------------------------------------


class Updates:
    """Private-chat command messages from user 1, as Telegram would deliver them."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._user = User(id=USER_ID, is_bot=False, first_name="Bench", language_code=LANGUAGE)
        self._chat = Chat(id=USER_ID, type="private")

    def command(self, command: str) -> Update:
        number = next(self._ids)
        text = f"/{command}"
        return Update(
            update_id=number,
            message=Message(
                message_id=number,
                date=NOW,
                chat=self._chat,
                from_user=self._user,
                text=text,
                entities=[MessageEntity(type="bot_command", offset=0, length=len(text))],
            ),
        )


Check = Callable[[str], None]


@dataclass(slots=True)
class Target:
    label: str
    command: str
    dispatcher: Dispatcher
    bot: Bot
    session: LocalSession
    check: Check | None  # validates the reply; None for the empty handler
    samples: list[int]


def last_reply(session: LocalSession, before: int) -> str | None:
    for method in reversed(session.requests[before:]):
        if isinstance(method, SendMessage):
            return method.text
    return None


async def feed(target: Target, updates: Updates, *, measure: bool) -> None:
    update = updates.command(target.command)
    before = len(target.session.requests)
    started = time.perf_counter_ns()
    await target.dispatcher.feed_update(target.bot, update)
    elapsed = time.perf_counter_ns() - started
    if measure:
        target.samples.append(elapsed)
    if target.check is not None:
        reply = last_reply(target.session, before)
        assert reply is not None, f"{target.label}: no reply sent"
        target.check(reply)
    # Keep the recorded history from growing for the whole run.
    target.session.requests.clear()


async def run_round_robin(
    targets: list[Target], updates: Updates, warmup: int, requests: int
) -> None:
    for _ in range(warmup):
        for target in targets:
            await feed(target, updates, measure=False)
    for _ in range(requests):
        for target in targets:
            await feed(target, updates, measure=True)


class GcPauses:
    """Collects garbage-collector pauses (per generation) while installed in gc.callbacks."""

    def __init__(self) -> None:
        self.pauses: dict[int, list[float]] = {0: [], 1: [], 2: []}
        self._started = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
        else:
            self.pauses[info["generation"]].append((time.perf_counter_ns() - self._started) / 1e6)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def summary(self) -> str:
        return ", ".join(
            f"gen{generation} {len(pauses)}× (max {max(pauses, default=0):.1f} ms,"
            f" total {sum(pauses):.0f} ms)"
            for generation, pauses in self.pauses.items()
        )


def today_check(i18n: I18n, seeded: Seeded) -> Check:
    empty = i18n.gettext("Nothing is due today.", locale=LANGUAGE)
    expected_lines = min(PAGE_SIZE, seeded.due_today_open)

    def check(text: str) -> None:
        assert empty not in text, "/today answered with the empty-day text"
        lines = text.count("<code>#")
        assert lines == expected_lines, f"/today listed {lines} tasks, expected {expected_lines}"
        footer = [line for line in text.split("\n") if "/overdue" in line]
        assert footer, "/today has no overdue footer"
        assert re.search(rf"\b{seeded.overdue_before_today}\b", footer[0]), footer[0]

    return check


def overdue_check(seeded: Seeded) -> Check:
    expected_lines = min(PAGE_SIZE, seeded.overdue_open)

    def check(text: str) -> None:
        header = text.split("\n", 1)[0]
        found = re.search(r"\d+", header)
        assert found is not None, f"/overdue header without a count: {header!r}"
        count = int(found.group())
        assert count == seeded.overdue_open, f"/overdue says {count}, seeded {seeded.overdue_open}"
        lines = text.count("<code>#")
        assert lines == expected_lines, f"/overdue listed {lines} tasks, expected {expected_lines}"

    return check


def empty_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    router = Router(name="bench-empty")

    @router.message(Command("today"))
    async def today(message: Message) -> None:
        return None

    @router.message(Command("overdue"))
    async def overdue(message: Message) -> None:
        return None

    dispatcher.include_router(router)
    return dispatcher


# --- repository breakdown ------------------------------------------------------------------


async def time_call(call: Callable[[], Awaitable[Any]], repeat: int) -> float:
    """Median milliseconds of an awaited call."""
    samples = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        await call()
        samples.append(time.perf_counter_ns() - started)
    return statistics.median(samples) / 1e6


async def breakdown(storage: Storage, repeat: int) -> list[tuple[str, float]]:
    tz = ZoneInfo(TIMEZONE)
    start, end = day_bounds(NOW, tz)
    tasks = storage.tasks
    calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("users.ensure (every update)", lambda: storage.users.ensure(USER_ID, NOW)),
        ("tasks.due_between(today)  [/today]", lambda: tasks.due_between(USER_ID, start, end)),
        ("tasks.count_overdue(start) [/today]", lambda: tasks.count_overdue(USER_ID, start)),
        ("tasks.count_undated        [/today]", lambda: tasks.count_undated(USER_ID)),
        ("tasks.count_overdue(now)  [/overdue]", lambda: tasks.count_overdue(USER_ID, NOW)),
        ("tasks.overdue(limit 12)   [/overdue]",
         lambda: tasks.overdue(USER_ID, NOW, offset=0, limit=PAGE_SIZE)),
    ]
    for _, call in calls:  # warm
        await call()
    return [(label, await time_call(call, repeat)) for label, call in calls]


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.iterdir())


# --- report --------------------------------------------------------------------------------


def percentile(samples: list[int], fraction: float) -> int:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def table(targets: list[Target]) -> str:
    rows = [("request", "median ms", "p99 ms", "max ms", "measured")]
    for target in targets:
        samples = target.samples
        rows.append(
            (
                target.label,
                f"{statistics.median(samples) / 1e6:.2f}",
                f"{percentile(samples, 0.99) / 1e6:.2f}",
                f"{max(samples) / 1e6:.2f}",
                str(len(samples)),
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = []
    for index, row in enumerate(rows):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


# --- main ----------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=500, help="measured requests per command")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests per command")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20000)
    parser.add_argument("--seed", type=int, default=42, help="RNG seed for the data")
    parser.add_argument(
        "--profile", action="store_true",
        help="also cProfile 100 app requests of each command and print the hot spots",
    )
    args = parser.parse_args(argv)
    if args.requests < 1 or args.warmup < 0 or args.clients < 1 or args.tasks < 100:
        parser.error("need --requests >= 1, --warmup >= 0, --clients >= 1, --tasks >= 100")
    return args


async def main_async(args: argparse.Namespace) -> int:
    print(f"Python {platform.python_version()} ({sys.implementation.name}), "
          f"SQLite {sqlite3.sqlite_version}, aiogram {aiogram.__version__}, "
          f"aiosqlite {aiosqlite.__version__}, CPUs {os.cpu_count()}, "
          f"{platform.machine()} {platform.system()} {platform.release()}")
    with tempfile.TemporaryDirectory(prefix="bench-agenda-") as tmp:
        path = Path(tmp) / "bench.sqlite3"
        storage = await open_sqlite_storage(path)
        try:
            print(f"Seeding {args.clients} clients and {args.tasks} tasks through the repositories"
                  f" into {path} ...", flush=True)
            seeded = await seed(storage, random.Random(args.seed), args.clients, args.tasks)
            db_size = folder_size(Path(tmp)) / 2**20
            print(f"Seeded in {seeded.seconds:.1f} s (database + WAL {db_size:.1f} MiB): "
                  f"{seeded.done} done, {seeded.undated_open} open without a due time, "
                  f"{seeded.due_today_open} open due today, {seeded.overdue_open} open overdue "
                  f"({seeded.overdue_before_today} from before today)")

            settings = Settings(_env_file=None, default_timezone=TIMEZONE, throttle_burst=0)
            bot_settings = settings.model_copy(update={"bot_token": SecretStr(TOKEN)})
            dates = DateParser()
            dates.warm()
            i18n = create_i18n(settings.default_language)
            app = create_dispatcher(
                settings=settings, storage=storage, clock=FrozenClock(NOW), dates=dates,
                i18n=i18n,
            )
            app_session = LocalSession()
            app_bot = create_bot(bot_settings, session=app_session)
            base = empty_dispatcher()
            base_session = LocalSession()
            base_bot = create_bot(bot_settings, session=base_session)

            targets = [
                Target("/today (app)", "today", app, app_bot, app_session,
                       today_check(i18n, seeded), []),
                Target("/overdue (app)", "overdue", app, app_bot, app_session,
                       overdue_check(seeded), []),
                Target("/today (empty handler)", "today", base, base_bot, base_session, None, []),
                Target("/overdue (empty handler)", "overdue", base, base_bot, base_session,
                       None, []),
            ]
            updates = Updates()
            gc.freeze()  # as `python -m bot` does once it has started
            print(f"Feeding {args.warmup} warm-up + {args.requests} measured requests per row "
                  "(round-robin) ...", flush=True)
            started = time.perf_counter()
            with GcPauses() as gc_pauses:
                await run_round_robin(targets, updates, args.warmup, args.requests)
            print(f"Done in {time.perf_counter() - started:.1f} s; every app reply checked.\n")
            print(table(targets))
            print(f"\nGC pauses while feeding: {gc_pauses.summary()}; "
                  f"{len(gc.get_objects())} objects tracked by the GC")

            worst = max(percentile(t.samples, 0.99) for t in targets[:2]) / 1e6
            verdict = "meets" if worst < TARGET_P99_MS else "MISSES"
            print(f"\nTarget p99 < {TARGET_P99_MS:.0f} ms for /today and /overdue: {verdict} "
                  f"(worst app p99 {worst:.2f} ms)")

            print("\nRepository calls behind the views (median ms, called directly):")
            for label, millis in await breakdown(storage, max(20, min(args.requests, 200))):
                print(f"  {label:<40} {millis:7.2f}")

            if args.profile:
                for target in targets[:2]:
                    profiler = cProfile.Profile()
                    profiler.enable()
                    for _ in range(100):
                        await feed(target, updates, measure=False)
                    profiler.disable()
                    out = io.StringIO()
                    stats = pstats.Stats(profiler, stream=out)
                    stats.sort_stats("tottime").print_stats(12)
                    stats.sort_stats("cumulative").print_stats(r"/(bot|handlers|storage)/", 15)
                    print(f"\ncProfile, 100 × {target.label}: by own time, then the app's own "
                          "functions by cumulative time (main thread only; SQLite runs in "
                          "aiosqlite's thread):")
                    print(out.getvalue())
        finally:
            await storage.backend.close()
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
