"""Benchmark urgent-alert latency: from an intake POST being sent to the first page
(sendMessage) for that alert arriving at a rate-limited fake Bot API, alone and during a
reminder burst.

The bot side is what `python -m bot` runs, in this process: a real Runtime (Sender,
ReminderDelivery, ReminderScheduler on APScheduler, AlertEngine), the AlertService and the
HTTP IntakeServer (bot/intake.py) on 127.0.0.1, an aiogram Bot whose AiohttpSession talks to
the fake Bot API of bench/bench_reminders.py (a child process: at most 30 sendMessage per
sliding second overall and 1 per second per chat, else 429 "retry after 1"; it records the
wall time each accepted message arrived).

The outside system posting alerts runs in worker threads (blocking urllib), not on the bot's
event loop, and takes the wall time just before each request is sent.

1. alone:  A alerts (default 50), one every 0.3-0.7 s, each to a different user's personal
           intake address; nothing else is going on.
2. burst:  N reminders (default 10,000) for U users (default 2,000) due at the same minute,
           seeded as bench_reminders does and delivered by the running scheduler; while the
           burst is going out an alert is posted every 2-3 s (up to --during, default 100),
           alternately to a user with nothing queued ("quiet chat") and to a user of the burst
           whose own reminders are queued ("busy chat"). Reminders are checked for loss and
           duplicates as in bench_reminders.

3. flood:  F alerts (default 1,000) with distinct dedup keys posted as fast as 16 worker
           threads can to ONE person's intake address, while another user raises an urgent
           alert as /urgent does (AlertService, in the bot's loop) once the flood is under
           way; measured: that other page from the raise to the fake Bot API (target
           < 5 s), what the flooded person received, the intake's answers. Run twice: with
           the default per-address limits (INTAKE_RATE_PER_MINUTE=60, INTAKE_MAX_OPEN=100),
           and with the limits lifted so all F alerts are stored and paged (the engine
           alone must keep the other page fast).

    python bench/bench_alerts.py [--alone 50] [--burst 10000] [--users 2000] [--during 100]
                                 [--flood 1000] [--only alone,burst] [--seed 42]
    python bench/bench_alerts.py --only flood

Latency percentiles are nearest-rank. A script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import os
import platform
import random
import re
import sqlite3
import statistics
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiogram
import aiosqlite
from aiogram import Bot
from bench_reminders import (
    ALWAYS,
    BURST_USER_BASE,
    CODE_FROM,
    GLOBAL_PER_SECOND,
    TOKEN,
    Accepted,
    FakeServer,
    LogCounter,
    ServerStats,
    check_refs,
    ensure_users,
    percentile,
    seed_burst,
    status_counts,
)
from pydantic import SecretStr

from bot.app import create_bot, create_services
from bot.clock import SystemClock
from bot.i18n import create_i18n
from bot.intake import IntakeServer
from bot.runtime import Runtime, user_blocked
from bot.sender import Sender
from bot.services.alerts import AlertService
from bot.settings import Settings
from storage.interfaces import Storage
from storage.models import AlertSeverity, AlertSource
from storage.sqlite import open_sqlite_storage

ALERT_USER_BASE = 700_000
QUIET_USERS = 50
TOKEN_RE = re.compile(r"ALERT(\d{5})X")
TARGET_P99_S = 2.0
JSON = dict[str, Any]


# --- the bot side -----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Running:
    runtime: Runtime
    intake: IntakeServer
    bot: Bot
    service: AlertService

    async def close(self) -> None:
        await self.intake.stop()
        await self.runtime.stop()
        await self.bot.session.close()


async def start_bot_side(storage: Storage, base_url: str, **overrides: Any) -> Running:
    """What bot/__main__.py run_bot builds and starts, minus polling: the reminder runtime
    with the alert engine attached to the AlertService, then the intake (port: any free)."""
    settings = Settings(
        _env_file=None, bot_token=SecretStr(TOKEN), telegram_api_url=base_url,
        default_timezone="UTC", default_language="en",
        alert_repeat_seconds=3600,  # no repeats while measuring: one page per alert
        backup_every_hours=0,  # DATABASE_URL is not the bench's database
        **overrides,
    )
    clock = SystemClock()
    i18n = create_i18n(settings.default_language)
    bot = create_bot(settings)
    sender = Sender(bot, on_blocked=user_blocked(storage.users))
    services = create_services(
        settings=settings, storage=storage, clock=clock, i18n=i18n, sender=sender
    )
    service = services.alerts
    runtime = Runtime.for_app(
        bot=bot, storage=storage, i18n=i18n, clock=clock, settings=settings,
        services=services,
    )
    intake = IntakeServer(service, settings, port=0)
    await runtime.start()
    await intake.start()
    return Running(runtime, intake, bot, service)


async def alert_users(
    storage: Storage, ids: list[int], rng: random.Random, *, create: bool
) -> dict[int, str]:
    """Personal intake secrets (as /intake gives them), creating the users if asked."""
    if create:
        await ensure_users(storage, iter(ids), SystemClock().now(), rng, hours=ALWAYS)
    return {
        user_id: await storage.users.intake_secret(user_id, f"bench-{user_id}-{rng.random()}")
        for user_id in ids
    }


# --- the outside system -----------------------------------------------------------------------


@dataclass
class Sample:
    number: int
    chat_id: int
    busy: bool  # the chat had reminders of the burst queued
    sent_at: float  # wall time the POST was sent
    answered_at: float
    status: int
    arrived_at: float | None = None  # wall time its first page reached the Bot API
    pages: int = 0

    @property
    def answer(self) -> float:
        return self.answered_at - self.sent_at

    @property
    def latency(self) -> float | None:
        return None if self.arrived_at is None else self.arrived_at - self.sent_at


def post_blocking(url: str, body: JSON) -> tuple[float, float, int]:
    """In a worker thread: one POST; (sent at, answered at, HTTP status)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), method="POST",
        headers={"Content-Type": "application/json"},
    )
    sent = time.time()
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            response.read()
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        status = exc.code
    return sent, time.time(), status


