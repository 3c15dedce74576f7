"""Benchmark reminder delivery against a rate-limited fake Bot API on 127.0.0.1.

Three measurements (and an optional fourth), each through the real reminder code
(Runtime: Sender, ReminderDelivery, ReminderScheduler) and a real aiogram Bot whose
AiohttpSession talks to a fake Bot API server (tests/fakes) running in a child process. The
server enforces Telegram-like limits on sendMessage (at most 30 per sliding second overall, at
most 1 per second per chat) and answers HTTP 429 "retry after 1" when they are exceeded.

1. burst:   N reminders (default 10,000) for U users (default 2,000), all due at the same
            whole minute, delivered by ``ReminderDelivery.deliver_due()``; total time against
            the rate-limit bound N / 30 s, 429s, lost and duplicated reminders.
2. startup: a database with P pending reminders (default 100,000, future), then a fresh
            process opens it and runs ``Runtime.start()``; time per step and memory.
3. idle:    the runtime started (APScheduler armed) on that database; single reminders due
            1-3 s ahead, planned through PlannedTasks/ReminderPlanner; lateness of their
            arrival at the server over the due moment.
4. stale:   (not in the default run) one user with S reminders due at once while the real
            scheduler runs its sweep: does a claim that waits > 2 min in the sender's queue
            get sent twice?

    python bench/bench_reminders.py [--burst 10000] [--users 2000] [--pending 100000]
                                    [--missing 5000] [--samples 30] [--seed 42]
                                    [--only burst,startup,idle,stale]
    python bench/bench_reminders.py --only burst --what-if-tolerance 0   # try a Sender fix

The --what-if-* options patch the Sender's pacing attributes in this process only (the code
is not changed) to measure a proposed fix; their output says WHAT-IF.

This is a script that prints numbers, not a test; it checks its results with asserts where a
wrong result would make the numbers meaningless, and counts (and reports) everything else.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import inspect
import itertools
import json
import logging
import math
import os
import platform
import random
import re
import resource
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiogram
import aiohttp
import aiosqlite
from aiogram import Bot
from pydantic import SecretStr

from bot.app import create_bot
from bot.clock import SystemClock
from bot.i18n import create_i18n
from bot.reminder_scheduler import SWEEP_SECONDS, WAKE_JOB
from bot.runtime import Runtime
from bot.sender import MemoryBudget, Sender
from bot.services.reminders import PlannedTasks, ReminderPlanner
from bot.services.series import SeriesService
from bot.settings import Settings
from storage.interfaces import Storage
from storage.models import PlannedReminder, ReminderPurpose, TaskKind, WorkingHours
from storage.sqlite import open_sqlite_storage

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
CODE_FROM = Path(inspect.getfile(create_bot)).resolve().parent.parent  # the tree bot/ is from
TOKEN = "42:bench-reminders"
GLOBAL_PER_SECOND = 30  # what the fake server allows (and Telegram documents)
CHAT_INTERVAL = 1.0
RETRY_AFTER = 1
TARGET_BURST_RATIO = 1.1
TARGET_STARTUP_S = 3.0
TARGET_IDLE_P99_S = 1.0
ALWAYS = WorkingHours(0, 24 * 60, tuple(range(7)))  # working hours off: nothing held over
REF = re.compile(r"ref (\d+):(\d+)")
BURST_USER_BASE = 100_000
PENDING_USER_BASE = 500_000
IDLE_USER_BASE = 900_000
STALE_USER = 990_000
LANGUAGES = ("en", "ru")
TIMEZONES = ("Europe/Moscow", "Europe/Berlin", "Asia/Almaty", "America/New_York", None)
PHRASES = (
    "Позвонить по поводу продления договора",
    "отправить счёт за ноябрь",
    "согласовать бюджет на первый квартал",
    "Call about the contract renewal",
    "send the November invoice",
    "review SLA terms & penalties",
    "sync with <decision maker> at 3pm",
)
KINDS = tuple(TaskKind)
KINDS_WITH_AHEAD = (
    TaskKind.CALL, TaskKind.MEETING, TaskKind.REPORT, TaskKind.INVOICE, TaskKind.DOCUMENT,
)

JSON = dict[str, Any]


# --- the fake Bot API (child process) -----------------------------------------------------


def fake_server_main() -> int:
    """Child process: a FakeBotAPI (tests/fakes) that enforces the limits; prints its URL and
    serves until its stdin closes (the parent ends or says so)."""
    from aiohttp import web

    from tests.fakes.fake_bot_api import FakeBotAPI

    class LimitedBotAPI(FakeBotAPI):
        def __init__(self) -> None:
            super().__init__()
            self.window: deque[float] = deque()  # monotonic times of accepted sendMessage
            self.last_in_chat: dict[int, float] = {}
            self.accepted: list[tuple[int, str, float]] = []  # (chat, text, wall time)
            self.rejected_global = 0
            self.rejected_chat = 0
            self.rejections: list[tuple[int, float, str]] = []  # (chat, wall time, which)

        async def _handle(self, request: web.Request) -> web.Response:
            method = request.match_info["method"].lower()
            if method == "benchstats":
                return web.json_response({"ok": True, "result": self._stats(request)})
            if method == "benchwait":
                count = int(request.query.get("count", "0"))
                deadline = time.monotonic() + float(request.query.get("timeout", "10"))
                while len(self.accepted) < count and time.monotonic() < deadline:
                    changed = self._changed
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), deadline - time.monotonic())
                return web.json_response({"ok": True, "result": self._stats(request)})
            if method != "sendmessage":
                return await super()._handle(request)
            params = await self._read_params(request)
            self.raw_requests.clear()  # not needed here; 10,000 bodies would pile up
            now = time.monotonic()
            wall = time.time()
            chat_id = int(params.get("chat_id", 0))
            window = self.window
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= GLOBAL_PER_SECOND:
                self.rejected_global += 1
                self.rejections.append((chat_id, wall, "global"))
                return self._too_many()
            if now - self.last_in_chat.get(chat_id, -math.inf) < CHAT_INTERVAL:
                self.rejected_chat += 1
                self.rejections.append((chat_id, wall, "chat"))
                return self._too_many()
            window.append(now)
            self.last_in_chat[chat_id] = now
            message = await self._send_message(params)
            self.accepted.append((chat_id, str(params.get("text", "")), wall))
            self._notify()
            return web.json_response({"ok": True, "result": message})

        @staticmethod
        def _too_many() -> web.Response:
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 429,
                    "description": f"Too Many Requests: retry after {RETRY_AFTER}",
                    "parameters": {"retry_after": RETRY_AFTER},
                },
                status=429,
            )

        def _stats(self, request: web.Request) -> JSON:
            since = int(request.query.get("since", "-1"))
            return {
                "count": len(self.accepted),
                "rejected_global": self.rejected_global,
                "rejected_chat": self.rejected_chat,
                "accepted": self.accepted[since:] if since >= 0 else [],
                "rejections": self.rejections if since >= 0 else [],
            }

    async def serve() -> None:
        # A collection of the fake's own heap (every message it was sent) stalls it for
        # ~0.2 s; the requests queued meanwhile then look simultaneous and can trip the
        # limit. The fake must not be the one that misbehaves: no garbage collector here.
        gc.disable()
        api = LimitedBotAPI()
        base = await api.start()
        print(base, flush=True)
        loop = asyncio.get_running_loop()
        closed = asyncio.Event()

        def on_stdin() -> None:
            if not os.read(sys.stdin.fileno(), 4096):
                closed.set()

        loop.add_reader(sys.stdin.fileno(), on_stdin)
        await closed.wait()
        loop.remove_reader(sys.stdin.fileno())
        await api.stop()

    asyncio.run(serve())
    return 0


@dataclass(frozen=True, slots=True)
class Accepted:
    chat_id: int
    text: str
    wall: float


@dataclass(frozen=True, slots=True)
class ServerStats:
    count: int
    rejected_global: int
    rejected_chat: int
    accepted: list[Accepted]
    rejections: list[tuple[int, float, str]]

    @property
    def rejected(self) -> int:
        return self.rejected_global + self.rejected_chat


class FakeServer:
    """The parent's handle on the fake Bot API child process."""

    def __init__(self) -> None:
        self.base_url = ""
        self._process: asyncio.subprocess.Process | None = None
        self._http: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")]))
        self._process = await asyncio.create_subprocess_exec(
            sys.executable, str(SCRIPT), "--fake-server",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env,
        )
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 60)
        self.base_url = line.decode().strip()
        assert self.base_url.startswith("http://127.0.0.1:"), self.base_url
        self._http = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.close()
        process = self._process
        if process is not None and process.returncode is None:
            assert process.stdin is not None
            process.stdin.close()
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()

    async def stats(self, since: int = -1) -> ServerStats:
        return await self._call("benchStats", since=since)

    async def wait_for_count(self, count: int, timeout: float, since: int) -> ServerStats:  # noqa: ASYNC109
        return await self._call("benchWait", count=count, timeout=timeout, since=since)

    async def _call(self, method: str, **params: float) -> ServerStats:
        assert self._http is not None
        url = f"{self.base_url}/bot{TOKEN}/{method}"
        query = {key: str(value) for key, value in params.items()}
        async with self._http.get(url, params=query) as response:
            body = await response.json()
        result = body["result"]
        return ServerStats(
            count=result["count"],
            rejected_global=result["rejected_global"],
            rejected_chat=result["rejected_chat"],
            accepted=[Accepted(int(c), str(t), float(w)) for c, t, w in result["accepted"]],
            rejections=[(int(c), float(w), str(k)) for c, w, k in result["rejections"]],
        )


