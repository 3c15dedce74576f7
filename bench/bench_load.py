"""Benchmark a team's load through the one outbound stream: N people send /newclient and three
/task within a few seconds while a 3,000-reminder burst goes out, against a local fake Bot
API that enforces Telegram's limits.

The fake Bot API is tests/fakes/fake_bot_api.py with ``Limits()`` in a child process: at most
30 sending calls in any sliding second, at most one a second per chat; a call beyond them gets
429 ``retry_after`` 1 and starts a one-second flood pause in which every sending call gets 429
too (as Telegram does). It records the wall time each accepted message arrived.

The bot side is what ``python -m bot`` builds, in this process: a real aiogram Bot whose
AiohttpSession talks to the fake, the real Dispatcher with every router and middleware, the
Sender built by ``create_sender`` (the composition root's) and shared with the reminder runtime.
Updates are fed to the dispatcher as polling would hand them over (each in its own task, at
its moment); reminders are delivered by ``ReminderDelivery.deliver_due()`` from the same
moment on.

For each N (default 100 and 500), a fresh database:
- R reminders (default 3,000) for U users (default 600), all due;
- N people, each sending /newclient, then three /task, 0.5-1.2 s apart, starting at random
  within the first --window seconds (default 3);
- measured: replies delivered (each person must get 5 messages: the /newclient confirmation
  and card, and three task confirmations), duplicated, 429s received (and how many of them
  came inside a pause, i.e. were not the first of it), reply latency (from the update to the
  arrival of its confirmation) median and p99 against the rate bound, reminders lost and
  duplicated, the burst's delivery time against its bound ((R + 5N) / 30 s: replies and
  reminders share the 30 a second).

    python bench/bench_load.py [--people 100,500] [--reminders 3000] [--users 600]
                               [--window 3] [--seed 42]

A script that prints numbers, not a test. Percentiles are nearest-rank.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import logging
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiogram
import aiohttp
import aiosqlite
from aiogram.types import Chat, Message, MessageEntity, Update, User
from bench_reminders import (
    ALWAYS,
    KINDS,
    PHRASES,
    Accepted,
    LogCounter,
    check_refs,
    ensure_users,
    first_clients,
    make_settings,
    percentile,
    status_counts,
)

from bot.app import create_bot, create_dispatcher, create_sender, create_services
from bot.clock import SystemClock
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.runtime import Runtime, user_blocked
from storage.interfaces import Storage
from storage.models import PlannedReminder, ReminderPurpose
from storage.sqlite import open_sqlite_storage

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = Path(__file__).resolve()
TOKEN = "42:bench-reminders"  # make_settings (bench_reminders) uses this token
PER_SECOND = 30
TARGET_RATIO = 1.1
REMINDER_USER_BASE = 100_000
PERSON_BASE = 3_000_000
TASKS = (
    "/task Call {client} tomorrow at 10",
    "/task Send the invoice to {client} on Friday",
    "/task Prepare the report for {client} next week",
)
REPLIES_PER_PERSON = 5  # /newclient: confirmation + card; /task: one confirmation each

JSON = dict[str, Any]


# --- the fake Bot API (child process) -----------------------------------------------------


def fake_server_main() -> int:
    """Child process: FakeBotAPI with Telegram's limits; prints its URL and serves until its
    stdin closes. ``benchStats?since=A&since429=B`` answers what was accepted and refused."""
    from aiohttp import web

    from tests.fakes.fake_bot_api import FakeBotAPI, Limits

    class BenchBotAPI(FakeBotAPI):
        async def _read_params(self, request: web.Request) -> JSON:
            params = await super()._read_params(request)
            self.raw_requests.clear()  # not needed here; thousands of bodies would pile up
            return params

        async def _handle(self, request: web.Request) -> web.Response:
            if request.match_info["method"].lower() != "benchstats":
                return await super()._handle(request)
            since = int(request.query.get("since", "0"))
            since429 = int(request.query.get("since429", "0"))
            sent = [
                (params.get("chat_id"), str(params.get("text", "")), at)
                for (method, params), at in zip(self.calls, self.call_times, strict=True)
                if method == "sendMessage"
            ]
            refused = [(t.chat_id, t.at, t.reason) for t in self.too_many]
            return web.json_response({"ok": True, "result": {
                "sent": sent[since:], "sent_count": len(sent),
                "refused": refused[since429:], "refused_count": len(refused),
            }})

    async def serve() -> None:
        gc.disable()  # the fake must not be the one that stalls (see bench_reminders)
        api = BenchBotAPI(limits=Limits(per_second=PER_SECOND, chat_interval=1.0, retry_after=1))
        print(await api.start(), flush=True)
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
class Stats:
    sent: list[Accepted]
    sent_count: int
    refused: list[tuple[int, float, str]]  # (chat, wall time, reason)
    refused_count: int


class FakeServer:
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

    async def stats(self, since: int = 0, since429: int = 0) -> Stats:
        assert self._http is not None
        url = f"{self.base_url}/bot{TOKEN}/benchStats"
        async with self._http.get(url, params={"since": since, "since429": since429}) as answer:
            result = (await answer.json())["result"]
        return Stats(
            sent=[Accepted(int(c), str(t), float(w)) for c, t, w in result["sent"]],
            sent_count=int(result["sent_count"]),
            refused=[(int(c), float(w), str(r)) for c, w, r in result["refused"]],
            refused_count=int(result["refused_count"]),
        )


# --- one round ------------------------------------------------------------------------------


@dataclass
class Round:
    people: int
    reminders: int
    replies_expected: int = 0
    replies_delivered: int = 0
    replies_duplicated: int = 0
    people_missing: int = 0
    latencies: list[float] = field(default_factory=list)
    reply_span: float = 0.0  # first command to last reply
    refused: Counter[str] = field(default_factory=Counter)
    pauses: int = 0
    reminders_missing: int = 0
    reminders_duplicated: int = 0
    reminders_sent: int = 0
    reminder_seconds: float = 0.0  # start to last reminder's arrival
    statuses: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)

    @property
    def reply_bound(self) -> float:
        return self.people * REPLIES_PER_PERSON / PER_SECOND

    @property
    def reminder_bound(self) -> float:
        return (self.reminders + self.people * REPLIES_PER_PERSON) / PER_SECOND


async def seed_reminders(
    storage: Storage, rng: random.Random, users: int, reminders: int
) -> set[tuple[int, int]]:
    """Users (working hours off), a client each, and one task per reminder, all due a
    minute ago (each text carries "ref USER:NUMBER")."""
    clock = SystemClock()
    ids = await ensure_users(
        storage, iter(range(REMINDER_USER_BASE, REMINDER_USER_BASE + users)), clock.now(), rng,
        hours=ALWAYS,
    )
    clients = await first_clients(storage, ids, clock.now())
    due = clock.now() - timedelta(minutes=1)
    owners = [ids[index % len(ids)] for index in range(reminders)]
    rng.shuffle(owners)
    numbers: Counter[int] = Counter()
    expected: set[tuple[int, int]] = set()
    for owner in owners:
        numbers[owner] += 1
        task = await storage.tasks.create(
            owner, client_id=clients[owner],
            text=f"{rng.choice(PHRASES)} · ref {owner}:{numbers[owner]}",
            kind=rng.choice(KINDS), due_at=due, now=clock.now(),
        )
        await storage.reminders.replace_for_task(
            owner, task.id, [PlannedReminder(ReminderPurpose.DUE, due, due)], clock.now()
        )
        expected.add((owner, task.number))
    return expected


def command(person: int, text: str, update_id: int) -> Update:
    entities = [MessageEntity(type="bot_command", offset=0, length=len(text.split(maxsplit=1)[0]))]
    return Update(
        update_id=update_id,
        message=Message(
            message_id=update_id, date=datetime.now(UTC),
            chat=Chat(id=person, type="private", first_name=f"P{person}"),
            from_user=User(id=person, is_bot=False, first_name=f"P{person}", language_code="en"),
            text=text, entities=entities,
        ),
    )


def reply_key(text: str) -> str | None:
    """Which expected reply a message is: "client", "card", "task 1".."task 3"."""
    if text.startswith("✅ Client"):
        return "client"
    if text.startswith("👤"):
        return "card"
    for number in (1, 2, 3):
        if f"✅ Task #{number}<" in text or f"✅ Task #{number} " in text:
            return f"task {number}"
    return None


async def run_round(
    server: FakeServer, args: argparse.Namespace, people: int, tmp: Path, logs: LogCounter,
    dates: DateParser,
) -> Round:
    result = Round(people=people, reminders=args.reminders)
    rng = random.Random(args.seed + people)
    path = tmp / f"load-{people}.sqlite3"
    print(f"\n[N={people}] seeding {args.reminders} due reminders for {args.users} users "
          f"into {path} ...", flush=True)
    storage = await open_sqlite_storage(path)
    expected_refs = await seed_reminders(storage, rng, args.users, args.reminders)
    settings = make_settings(server.base_url)
    clock = SystemClock()
    i18n = create_i18n(settings.default_language)
    bot = create_bot(settings)
    # As bot/__main__.py builds them: one sender, the services, the dispatcher, the runtime.
    sender = create_sender(bot, settings, on_blocked=user_blocked(storage.users))
    services = create_services(
        settings=settings, storage=storage, clock=clock, i18n=i18n, sender=sender
    )
    dispatcher = create_dispatcher(
        settings=settings, storage=storage, clock=clock, dates=dates, i18n=i18n,
        services=services,
    )
    runtime = Runtime.for_app(
        bot=bot, storage=storage, i18n=i18n, clock=clock, settings=settings,
        services=services,
    )
    before = await server.stats()
    persons = [PERSON_BASE + people * 10 + index for index in range(people)]
    # When each person sends each of their 4 commands (seconds from the start).
    plan: list[tuple[float, int, int, str]] = []
    for person in persons:
        at = rng.uniform(0.0, args.window)
        client = f"Client {person}"
        texts = [f"/newclient {client}"] + [t.format(client=client) for t in TASKS]
        for index, text in enumerate(texts):
            plan.append((at, person, index, text))
            at += rng.uniform(0.5, 1.2)
    plan.sort()
    fed: dict[tuple[int, int], float] = {}
    update_ids = iter(range(1, 10**9))
    pending: set[asyncio.Task[Any]] = set()

    async def storm(started: float) -> None:
        for at, person, index, text in plan:
            delay = started + at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            fed[(person, index)] = time.time()
            task = asyncio.create_task(
                dispatcher.feed_update(bot, command(person, text, next(update_ids)))
            )
            pending.add(task)
            task.add_done_callback(pending.discard)
        while pending:
            await asyncio.gather(*list(pending), return_exceptions=True)

    await sender.start()
    try:
        print(f"  {people} people × 4 commands within ~{args.window + 2.5:.0f} s, and the "
              f"reminder burst, from now ...", flush=True)
        started_wall = time.time()
        started = time.perf_counter()
        reminders_task = asyncio.create_task(runtime.delivery.deliver_due())
        await storm(started)
        storm_done = time.perf_counter() - started
        result.reminders_sent = await reminders_task
        burst_done = time.perf_counter() - started
        print(f"  commands answered after {storm_done:.1f} s; deliver_due() returned "
              f"{result.reminders_sent} after {burst_done:.1f} s", flush=True)
    finally:
        await runtime.stop()
        await bot.session.close()
        await storage.backend.close()

    after = await server.stats(before.sent_count, before.refused_count)
    person_set = set(persons)
    got: dict[int, Counter[str]] = {person: Counter() for person in persons}
    arrival: dict[tuple[int, str], float] = {}
    reminder_msgs: list[Accepted] = []
    for item in after.sent:
        if item.chat_id in person_set:
            key = reply_key(item.text)
            if key is not None:
                got[item.chat_id][key] += 1
                arrival.setdefault((item.chat_id, key), item.wall)
        else:
            reminder_msgs.append(item)
    keys = ("client", "card", "task 1", "task 2", "task 3")
    result.replies_expected = people * REPLIES_PER_PERSON
    for person in persons:
        present = [key for key in keys if got[person][key]]
        result.replies_delivered += len(present)
        result.replies_duplicated += sum(count - 1 for count in got[person].values() if count > 1)
        result.people_missing += len(present) < len(keys)
    confirmation = {0: "client", 1: "task 1", 2: "task 2", 3: "task 3"}
    for (person, index), at in fed.items():
        arrived = arrival.get((person, confirmation[index]))
        if arrived is not None:
            result.latencies.append(arrived - at)
    reply_walls = list(arrival.values())
    result.reply_span = max(reply_walls, default=started_wall) - started_wall
    result.refused = Counter(reason for _, _, reason in after.refused)
    result.pauses = sum(1 for _, _, reason in after.refused if reason != "paused")
    missing, duplicated, _unexpected, _users = check_refs(reminder_msgs, expected_refs)
    result.reminders_missing = missing
    result.reminders_duplicated = duplicated
    result.reminder_seconds = (
        max((m.wall for m in reminder_msgs), default=started_wall) - started_wall
    )
    result.statuses = status_counts(path)
    result.warnings = logs.take()
    return result


def print_round(result: Round) -> None:
    lat = result.latencies
    print(f"  replies delivered {result.replies_delivered} / {result.replies_expected} "
          f"({result.people_missing} people missed one), duplicated {result.replies_duplicated}")
    if lat:
        print(f"  reply latency median {statistics.median(lat):.2f} s, p99 "
              f"{percentile(lat, 0.99):.2f} s, max {max(lat):.2f} s; all replies within "
              f"{result.reply_span:.1f} s of the first command (rate bound "
              f"{result.reply_bound:.1f} s = {result.replies_expected} / {PER_SECOND} per s)")
    total = sum(result.refused.values())
    print(f"  429s received {total}: {result.pauses} started a pause "
          f"({dict(result.refused)}); inside a pause {result.refused.get('paused', 0)}")
    print(f"  reminders: {result.reminders_sent} sent, missing {result.reminders_missing}, "
          f"duplicated {result.reminders_duplicated}; last arrived {result.reminder_seconds:.1f} s"
          f" after the start = {result.reminder_seconds / result.reminder_bound:.3f} × the bound "
          f"{result.reminder_bound:.1f} s ((R + 5N) / {PER_SECOND}); statuses {result.statuses}")
    for line in result.warnings[:10]:
        print(f"  log {line}")


def table(results: list[Round]) -> str:
    head = ("| N | replies delivered | duplicated | 429s (inside a pause) | reply latency "
            "median / p99 | all replies in (bound) | reminders in (bound, ratio) |")
    rows = [head, "|---|---|---|---|---|---|---|"]
    for r in results:
        lat = r.latencies or [float("nan")]
        rows.append(
            f"| {r.people} | {r.replies_delivered} / {r.replies_expected} | "
            f"{r.replies_duplicated} | {sum(r.refused.values())} "
            f"({r.refused.get('paused', 0)}) | {statistics.median(lat):.2f} s / "
            f"{percentile(lat, 0.99):.2f} s | {r.reply_span:.1f} s ({r.reply_bound:.1f} s) | "
            f"{r.reminder_seconds:.1f} s ({r.reminder_bound:.1f} s, "
            f"{r.reminder_seconds / r.reminder_bound:.3f}×) |"
        )
    return "\n".join(rows)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--people", default="100,500", help="comma-separated values of N")
    parser.add_argument("--reminders", type=int, default=3000, help="reminders in the burst")
    parser.add_argument("--users", type=int, default=600, help="users the reminders are for")
    parser.add_argument("--window", type=float, default=3.0,
                        help="people start within this many seconds")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--fake-server", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    args.rounds = [int(n) for n in args.people.split(",") if n.strip()]
    return args


async def main_async(args: argparse.Namespace) -> int:
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"aiogram {aiogram.__version__}, aiosqlite {aiosqlite.__version__}, "
          f"CPUs {os.cpu_count()}, {platform.machine()} {platform.system()}; "
          f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC")
    dates = DateParser()
    dates.warm()
    gc.freeze()  # as `python -m bot` does once it has started
    logs = LogCounter()
    logging.getLogger().addHandler(logs)
    logging.getLogger().setLevel(logging.WARNING)
    server = FakeServer()
    await server.start()
    print(f"Fake Bot API (child process) at {server.base_url}: ≤ {PER_SECOND} sending calls "
          "per sliding second, ≤ 1 per second per chat, else 429 retry_after 1 and a 1 s pause")
    results: list[Round] = []
    try:
        with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp_name:
            for people in args.rounds:
                result = await run_round(server, args, people, Path(tmp_name), logs, dates)
                print_round(result)
                results.append(result)
    finally:
        await server.stop()
    print()
    print(table(results))
    ok = all(
        r.replies_delivered == r.replies_expected and r.replies_duplicated == 0
        and r.reminders_missing == 0 and r.reminder_seconds <= TARGET_RATIO * r.reminder_bound
        for r in results
    )
    print("targets met" if ok else "TARGETS NOT MET")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.fake_server:
        return fake_server_main()
    with contextlib.suppress(KeyboardInterrupt):
        return asyncio.run(main_async(args))
    return 1


if __name__ == "__main__":
    sys.exit(main())