class Collector:
    """Polls the fake server for what it accepted (incrementally) into `accepted`."""

    def __init__(self, server: FakeServer, since: int) -> None:
        self.server = server
        self.seen = since
        self.accepted: list[Accepted] = []
        self.reminder_count = 0
        self._polled = asyncio.Condition()
        self._fetching = asyncio.Lock()  # one fetch at a time, or a range is read twice
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await self.poll()
            await asyncio.sleep(0.5)

    async def poll(self) -> None:
        async with self._fetching:
            stats = await self.server.stats(since=self.seen)
            self.seen += len(stats.accepted)
            self.accepted += stats.accepted
        self.reminder_count += sum(TOKEN_RE.search(item.text) is None for item in stats.accepted)
        async with self._polled:
            self._polled.notify_all()

    async def wait_reminders(self, count: int) -> None:
        """Until the server has accepted `count` messages that are not alerts."""
        async with self._polled:
            await self._polled.wait_for(lambda: self.reminder_count >= count)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.poll()

    def reminders(self) -> list[Accepted]:
        return [item for item in self.accepted if TOKEN_RE.search(item.text) is None]


async def fire(
    base: str,
    targets: list[tuple[int, str, bool]],
    count: int,
    gap: tuple[float, float],
    rng: random.Random,
    first_number: int,
    keep_going: asyncio.Event | None = None,
) -> list[Sample]:
    """Post `count` alerts `gap` seconds apart (or until `keep_going` is cleared)."""
    posts: list[tuple[int, int, bool, asyncio.Task[tuple[float, float, int]]]] = []
    for index in range(count):
        if keep_going is not None and not keep_going.is_set():
            break
        user, secret, busy = targets[index % len(targets)]
        number = first_number + index
        body = {
            "text": f"bench alert ALERT{number:05d}X: checkout is down",
            "severity": "urgent",
            "dedup_key": f"bench-{number}",
        }
        url = f"{base}/alerts/u{user}-{secret}"
        posts.append(
            (number, user, busy, asyncio.create_task(asyncio.to_thread(post_blocking, url, body)))
        )
        await asyncio.sleep(rng.uniform(*gap))
    samples = []
    for number, user, busy, task in posts:
        sent, answered, status = await task
        samples.append(Sample(number, user, busy, sent, answered, status))
    return samples