# --- shared helpers ------------------------------------------------------------------------


class LogCounter(logging.Handler):
    """Counts warnings and errors by logger and message template instead of printing them."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: Counter[tuple[str, str, str]] = Counter()

    def emit(self, record: logging.LogRecord) -> None:
        self.counts[(record.levelname, record.name, str(record.msg))] += 1

    def take(self) -> list[str]:
        lines = [
            f"{count:6d} × {level} {name}: {msg}"
            for (level, name, msg), count in self.counts.most_common()
        ]
        self.counts.clear()
        return lines


def make_settings(base_url: str) -> Settings:
    return Settings(
        _env_file=None, bot_token=SecretStr(TOKEN), telegram_api_url=base_url,
        default_timezone="UTC", default_language="en",
        backup_every_hours=0,  # DATABASE_URL is not the bench's database
    )


@dataclass(frozen=True, slots=True)
class Running:
    runtime: Runtime
    planner: ReminderPlanner
    bot: Bot
    tasks: PlannedTasks
    series: SeriesService

    async def close(self) -> None:
        await self.runtime.stop()
        await self.bot.session.close()  # the process owns the bot, not Runtime


def make_runtime(storage: Storage, base_url: str) -> Running:
    """What `python -m bot` builds for reminders (bot/__main__.py and create_dispatcher):
    a real Bot (AiohttpSession pointed at the fake server by TELEGRAM_API_URL), SystemClock,
    ReminderPlanner, PlannedTasks, SeriesService, Runtime."""
    settings = make_settings(base_url)
    clock = SystemClock()
    planner = ReminderPlanner(
        storage.reminders, clock, settings.invoice_ladder_days, storage.users
    )
    tasks = PlannedTasks(storage.tasks, planner)
    series = SeriesService(storage.series, tasks, clock)
    tasks.after_close.append(series.after_task_closed)
    bot = create_bot(settings)
    runtime = Runtime(
        bot=bot, storage=storage, planner=planner,
        i18n=create_i18n(settings.default_language), clock=clock, settings=settings,
        series=series,
    )
    return Running(runtime, planner, bot, tasks, series)


def status_counts(path: Path) -> dict[str, int]:
    with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT status, count(*) FROM reminders GROUP BY status").fetchall()
    return {str(status): int(count) for status, count in rows}


def ceil_minute(moment: datetime) -> datetime:
    floor = moment.replace(second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(minutes=1)


def percentile(samples: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def memory_kib() -> dict[str, int]:
    """VmRSS and VmHWM of this process, KiB."""
    found: dict[str, int] = {}
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "VmHWM"):
                found[key] = int(value.split()[0])
    return found


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def ensure_users(
    storage: Storage, ids: Iterator[int], now: datetime, rng: random.Random,
    *, hours: WorkingHours | None,
) -> list[int]:
    """Users through the repository, each with one client; a mix of languages and zones."""
    made = []
    for user_id in ids:
        await storage.users.ensure(user_id, now)
        await storage.users.set_language(user_id, rng.choice(LANGUAGES))
        zone = rng.choice(TIMEZONES)
        if zone is not None:
            await storage.users.set_timezone(user_id, zone)
        if hours is not None:
            await storage.users.set_hours(user_id, hours)
        made.append(user_id)
    return made


async def first_clients(storage: Storage, users: list[int], now: datetime) -> dict[int, int]:
    return {
        user_id: (await storage.clients.create(user_id, f"ООО «Клиент {user_id}»", now)).id
        for user_id in users
    }


def check_refs(
    accepted: list[Accepted], expected: set[tuple[int, int]]
) -> tuple[int, int, int, int]:
    """(missing, duplicated, unexpected, users who missed something) of received messages,
    by the "ref USER:NUMBER" each task's text carries."""
    seen: Counter[tuple[int, int]] = Counter()
    unexpected = 0
    for item in accepted:
        found = REF.search(item.text)
        if found is None or int(found.group(1)) != item.chat_id:
            unexpected += 1
            continue
        seen[(item.chat_id, int(found.group(2)))] += 1
    missing = expected - set(seen)
    unexpected += sum(count for key, count in seen.items() if key not in expected)
    duplicated = sum(count - 1 for key, count in seen.items() if key in expected and count > 1)
    return len(missing), duplicated, unexpected, len({user for user, _ in missing})


