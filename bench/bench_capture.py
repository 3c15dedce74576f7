"""Benchmark quick capture (plain text → note) and /find through the real dispatcher.

1. capture: N plain-text messages (mixed Russian/English, 20-300 characters, some starting with
   "<client name>: " for a seeded client, some with a colon that names nobody) are fed one by
   one to the app's dispatcher (all middlewares, the notes handler, storage with its
   synchronous=FULL commits, an in-process LocalSession bot) and, interleaved, the same
   messages to a bare aiogram Dispatcher whose one handler does nothing. Run twice: on a
   database with clients only, and again once the big note set is seeded.
2. /find: one user with --notes notes (default 100,000) over --clients clients (500) and a
   second user with --other-notes (10,000) of the same kind; /find <query> for a set of
   queries through the real dispatcher; then, at storage level, notes.search() alone, the
   FTS5 query behind it (ranked, counted, newest-first), loading the hits' notes one by one
   (as the handler does) and with one query, and a `text LIKE '%word%'` scan over the same
   rows as a baseline.

    python bench/bench_capture.py [--messages 2000] [--clients 500] [--notes 100000]
                                  [--other-notes 10000] [--requests 300] [--warmup 20]
                                  [--storage-requests 100] [--baseline-requests 30]
                                  [--breakdown 200] [--seed 42] [--dir DIR] [--profile]

Notes are bulk-inserted with executemany into the real `notes` table (the real triggers fill
the FTS5 index), in batches of 5,000 per transaction; clients are made by clients.create.
This is a script that prints numbers, not a test; every app reply is checked.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import html
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
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiogram
import aiosqlite
from aiogram import Bot, Dispatcher, Router
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
from storage.interfaces import Storage
from storage.models import SearchKind
from storage.sqlite import Database, open_sqlite_storage
from storage.sqlite.codec import encode_time
from storage.sqlite.notes import RANKED_MATCHES as RANKED
from storage.sqlite.notes import fts_query
from storage.stemming import matches as stem_matches
from storage.stemming import search_prefix, search_terms

NOW = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
TIMEZONE = "Europe/Moscow"
USER_ID = 1
OTHER_USER_ID = 2
OTHER_CLIENTS = 50
TOKEN = "42:bench"
LANGUAGE = "ru"
FIND_LIMIT = 30  # handlers.notes.FIND_LIMIT
TARGET_RATIO = 0.5  # capture rate >= 0.5 x bare dispatch rate
TARGET_P99_MS = 20.0  # /find
BATCH = 5000
ATTACHED_SHARE = 0.7  # seeded notes that belong to a client
PREFIX_SHARE = 0.3  # captured messages that start with "<client name>: "
FALSE_PREFIX_SHARE = 0.05  # "Важно: ..." - a colon that names no client
RARE_SHARE = 0.0005

QUERIES: tuple[tuple[str, str], ...] = (
    ("common word", "клиент"),
    ("common, English", "invoice"),
    ("rare word", "эскроу"),
    ("prefix", "бюдж"),
    ("two words", "бюджет январь"),
    ("another form (stem)", "бюджета"),
    ("no match", "зеленоград"),
)

RU_NOTES = (
    "клиент просит перенести созвон на следующую неделю",
    "согласовали бюджет на январь",
    "бюджет на рекламу урезали на 15%",
    "ждут счёт до пятницы",
    "оплата задерживается, бухгалтерия клиента в отпуске",
    "хотят SMM с января",
    "недовольны отчётом за ноябрь",
    "ЛПР сменился, новый контакт в отделе маркетинга",
    "просят скидку 10% при предоплате за год",
    "обсудили KPI на квартал",
    "нужен акт сверки за год",
    "договор на подписи у юристов",
    "готовы расширить бюджет, если будут лиды",
    "прислали правки к макетам баннеров",
    "запуск кампании переносится на две недели",
    "встреча прошла хорошо, ждут КП",
    "жалоба на скорость ответа поддержки",
    "у клиента новый маркетолог, надо познакомиться",
    "отчёт отправлен, вопросов нет",
    "попросили выгрузку по конверсиям",
    "тендер в феврале, готовим предложение",
    "клиент доволен результатами по контексту",
    "бюджета на Q2 пока нет, вернуться в марте",
    "созвон с финансовым директором по бюджетированию",
    "выставили счёт за декабрь",
    "просили не звонить до обеда",
    "продление договора обсудим в январе",
    "клиенту нужен доступ к дашборду",
    "тестируют конкурента, риск ухода",
    "предложили пилот на месяц",
    "сдвинули дедлайн по лендингу",
    "ждём логотип в векторе",
)
EN_NOTES = (
    "client wants to move the call to next week",
    "budget approved for Q1",
    "waiting for the signed contract",
    "invoice sent, payment expected by Friday",
    "they asked for a discount on the annual plan",
    "new marketing lead, intro call scheduled",
    "unhappy with the November report",
    "need the reconciliation statement",
    "campaign launch postponed",
    "renewal looks likely",
    "asked for a conversion export",
    "the client is testing a competitor",
    "overdue invoice, reminded the accountant",
    "they liked the new dashboard",
    "procurement needs a vendor form",
    "pilot for one month, then a yearly contract",
    "legal is reviewing the NDA",
    "budget freeze until February",
)
NAMES = ("Ирина", "Олег", "Мария", "Сергей", "Анна", "Дмитрий", "John", "Anna", "Peter", "Kate")
FALSE_PREFIXES = ("Важно", "Итого", "Note", "Upd", "Вопрос")
RARE = ("предлагают расчёт через эскроу", "escrow? они за эскроу-счёт")
CLIENT_ROOTS = (
    "Ромашка", "Вектор", "Северсталь-Сервис", "Альфа", "Гранит", "Восход", "Меридиан",
    "Техносфера", "Сибирь", "Арсенал", "Nordwind", "Bluefin", "Acme", "Globex", "Initech",
    "Umbrella", "Stark", "Wayne", "Soylent", "Hooli", "Pied Piper", "Vandelay", "Cyberdyne",
    "Tyrell", "Wonka", "Aperture", "Black Mesa", "Oceanic", "Monarch", "Dunder Mifflin",
)
CLIENT_CITIES = (
    "Москва", "Петербург", "Казань", "Екатеринбург", "Новосибирск", "Самара", "Пермь",
    "Тверь", "Сочи", "Уфа", "Berlin", "London", "Dubai", "Almaty", "Minsk", "Yerevan",
    "Tbilisi", "Riga", "Warsaw", "Prague",
)


# --- data ------------------------------------------------------------------------------------


def client_names(rng: random.Random, count: int) -> list[str]:
    combos = [f"{root} {city}" for root, city in itertools.product(CLIENT_ROOTS, CLIENT_CITIES)]
    if count <= len(combos):
        return rng.sample(combos, count)
    return [f"{name} {index}" for index, name in enumerate(rng.choices(combos, k=count))]


def detail(rng: random.Random) -> str:
    kind = rng.randrange(5)
    if kind == 0:
        return f"сумма {rng.randint(5, 950)} тыс. ₽"
    if kind == 1:
        return f"до {rng.randint(1, 28)}.{rng.randint(1, 12):02}"
    if kind == 2:
        return f"заказ № {rng.randint(1000, 99999)}"
    if kind == 3:
        return f"контакт — {rng.choice(NAMES)}"
    return f"{rng.randint(2, 40)}% conversion"


def note_text(rng: random.Random) -> str:
    """A note of 20-300 characters (median about 80), 70 % Russian."""
    target = max(20, min(300, round(rng.lognormvariate(4.4, 0.6))))
    phrases = RU_NOTES if rng.random() < 0.7 else EN_NOTES
    text = rng.choice(RARE) if rng.random() < RARE_SHARE else rng.choice(phrases)
    text = text[0].upper() + text[1:]
    while len(text) < target:
        part = detail(rng) if rng.random() < 0.3 else rng.choice(phrases)
        text += rng.choice((", ", "; ", ". ", " — ")) + part
    if len(text) > target:
        cut = text.rfind(" ", 20, target + 1)
        text = text[:cut] if cut > 0 else text[:target]
    return text.rstrip(",;—. ")


@dataclass(frozen=True, slots=True)
class Capture:
    text: str  # what the user sends
    client: str | None  # the client it should attach to


def capture_messages(rng: random.Random, names: Sequence[str], count: int) -> list[Capture]:
    out = []
    for _ in range(count):
        body = note_text(rng)
        roll = rng.random()
        if roll < PREFIX_SHARE:
            name = rng.choice(names)
            out.append(Capture(f"{name}: {body}", name))
        elif roll < PREFIX_SHARE + FALSE_PREFIX_SHARE:
            out.append(Capture(f"{rng.choice(FALSE_PREFIXES)}: {body}", None))
        else:
            out.append(Capture(body, None))
    return out


async def create_clients(storage: Storage, owner: int, names: Sequence[str]) -> list[int]:
    return [
        (await storage.clients.create(owner, name, NOW - timedelta(days=400))).id
        for name in names
    ]


async def bulk_notes(
    database: Database, rng: random.Random, owner: int, client_ids: Sequence[int], count: int
) -> float:
    """Insert count notes over the past two years, oldest first; returns seconds."""
    if count <= 0:
        return 0.0
    start = NOW - timedelta(days=730)
    step = timedelta(days=729) / count
    started = time.perf_counter()
    for offset in range(0, count, BATCH):
        rows = []
        for index in range(offset, min(count, offset + BATCH)):
            stamp = encode_time(start + step * index)
            client = rng.choice(client_ids) if rng.random() < ATTACHED_SHARE else None
            rows.append((owner, client, note_text(rng), 10_000_000 + index, stamp, stamp))
        async with database.transaction() as conn:
            await conn.executemany(
                "INSERT INTO notes (owner_id, client_id, text, source_message_id, created_at,"
                " updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                rows,
            )
    return time.perf_counter() - started


# --- feeding updates -------------------------------------------------------------------------


class Updates:
    """Private-chat messages from user 1, as Telegram would deliver them."""

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._user = User(id=USER_ID, is_bot=False, first_name="Bench", language_code=LANGUAGE)
        self._chat = Chat(id=USER_ID, type="private")

    def text(self, text: str, command: str | None = None) -> Update:
        number = next(self._ids)
        entities = None
        if command is not None:
            entities = [MessageEntity(type="bot_command", offset=0, length=len(command) + 1)]
        return Update(
            update_id=number,
            message=Message(
                message_id=number, date=NOW, chat=self._chat, from_user=self._user,
                text=text, entities=entities,
            ),
        )

    def find(self, query: str) -> Update:
        return self.text(f"/find {query}", "find")


@dataclass(slots=True)
class Endpoint:
    dispatcher: Dispatcher
    bot: Bot
    session: LocalSession


async def feed(endpoint: Endpoint, update: Update) -> tuple[int, list[str]]:
    """Wall nanoseconds of one feed_update, and the texts it sent."""
    started = time.perf_counter_ns()
    await endpoint.dispatcher.feed_update(endpoint.bot, update)
    elapsed = time.perf_counter_ns() - started
    texts = [m.text for m in endpoint.session.requests if isinstance(m, SendMessage)]
    endpoint.session.requests.clear()
    endpoint.session.responses.clear()
    return elapsed, texts


def bare_dispatcher() -> Dispatcher:
    dispatcher = Dispatcher()
    router = Router(name="bench-bare")

    @router.message()
    async def anything(message: Message) -> None:
        return None

    dispatcher.include_router(router)
    return dispatcher


class GcPauses:
    """Garbage-collector pauses while installed in gc.callbacks."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
        else:
            self.pauses.append((time.perf_counter_ns() - self._started) / 1e6)

    def __enter__(self) -> GcPauses:
        gc.callbacks.append(self)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self)

    def summary(self) -> str:
        return (f"{len(self.pauses)} GC pauses, max {max(self.pauses, default=0):.1f} ms, "
                f"total {sum(self.pauses):.0f} ms")