async def wait_for_pages(
    collector: Collector, samples: list[Sample], timeout: float  # noqa: ASYNC109
) -> None:
    """Match each alert to the first accepted sendMessage carrying its token."""
    deadline = time.monotonic() + timeout
    wanted = {sample.number: sample for sample in samples}
    while True:
        await collector.poll()
        for sample in samples:
            sample.pages = 0
            sample.arrived_at = None
        for item in collector.accepted:
            found = TOKEN_RE.search(item.text)
            if found is None or int(found.group(1)) not in wanted:
                continue
            sample = wanted[int(found.group(1))]
            if item.chat_id != sample.chat_id:
                continue
            sample.pages += 1
            if sample.arrived_at is None or item.wall < sample.arrived_at:
                sample.arrived_at = item.wall
        if all(s.arrived_at is not None for s in samples) or time.monotonic() > deadline:
            return
        await asyncio.sleep(0.5)


# --- the parts ----------------------------------------------------------------------------------


@dataclass
class PartResult:
    name: str
    samples: list[Sample]
    rejected_429: str  # how many, over which limit, to which chats
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def run_alone(
    server: FakeServer, args: argparse.Namespace, tmp: Path, logs: LogCounter
) -> PartResult:
    rng = random.Random(args.seed + 10)
    print(f"\n[1] Alone: {args.alone} alerts, one every 0.3-0.7 s, to {QUIET_USERS} users ...",
          flush=True)
    storage = await open_sqlite_storage(tmp / "alone.sqlite3")
    ids = list(range(ALERT_USER_BASE, ALERT_USER_BASE + QUIET_USERS))
    secrets = await alert_users(storage, ids, rng, create=True)
    targets = [(user, secrets[user], False) for user in ids]
    before = await full_stats(server)
    collector = Collector(server, before.count)
    running = await start_bot_side(storage, server.base_url)
    try:
        await collector.start()
        samples = await fire(running.intake.url, targets, args.alone, (0.3, 0.7), rng, 1)
        await wait_for_pages(collector, samples, timeout=30)
        await asyncio.sleep(1.0)  # a second page would show up now
        await wait_for_pages(collector, samples, timeout=0)
    finally:
        await collector.stop()
        await running.close()
        await storage.backend.close()
    after = await full_stats(server)
    return PartResult(
        "alone", samples, describe_429s(before, after, samples), logs.take(),
        [f"other messages accepted meanwhile: {len(collector.reminders())}"],
    )