async def progress(server: FakeServer, started: float, every: float) -> None:
    while True:
        await asyncio.sleep(every)
        stats = await server.stats()
        print(f"  … {time.perf_counter() - started:6.1f} s: server accepted {stats.count}, "
              f"answered 429 {stats.rejected} times", flush=True)


def apply_what_if(sender: Sender, args: argparse.Namespace) -> str:
    """For trying a fix without touching the code: overwrite the Sender's pacing (its
    in-memory PaceBudget, private attributes). Returns what was changed, or "" for the real
    thing. The budget has no tolerance any more (bot/sender.py): --what-if-tolerance is
    refused."""
    budget = sender._budget
    assert isinstance(budget, MemoryBudget)
    changed = []
    if args.what_if_rate is not None:
        budget.slot = 1.0 / args.what_if_rate
        changed.append(f"global_rate={args.what_if_rate:g}")
    if args.what_if_tolerance is not None:
        raise SystemExit("--what-if-tolerance: the pacer has no GCRA tolerance any more")
    if args.what_if_chat_interval is not None:
        budget.per_chat_interval = args.what_if_chat_interval
        sender._per_chat_interval = args.what_if_chat_interval
        changed.append(f"per_chat_interval={args.what_if_chat_interval:g} s")
    return ", ".join(changed)


# --- 1. burst -----------------------------------------------------------------------------


@dataclass
class BurstResult:
    reminders: int
    users: int
    seed_seconds: float
    waited_seconds: float
    lag_at_start: float  # how far in the past the due moment was when delivery started
    delivery_seconds: float
    server_span: float  # first to last accepted sendMessage
    sent_returned: int
    statuses: dict[str, int]
    rejected_global: int
    rejected_chat: int
    missing: int
    duplicated: int
    unexpected: int
    users_missing: int
    cpu_seconds: float
    per_second: Counter[int] = field(default_factory=Counter)
    warnings: list[str] = field(default_factory=list)
    traces: list[str] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)  # silences > 0.1 s between arrivals

    @property
    def bound(self) -> float:
        return self.reminders / GLOBAL_PER_SECOND

    @property
    def lost(self) -> int:
        return max(self.reminders - self.statuses.get("sent", 0), self.missing)


async def seed_burst(
    storage: Storage, rng: random.Random, users: int, reminders: int
) -> tuple[datetime, set[tuple[int, int]]]:
    """Users, a client each, and `reminders` tasks spread evenly over the users, each with one
    'due' reminder at the same whole minute M, in random creation order. M is picked so that
    seeding ends before it (estimated from how long the users took)."""
    clock = SystemClock()
    started = time.perf_counter()
    ids = await ensure_users(
        storage, iter(range(BURST_USER_BASE, BURST_USER_BASE + users)), clock.now(), rng,
        hours=ALWAYS,
    )
    clients = await first_clients(storage, ids, clock.now())
    per_user_write = (time.perf_counter() - started) / (len(ids) * 5)
    # A task costs ~3 writes' worth (insert + read + replace); keep a generous margin.
    estimate = reminders * per_user_write * 3 * 1.5 + 5
    due = ceil_minute(clock.now() + timedelta(seconds=estimate))
    print(f"  users and clients in {time.perf_counter() - started:.1f} s; "
          f"the burst minute is {due:%H:%M:%S} UTC "
          f"(in {(due - clock.now()).total_seconds():.0f} s)", flush=True)
    owners = [ids[index % len(ids)] for index in range(reminders)]
    rng.shuffle(owners)
    numbers: Counter[int] = Counter()
    expected: set[tuple[int, int]] = set()
    for owner in owners:
        numbers[owner] += 1
        number = numbers[owner]
        text = f"{rng.choice(PHRASES)} · ref {owner}:{number}"
        task = await storage.tasks.create(
            owner, client_id=clients[owner], text=text, kind=rng.choice(KINDS), due_at=due,
            now=clock.now(),
        )
        assert task.number == number, (task.number, number)
        await storage.reminders.replace_for_task(
            owner, task.id, [PlannedReminder(ReminderPurpose.DUE, due, due)], clock.now()
        )
        expected.add((owner, number))
    return due, expected