# --- statistics and tables -------------------------------------------------------------------


def percentile(samples: Sequence[int], fraction: float) -> int:
    """Nearest-rank percentile."""
    ordered = sorted(samples)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def ms(value: float) -> str:
    return f"{value / 1e6:.2f}"


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    every = [list(header), *[list(row) for row in rows]]
    widths = [max(len(row[i]) for row in every) for i in range(len(header))]
    lines = []
    for index, row in enumerate(every):
        cells = [row[0].ljust(widths[0])] + [
            cell.rjust(width) for cell, width in zip(row[1:], widths[1:], strict=True)
        ]
        lines.append("| " + " | ".join(cells) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
    return "\n".join(lines)


def latency_row(label: str, samples: Sequence[int], extra: Sequence[str] = ()) -> list[str]:
    return [
        label, ms(statistics.median(samples)), ms(percentile(samples, 0.99)), ms(max(samples)),
        str(len(samples)), *extra,
    ]


LATENCY_HEADER = ("request", "median ms", "p99 ms", "max ms", "n")


async def time_call(call: Callable[[], Awaitable[Any]], repeat: int) -> list[int]:
    samples = []
    for _ in range(repeat):
        started = time.perf_counter_ns()
        await call()
        samples.append(time.perf_counter_ns() - started)
    return samples


def profile_report(profiler: cProfile.Profile, title: str) -> str:
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out)
    stats.sort_stats("tottime").print_stats(14)
    stats.sort_stats("cumulative").print_stats(r"/(bot|handlers|storage)/", 14)
    return (f"\ncProfile, {title}: by own time, then the app's functions by cumulative time "
            "(main thread only: SQLite runs in aiosqlite's thread; waiting for it is "
            f"select.epoll.poll):\n{out.getvalue()}")