async def run_burst(
    server: FakeServer, args: argparse.Namespace, tmp: Path, logs: LogCounter
) -> PartResult:
    rng = random.Random(args.seed)
    path = tmp / "burst.sqlite3"
    print(f"\n[2] Burst: seeding {args.users} users and {args.burst} reminders due at one "
          f"minute (as bench_reminders does) into {path} ...", flush=True)
    storage = await open_sqlite_storage(path)
    started = time.perf_counter()
    due, expected = await seed_burst(storage, rng, args.users, args.burst)
    quiet_ids = list(range(ALERT_USER_BASE, ALERT_USER_BASE + QUIET_USERS))
    quiet = await alert_users(storage, quiet_ids, rng, create=True)
    busy_ids = rng.sample(range(BURST_USER_BASE, BURST_USER_BASE + args.users), QUIET_USERS)
    busy = await alert_users(storage, busy_ids, rng, create=False)
    targets = [
        pair
        for quiet_id, busy_id in zip(quiet_ids, busy_ids, strict=True)
        for pair in ((quiet_id, quiet[quiet_id], False), (busy_id, busy[busy_id], True))
    ]
    print(f"  seeded in {time.perf_counter() - started:.1f} s; starting the runtime and the "
          f"intake; the burst is due at {due:%H:%M:%S} UTC", flush=True)
    before = await full_stats(server)
    collector = Collector(server, before.count)
    running = await start_bot_side(storage, server.base_url)
    burst_started = burst_done = 0.0
    try:
        await collector.start()
        await collector.wait_reminders(GLOBAL_PER_SECOND)  # the burst is under way
        burst_started = time.time()
        print(f"  burst under way ({(datetime.now(UTC) - due).total_seconds():.1f} s after "
              f"the due minute); posting an alert every 2-3 s ...", flush=True)
        going = asyncio.Event()
        going.set()

        async def watch() -> None:
            # Stop posting ~3 s before the burst would end, so every alert meets it.
            await collector.wait_reminders(args.burst - 3 * GLOBAL_PER_SECOND)
            going.clear()

        watcher = asyncio.create_task(watch())
        ticker = asyncio.create_task(report_progress(collector, args.burst))
        try:
            samples = await fire(
                running.intake.url, targets, args.during, (2.0, 3.0), rng, 10_001, going
            )
            await wait_for_pages(collector, samples, timeout=60)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    collector.wait_reminders(len(expected)),
                    args.burst / GLOBAL_PER_SECOND * 2 + 120,
                )
            burst_done = time.time()
            await asyncio.sleep(2.0)  # anything sent twice would show up now
            await wait_for_pages(collector, samples, timeout=0)
        finally:
            watcher.cancel()
            ticker.cancel()
            await asyncio.gather(watcher, ticker, return_exceptions=True)
    finally:
        await collector.stop()
        await running.close()
        await storage.backend.close()
    after = await full_stats(server)
    reminders = collector.reminders()
    missing, duplicated, unexpected, _ = check_refs(reminders, expected)
    walls = sorted(item.wall for item in reminders)
    span = walls[-1] - walls[0] if walls else 0.0
    during = [s for s in samples if burst_started <= s.sent_at <= burst_done]
    notes = [
        f"burst: {len(reminders)} messages accepted in {span:.1f} s "
        f"({span / (args.burst / GLOBAL_PER_SECOND):.3f} × the bound "
        f"{args.burst / GLOBAL_PER_SECOND:.1f} s, alerts included in the same 30/s); "
        f"reminders missing {missing}, duplicated {duplicated}, other messages {unexpected}; "
        f"rows {status_counts(path)}",
        f"alerts posted while the burst was going out: {len(during)} of {len(samples)}",
    ]
    return PartResult(
        "burst", samples, describe_429s(before, after, samples), logs.take(), notes
    )


async def full_stats(server: FakeServer) -> ServerStats:
    """Counts and every 429 so far (the accepted messages only from now on: none)."""
    return await server.stats(since=(await server.stats()).count)


def describe_429s(before: ServerStats, after: ServerStats, samples: list[Sample]) -> str:
    new = after.rejections[len(before.rejections):]
    alert_chats = {sample.chat_id for sample in samples}
    kinds = Counter(which for _, _, which in new)
    to_alert_chats = sum(chat in alert_chats for chat, _, _ in new)
    return (f"{len(new)} times ({kinds['global']} over 30/s, {kinds['chat']} over 1/s per "
            f"chat; {to_alert_chats} to chats that got an alert)")


async def report_progress(collector: Collector, total: int) -> None:
    started = time.perf_counter()
    while True:
        await asyncio.sleep(30)
        print(f"  … {time.perf_counter() - started:5.0f} s: {collector.reminder_count} of "
              f"{total} reminders accepted", flush=True)