async def run_burst(
    server: FakeServer, args: argparse.Namespace, tmp: Path, logs: LogCounter
) -> BurstResult:
    path = tmp / "burst.sqlite3"
    rng = random.Random(args.seed)
    print(f"\n[1] Burst: seeding {args.users} users and {args.burst} tasks with one reminder "
          f"each through the repositories into {path} ...", flush=True)
    storage = await open_sqlite_storage(path)
    started = time.perf_counter()
    try:
        due, expected = await seed_burst(storage, rng, args.users, args.burst)
    finally:
        await storage.backend.close()
    seed_seconds = time.perf_counter() - started
    counts = status_counts(path)
    assert counts == {"pending": args.burst}, counts
    clock = SystemClock()
    start_at = due + timedelta(seconds=1)
    waited = max(0.0, (start_at - clock.now()).total_seconds())
    print(f"  seeded in {seed_seconds:.1f} s; waiting {waited:.1f} s until 1 s after the "
          "burst minute", flush=True)
    await asyncio.sleep(waited)

    storage = await open_sqlite_storage(path)  # as a running bot would have it open
    running = make_runtime(storage, server.base_url)
    runtime = running.runtime
    what_if = apply_what_if(runtime.sender, args)
    if what_if:
        print(f"  WHAT-IF run, not the code as it is: sender patched to {what_if}", flush=True)
    try:
        await runtime.sender.start()
        before = await server.stats()
        lag = (clock.now() - due).total_seconds()
        print(f"  delivering (due moment {lag:.1f} s in the past) ...", flush=True)
        ticker = asyncio.create_task(progress(server, time.perf_counter(), args.progress))
        cpu_before = cpu_seconds()
        started = time.perf_counter()
        try:
            sent = await runtime.delivery.deliver_due()
        finally:
            delivery_seconds = time.perf_counter() - started
            cpu = cpu_seconds() - cpu_before
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker
    finally:
        await running.close()
        await storage.backend.close()

    after = await server.stats(since=before.count)
    accepted = after.accepted
    missing, duplicated, unexpected, users_missing = check_refs(accepted, expected)
    walls = [item.wall for item in accepted]
    first = min(walls, default=0.0)
    per_second: Counter[int] = Counter(int(wall - first) for wall in walls)
    return BurstResult(
        reminders=args.burst,
        users=args.users,
        seed_seconds=seed_seconds,
        waited_seconds=waited,
        lag_at_start=lag,
        delivery_seconds=delivery_seconds,
        server_span=(max(walls) - min(walls)) if walls else 0.0,
        sent_returned=sent,
        statuses=status_counts(path),
        rejected_global=after.rejected_global - before.rejected_global,
        rejected_chat=after.rejected_chat - before.rejected_chat,
        missing=missing,
        duplicated=duplicated,
        unexpected=unexpected,
        users_missing=users_missing,
        cpu_seconds=cpu,
        per_second=per_second,
        warnings=logs.take(),
        traces=trace_429s(accepted, after.rejections, start=min(walls, default=0.0)),
        gaps=[b - a for a, b in itertools.pairwise(sorted(walls)) if b - a > 0.1],
    )


def trace_429s(
    accepted: list[Accepted], rejections: list[tuple[int, float, str]], start: float,
    shown: int = 3,
) -> list[str]:
    """For the first few 429s: what the server had accepted in the second before (the
    gaps between arrivals show how the sender paced them) and the silence before that."""
    walls = sorted(item.wall for item in accepted)
    lines = []
    for chat_id, wall, which in rejections[:shown]:
        window = [w for w in walls if wall - 1.0 < w <= wall]
        earlier = [w for w in walls if w <= wall - 1.0]
        gaps = [round(1000 * (b - a)) for a, b in itertools.pairwise(window)]
        quiet = (window[0] - earlier[-1]) if window and earlier else math.nan
        lines.append(
            f"429 ({which}, chat {chat_id}) at +{wall - start:.3f} s: {len(window)} accepted in "
            f"the second before, spanning {1000 * (window[-1] - window[0]) if window else 0:.0f}"
            f" ms after {1000 * quiet:.0f} ms of silence; gaps ms {gaps[:4]} … {gaps[-2:]}"
        )
    return lines