# --- capture ---------------------------------------------------------------------------------


@dataclass(slots=True)
class Bench:
    storage: Storage
    database: Database
    app: Endpoint
    bare: Endpoint
    updates: Updates
    i18n: I18n

    def saved_text(self, client: str | None) -> str:
        if client is None:
            return "📝 " + self.i18n.gettext("Note saved.", locale=LANGUAGE)
        return "📝 " + self.i18n.gettext("Note saved → {client}", locale=LANGUAGE).format(
            client=html.escape(client, quote=False)
        )

    async def user_notes(self, attached: bool = False) -> int:
        row = await self.database.fetchone(
            "SELECT count(*) FROM notes WHERE owner_id = ? AND deleted_at IS NULL"
            + (" AND client_id IS NOT NULL" if attached else ""),
            (USER_ID,),
        )
        assert row is not None
        return int(row[0])


@dataclass(slots=True)
class CaptureRun:
    label: str
    notes_before: int
    app: list[int] = field(default_factory=list)
    bare: list[int] = field(default_factory=list)
    gc: str = ""

    @property
    def app_rate(self) -> float:
        return len(self.app) / (sum(self.app) / 1e9)

    @property
    def bare_rate(self) -> float:
        return len(self.bare) / (sum(self.bare) / 1e9)