# --- the flood ----------------------------------------------------------------------------------

FLOODED_USER = 800_001
URGENT_USER = 800_002
FLOOD_THREADS = 16
TARGET_OTHER_PAGE_S = 5.0
LIFTED = {"intake_rate_per_minute": 100_000, "intake_max_open": 100_000}


@dataclass
class FloodResult:
    label: str
    posted: int
    statuses: Counter[int]
    post_seconds: float  # from the first POST sent to the last answered
    other_latency: float | None  # /urgent raised -> its page at the fake Bot API
    raised_after_posts: int  # answers the flood had got when the other alert was raised
    flooded_messages: int
    flooded_span: float | None  # first to last message to the flooded person
    stored: int
    paged_events: int
    rejected_429: str
    warnings: list[str]


async def run_flood(
    server: FakeServer, args: argparse.Namespace, tmp: Path, logs: LogCounter, label: str,
    overrides: dict[str, Any],
) -> FloodResult:
    rng = random.Random(args.seed + 30)
    print(f"\n[3] Flood ({label}): {args.flood} alerts on one address from {FLOOD_THREADS} "
          "threads, another user's /urgent during it ...", flush=True)
    path = tmp / f"flood-{label.split(maxsplit=1)[0]}.sqlite3"
    storage = await open_sqlite_storage(path)
    secrets = await alert_users(storage, [FLOODED_USER, URGENT_USER], rng, create=True)
    before = await full_stats(server)
    collector = Collector(server, before.count)
    running = await start_bot_side(storage, server.base_url, **overrides)
    url = f"{running.intake.url}/alerts/u{FLOODED_USER}-{secrets[FLOODED_USER]}"
    answers: list[tuple[float, float, int]] = []
    loop = asyncio.get_running_loop()
    pool = ThreadPoolExecutor(FLOOD_THREADS, thread_name_prefix="flood")
    try:
        await collector.start()
        posts = [
            loop.run_in_executor(pool, post_blocking, url, {
                "text": f"flood check {number} failing", "severity": "urgent",
                "dedup_key": f"flood-{number}",
            })
            for number in range(args.flood)
        ]
        under_way = asyncio.Event()

        def answered(fut: asyncio.Future[tuple[float, float, int]]) -> None:
            answers.append(fut.result())
            if len(answers) >= max(1, args.flood // 10):
                under_way.set()

        for done in posts:
            done.add_done_callback(answered)
        # The other user's alert once the flood is well under way (a tenth answered).
        await under_way.wait()
        raised_after = len(answers)
        raised_at = time.time()
        raised = await running.service.raise_alert(
            team=None, owner_hint=URGENT_USER, raised_by=URGENT_USER, client_query=None,
            text="URGENT-OTHER: payments are failing", severity=AlertSeverity.URGENT,
            dedup_key=None, source=AlertSource.CHAT,
        )
        assert raised.created
        other_at: float | None = None
        deadline = time.monotonic() + 60
        while other_at is None and time.monotonic() < deadline:
            await collector.poll()
            other_at = next(
                (item.wall for item in collector.accepted if item.chat_id == URGENT_USER),
                None,
            )
            if other_at is None:
                await asyncio.sleep(0.05)
        await asyncio.gather(*posts)
        # Let the flooded person's messages settle: nothing new for 3 s.
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() - quiet_since < 3.0 and time.monotonic() < deadline + 120:
            await collector.poll()
            count = sum(item.chat_id == FLOODED_USER for item in collector.accepted)
            if count != seen:
                seen, quiet_since = count, time.monotonic()
            await asyncio.sleep(0.25)
        stored = await storage.alerts.count_open(f"u{FLOODED_USER}")
        paged = 0
        for alert_id in range(1, stored + 2):
            if alert_id != raised.alert.id:
                events = await storage.alerts.events(alert_id)
                paged += any(event.kind == "paged" for event in events)
    finally:
        pool.shutdown(wait=True)
        await collector.stop()
        await running.close()
        await storage.backend.close()
    after = await full_stats(server)
    walls = sorted(item.wall for item in collector.accepted if item.chat_id == FLOODED_USER)
    sent = [a[0] for a in answers]
    done_at = [a[1] for a in answers]
    return FloodResult(
        label=label,
        posted=len(answers),
        statuses=Counter(a[2] for a in answers),
        post_seconds=max(done_at) - min(sent) if answers else 0.0,
        other_latency=None if other_at is None else other_at - raised_at,
        raised_after_posts=raised_after,
        flooded_messages=len(walls),
        flooded_span=walls[-1] - walls[0] if walls else None,
        stored=stored,
        paged_events=paged,
        rejected_429=describe_429s(before, after, []),
        warnings=logs.take(),
    )


def flood_table(results: list[FloodResult]) -> str:
    head = ("flood", "POSTs", "answers", "posted in s", "alerts stored / paged",
            "messages to the flooded person (span s)", "other user's /urgent page s",
            "target", "verdict")
    rows = [head]
    for r in results:
        latency = "-" if r.other_latency is None else f"{r.other_latency:.2f}"
        ok = r.other_latency is not None and r.other_latency < TARGET_OTHER_PAGE_S
        rows.append((
            r.label, str(r.posted),
            ", ".join(f"{code}×{n}" for code, n in sorted(r.statuses.items())),
            f"{r.post_seconds:.1f}", f"{r.stored} / {r.paged_events}",
            f"{r.flooded_messages} ({0.0 if r.flooded_span is None else r.flooded_span:.1f})",
            latency, f"< {TARGET_OTHER_PAGE_S:.0f} s", "met" if ok else "MISSED",
        ))
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                     + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


# --- report -------------------------------------------------------------------------------------


def ms(value: float) -> str:
    return f"{1000 * value:.0f}"


def rows_for(result: PartResult) -> list[tuple[str, ...]]:
    groups = [(result.name, result.samples)]
    if result.name == "burst":
        groups += [
            ("burst, quiet chats", [s for s in result.samples if not s.busy]),
            ("burst, busy chats", [s for s in result.samples if s.busy]),
        ]
    rows: list[tuple[str, ...]] = []
    for name, samples in groups:
        latencies = [s.latency for s in samples if s.latency is not None]
        answers = [s.answer for s in samples]
        lost = sum(s.arrived_at is None for s in samples)
        twice = sum(s.pages > 1 for s in samples)
        refused = sum(s.status != 201 for s in samples)
        if not latencies:
            rows.append((name, str(len(samples)), "-", "-", "-", "-", "MISSED"))
            continue
        p99 = percentile(latencies, 0.99)
        ok = p99 < TARGET_P99_S and lost == 0 and twice == 0 and refused == 0
        rows.append((
            name,
            str(len(samples)),
            f"{ms(statistics.median(answers))} / {ms(percentile(answers, 0.99))}",
            f"{ms(statistics.median(latencies))} / {ms(p99)} / {ms(max(latencies))}",
            f"{lost} / {twice} / {refused}",
            f"p99 < {TARGET_P99_S:.0f} s",
            "met" if ok else "MISSED",
        ))
    return rows


def table(results: list[PartResult]) -> str:
    head = ("alerts", "n", "POST answered ms (median / p99)",
            "first page at the server ms (median / p99 / max)",
            "no page / paged twice / not 201", "target", "verdict")
    rows = [head] + [row for result in results for row in rows_for(result)]
    widths = [max(len(row[i]) for row in rows) for i in range(len(head))]
    lines = []
    for index, row in enumerate(rows):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True))
                     + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def other_benchmarks() -> list[str]:
    """Command lines of other benchmark processes on this machine (not ours or our child)."""
    mine = os.getpid()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == mine:
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        if "bench" in cmdline and parent != mine and "bench_alerts" not in cmdline:
            found.append(f"pid {entry.name}: {cmdline[:120]}")
    return found


