"""Benchmark the Mini App over HTTP against a large SQLite database.

Seeds a fresh database (in a temp dir) for one user the way bench_agenda.py does (1,000
clients, 20,000 tasks over 90 past and 120 future days, a tenth done), plus unpaid invoices
in three currencies (each with its payment task), notes, a weekly cadence for a fifth of the
clients and a tenth of them former; then serves bot.webapp through aiohttp on 127.0.0.1 and
requests, one at a time with a correctly signed initData: the page (GET /app/), the board,
the agenda, the charts and the session. Prints per-request wall times (client side: HTTP,
authentication, queries, JSON) and checks every answer.

    python bench/bench_webapp.py [--requests 200] [--clients 1000] [--tasks 20000]
                                 [--invoices 400] [--notes 3000] [--warmup 10] [--seed 42]

gc.freeze() is called after one request of each, as `python -m bot` does after start-up.
This is a script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import hmac
import json
import os
import platform
import random
import statistics
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer
from bench_agenda import NOW, USER_ID, seed
from pydantic import SecretStr

from bot.app import create_services
from bot.clock import FrozenClock
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.settings import Settings
from bot.webapp.server import STATIC_DIR, add_webapp_routes
from storage.interfaces import Storage
from storage.models import ClientStatus, TaskKind
from storage.sqlite import open_sqlite_storage

TOKEN = "42:bench"
CURRENCIES = (("RUB", 0.7), ("USD", 0.2), ("EUR", 0.1))


def signed(user_id: int) -> str:
    fields = {
        "user": json.dumps({"id": user_id, "first_name": "Bench", "language_code": "ru"}),
        "auth_date": str(int(NOW.timestamp())),
    }
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields)


async def seed_extra(
    storage: Storage, rng: random.Random, *, invoices: int, notes: int, settings: Settings
) -> dict[str, int]:
    """Invoices (through the service: each has its payment task), notes, cadences, former."""
    clock = FrozenClock(NOW)
    services = create_services(
        settings=settings, storage=storage, clock=clock, i18n=create_i18n("ru")
    )
    summaries = await storage.clients.list_summaries(USER_ID, offset=0, limit=100_000)
    clients = [summary.client for summary in summaries]
    codes = [code for code, _share in CURRENCIES]
    weights = [share for _code, share in CURRENCIES]
    for _ in range(invoices):
        client = rng.choice(clients)
        await services.invoices.create(
            client, amount_minor=rng.randint(1_000, 50_000) * 100,
            currency=rng.choices(codes, weights)[0],
            due=NOW + timedelta(days=rng.randint(-60, 30), hours=rng.randint(0, 23)),
            note=None, task_text="Оплата счёта I{number}",
        )
    for _ in range(notes):
        await storage.notes.create(
            USER_ID, text="созвонились, всё по плану", client_id=rng.choice(clients).id,
            source_message_id=None, now=NOW - timedelta(days=rng.randint(0, 120)),
        )
    cadence = rng.sample(clients, len(clients) // 5)
    for client in cadence:
        await storage.series.create(
            USER_ID, client_id=client.id, text="еженедельный созвон", kind=TaskKind.CALL,
            rule=f"DTSTART:20260105T110000\nRRULE:FREQ=WEEKLY;BYDAY={rng.choice(['MO', 'WE'])}"
            ";BYHOUR=11;BYMINUTE=0",
            timezone="Europe/Moscow", source="cadence", now=NOW - timedelta(days=200),
        )
    former = rng.sample([c for c in clients if c not in cadence], len(clients) // 10)
    for client in former:
        await storage.clients.set_status(USER_ID, client.id, ClientStatus.FORMER, NOW)
    return {"invoices": invoices, "notes": notes, "cadence": len(cadence),
            "former": len(former), "active": len(clients) - len(former)}


def percentile(samples: list[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


async def measure(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str], requests: int,
    warmup: int, check: Any,
) -> tuple[list[float], int]:
    samples: list[float] = []
    size = 0
    for index in range(warmup + requests):
        started = time.perf_counter()
        async with session.get(url, headers=headers) as response:
            body = await response.read()
        elapsed = (time.perf_counter() - started) * 1000
        assert response.status == 200, (url, response.status, body[:200])
        if index == 0:
            check(body)
        if index >= warmup:
            samples.append(elapsed)
        size = len(body)
    return samples, size


async def main(args: argparse.Namespace) -> None:
    rng = random.Random(args.seed)
    settings = Settings.model_validate({
        "bot_token": SecretStr(TOKEN), "default_timezone": "Europe/Moscow",
        "default_language": "ru",
    })
    with tempfile.TemporaryDirectory() as directory:
        storage = await open_sqlite_storage(Path(directory) / "bench.sqlite3")
        try:
            started = time.perf_counter()
            seeded = await seed(storage, rng, args.clients, args.tasks)
            extra = await seed_extra(
                storage, rng, invoices=args.invoices, notes=args.notes, settings=settings
            )
            seconds = time.perf_counter() - started
            print(f"seeded {seeded.clients} clients ({extra['active']} active, "
                  f"{extra['former']} former, {extra['cadence']} with a weekly cadence), "
                  f"{seeded.tasks} tasks + {extra['invoices']} invoices with their payment "
                  f"tasks, {extra['notes']} notes in {seconds:.0f} s")
            clock = FrozenClock(NOW)
            dates = DateParser()
            services = create_services(
                settings=settings, storage=storage, clock=clock, i18n=create_i18n("ru")
            )
            app = web.Application()
            add_webapp_routes(
                app, storage=storage, services=services, clock=clock, dates=dates,
                i18n=create_i18n("ru"), settings=settings,
            )
            server = TestServer(app, host="127.0.0.1")
            await server.start_server()
            headers = {"Authorization": "tma " + signed(USER_ID)}

            def board_check(body: bytes) -> None:
                board = json.loads(body)
                total = len(board["clients"]) + len(board["former"])
                assert total == seeded.clients, total
                assert len(board["former"]) == extra["former"]
                first = board["clients"][0]
                assert first["overdue_tasks"] > 0, first

            def agenda_check(body: bytes) -> None:
                groups = {group["key"]: group for group in json.loads(body)["groups"]}
                assert groups["overdue"]["total"] >= seeded.overdue_before_today
                assert groups["today"]["total"] >= seeded.due_today_open

            def charts_check(body: bytes) -> None:
                charts = json.loads(body)
                assert {item["currency"] for item in charts["ageing"]} == {"RUB", "USD", "EUR"}
                assert sum(item["count"] for item in charts["freshness"]) == extra["active"]
                assert len(charts["workload"]["days"]) == 14

            def page_check(body: bytes) -> None:
                assert b"<" in body

            def session_check(body: bytes) -> None:
                assert json.loads(body)["locale"] == "ru"

            targets = [
                ("GET /app/api/board", "/app/api/board", headers, board_check),
                ("GET /app/api/agenda", "/app/api/agenda", headers, agenda_check),
                ("GET /app/api/charts", "/app/api/charts", headers, charts_check),
                ("GET /app/api/session", "/app/api/session", headers, session_check),
            ]
            if (STATIC_DIR / "index.html").is_file():
                targets.insert(0, ("GET /app/ (the page)", "/app/", {}, page_check))
            else:
                print("bot/webapp/static/index.html is missing: the page is not measured")
            print(f"Python {platform.python_version()}, {os.cpu_count()} CPUs, "
                  f"{args.requests} requests each after {args.warmup} warm-up, one at a time")
            print(f"{'request':<24} {'median ms':>10} {'p99 ms':>8} {'max ms':>8} {'bytes':>9}")
            async with aiohttp.ClientSession() as session:
                # One request of each first (Babel's locale data, the page's file), then
                # gc.freeze() as `python -m bot` does once it has started: without it a
                # full collection over the seeding's leftovers costs 200 ms now and then.
                for _label, path, sent, _check in targets:
                    async with session.get(str(server.make_url(path)), headers=sent) as first:
                        await first.read()
                gc.collect()
                gc.freeze()
                for label, path, sent, check in targets:
                    samples, size = await measure(
                        session, str(server.make_url(path)), sent, args.requests,
                        args.warmup, check,
                    )
                    print(f"{label:<24} {statistics.median(samples):>10.1f} "
                          f"{percentile(samples, 0.99):>8.1f} {max(samples):>8.1f} "
                          f"{size:>9,}")
            await server.close()
        finally:
            await storage.backend.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--invoices", type=int, default=400)
    parser.add_argument("--notes", type=int, default=3000)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--seed", type=int, default=42)
    asyncio.run(main(parser.parse_args()))