def print_burst(result: BurstResult) -> None:
    ratio = result.delivery_seconds / result.bound
    print(f"  deliver_due() returned {result.sent_returned} after {result.delivery_seconds:.1f} s"
          f" = {ratio:.3f} × the bound {result.bound:.1f} s ({result.reminders} / "
          f"{GLOBAL_PER_SECOND} per s); first to last accepted message {result.server_span:.1f} s")
    print(f"  server answered 429 {result.rejected_global + result.rejected_chat} times "
          f"({result.rejected_global} over 30/s, {result.rejected_chat} over 1/s per chat)")
    print(f"  reminder rows at the end: {result.statuses}; server: {result.missing} missing "
          f"({result.users_missing} users short), {result.duplicated} duplicated, "
          f"{result.unexpected} unexpected")
    print(f"  bot process CPU during delivery {result.cpu_seconds:.1f} s "
          f"({1000 * result.cpu_seconds / max(1, result.reminders):.2f} ms per reminder)")
    if result.per_second:
        seconds = max(result.per_second) + 1
        full = sum(1 for s in range(seconds) if result.per_second[s] >= GLOBAL_PER_SECOND - 1)
        thin = [s for s in range(seconds) if result.per_second[s] < GLOBAL_PER_SECOND * 0.8]
        print(f"  accepted per wall second: {full} of {seconds} seconds at 29-30, "
              f"{len(thin)} below 24 (e.g. seconds {thin[:12]} after the first message)")
    for line in result.warnings[:12]:
        print(f"  log {line}")
    for line in result.traces:
        print(f"  {line}")
    if result.gaps:
        longest = sorted(result.gaps, reverse=True)[:5]
        print(f"  silences > 100 ms between consecutive accepted messages: {len(result.gaps)}, "
              f"{sum(result.gaps):.1f} s in all (longest {[round(g, 2) for g in longest]} s)")


# --- 2. start-up ----------------------------------------------------------------------------


async def seed_pending(
    storage: Storage, rng: random.Random, users: int, pending: int
) -> tuple[float, int]:
    """Tasks (kinds with a heads-up, due 2-30 days ahead on whole minutes) created through
    PlannedTasks, so ReminderPlanner.plan gives each a 'due' and an 'ahead' reminder."""
    clock = SystemClock()
    started = time.perf_counter()
    ids = await ensure_users(
        storage, iter(range(PENDING_USER_BASE, PENDING_USER_BASE + users)), clock.now(), rng,
        hours=None,
    )
    clients = await first_clients(storage, ids, clock.now())
    planner = ReminderPlanner(storage.reminders, clock, users=storage.users)
    tasks = PlannedTasks(storage.tasks, planner)
    base = ceil_minute(clock.now()) + timedelta(days=2)
    tasks_made = 0
    for index in range(math.ceil(pending / 2)):
        owner = ids[index % len(ids)]
        single = pending % 2 == 1 and index == pending // 2  # an odd count: one without
        due = base + timedelta(minutes=rng.randrange(28 * 24 * 60))
        await tasks.create(
            owner, client_id=clients[owner] if rng.random() < 0.7 else None,
            text=f"{rng.choice(PHRASES)} · ref {owner}:{index}",
            kind=TaskKind.OTHER if single else rng.choice(KINDS_WITH_AHEAD), due_at=due,
            now=clock.now(),
        )
        tasks_made += 1
        if tasks_made % 10_000 == 0:
            print(f"  … {tasks_made} tasks, {time.perf_counter() - started:.0f} s", flush=True)
    return time.perf_counter() - started, tasks_made


async def startup_child(path: Path, base_url: str, mode: str, spawned_at: float) -> JSON:
    """In a fresh process: open the database and start the reminder runtime."""
    entered = time.time()
    rss_imported = memory_kib()
    result: JSON = {"mode": mode, "interpreter_and_imports": entered - spawned_at}
    t0 = time.perf_counter()
    storage = await open_sqlite_storage(path)
    t1 = time.perf_counter()
    running = make_runtime(storage, base_url)
    runtime, planner = running.runtime, running.planner
    t2 = time.perf_counter()
    result["open_sqlite_storage"] = t1 - t0
    result["construct"] = t2 - t1
    if mode == "whole":
        await runtime.start()
        result["start"] = time.perf_counter() - t2
    else:
        # The steps of Runtime.start(), in its order, timed one by one.
        await runtime.sender.start()
        t3 = time.perf_counter()
        result["planned_by_reconcile"] = await planner.reconcile()
        t4 = time.perf_counter()
        result["series_created"] = await running.series.advance_all()
        t4b = time.perf_counter()
        runtime.scheduler.start()
        await runtime.reminders.start()
        t5 = time.perf_counter()
        result["sender.start"] = t3 - t2
        result["planner.reconcile"] = t4 - t3
        result["series.advance_all"] = t4b - t4
        result["scheduler.start"] = t5 - t4b
        result["start"] = t5 - t2
        result["ready"] = t5 - t0
        # The queries behind them, again (warm), timed directly.
        now = SystemClock().now()
        for label, call in (
            ("q release_stale_claims", storage.reminders.release_stale_claims(now)),
            ("q tasks_without_reminders", storage.reminders.tasks_without_reminders(now, 1000)),
            ("q next_fire_at", storage.reminders.next_fire_at()),
        ):
            started = time.perf_counter()
            await call
            result[label] = time.perf_counter() - started
    result.setdefault("ready", time.perf_counter() - t0)
    job = runtime.scheduler.get_job(WAKE_JOB)
    next_fire = await storage.reminders.next_fire_at()
    result["armed_at"] = None if job is None else job.next_run_time.isoformat()
    result["next_fire_at"] = None if next_fire is None else next_fire.isoformat()
    memory = memory_kib()
    result["rss_imported_kib"] = rss_imported["VmRSS"]
    result["rss_kib"] = memory["VmRSS"]
    result["hwm_kib"] = memory["VmHWM"]
    await running.close()
    await storage.backend.close()
    return result


async def run_startup_child(path: Path, base_url: str, mode: str) -> JSON:
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(SCRIPT), "--startup-child", str(path), "--api", base_url,
        "--mode", mode, "--spawned-at", repr(time.time()),
        stdout=asyncio.subprocess.PIPE,
    )
    out, _ = await process.communicate()
    assert process.returncode == 0, f"start-up child failed ({process.returncode})"
    loaded: JSON = json.loads(out.decode().strip().splitlines()[-1])
    return loaded


@dataclass
class StartupResult:
    pending: int
    users: int
    tasks: int
    seed_seconds: float
    db_mib: float
    wholes: list[JSON]
    steps: JSON
    statuses_before: dict[str, int]
    statuses_after: dict[str, int]
    missing: JSON | None  # a copy where some tasks lost their reminders: what reconcile costs