# --- main ---------------------------------------------------------------------------------------

PARTS = ("alone", "burst", "flood")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--alone", type=int, default=50, help="alerts with nothing else on")
    parser.add_argument("--burst", type=int, default=10_000, help="reminders in the burst")
    parser.add_argument("--users", type=int, default=2_000, help="users of the burst")
    parser.add_argument("--during", type=int, default=100,
                        help="at most this many alerts during the burst (one every 2-3 s)")
    parser.add_argument("--flood", type=int, default=1_000,
                        help="alerts posted on one address in the flood part")
    parser.add_argument("--only", default="alone,burst",
                        help=f"comma-separated parts to run, of {','.join(PARTS)}")
    parser.add_argument("--seed", type=int, default=42, help="RNG seed for the data")
    args = parser.parse_args(argv)
    args.parts = [part.strip() for part in args.only.split(",") if part.strip()]
    if not set(args.parts) <= set(PARTS):
        parser.error(f"--only takes parts of {','.join(PARTS)}")
    if args.users < QUIET_USERS or args.burst < 3 * GLOBAL_PER_SECOND + 60:
        parser.error(f"need --users >= {QUIET_USERS} and --burst >= 150")
    return args


async def main_async(args: argparse.Namespace) -> int:
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"aiogram {aiogram.__version__}, aiosqlite {aiosqlite.__version__}, "
          f"CPUs {os.cpu_count()}, {platform.machine()} {platform.system()} "
          f"{platform.release()}; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; "
          f"code from {CODE_FROM}")
    others = other_benchmarks()
    print("other benchmarks running now: " + ("; ".join(others) if others else "none"))
    gc.freeze()  # as `python -m bot` does once it has started
    logs = LogCounter()
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.WARNING)
    server = FakeServer()
    await server.start()
    print(f"Fake Bot API (child process, bench_reminders) at {server.base_url}: "
          f"≤ {GLOBAL_PER_SECOND} sendMessage per sliding second, ≤ 1 per second per chat")
    results: list[PartResult] = []
    floods: list[FloodResult] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-alerts-") as tmp_name:
            tmp = Path(tmp_name)
            if "alone" in args.parts:
                results.append(await run_alone(server, args, tmp, logs))
            if "burst" in args.parts:
                results.append(await run_burst(server, args, tmp, logs))
            if "flood" in args.parts:
                floods.append(await run_flood(
                    server, args, tmp, logs, "default limits (60/min, 100 open)", {}
                ))
                floods.append(await run_flood(
                    server, args, tmp, logs, "limits lifted", LIFTED
                ))
    finally:
        await server.stop()
    print()
    for result in results:
        print(f"{result.name}: the server answered 429 {result.rejected_429}")
        for line in result.notes:
            print(f"  {line}")
        for line in result.warnings[:12]:
            print(f"  log {line}")
        slow = sorted(
            (s for s in result.samples if s.latency is not None),
            key=lambda s: s.latency or 0.0, reverse=True,
        )[:3]
        print("  slowest: " + ", ".join(
            f"#{s.number} {'busy' if s.busy else 'quiet'} chat {ms(s.latency or 0.0)} ms "
            f"(answered in {ms(s.answer)} ms)" for s in slow
        ))
        statuses = Counter(s.status for s in result.samples)
        print(f"  intake answers: {dict(statuses)}")
    for flood in floods:
        print(f"flood, {flood.label}: the server answered 429 {flood.rejected_429}; "
              f"the other alert was raised after {flood.raised_after_posts} flood answers")
        for line in flood.warnings[:12]:
            print(f"  log {line}")
    if results:
        print()
        print(table(results))
    if floods:
        print()
        print(flood_table(floods))
    others_after = other_benchmarks()
    if others_after:
        print("other benchmarks running at the end: " + "; ".join(others_after))
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