async def capture_one(bench: Bench, item: Capture) -> int:
    elapsed, texts = await feed(bench.app, bench.updates.text(item.text))
    assert len(texts) == 1, f"capture answered {len(texts)} messages: {texts}"
    expected = bench.saved_text(item.client)
    assert texts[0] == expected, f"{item.text!r}: got {texts[0]!r}, expected {expected!r}"
    return elapsed


async def run_capture(
    bench: Bench, label: str, items: Sequence[Capture], warmup: Sequence[Capture]
) -> CaptureRun:
    before, attached_before = await bench.user_notes(), await bench.user_notes(attached=True)
    run = CaptureRun(label, before)
    app_updates = [bench.updates.text(item.text) for item in items]
    bare_updates = [bench.updates.text(item.text) for item in items]
    for item in warmup:
        await capture_one(bench, item)
        await feed(bench.bare, bench.updates.text(item.text))
    gc.collect()
    gc.freeze()
    with GcPauses() as pauses:
        for item, app_update, bare_update in zip(items, app_updates, bare_updates, strict=True):
            elapsed, texts = await feed(bench.app, app_update)
            assert texts == [bench.saved_text(item.client)], f"{item.text!r}: {texts}"
            run.app.append(elapsed)
            elapsed, texts = await feed(bench.bare, bare_update)
            assert not texts
            run.bare.append(elapsed)
    run.gc = pauses.summary()
    written = len(items) + len(warmup)
    attached = sum(item.client is not None for item in [*items, *warmup])
    assert await bench.user_notes() == before + written, "not every message became a note"
    assert await bench.user_notes(attached=True) == attached_before + attached
    return run


def capture_table(runs: Sequence[CaptureRun]) -> str:
    rows = []
    for run in runs:
        rows.append(latency_row(f"capture (app), {run.label}", run.app,
                                [f"{run.app_rate:,.0f}", ""]))
        rows.append(latency_row(f"bare Dispatcher, {run.label}", run.bare,
                                [f"{run.bare_rate:,.0f}", f"{run.app_rate / run.bare_rate:.3f}"]))
    return table((*LATENCY_HEADER, "per second", "app / bare"), rows)


@dataclass(slots=True)
class Traced:
    label: str
    statements: list[str]  # top-level statements, in order
    nested: int  # statements FTS5 runs inside the triggers (shown by the trace as "-- ...")
    hops: int  # aiosqlite calls: each is a round trip to its worker thread