async def run_startup(
    server: FakeServer, args: argparse.Namespace, path: Path
) -> StartupResult:
    rng = random.Random(args.seed + 1)
    print(f"\n[2] Start-up: seeding {args.pending} pending reminders ({args.users} users) "
          f"through PlannedTasks/ReminderPlanner into {path} ...", flush=True)
    storage = await open_sqlite_storage(path)
    try:
        seed_seconds, tasks = await seed_pending(storage, rng, args.users, args.pending)
    finally:
        await storage.backend.close()
    before = status_counts(path)
    assert before == {"pending": args.pending}, before
    db_mib = sum(item.stat().st_size for item in path.parent.glob(path.name + "*")) / 2**20
    print(f"  seeded {tasks} tasks in {seed_seconds:.1f} s (database {db_mib:.1f} MiB); "
          f"starting fresh processes ...", flush=True)
    wholes = [await run_startup_child(path, server.base_url, "whole") for _ in range(3)]
    steps = await run_startup_child(path, server.base_url, "steps")
    after = status_counts(path)
    missing = None
    if args.missing > 0:
        copy = path.with_name("missing.sqlite3")
        await cancel_some(path, copy, args.missing, rng)
        missing = await run_startup_child(copy, server.base_url, "steps")
    return StartupResult(
        pending=args.pending, users=args.users, tasks=tasks, seed_seconds=seed_seconds,
        db_mib=db_mib, wholes=wholes, steps=steps, statuses_before=before,
        statuses_after=after, missing=missing,
    )


async def cancel_some(path: Path, copy: Path, count: int, rng: random.Random) -> None:
    """A copy of the database where `count` open tasks have no reminders left (as if the
    process died between writing each task and planning it): what reconcile is for."""
    with contextlib.closing(sqlite3.connect(path)) as source, contextlib.closing(
        sqlite3.connect(copy)
    ) as target:
        source.backup(target)
        rows = target.execute("SELECT id, owner_id FROM tasks WHERE status = 'open'").fetchall()
    storage = await open_sqlite_storage(copy)
    try:
        for task_id, owner_id in rng.sample(rows, min(count, len(rows))):
            await storage.reminders.cancel_for_task(owner_id, task_id)
    finally:
        await storage.backend.close()


def print_startup(result: StartupResult) -> None:
    for run in result.wholes:
        print(f"  fresh process: interpreter + imports {run['interpreter_and_imports']:.2f} s; "
              f"open_sqlite_storage {1000 * run['open_sqlite_storage']:.0f} ms, "
              f"construct {1000 * run['construct']:.0f} ms, Runtime.start() "
              f"{1000 * run['start']:.0f} ms → ready {1000 * run['ready']:.0f} ms; "
              f"RSS {run['rss_kib'] / 1024:.1f} MiB (after imports "
              f"{run['rss_imported_kib'] / 1024:.1f}, peak {run['hwm_kib'] / 1024:.1f})")
    steps = result.steps
    print("  steps (another fresh process): " + ", ".join(
        f"{key} {1000 * steps[key]:.1f} ms"
        for key in ("open_sqlite_storage", "construct", "sender.start", "planner.reconcile",
                    "series.advance_all", "scheduler.start", "ready")
    ))
    print("  queries again, warm: " + ", ".join(
        f"{key[2:]} {1000 * value:.1f} ms" for key, value in steps.items()
        if key.startswith("q ")
    ))
    if result.missing is not None:
        run = result.missing
        print(f"  a copy with {run['planned_by_reconcile']} open tasks left without reminders: "
              f"planner.reconcile {1000 * run['planner.reconcile']:.0f} ms "
              f"(Runtime.start() {1000 * run['start']:.0f} ms)")
    print(f"  reconcile planned {steps['planned_by_reconcile']} tasks; wake-up armed at "
          f"{steps['armed_at']} (earliest pending {steps['next_fire_at']}); reminder rows "
          f"before {result.statuses_before}, after {result.statuses_after}")


# --- 3. idle lateness ---------------------------------------------------------------------


@dataclass
class IdleResult:
    samples: list[float]
    lost: int
    early: int
    unexpected: int
    background: int
    pending_in_db: int
    slowest: list[tuple[float, int, float]]
    warnings: list[str]


async def run_idle(
    server: FakeServer, args: argparse.Namespace, path: Path, logs: LogCounter
) -> IdleResult:
    rng = random.Random(args.seed + 2)
    clock = SystemClock()
    storage = await open_sqlite_storage(path)
    pending_in_db = status_counts(path).get("pending", 0)
    print(f"\n[3] Idle lateness: {args.samples} single reminders due 1-3 s ahead, runtime "
          f"started on a database with {pending_in_db} pending reminders ...", flush=True)
    users = await ensure_users(
        storage, iter(range(IDLE_USER_BASE, IDLE_USER_BASE + 5)), clock.now(), rng,
        hours=ALWAYS,
    )
    running = make_runtime(storage, server.base_url)
    samples: list[float] = []
    slowest: list[tuple[float, int, float]] = []  # (lateness, sample, seconds into a sweep)
    others: list[Accepted] = []
    lost = early = 0
    seen = (await server.stats()).count
    try:
        await running.runtime.start()
        started = time.time()  # the sweep runs every SWEEP_SECONDS from here
        for index in range(args.samples):
            owner = users[index % len(users)]
            ref = f"ref {owner}:{index}"
            now = clock.now()
            ahead = rng.choice((1, 2, 3))
            due = (now + timedelta(seconds=ahead)).replace(microsecond=0) + timedelta(seconds=1)
            task = await running.tasks.create(  # PlannedTasks: plans, and wakes the scheduler
                owner, client_id=None, text=f"idle sample {ref}", kind=TaskKind.OTHER,
                due_at=due, now=now,
            )
            found: Accepted | None = None
            deadline = time.monotonic() + ahead + 35
            while found is None and time.monotonic() < deadline:
                stats = await server.wait_for_count(
                    seen + 1, timeout=deadline - time.monotonic(), since=seen
                )
                for item in stats.accepted:
                    seen += 1
                    if found is None and item.chat_id == owner and ref in item.text:
                        found = item
                    else:
                        others.append(item)
            if found is None:
                lost += 1
                print(f"  sample {index}: task {task.number} due {due:%H:%M:%S} never arrived")
                continue
            lateness = found.wall - due.timestamp()
            early += lateness < 0
            samples.append(lateness)
            slowest.append((lateness, index, (due.timestamp() - started) % SWEEP_SECONDS))
            await asyncio.sleep(rng.uniform(0.0, 0.4))
        await asyncio.sleep(1.5)  # anything sent twice would show up now
        others += (await server.stats(since=seen)).accepted
    finally:
        await running.close()
        await storage.backend.close()
    idle_chats = set(users)
    return IdleResult(
        samples=samples, lost=lost, early=early,
        unexpected=sum(item.chat_id in idle_chats for item in others),
        background=sum(item.chat_id not in idle_chats for item in others),
        pending_in_db=pending_in_db, slowest=sorted(slowest, reverse=True)[:3],
        warnings=logs.take(),
    )


