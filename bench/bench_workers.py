"""Benchmark several webhook workers on one PostgreSQL database: a reminder burst with kills of
the sending process, update latency and cost per worker count, /find at 100,000 notes.

For each N in --workers (default 1, 2, 4), on a fresh PostgreSQL database:
- 10,000 reminders for 2,000 users (5 each), all due at one moment, planned through the
  repositories before the workers start;
- N real `python -m bot` processes in webhook mode, against the fake Bot API with Telegram's
  limits in a child process (bench_load.py's: 30 sending calls a second, one a second per
  chat; 429s are counted);
- while the burst goes out, people's updates (`/note ...`) are POSTed round-robin to the live
  workers at --update-rate a second; at --kill-at fractions of the burst (default 25 % and
  60 %), the leading worker is killed with SIGKILL and started again at once;
- measured: reminders lost (never arrived), delivered twice (only those in flight at a kill may
  be), 429s, the burst's total time against its bound ((reminders + replies) / 30 s), each
  failover (kill -> another worker logs that it leads, and kill -> the next reminder arrives),
  the updates' latency (POST until Telegram got the reply: handled, and its reply paced into
  the same 30 a second);
- then, with no burst, --updates updates POSTed by 50 people at once: wall time, latency
  median / p99, and the CPU seconds the workers and the database server used, so
  "updates per CPU-second" reads independently of Telegram's 30 a second.

The PostgreSQL server is BENCH_DATABASE_URL (a server DSN; databases are created on it) or a
throwaway cluster started here (tests/pg_cluster.py).

    python bench/bench_workers.py [--workers 1,2,4] [--reminders 10000] [--users 2000]
                                  [--kill-at 0.25,0.6] [--updates 1000] [--update-rate 2]

A script that prints numbers, not a test. Percentiles are nearest-rank.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import os
import platform
import shutil
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.pg_cluster, e2e

import aiohttp
import asyncpg
from bench_load import PER_SECOND, TOKEN, FakeServer
from bench_reminders import Accepted, percentile

from storage.models import PlannedReminder, ReminderPurpose, TaskKind
from storage.postgres import open_postgres_storage
from tests import pg_cluster
from tests.e2e.conftest import BotProcess

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench_Webhook-Secret_0123456789"
WEBHOOK_PATH = "/telegram/hook"
LEADING = "leading: this process sends reminders, alerts and digests"
PEOPLE_BASE = 8_000_000
USER_BASE = 9_000_000
TARGET_RATIO = 1.1

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def message_update(user_id: int, text: str) -> dict[str, object]:
    message = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Bench"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Bench", "language_code": "en"},
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": next(_update_ids), "message": message}


def cpu_seconds(pid: int) -> float:
    """utime + stime of one process, seconds (0 when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def postgres_cpu() -> float:
    """CPU seconds of every PostgreSQL server process on the machine (this bench's cluster)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            command = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if command.startswith((b"postgres", b"/usr/lib/postgresql")):
            total += cpu_seconds(int(entry.name))
    return total


# --- workers ----------------------------------------------------------------------------


@dataclass
class Worker:
    index: int
    env: dict[str, str]
    port: int
    process: BotProcess | None = None
    cpu_before_restart: float = 0.0  # CPU of earlier (killed) processes of this slot

    async def start(self, cwd: Path) -> None:
        self.process = await BotProcess.start(self.env, cwd, label=f"worker {self.index}")

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.proc.returncode is None

    @property
    def leading(self) -> bool:
        return self.process is not None and LEADING in self.process.stderr

    def cpu(self) -> float:
        if self.process is None:
            return self.cpu_before_restart
        return self.cpu_before_restart + cpu_seconds(self.process.proc.pid)

    async def kill(self) -> None:
        assert self.process is not None
        self.cpu_before_restart += cpu_seconds(self.process.proc.pid)
        await self.process.kill()


async def wait_healthy(http: aiohttp.ClientSession, worker: Worker, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(aiohttp.ClientError):
            async with http.get(f"http://127.0.0.1:{worker.port}/health") as response:
                if response.status == 200:
                    return
        if not worker.alive:
            assert worker.process is not None
            raise RuntimeError(f"worker {worker.index} exited:\n{worker.process.describe()}")
        await asyncio.sleep(0.1)
    raise RuntimeError(f"worker {worker.index} not healthy within {seconds} s")


# --- one round --------------------------------------------------------------------------


@dataclass
class Round:
    workers: int
    reminders: int
    lost: int = 0
    twice: int = 0
    refused: int = 0
    burst_seconds: float = 0.0
    replies_in_burst: int = 0
    kills: list[tuple[float, float, int]] = field(default_factory=list)  # (lead s, gap s, sent)
    burst_latency: list[float] = field(default_factory=list)
    updates: int = 0
    update_seconds: float = 0.0
    latency: list[float] = field(default_factory=list)
    worker_cpu: float = 0.0
    postgres_cpu: float = 0.0
    update_errors: int = 0
    # (sent at, seconds from the burst's start; latency; worker; person) of updates over 5 s
    slow_updates: list[tuple[float, float, int, int]] = field(default_factory=list)
    kill_times: list[float] = field(default_factory=list)
    refusals: list[tuple[float, str]] = field(default_factory=list)  # (s into burst, why)

    @property
    def bound(self) -> float:
        return (self.reminders + self.replies_in_burst) / PER_SECOND


async def seed(url: str, users: int, reminders: int, due: datetime) -> None:
    storage = await open_postgres_storage(url, max_size=16)
    now = datetime.now(UTC)
    per_user = reminders // users
    gate = asyncio.Semaphore(16)

    async def one_user(user_id: int) -> None:
        async with gate:
            await storage.users.ensure(user_id, now)
            for number in range(per_user):
                task = await storage.tasks.create(
                    user_id, client_id=None, text=f"bench task {number}", kind=TaskKind.OTHER,
                    due_at=due, now=now,
                )
                await storage.reminders.replace_for_task(
                    user_id, task.id, [PlannedReminder(ReminderPurpose.DUE, due, due)], now
                )

    try:
        await asyncio.gather(*(one_user(USER_BASE + n) for n in range(users)))
    finally:
        await storage.coordination.close()
        await storage.backend.close()


async def post(http: aiohttp.ClientSession, worker: Worker, update: dict[str, object]) -> int:
    url = f"http://127.0.0.1:{worker.port}{WEBHOOK_PATH}"
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
    async with http.post(url, json=update, headers=headers) as response:
        await response.read()
        return response.status


async def run_round(
    args: argparse.Namespace, server: str, workers_count: int, cwd: Path
) -> Round:
    result = Round(workers=workers_count, reminders=args.reminders)
    name = f"bench_workers_{workers_count}_{os.getpid()}"
    admin = await asyncpg.connect(server)
    await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    await admin.execute(f"CREATE DATABASE {name}")
    url = f"{server.rsplit('/', 1)[0]}/{name}"
    fake = FakeServer()
    await fake.start()
    workers: list[Worker] = []
    try:
        # Migrate once before the workers (they would serialise on the migration lock).
        storage = await open_postgres_storage(url)
        await storage.backend.close()
        seeding_started = time.monotonic()
        due = datetime.now(UTC) + timedelta(days=1)  # moved to "now" once all are up
        await seed(url, args.users, args.reminders, due)
        print(f"  seeded {args.reminders} reminders in {time.monotonic() - seeding_started:.1f} s",
              flush=True)
        for index in range(workers_count):
            port = free_port()
            env = {
                key: value for key, value in os.environ.items()
                if key.upper() not in {"BOT_TOKEN", "DATABASE_URL", "WEBHOOK_URL"}
            }
            env.update({
                "BOT_TOKEN": TOKEN,
                "TELEGRAM_API_URL": fake.base_url,
                "DATABASE_URL": url,
                "WEBHOOK_URL": "https://bench.example.test" + WEBHOOK_PATH,
                "WEBHOOK_SECRET": SECRET,
                "WEBHOOK_HOST": "127.0.0.1",
                "WEBHOOK_PORT": str(port),
                "DEFAULT_TIMEZONE": "Europe/Moscow",
                "DEFAULT_LANGUAGE": "en",
                "LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "INFO"),
                "PYTHONUNBUFFERED": "1",
                "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH")])),
            })
            worker = Worker(index, env, port)
            await worker.start(cwd)
            workers.append(worker)
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=900)) as http:
            for worker in workers:
                await wait_healthy(http, worker)
            while not any(worker.leading for worker in workers):  # noqa: ASYNC110 - other processes
                await asyncio.sleep(0.05)
            await burst(args, url, workers, fake, http, result, cwd)
            await updates_phase(args, workers, fake, http, result)
            if os.environ.get("BENCH_SHOW_WARNINGS"):
                for worker in workers:
                    assert worker.process is not None
                    for line in worker.process.stderr.splitlines():
                        if "level=warning" in line or "level=error" in line:
                            print(f"  worker {worker.index}: {line[:300]}")
    finally:
        for worker in workers:
            if worker.process is not None:
                await worker.process.kill()
        await fake.stop()
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
    return result


async def burst(
    args: argparse.Namespace,
    url: str,
    workers: list[Worker],
    fake: FakeServer,
    http: aiohttp.ClientSession,
    result: Round,
    cwd: Path,
) -> None:
    base = (await fake.stats()).sent_count
    refused_base = (await fake.stats()).refused_count
    connection = await asyncpg.connect(url)
    try:
        # Everything falls due now; the leader is woken by the same NOTIFY a worker sends.
        now = datetime.now(UTC).replace(microsecond=0)
        await connection.execute("UPDATE tasks SET due_at = $1", now)
        await connection.execute("UPDATE reminders SET fire_at = $1, for_due_at = $1", now)
        await connection.execute("SELECT pg_notify('am_reminders', '')")
    finally:
        await connection.close()
    started = time.monotonic()
    started_wall = time.time()
    kill_points = sorted(float(x) for x in args.kill_at.split(",") if x)
    stop_updates = asyncio.Event()
    people = itertools.cycle(range(PEOPLE_BASE, PEOPLE_BASE + 200))
    turn = itertools.count()

    async def people_write() -> None:
        while not stop_updates.is_set():
            live = [worker for worker in workers if worker.alive]
            worker = live[next(turn) % len(live)]
            person = next(people)
            sent_at = time.monotonic()
            try:
                status = await post(http, worker, message_update(person, "/note burst note"))
            except aiohttp.ClientError:
                status = 0  # the worker was killed under it: a proxy would retry elsewhere
            if status == 200:
                latency = time.monotonic() - sent_at
                result.burst_latency.append(latency)
                result.replies_in_burst += 1
                if latency > 5:
                    result.slow_updates.append(
                        (sent_at - started, latency, worker.index, person)
                    )
            await asyncio.sleep(1 / args.update_rate)

    # --update-rate 0: the reminders alone, against their own bound (reminders / 30 s).
    writer_count = max(1, args.update_rate // 2) if args.update_rate > 0 else 0
    writers = [asyncio.create_task(people_write()) for _ in range(writer_count)]
    seen: Counter[tuple[int, str]] = Counter()
    index = base
    last_arrival = started
    try:
        while True:
            stats = await fake.stats(since=index)
            index += len(stats.sent)
            for accepted in stats.sent:
                if accepted.chat_id >= USER_BASE and accepted.text.startswith("🔔"):
                    seen[(accepted.chat_id, accepted.text)] += 1
                    last_arrival = time.monotonic()
            delivered = len(seen)
            if kill_points and delivered >= kill_points[0] * args.reminders:
                kill_points.pop(0)
                result.kill_times.append(time.monotonic() - started)
                await kill_leader(workers, fake, result, cwd, http, delivered)
            if delivered >= args.reminders:
                break
            if time.monotonic() - last_arrival > 180:
                break  # nothing for 3 minutes: report what is missing
            await asyncio.sleep(0.2)
    finally:
        stop_updates.set()
        await asyncio.gather(*writers, return_exceptions=True)
    result.burst_seconds = last_arrival - started
    result.lost = args.reminders - len(seen)
    result.twice = sum(count - 1 for count in seen.values() if count > 1)
    final = await fake.stats(since429=refused_base)
    result.refused = final.refused_count - refused_base
    result.refusals = [
        (wall - started_wall, describe_refusal(chat, wall, reason, final.sent))
        for chat, wall, reason in final.refused
    ]


def describe_refusal(chat: int, wall: float, reason: str, sent: list[Accepted]) -> str:
    """Why a 429 came: for a chat's, whose chat and how long after its last accepted message
    (a chat's limit is one a second: a gap far below it is a pacing bug, just below it
    requests reaching Telegram out of step)."""
    if reason != "chat":
        return reason
    who = "a reminder's" if chat >= USER_BASE else "a reply's"
    before = [item.wall for item in sent if item.chat_id == chat and item.wall <= wall]
    gap = f", {1000 * (wall - before[-1]):.0f} ms after its last message" if before else ""
    return f"chat ({who}{gap})"


async def kill_leader(
    workers: list[Worker],
    fake: FakeServer,
    result: Round,
    cwd: Path,
    http: aiohttp.ClientSession,
    delivered: int,
) -> None:
    leader = next(worker for worker in workers if worker.alive and worker.leading)
    sent_before = (await fake.stats()).sent_count
    print(f"  killing worker {leader.index} (the leader)", flush=True)
    await leader.kill()
    killed = time.monotonic()
    await leader.start(cwd)  # restarted at once, as systemd would (Restart=always)
    others_before = {w.index: w.process.stderr.count(LEADING) for w in workers if w.process}
    while True:
        now_leading = [
            w for w in workers
            if w.process is not None and w.process.stderr.count(LEADING) > others_before[w.index]
        ]
        if now_leading:
            break
        await asyncio.sleep(0.02)
    lead_seconds = time.monotonic() - killed
    while (await fake.stats()).sent_count <= sent_before:  # noqa: ASYNC110 - another process
        await asyncio.sleep(0.02)
    gap = time.monotonic() - killed
    result.kills.append((lead_seconds, gap, delivered))
    await wait_healthy(http, leader)


async def updates_phase(
    args: argparse.Namespace,
    workers: list[Worker],
    fake: FakeServer,
    http: aiohttp.ClientSession,
    result: Round,
) -> None:
    """No burst now: --updates notes from 50 people at once, round-robin over the workers."""
    cpu_before = sum(worker.cpu() for worker in workers)
    pg_before = postgres_cpu()
    started = time.monotonic()
    queue: asyncio.Queue[int] = asyncio.Queue()
    for number in range(args.updates):
        queue.put_nowait(number)

    async def person(person_id: int) -> None:
        while True:
            try:
                number = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            worker = workers[number % len(workers)]
            sent_at = time.monotonic()
            status = await post(http, worker, message_update(person_id, f"/note quick {number}"))
            if status == 200:
                result.latency.append(time.monotonic() - sent_at)
            else:
                result.update_errors += 1

    await asyncio.gather(*(person(PEOPLE_BASE + 500 + n) for n in range(50)))
    result.update_seconds = time.monotonic() - started
    result.updates = len(result.latency)
    result.worker_cpu = sum(worker.cpu() for worker in workers) - cpu_before
    result.postgres_cpu = postgres_cpu() - pg_before


def print_round(r: Round) -> None:
    print(f"N={r.workers}: {r.reminders} reminders: lost {r.lost}, twice {r.twice}, "
          f"429 {r.refused}; burst {r.burst_seconds:.1f} s for bound {r.bound:.1f} s "
          f"({r.burst_seconds / r.bound:.3f}x; {r.replies_in_burst} replies in it)")
    if r.refusals:
        print("  429s: " + ", ".join(f"{at:.1f} s {why}" for at, why in r.refusals[:12])
              + "; kills at " + ", ".join(f"{kill:.1f} s" for kill in r.kill_times))
    for at, latency, worker, person in r.slow_updates:
        print(f"  slow update: sent {at:.1f} s into the burst to worker {worker} (person"
              f" {person}), answered after {latency:.1f} s; kills at "
              + ", ".join(f"{kill:.1f} s" for kill in r.kill_times))
    for lead, gap, delivered in r.kills:
        print(f"  kill at {delivered} delivered: another process leads after {lead:.2f} s, "
              f"next message {gap:.2f} s after the kill")
    if r.burst_latency:
        print(f"  updates during the burst: {len(r.burst_latency)}, latency median "
              f"{statistics.median(r.burst_latency) * 1000:.0f} ms, p99 "
              f"{percentile(r.burst_latency, 0.99) * 1000:.0f} ms")
    if r.latency:
        cpu = r.worker_cpu + r.postgres_cpu
        rate = r.updates / r.update_seconds
        print(f"  {r.updates} updates in {r.update_seconds:.1f} s ({rate:.1f}/s,"
              f" errors {r.update_errors}); latency median "
              f"{statistics.median(r.latency) * 1000:.0f} ms, p99 "
              f"{percentile(r.latency, 0.99) * 1000:.0f} ms; CPU workers {r.worker_cpu:.1f} s + "
              f"PostgreSQL {r.postgres_cpu:.1f} s = {r.updates / cpu:.0f} updates per CPU-second")


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--reminders", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=2_000)
    parser.add_argument("--kill-at", default="0.25,0.6")
    parser.add_argument("--updates", type=int, default=1_000)
    parser.add_argument("--update-rate", type=int, default=2)
    return parser.parse_args(argv)


async def main_async(args: argparse.Namespace) -> int:
    print(f"Python {platform.python_version()}, CPUs {os.cpu_count()}, "
          f"{platform.machine()} {platform.system()}", flush=True)
    server = os.environ.get("BENCH_DATABASE_URL")
    directory: Path | None = None
    if not server:
        directory = Path(tempfile.mkdtemp(prefix="am-bench-postgres-"))
        server = pg_cluster.start(directory)
    cwd = Path(tempfile.mkdtemp(prefix="am-bench-workers-"))
    results = []
    try:
        for count in (int(n) for n in args.workers.split(",")):
            print(f"N={count} workers...", flush=True)
            result = await run_round(args, server, count, cwd)
            print_round(result)
            results.append(result)
    finally:
        if directory is not None:
            pg_cluster.stop(directory)
            shutil.rmtree(directory, ignore_errors=True)
        shutil.rmtree(cwd, ignore_errors=True)
    failed = [
        r for r in results
        if r.lost or r.refused or r.burst_seconds > TARGET_RATIO * r.bound
    ]
    return 1 if failed else 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