async def trace_capture(bench: Bench, items: Sequence[tuple[str, Capture]]) -> list[Traced]:
    """The SQL each capture runs and the number of aiosqlite round trips it makes."""
    lines: list[str] = []
    connection = bench.database._connection
    original = connection._execute
    hops = 0

    async def counting(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        nonlocal hops
        hops += 1
        return await original(fn, *args, **kwargs)  # type: ignore[no-untyped-call]

    await connection.set_trace_callback(lines.append)
    connection._execute = counting  # type: ignore[method-assign]
    traced = []
    try:
        for label, item in items:
            lines.clear()
            hops = 0
            await capture_one(bench, item)
            # The trace repeats a statement when one of its triggers starts; keep it once.
            top = [line for line in lines if not line.startswith("--")]
            statements = [line for index, line in enumerate(top)
                          if index == 0 or line != top[index - 1]]
            traced.append(Traced(label, statements, len(lines) - len(top), hops))
    finally:
        del connection._execute
        await connection.set_trace_callback(None)  # type: ignore[arg-type]  # sqlite3 takes None
    return traced


async def capture_breakdown(
    bench: Bench, rng: random.Random, names: Sequence[str], client_ids: Sequence[int],
    repeat: int,
) -> list[list[str]]:
    """The calls behind one capture, timed one by one (each a round trip to SQLite's thread)."""
    storage, database = bench.storage, bench.database
    connection = database._connection
    fsm_key = f"42:{USER_ID}:{USER_ID}:::default"

    async def create(client: int | None) -> None:
        await storage.notes.create(USER_ID, text=note_text(rng), client_id=client,
                                   source_message_id=None, now=NOW)

    async def raw_insert() -> None:
        stamp = encode_time(NOW)
        async with database.transaction() as conn:
            await conn.execute(
                "INSERT INTO notes (owner_id, client_id, text, source_message_id, created_at,"
                " updated_at) VALUES (?, NULL, ?, NULL, ?, ?)",
                (USER_ID, note_text(rng), stamp, stamp),
            )

    async def send() -> None:
        await bench.app.bot.send_message(USER_ID, "📝 bench")
        bench.app.session.requests.clear()
        bench.app.session.responses.clear()

    calls: list[tuple[str, Callable[[], Awaitable[Any]]]] = [
        ("users.ensure (every update)", lambda: storage.users.ensure(USER_ID, NOW)),
        ("dialogs.get_state (FSM, every update)", lambda: storage.dialogs.get_state(fsm_key)),
        ("clients.match(exact name)", lambda: storage.clients.match(USER_ID, rng.choice(names))),
        ("clients.match(no such client)", lambda: storage.clients.match(USER_ID, "Важно")),
        ("notes.create(no client)", lambda: create(None)),
        ("notes.create(with client)", lambda: create(rng.choice(client_ids))),
        ("clients.recent(4)", lambda: storage.clients.recent(USER_ID, 4)),
        ("BEGIN; INSERT notes; COMMIT (raw)", raw_insert),
        ("Database.fetchone(SELECT 1): 3 trips", lambda: database.fetchone("SELECT 1")),
        ("execute_fetchall(SELECT 1): 1 trip", lambda: connection.execute_fetchall("SELECT 1")),
        ("bot.send_message via LocalSession", send),
    ]
    rows = [latency_row(label, await time_call(call, repeat)) for label, call in calls]
    await connection.execute("PRAGMA synchronous=NORMAL")
    try:
        rows.append(latency_row("  same raw insert, synchronous=NORMAL",
                                await time_call(raw_insert, repeat)))
        rows.append(latency_row("  notes.create(no client), NORMAL",
                                await time_call(lambda: create(None), repeat)))
    finally:
        await connection.execute("PRAGMA synchronous=FULL")
    return rows


# --- /find -----------------------------------------------------------------------------------

_TOKEN = re.compile(r"[^\W_]+")
_QUERY_WORD = re.compile(r"\w+")


def fold(text: str) -> str:
    return text.replace("ё", "е").replace("Ё", "Е").lower()


def index_string(text: str) -> str:
    """The text's tokens as the unicode61 tokenizer sees them, each preceded by a space."""
    return " " + " ".join(_TOKEN.findall(fold(text)))


@dataclass(slots=True)
class Query:
    label: str
    text: str
    terms: list[str]
    notes: int = 0  # the user's notes that match (computed in Python from the stored texts)
    clients: int = 0
    app: list[int] = field(default_factory=list)
    search: list[int] = field(default_factory=list)
    # Diagnostics (SQL run directly): label -> samples.
    fts: dict[str, list[int]] = field(default_factory=dict)
    gets: list[int] = field(default_factory=list)
    one_query: list[int] = field(default_factory=list)
    like_newest: list[int] = field(default_factory=list)
    like_all: list[int] = field(default_factory=list)
    like_matches: int = 0

    @property
    def total(self) -> int:
        return self.notes + self.clients

    def matches(self, indexed: str) -> bool:
        """Every term is one of the text's words in another form (the same stem): what
        /find promises ("бюджета" finds "бюджет", "акта" not "актуальный")."""
        words = indexed.split()
        return all(
            any(word.startswith(search_prefix(term)) and stem_matches(word, term)
                for word in words)
            for term in self.terms
        )


def expected_counts(path: Path, queries: Sequence[Query]) -> None:
    """Count matches from the stored texts with a separate read-only connection."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as conn:
        for (text,) in conn.execute(
            "SELECT text FROM notes WHERE owner_id = ? AND deleted_at IS NULL", (USER_ID,)
        ):
            indexed = index_string(text)
            for query in queries:
                query.notes += query.matches(indexed)
        for (name,) in conn.execute(
            "SELECT name FROM clients WHERE owner_id = ? AND deleted_at IS NULL", (USER_ID,)
        ):
            indexed = index_string(name)
            for query in queries:
                query.clients += query.matches(indexed)
    conn.close()


def find_check(bench: Bench, query: Query) -> Callable[[list[str]], None]:
    nothing = bench.i18n.gettext("Nothing found for {query}.", locale=LANGUAGE).split("{")[0]
    shown = min(FIND_LIMIT, query.total)

    def check(texts: list[str]) -> None:
        assert texts, f"/find {query.text}: no reply"
        reply = "\n".join(texts)
        if shown == 0:
            assert len(texts) == 1, texts
            assert reply.startswith(nothing), reply
            return
        assert reply.startswith("<b>🔎"), reply[:200]
        lines = sum(line.startswith(("📝 ", "👤 ")) for line in reply.split("\n"))
        assert lines == shown, f"/find {query.text}: {lines} results shown, expected {shown}"

    return check


async def check_index(bench: Bench, queries: Sequence[Query]) -> None:
    """The FTS index finds every match the Python count does (its stem prefix may find more
    candidates, which search() then drops), and user 1 never sees user 2's notes."""
    for query in queries:
        fts = fts_query(USER_ID, search_terms([query.text]))
        assert fts is not None
        row = await bench.database.fetchone(
            "SELECT count(*) FROM search_index WHERE search_index MATCH ?", (fts,)
        )
        assert row is not None
        assert row[0] >= query.total, f"{query.text}: FTS {row[0]}, expected {query.total}+"
        hits = await bench.storage.notes.search(USER_ID, query.text.split(), query.total + 10)
        ids = [hit.ref_id for hit in hits if hit.kind is SearchKind.NOTE]
        # search() ranks the newest RANKED matches only (storage/sqlite/notes.py).
        assert len(hits) == min(query.total, RANKED)
        for offset in range(0, len(ids), 500):
            chunk = ids[offset : offset + 500]
            row = await bench.database.fetchone(
                f"SELECT count(*) FROM notes WHERE owner_id != ? AND id IN"
                f" ({','.join('?' * len(chunk))})",
                (USER_ID, *chunk),
            )
            assert row is not None
            assert row[0] == 0, f"{query.text}: search returned another user's notes"


def like_sql(query: Query, newest: bool) -> tuple[str, list[object]]:
    where = " AND ".join("text LIKE ?" for _ in query.terms)
    sql = f"SELECT id FROM notes WHERE owner_id = ? AND deleted_at IS NULL AND {where}"
    if newest:
        sql += f" ORDER BY created_at DESC LIMIT {FIND_LIMIT}"
    words = _QUERY_WORD.findall(query.text)
    return sql, [USER_ID, *(f"%{word}%" for word in words)]


def fts_diagnostics(fts: str) -> list[tuple[str, str, tuple[object, ...]]]:
    """Where notes.search() spends its time: the same MATCH ranked, counted and unranked.

    rowid = id * 4 + kind, so ORDER BY rowid DESC is newest first: FTS5 walks the doclists
    backwards and stops at the LIMIT. The query without the owner phrase is diagnostic only
    (it would find other users' rows).
    """
    ranked = ("SELECT rowid, bm25(search_index, 0.0, 1.0) AS rank FROM search_index"
              f" WHERE search_index MATCH ? ORDER BY rank LIMIT {FIND_LIMIT}")
    body = fts.split(" AND (", 1)[1][:-1]
    return [
        ("bm25 as the app", ranked, (fts,)),
        ("bm25, no owner phrase", ranked, (body,)),
        ("count(*) of matches", "SELECT count(*) FROM search_index WHERE search_index MATCH ?",
         (fts,)),
        ("newest 30, unranked", "SELECT rowid FROM search_index WHERE search_index MATCH ?"
         f" ORDER BY rowid DESC LIMIT {FIND_LIMIT}", (fts,)),
    ]


async def run_find(bench: Bench, queries: Sequence[Query], args: argparse.Namespace) -> (
    list[int]
):
    checks = [find_check(bench, query) for query in queries]
    bare: list[int] = []
    for _ in range(args.warmup):
        for query, check in zip(queries, checks, strict=True):
            check((await feed(bench.app, bench.updates.find(query.text)))[1])
    gc.collect()
    gc.freeze()
    for _ in range(args.requests):
        for query, check in zip(queries, checks, strict=True):
            elapsed, texts = await feed(bench.app, bench.updates.find(query.text))
            check(texts)
            query.app.append(elapsed)
        bare.append((await feed(bench.bare, bench.updates.find(queries[0].text)))[0])

    notes, database = bench.storage.notes, bench.database
    hit_ids = {}
    for query in queries:
        hits = await notes.search(USER_ID, query.text.split(), FIND_LIMIT)
        hit_ids[query.text] = [hit.ref_id for hit in hits if hit.kind is SearchKind.NOTE]
    for _ in range(args.storage_requests):
        for query in queries:
            words = query.text.split()
            fts = fts_query(USER_ID, search_terms(words))
            assert fts is not None
            started = time.perf_counter_ns()
            await notes.search(USER_ID, words, FIND_LIMIT)
            query.search.append(time.perf_counter_ns() - started)
            for label, fts_sql, fts_params in fts_diagnostics(fts):
                started = time.perf_counter_ns()
                await database.fetchall(fts_sql, fts_params)
                query.fts.setdefault(label, []).append(time.perf_counter_ns() - started)
            ids = hit_ids[query.text]
            started = time.perf_counter_ns()
            for note_id in ids:
                await notes.get(USER_ID, note_id)
            query.gets.append(time.perf_counter_ns() - started)
            started = time.perf_counter_ns()
            await database.fetchall(
                "SELECT n.*, c.name AS client_name FROM notes n LEFT JOIN clients c"
                # "+owner_id": with 30 ids SQLite would otherwise walk the owner's index.
                f" ON c.id = n.client_id WHERE n.id IN ({','.join('?' * len(ids))})"
                " AND +n.owner_id = ? AND n.deleted_at IS NULL",
                (*ids, USER_ID),
            )
            query.one_query.append(time.perf_counter_ns() - started)
    for _ in range(args.baseline_requests):
        for query in queries:
            sql, params = like_sql(query, newest=True)
            started = time.perf_counter_ns()
            await database.fetchall(sql, params)
            query.like_newest.append(time.perf_counter_ns() - started)
            sql, params = like_sql(query, newest=False)
            started = time.perf_counter_ns()
            rows = await database.fetchall(sql, params)
            query.like_all.append(time.perf_counter_ns() - started)
            query.like_matches = len(rows)
    return bare


def find_tables(queries: Sequence[Query], bare: list[int]) -> str:
    app_rows = [
        latency_row(f"/find {query.text}  ({query.label})", query.app, [f"{query.total:,}"])
        for query in queries
    ]
    app_rows.append(latency_row("/find (bare Dispatcher)", bare, ["-"]))
    store_rows = []
    for query in queries:
        store_rows.append([
            query.text,
            *(f"{ms(statistics.median(samples))} / {ms(percentile(samples, 0.99))}"
              for samples in (query.search, query.gets, query.one_query,
                              query.like_newest, query.like_all)),
            f"{query.like_matches:,}",
        ])
    return (
        table((*LATENCY_HEADER, "FTS matches"), app_rows)
        + "\n\nStorage level, median / p99 ms (LIKE: "
        f"{len(queries[0].like_all)} each, the rest {len(queries[0].search)} each):\n"
        + table(
            ("query", "notes.search()", "notes.get × hits", "1 query for hits",
             "LIKE newest 30", "LIKE all rows", "LIKE rows"),
            store_rows,
        )
        + "\n\nThe FTS5 query behind notes.search(), run directly, median ms:\n"
        + table(
            ("query", *queries[0].fts),
            [[query.text, *(ms(statistics.median(samples)) for samples in query.fts.values())]
             for query in queries],
        )
    )


# --- main ------------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=2000, help="captured messages per run")
    parser.add_argument("--clients", type=int, default=500, help="clients of the user")
    parser.add_argument("--notes", type=int, default=100_000, help="the user's notes at /find")
    parser.add_argument("--other-notes", type=int, default=10_000, help="a second user's notes")
    parser.add_argument("--requests", type=int, default=300, help="measured /find per query")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests")
    parser.add_argument("--storage-requests", type=int, default=100,
                        help="storage-level calls per query (notes.search, FTS, loads)")
    parser.add_argument("--baseline-requests", type=int, default=30,
                        help="LIKE scans per query (each reads every note of the user)")
    parser.add_argument("--breakdown", type=int, default=200, help="repeats per timed call")
    parser.add_argument("--seed", type=int, default=42, help="RNG seed for the data")
    parser.add_argument("--dir", type=Path, default=None,
                        help="where to make the temporary database (default: the system temp)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile 300 captures and 50 × /find of the common word")
    args = parser.parse_args(argv)
    if (args.messages < 10 or args.clients < 1 or args.notes < 0 or args.other_notes < 0
            or args.requests < 1 or args.warmup < 0 or args.baseline_requests < 1
            or args.storage_requests < 1):
        parser.error("need --messages >= 10, --clients >= 1, --requests, --storage-requests "
                     "and --baseline-requests >= 1, sizes >= 0")
    return args


def filesystem(path: Path) -> str:
    best, kind = "", "?"
    try:
        with open("/proc/mounts", encoding="utf-8") as mounts:
            for line in mounts:
                parts = line.split()
                mount = parts[1] if len(parts) >= 3 else ""
                if mount and str(path).startswith(mount) and len(mount) > len(best):
                    best, kind = parts[1], parts[2]
    except OSError:
        pass
    return kind


async def main_async(args: argparse.Namespace) -> int:
    print(f"Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
          f"aiogram {aiogram.__version__}, aiosqlite {aiosqlite.__version__}, "
          f"CPUs {os.cpu_count()}, {platform.machine()} {platform.system()} {platform.release()}")
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-capture-", dir=args.dir) as tmp:
        path = Path(tmp) / "bench.sqlite3"
        print(f"Database {path} ({filesystem(path.resolve())}), synchronous=FULL, WAL")
        storage = await open_sqlite_storage(path)
        try:
            database = storage.backend
            assert isinstance(database, Database)
            return await run(args, rng, storage, database, path)
        finally:
            await storage.backend.close()


async def run(
    args: argparse.Namespace, rng: random.Random, storage: Storage, database: Database,
    path: Path,
) -> int:
    started = time.perf_counter()
    for user in (USER_ID, OTHER_USER_ID):
        await storage.users.ensure(user, NOW - timedelta(days=800))
        await storage.users.set_timezone(user, TIMEZONE)
    names = client_names(rng, args.clients)
    client_ids = await create_clients(storage, USER_ID, names)
    other_ids = await create_clients(storage, OTHER_USER_ID, client_names(rng, OTHER_CLIENTS))
    print(f"{args.clients} + {OTHER_CLIENTS} clients via clients.create in "
          f"{time.perf_counter() - started:.1f} s")

    settings = Settings(_env_file=None, default_timezone=TIMEZONE, throttle_burst=0)
    bot_settings = settings.model_copy(update={"bot_token": SecretStr(TOKEN)})
    dates = DateParser()
    dates.warm()
    i18n = create_i18n(settings.default_language)
    app = create_dispatcher(settings=settings, storage=storage, clock=FrozenClock(NOW),
                            dates=dates, i18n=i18n)
    app_session, bare_session = LocalSession(), LocalSession()
    bench = Bench(
        storage, database,
        Endpoint(app, create_bot(bot_settings, session=app_session), app_session),
        Endpoint(bare_dispatcher(), create_bot(bot_settings, session=bare_session),
                 bare_session),
        Updates(), i18n,
    )
    warmup = min(args.warmup, args.messages)

    # 1a. capture into a database that has clients but no notes
    runs = []
    items = capture_messages(rng, names, args.messages)
    print(f"\nCapture 1: {warmup} warm-up + {args.messages} messages "
          f"({sum(i.client is not None for i in items)} with a client prefix), app and bare "
          "interleaved ...", flush=True)
    runs.append(await run_capture(bench, "no notes yet", items,
                                  capture_messages(rng, names, warmup)))

    # 2. seed the big note set
    breakdown_writes = 4 * args.breakdown  # capture_breakdown's creates and raw inserts
    current = await bench.user_notes()
    bulk = args.notes - current - args.messages - warmup - breakdown_writes
    print(f"\nSeeding {max(bulk, 0):,} notes for user {USER_ID} and {args.other_notes:,} for "
          f"user {OTHER_USER_ID} with executemany ({BATCH} per transaction) ...", flush=True)
    seconds = await bulk_notes(database, rng, USER_ID, client_ids, bulk)
    seconds += await bulk_notes(database, rng, OTHER_USER_ID, other_ids, args.other_notes)
    size = sum(p.stat().st_size for p in path.parent.iterdir()) / 2**20
    inserted = max(bulk, 0) + args.other_notes
    print(f"Seeded in {seconds:.1f} s ({inserted / max(seconds, 1e-9):,.0f} notes/s with the "
          f"FTS triggers); database + WAL {size:.0f} MiB")

    # 1b. capture again, into the big database
    items = capture_messages(rng, names, args.messages)
    print(f"\nCapture 2: {warmup} warm-up + {args.messages} messages into "
          f"{await bench.user_notes():,} notes ...", flush=True)
    runs.append(await run_capture(bench, f"{await bench.user_notes():,} notes", items,
                                  capture_messages(rng, names, warmup)))
    print()
    print(capture_table(runs))
    for run_ in runs:
        print(f"  {run_.label}: {run_.gc}")
    ratio = min(run_.app_rate / run_.bare_rate for run_ in runs)
    verdict = "meets" if ratio >= TARGET_RATIO else "MISSES"
    print(f"\nTarget capture >= {TARGET_RATIO} x bare dispatch: {verdict} (worst {ratio:.3f})")

    print("\nSQL per capture (sqlite3 trace callback; aiosqlite round trips counted):")
    for traced in await trace_capture(bench, [
        ("client prefix", Capture(f"{names[0]}: {note_text(rng)}", names[0])),
        ("plain text", Capture(note_text(rng), None)),
        ("colon, no such client", Capture(f"Важно: {note_text(rng)}", None)),
    ]):
        print(f"  {traced.label}: {len(traced.statements)} statements, {traced.nested} more run "
              f"by FTS5 inside triggers, {traced.hops} aiosqlite round trips")
        for statement in traced.statements:
            print(f"      {' '.join(statement.split())[:92]}")

    print(f"\nCalls behind one capture, timed one by one ({args.breakdown} each):")
    print(table(LATENCY_HEADER, await capture_breakdown(
        bench, rng, names, client_ids, args.breakdown)))

    # 3. /find
    queries = [Query(label, text, [fold(w) for w in _QUERY_WORD.findall(text)])
               for label, text in QUERIES]
    started = time.perf_counter()
    expected_counts(path, queries)
    await check_index(bench, queries)
    total = await bench.user_notes()
    print(f"\n/find over {total:,} notes of user {USER_ID} ({args.clients} clients; user "
          f"{OTHER_USER_ID} has {args.other_notes:,}); expected matches counted in Python from "
          f"the stored texts and checked against the FTS index in "
          f"{time.perf_counter() - started:.1f} s")
    print(f"Feeding {args.warmup} warm-up + {args.requests} measured /find per query "
          "(round-robin), then the storage-level calls ...", flush=True)
    started = time.perf_counter()
    bare = await run_find(bench, queries, args)
    print(f"Done in {time.perf_counter() - started:.1f} s; every reply checked.\n")
    print(find_tables(queries, bare))
    worst = max(percentile(query.app, 0.99) for query in queries) / 1e6
    verdict = "meets" if worst < TARGET_P99_MS else "MISSES"
    print(f"\nTarget /find p99 < {TARGET_P99_MS:.0f} ms: {verdict} (worst p99 {worst:.2f} ms)")

    if args.profile:
        profiler = cProfile.Profile()
        profile_items = capture_messages(rng, names, 300)
        profiler.enable()
        for item in profile_items:
            await capture_one(bench, item)
        profiler.disable()
        print(profile_report(profiler, "300 captures"))
        profiler = cProfile.Profile()
        profiler.enable()
        for _ in range(50):
            await feed(bench.app, bench.updates.find(queries[0].text))
        profiler.disable()
        print(profile_report(profiler, f"50 × /find {queries[0].text}"))
    return 0


def main(argv: list[str] | None = None) -> int:
    return asyncio.run(main_async(parse_args(argv)))


if __name__ == "__main__":
    sys.exit(main())