def print_idle(result: IdleResult) -> None:
    millis = [1000 * value for value in result.samples]
    if millis:
        print(f"  lateness (arrival at the server − due moment) over {len(millis)} samples: "
              f"min {min(millis):.1f} ms, median {statistics.median(millis):.1f} ms, "
              f"p99 {percentile(millis, 0.99):.1f} ms, max {max(millis):.1f} ms")
        print("  slowest: " + ", ".join(
            f"sample {index} {1000 * late:.0f} ms ({phase:.1f} s into the sweep's 30 s cycle)"
            for late, index, phase in result.slowest
        ))
    print(f"  lost {result.lost}, arrived early {result.early}, sent twice or unexpected "
          f"{result.unexpected}; other messages from the runtime meanwhile (digests): "
          f"{result.background}")
    for line in result.warnings[:12]:
        print(f"  log {line}")


# --- 4. stale claims (optional) -------------------------------------------------------------


@dataclass
class StaleResult:
    reminders: int
    seconds: float
    received: int
    duplicated: int
    missing: int
    statuses: dict[str, int]
    rejected_chat: int
    rejected_global: int
    warnings: list[str]


async def run_stale(
    server: FakeServer, args: argparse.Namespace, tmp: Path, logs: LogCounter
) -> StaleResult:
    """One user, S reminders due at once, the real runtime (scheduler + 30 s sweep). At one
    message a second per chat the batch needs S seconds; a claim is 'stale' after 2 min."""
    count = args.stale_reminders
    path = tmp / "stale.sqlite3"
    rng = random.Random(args.seed + 3)
    clock = SystemClock()
    print(f"\n[4] Stale claims: one user, {count} reminders due at once, real scheduler "
          "and sweep ...", flush=True)
    storage = await open_sqlite_storage(path)
    await ensure_users(storage, iter([STALE_USER]), clock.now(), rng, hours=ALWAYS)
    due = clock.now().replace(microsecond=0) + timedelta(seconds=2)
    expected = set()
    for number in range(1, count + 1):
        task = await storage.tasks.create(
            STALE_USER, client_id=None, text=f"stale check ref {STALE_USER}:{number}",
            kind=TaskKind.OTHER, due_at=due, now=clock.now(),
        )
        await storage.reminders.replace_for_task(
            STALE_USER, task.id, [PlannedReminder(ReminderPurpose.DUE, due, due)], clock.now()
        )
        expected.add((STALE_USER, number))
    running = make_runtime(storage, server.base_url)
    runtime = running.runtime
    before = await server.stats()
    mark = before.count
    started = time.perf_counter()
    try:
        await runtime.start()
        deadline = started + count * CHAT_INTERVAL * 2 + 120
        quiet_since = time.perf_counter()
        last = mark
        while time.perf_counter() < deadline:
            await asyncio.sleep(5)
            now_count = (await server.stats()).count
            if now_count != last:
                last, quiet_since = now_count, time.perf_counter()
            elif now_count - mark >= count and time.perf_counter() - quiet_since > 40:
                break  # everything arrived and a sweep has passed without more
        seconds = time.perf_counter() - started
    finally:
        await running.close()
        await storage.backend.close()
    after = await server.stats(since=mark)
    missing, duplicated, _, _ = check_refs(after.accepted, expected)
    return StaleResult(
        count, seconds, len(after.accepted), duplicated, missing, status_counts(path),
        after.rejected_chat - before.rejected_chat,
        after.rejected_global - before.rejected_global, logs.take(),
    )


def print_stale(result: StaleResult) -> None:
    print(f"  {result.reminders} reminders for one chat: server received {result.received} "
          f"messages in {result.seconds:.0f} s, {result.duplicated} duplicated, "
          f"{result.missing} missing; rows {result.statuses}; server answered 429 "
          f"{result.rejected_chat} times over 1/s per chat, {result.rejected_global} over 30/s")
    for line in result.warnings[:12]:
        print(f"  log {line}")


# --- report ---------------------------------------------------------------------------------


def verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def summary(
    burst: BurstResult | None, startup: StartupResult | None, idle: IdleResult | None
) -> str:
    rows = [("measure", "result", "target", "verdict")]
    if burst is not None:
        ratio = burst.delivery_seconds / burst.bound
        rows += [
            (f"burst {burst.reminders} / {burst.users} users: delivery time",
             f"{burst.delivery_seconds:.1f} s = {ratio:.3f} × {burst.bound:.1f} s",
             f"≤ {TARGET_BURST_RATIO} ×", verdict(ratio <= TARGET_BURST_RATIO)),
            ("burst: 429 answers from the server",
             f"{burst.rejected_global + burst.rejected_chat} ({burst.rejected_global} global, "
             f"{burst.rejected_chat} per chat)", "-", "-"),
            ("burst: lost / duplicated",
             f"{burst.lost} / {burst.duplicated}", "0 / 0",
             verdict(burst.lost == 0 and burst.duplicated == 0 and burst.unexpected == 0)),
        ]
    if startup is not None:
        ready = statistics.median(run["ready"] for run in startup.wholes)
        rss = statistics.median(run["rss_kib"] for run in startup.wholes) / 1024
        imported = statistics.median(run["rss_imported_kib"] for run in startup.wholes) / 1024
        rows += [
            (f"start-up, {startup.pending} pending: open + start",
             f"{1000 * ready:.0f} ms (median of 3)", f"< {TARGET_STARTUP_S:.0f} s",
             verdict(ready < TARGET_STARTUP_S)),
            ("start-up: reconcile re-planned", str(startup.steps["planned_by_reconcile"]), "0",
             verdict(startup.steps["planned_by_reconcile"] == 0
                     and startup.statuses_before == startup.statuses_after)),
            ("start-up: process RSS after start",
             f"{rss:.1f} MiB ({rss - imported:+.1f} over the imports)", "-", "-"),
        ]
    if idle is not None and idle.samples:
        p99 = percentile(idle.samples, 0.99)
        rows.append(
            (f"idle lateness ({len(idle.samples)} samples)",
             f"median {1000 * statistics.median(idle.samples):.0f} ms, p99 {1000 * p99:.0f} ms",
             f"p99 < {TARGET_IDLE_P99_S:.0f} s",
             verdict(p99 < TARGET_IDLE_P99_S and idle.lost == 0 and idle.early == 0)),
        )
    if len(rows) == 1:
        return "(no timed parts run)"
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = []
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                     + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------

PARTS = ("burst", "startup", "idle", "stale")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--burst", type=int, default=10_000, help="reminders in the burst")
    parser.add_argument("--users", type=int, default=2_000, help="users (burst and start-up)")
    parser.add_argument("--pending", type=int, default=100_000,
                        help="pending reminders for the start-up database")
    parser.add_argument("--samples", type=int, default=30, help="idle lateness samples")
    parser.add_argument("--missing", type=int, default=5_000,
                        help="start-up: also time reconcile on a copy with this many tasks "
                        "left without reminders (0: skip)")
    parser.add_argument("--stale-reminders", type=int, default=200,
                        help="reminders for one chat in the (optional) stale part")
    parser.add_argument("--only", default="burst,startup,idle",
                        help=f"comma-separated parts to run, of {','.join(PARTS)}")
    parser.add_argument("--progress", type=float, default=30.0,
                        help="seconds between progress lines during the burst")
    parser.add_argument("--seed", type=int, default=42, help="RNG seed for the data")
    parser.add_argument("--what-if-rate", type=float,
                        help="burst only: patch the Sender's global rate (not the real code)")
    parser.add_argument("--what-if-tolerance", type=float,
                        help="burst only: patch the Sender's GCRA tolerance, in slots")
    parser.add_argument("--what-if-chat-interval", type=float,
                        help="burst only: patch the Sender's per-chat interval, seconds")
    parser.add_argument("--fake-server", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--startup-child", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--api", help=argparse.SUPPRESS)
    parser.add_argument("--mode", default="whole", help=argparse.SUPPRESS)
    parser.add_argument("--spawned-at", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.parts = [part.strip() for part in args.only.split(",") if part.strip()]
    if not set(args.parts) <= set(PARTS):
        parser.error(f"--only takes parts of {','.join(PARTS)}")
    if args.burst < 1 or args.users < 1 or args.pending < 2 or args.samples < 1:
        parser.error("need --burst >= 1, --users >= 1, --pending >= 2, --samples >= 1")
    return args


async def main_async(args: argparse.Namespace) -> int:
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"aiogram {aiogram.__version__}, aiosqlite {aiosqlite.__version__}, "
          f"CPUs {os.cpu_count()}, {platform.machine()} {platform.system()} "
          f"{platform.release()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"code from {CODE_FROM}")
    gc.freeze()  # as `python -m bot` does once it has started
    logs = LogCounter()
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.WARNING)
    burst: BurstResult | None = None
    startup: StartupResult | None = None
    idle: IdleResult | None = None
    server = FakeServer()
    await server.start()
    print(f"Fake Bot API (child process) at {server.base_url}: ≤ {GLOBAL_PER_SECOND} "
          f"sendMessage per sliding second, ≤ 1 per {CHAT_INTERVAL:.0f} s per chat, else 429 "
          f"retry_after={RETRY_AFTER}")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-reminders-") as tmp_name:
            tmp = Path(tmp_name)
            if "burst" in args.parts:
                burst = await run_burst(server, args, tmp, logs)
                print_burst(burst)
            pending_path = tmp / "pending.sqlite3"
            if "startup" in args.parts:
                startup = await run_startup(server, args, pending_path)
                print_startup(startup)
            if "idle" in args.parts:
                idle = await run_idle(server, args, pending_path, logs)
                print_idle(idle)
            if "stale" in args.parts:
                print_stale(await run_stale(server, args, tmp, logs))
    finally:
        await server.stop()
    print()
    print(summary(burst, startup, idle))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.fake_server:
        return fake_server_main()
    if args.startup_child is not None:
        result = asyncio.run(
            startup_child(args.startup_child, args.api, args.mode, args.spawned_at)
        )
        print(json.dumps(result))
        return 0
    return asyncio.run(main_async(args))


if __name__ == "__main__":
    sys.exit(main())
