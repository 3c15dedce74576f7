"""/find's repository call on both backends: `notes.search(owner, words, limit)` at 100,000
notes for one user, SQLite (FTS5, storage/sqlite/notes.py) against PostgreSQL (generated
tsvector columns with GIN indexes on (owner_id, search_vector), storage/postgres/search.py).

The same rows go into both databases, made from a fixed vocabulary of account-manager text
(Russian and English) with random.Random(--seed): user 1 with --notes notes, --clients
clients and --tasks tasks (a tenth deleted, a third done), user 2 with --other-notes notes,
50 clients and 2,000 tasks, so the owner filter has rows to skip; a hundredth of the notes
deleted. Bulk inserts, not the repositories: SQLite's schema is made by open_sqlite_storage
and the file filled with sqlite3 in one transaction (the FTS triggers fill the index);
PostgreSQL's is made by open_postgres_storage and filled with COPY (the generated
search_vector columns and GIN indexes fill themselves), then VACUUM ANALYZE as autovacuum
would.

A fixed list of /find inputs, by class (common, rare, prefix, stem, ё/е, two words, client
name, no match), is run --warmup times, then --rounds times each, interleaving the backends
(their order alternating per round). Prints, per backend, median, p95, p99 (nearest rank) and
max over all timed calls and per class, per query, the seeding times and database sizes;
checks both backends find the same hits (kind, ref_id) with a limit above what search ranks
(the order may differ: bm25 against ts_rank), and prints EXPLAIN ANALYZE of a common-word
query on PostgreSQL.

    python bench/bench_find.py [--notes 100000] [--rounds 20] [--seed 42] [--limit 30]

BENCH_DATABASE_URL: a PostgreSQL server to use (its database am_bench_find is created and
dropped); without it a throwaway cluster is started in a temp dir (tests/pg_cluster.py).
A script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import random
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.pg_cluster

import asyncpg

from storage.interfaces import Storage
from storage.models import SearchKind
from storage.postgres import open_postgres_storage
from storage.postgres.search import build_query
from storage.sqlite import open_sqlite_storage
from storage.sqlite.codec import encode_time, name_key
from storage.stemming import search_terms as pg_search_terms
from tests import pg_cluster

USER = 1
OTHER = 2
OTHER_CLIENTS = 50
OTHER_TASKS = 2000
NOW = datetime(2026, 11, 26, 11, 0, tzinfo=UTC)
DATABASE = "am_bench_find"
COMPARE_LIMIT = 1000  # above what search() ranks (RANKED_MATCHES): the whole hit set

# --- vocabulary ------------------------------------------------------------------------------

# Client name roots: (nominative, instrumental) - "Созвон с Ромашкой".
ROOTS = (
    ("Ромашка", "Ромашкой"), ("Вектор", "Вектором"), ("Альфа", "Альфой"),
    ("Гранит", "Гранитом"), ("Восход", "Восходом"), ("Меридиан", "Меридианом"),
    ("Техносфера", "Техносферой"), ("Сибирь", "Сибирью"), ("Арсенал", "Арсеналом"),
    ("Берёзка", "Берёзкой"), ("Глобус", "Глобусом"), ("Орбита", "Орбитой"),
    ("Nordwind", "Nordwind"), ("Bluefin", "Bluefin"), ("Acme", "Acme"), ("Globex", "Globex"),
    ("Initech", "Initech"), ("Umbrella", "Umbrella"), ("Hooli", "Hooli"), ("Stark", "Stark"),
    ("Wayne", "Wayne"), ("Tyrell", "Tyrell"), ("Wonka", "Wonka"), ("Aperture", "Aperture"),
    ("Oceanic", "Oceanic"),
)
CITIES = (
    "Москва", "Петербург", "Казань", "Екатеринбург", "Новосибирск", "Самара", "Пермь",
    "Тверь", "Сочи", "Уфа", "Berlin", "London", "Dubai", "Almaty", "Minsk", "Yerevan",
    "Tbilisi", "Riga", "Warsaw", "Prague",
)
FORMS = ("", " Сервис", " Трейд", " Group")
PEOPLE = (
    "Ирина Петрова", "Олег Смирнов", "Мария Козлова", "Сергей Иванов", "Анна Соколова",
    "Дмитрий Орлов", "Пётр Фёдоров", "John Smith", "Anna Berg", "Peter Hall", "Kate Moss",
)
MONTHS_RU = (
    "январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь",
    "октябрь", "ноябрь", "декабрь",
)
MONTHS_RU_IN = (  # "в январе"
    "январе", "феврале", "марте", "апреле", "мае", "июне", "июле", "августе", "сентябре",
    "октябре", "ноябре", "декабре",
)
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)
WEEKDAYS_EN = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday")

RU_NOTES = (
    "Созвон с {inst} по акту сверки",
    "Отправить акт сверки за {month}",
    "Нужен акт за {month}, бухгалтерия ждёт",
    "Акты за квартал подписаны",
    "Выставили счёт на {amount} тыс. ₽",
    "Счёт за {month} оплачен",
    "Счета за {month} ещё не оплачены, напомнить",
    "Согласовали бюджет на {month}",
    "Бюджет на рекламу урезали на {pct}%",
    "Бюджеты на следующий год обсудим в {month_in}",
    "Договор на подписи у юристов",
    "Продление договора обсудим в {month_in}",
    "Клиент просит перенести созвон на следующую неделю",
    "Клиент доволен результатами по контексту",
    "Недовольны отчётом за {month}",
    "Отчёт отправлен, вопросов нет",
    "Отчеты за {month} нужно переделать",
    "Новогодняя ёлка в офисе {name}, нужен подрядчик",
    "Корпоратив и елка для детей сотрудников, бюджет {amount} тыс.",
    "Прислали правки к макетам баннеров",
    "Контакт — {person}, звонить после обеда",
    "Встреча с {inst} прошла хорошо, ждут КП",
    "ЛПР сменился, новый контакт в отделе маркетинга",
    "Просят скидку {pct}% при предоплате за год",
    "Тестируют конкурента, риск ухода",
    "Созвон с финансовым директором по бюджетированию",
    "Запуск кампании переносится на две недели",
    "Попросили выгрузку по конверсиям за {month}",
)
EN_NOTES = (
    "send the invoice for {month_en}",
    "invoice #{number} paid",
    "invoices for {month_en} are overdue, reminded the accountant",
    "call with {name} about the reconciliation statement",
    "budget approved for Q{quarter}",
    "waiting for the signed contract",
    "contracts renewal: legal is reviewing",
    "monthly report sent to {person}",
    "they want weekly reports from {month_en}",
    "renewal call scheduled for {weekday}",
    "they asked for a discount on the annual plan",
    "new marketing lead at {name}, intro call on {weekday}",
    "campaign launch postponed",
    "client is happy with the dashboard",
)
RARE_NOTES = (  # each in about one note of 2,000
    "Предлагают расчёт через эскроу",
    "Нужна доверенность, заверить у нотариуса",
    "they insist on an escrow account",
)
TASKS = (
    ("call", "Позвонить {dat}: {name}"),
    ("call", "Созвон с {inst} по акту сверки"),
    ("call", "call {name} about the renewal"),
    ("document", "Отправить акт сверки {name} за {month}"),
    ("document", "Подписать договор с {inst}"),
    ("invoice", "Выставить счёт {name} за {month}"),
    ("invoice", "send the invoice to {name}"),
    ("report", "Подготовить отчёт за {month} для {name}"),
    ("report", "prepare the monthly report for {name}"),
    ("meeting", "Встреча с {inst} в офисе"),
    ("other", "Согласовать бюджет на {month} с {inst}"),
    ("other", "Заказать ёлку в офис"),
)

# (class, query): what people type after /find.
QUERIES: tuple[tuple[str, str], ...] = (
    ("common", "клиент"),
    ("common", "счёт"),
    ("common", "созвон"),
    ("common", "договор"),
    ("common", "invoice"),
    ("common", "report"),
    ("rare", "эскроу"),
    ("rare", "нотариуса"),
    ("rare", "escrow"),
    ("prefix", "бюдж"),
    ("prefix", "догов"),
    ("prefix", "сверк"),
    ("prefix", "inv"),
    ("prefix", "recon"),
    ("stem", "акта"),
    ("stem", "счета"),
    ("stem", "отчёты"),
    ("stem", "договора"),
    ("stem", "invoices"),
    ("stem", "contracts"),
    ("ё/е", "ёлка"),
    ("ё/е", "елка"),
    ("ё/е", "отчет"),
    ("two words", "акт сверки"),
    ("two words", "бюджет январь"),
    ("two words", "send invoice"),
    ("two words", "созвон Ромашкой"),
    ("client", "Ромашка"),
    ("client", "Globex"),
    ("no match", "зеленоград"),
    ("no match", "blockchain"),
)


# --- the data --------------------------------------------------------------------------------


@dataclass
class Data:
    # (id, owner_id, name, name_key, contact_person, phone, email, created_at)
    clients: list[tuple[int, int, str, str, str, str, str, datetime]] = field(
        default_factory=list
    )
    # (id, owner_id, number, client_id, text, kind, due_at, status, created_at, done_at,
    #  deleted_at, done_seq)
    tasks: list[
        tuple[int, int, int, int | None, str, str, datetime, str, datetime, datetime | None,
              datetime | None, int | None]
    ] = field(default_factory=list)
    # (id, owner_id, client_id, text, source_message_id, created_at, deleted_at)
    notes: list[tuple[int, int, int | None, str, int, datetime, datetime | None]] = field(
        default_factory=list
    )
    # (owner_id, counter name) -> last value
    counters: dict[tuple[int, str], int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Client:
    id: int
    name: str
    root: int  # index in ROOTS


def fill_in(rng: random.Random, template: str, client: Client) -> str:
    month = rng.randrange(12)
    return template.format(
        name=client.name,
        inst=ROOTS[client.root][1],
        dat=client.name,
        month=MONTHS_RU[month],
        month_in=MONTHS_RU_IN[month],
        month_en=MONTHS_EN[month],
        amount=rng.randint(5, 950),
        pct=rng.randint(3, 40),
        person=rng.choice(PEOPLE),
        number=rng.randint(1000, 99999),
        quarter=rng.randint(1, 4),
        weekday=rng.choice(WEEKDAYS_EN),
    )


def note_text(rng: random.Random, client: Client) -> str:
    """One to three phrases, 70 % Russian; a rare phrase in about one note of 2,000."""
    if rng.random() < 0.0005 * len(RARE_NOTES):
        return rng.choice(RARE_NOTES)
    phrases = RU_NOTES if rng.random() < 0.7 else EN_NOTES
    parts = [fill_in(rng, rng.choice(phrases), client) for _ in range(rng.choice((1, 1, 2, 3)))]
    return ". ".join(parts)


def make_clients(
    rng: random.Random, data: Data, owner: int, count: int, start: datetime
) -> list[Client]:
    combos = [
        (root, f"{ROOTS[root][0]}{form} {city}")
        for root in range(len(ROOTS))
        for form in FORMS
        for city in CITIES
    ]
    made = []
    for root, name in rng.sample(combos, min(count, len(combos))):
        client = Client(id=len(data.clients) + 1, name=name, root=root)
        person = rng.choice(PEOPLE)
        data.clients.append(
            (client.id, owner, name, name_key(name), person,
             f"+7 9{rng.randint(10, 99)} {rng.randint(100, 999)}-{rng.randint(10, 99)}-"
             f"{rng.randint(10, 99)}", f"manager{client.id}@example.com", start)
        )
        made.append(client)
    return made


def generate(args: argparse.Namespace) -> Data:
    rng = random.Random(args.seed)
    data = Data()
    start = NOW - timedelta(days=730)
    clients = {
        USER: make_clients(rng, data, USER, args.clients, start),
        OTHER: make_clients(rng, data, OTHER, OTHER_CLIENTS, start),
    }
    # Tasks: both owners interleaved, oldest first.
    owners = [USER] * args.tasks + [OTHER] * OTHER_TASKS
    rng.shuffle(owners)
    step = timedelta(days=729) / max(1, len(owners))
    for index, owner in enumerate(owners):
        number = data.counters.get((owner, "task"), 0) + 1
        data.counters[owner, "task"] = number
        client = rng.choice(clients[owner])
        kind, template = rng.choice(TASKS)
        created = (start + step * index).replace(microsecond=0)
        due = (created + timedelta(hours=rng.randint(1, 24 * 14))).replace(microsecond=0)
        roll = rng.random()
        status, done_at, deleted_at, seq = "open", None, None, None
        if roll < 0.33:
            status, done_at = "done", due
            seq = data.counters.get((owner, "done"), 0) + 1
            data.counters[owner, "done"] = seq
        elif roll < 0.43:
            status, deleted_at = "deleted", due
        data.tasks.append(
            (index + 1, owner, number, client.id if rng.random() < 0.9 else None,
             fill_in(rng, template, client), kind, due, status, created, done_at, deleted_at,
             seq)
        )
    # Notes: both owners interleaved, oldest first; 70 % attached to a client.
    owners = [USER] * args.notes + [OTHER] * args.other_notes
    rng.shuffle(owners)
    step = timedelta(days=729) / max(1, len(owners))
    for index, owner in enumerate(owners):
        client = rng.choice(clients[owner])
        created = (start + step * index).replace(microsecond=0)
        data.notes.append(
            (index + 1, owner, client.id if rng.random() < 0.7 else None,
             note_text(rng, client), 10_000_000 + index, created,
             created + timedelta(days=1) if rng.random() < 0.01 else None)
        )
    return data


# --- seeding ---------------------------------------------------------------------------------


def fill_sqlite(path: Path, data: Data) -> None:
    raw = sqlite3.connect(path, isolation_level=None)
    try:
        raw.execute("BEGIN")
        now = encode_time(NOW)
        raw.executemany(
            "INSERT INTO users (id, language, timezone, created_at) VALUES (?, ?, ?, ?)",
            [(USER, "ru", "Europe/Moscow", now), (OTHER, "en", "Europe/Berlin", now)],
        )
        raw.executemany(
            "INSERT INTO clients (id, owner_id, name, name_key, contact_person, phone, email,"
            " created_at, updated_at, last_used_at) VALUES (?,?,?,?,?,?,?,?,?,?)",
            [
                (*row[:7], encode_time(row[7]), encode_time(row[7]), encode_time(row[7]))
                for row in data.clients
            ],
        )
        raw.executemany(
            "INSERT INTO tasks (id, owner_id, number, client_id, text, kind, due_at, status,"
            " created_at, updated_at, done_at, deleted_at, done_seq)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (tid, owner, number, client, text, kind, encode_time(due), status,
                 encode_time(created), encode_time(created), optional(done_at),
                 optional(deleted_at), seq)
                for (tid, owner, number, client, text, kind, due, status, created, done_at,
                     deleted_at, seq) in data.tasks
            ],
        )
        raw.executemany(
            "INSERT INTO notes (id, owner_id, client_id, text, source_message_id, created_at,"
            " updated_at, deleted_at) VALUES (?,?,?,?,?,?,?,?)",
            [
                (nid, owner, client, text, source, encode_time(created), encode_time(created),
                 optional(deleted_at))
                for (nid, owner, client, text, source, created, deleted_at) in data.notes
            ],
        )
        raw.execute("COMMIT")
    finally:
        raw.close()


def optional(moment: datetime | None) -> str | None:
    return None if moment is None else encode_time(moment)


async def fill_postgres(conn: asyncpg.Connection, data: Data) -> None:
    async with conn.transaction():
        await conn.copy_records_to_table(
            "users",
            records=[(USER, "ru", "Europe/Moscow", NOW), (OTHER, "en", "Europe/Berlin", NOW)],
            columns=["id", "language", "timezone", "created_at"],
        )
        await conn.copy_records_to_table(
            "clients",
            records=[(*row, row[7], row[7]) for row in data.clients],
            columns=[
                "id", "owner_id", "name", "name_key", "contact_person", "phone", "email",
                "created_at", "updated_at", "last_used_at",
            ],
        )
        await conn.copy_records_to_table(
            "tasks",
            records=[
                (tid, owner, number, client, text, kind, due, status, created, created, done_at,
                 deleted_at, seq)
                for (tid, owner, number, client, text, kind, due, status, created, done_at,
                     deleted_at, seq) in data.tasks
            ],
            columns=[
                "id", "owner_id", "number", "client_id", "text", "kind", "due_at", "status",
                "created_at", "updated_at", "done_at", "deleted_at", "done_seq",
            ],
        )
        await conn.copy_records_to_table(
            "notes",
            records=[
                (nid, owner, client, text, source, created, created, deleted_at)
                for (nid, owner, client, text, source, created, deleted_at) in data.notes
            ],
            columns=[
                "id", "owner_id", "client_id", "text", "source_message_id", "created_at",
                "updated_at", "deleted_at",
            ],
        )
        await conn.copy_records_to_table(
            "owner_counters",
            records=[(owner, name, last) for (owner, name), last in data.counters.items()],
            columns=["owner_id", "name", "last"],
        )
        for table in ("clients", "tasks", "notes"):
            await conn.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" (SELECT max(id) FROM {table}))"
            )
    # As autovacuum would soon: statistics, and the GIN pending lists merged.
    await conn.execute("VACUUM ANALYZE")


async def open_sqlite(folder: Path, data: Data) -> tuple[Storage, float, Path]:
    path = folder / "find.sqlite3"
    storage = await open_sqlite_storage(path)  # the real schema and triggers
    await storage.backend.close()
    started = time.perf_counter()
    await asyncio.to_thread(fill_sqlite, path, data)
    seconds = time.perf_counter() - started
    return await open_sqlite_storage(path), seconds, path


async def open_postgres(server: str, data: Data) -> tuple[Storage, float, str]:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DATABASE}")
    finally:
        await admin.close()
    url = f"{server.rsplit('/', 1)[0]}/{DATABASE}"
    storage = await open_postgres_storage(url)  # migrated: the real schema
    started = time.perf_counter()
    conn = await asyncpg.connect(url)
    try:
        await fill_postgres(conn, data)
    finally:
        await conn.close()
    return storage, time.perf_counter() - started, url


async def drop_postgres(server: str) -> None:
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
    finally:
        await admin.close()


# --- measuring -------------------------------------------------------------------------------


@dataclass
class Timed:
    label: str
    text: str
    samples: dict[str, list[int]] = field(default_factory=dict)  # backend -> ns
    hits: dict[str, int] = field(default_factory=dict)  # backend -> hits (compare limit)


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
    for number, row in enumerate(every):
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i])
            for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells))
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def stats(samples: Sequence[int]) -> list[str]:
    return [
        ms(statistics.median(samples)), ms(percentile(samples, 0.95)),
        ms(percentile(samples, 0.99)), ms(max(samples)), str(len(samples)),
    ]


async def compare(backends: dict[str, Storage], queries: list[Timed]) -> list[str]:
    """Both backends find the same (kind, ref_id) for each query; the differences."""
    differences = []
    for query in queries:
        found = {}
        for name, storage in backends.items():
            hits = await storage.notes.search(USER, query.text.split(), COMPARE_LIMIT)
            found[name] = {(hit.kind, hit.ref_id) for hit in hits}
            query.hits[name] = len(hits)
        (first, a), (second, b) = found.items()
        if a != b:
            only_a = sorted(a - b, key=lambda hit: (hit[0].value, hit[1]))
            only_b = sorted(b - a, key=lambda hit: (hit[0].value, hit[1]))
            differences.append(
                f"{query.text!r}: {len(only_a)} only on {first} {show(only_a)},"
                f" {len(only_b)} only on {second} {show(only_b)}"
            )
    return differences


def show(hits: list[tuple[SearchKind, int]]) -> str:
    return "[" + ", ".join(f"{kind.value}:{ref}" for kind, ref in hits[:5]) + (
        ", ..." if len(hits) > 5 else "") + "]"


async def measure(
    backends: dict[str, Storage], queries: list[Timed], rounds: int, warmup: int, limit: int
) -> None:
    names = list(backends)
    for _ in range(warmup):
        for query in queries:
            for name in names:
                await backends[name].notes.search(USER, query.text.split(), limit)
    gc.collect()
    gc.freeze()
    for number in range(rounds):
        order = names if number % 2 == 0 else names[::-1]
        for query in queries:
            words = query.text.split()
            for name in order:
                repo = backends[name].notes
                started = time.perf_counter_ns()
                await repo.search(USER, words, limit)
                query.samples.setdefault(name, []).append(time.perf_counter_ns() - started)


async def explain(url: str, text: str) -> str:
    """The plan the app's connections really run: asyncpg prepares and caches the statement,
    and after five executions PostgreSQL may switch to a generic plan, which a plain EXPLAIN
    does not show. So: run it six times, then once more under auto_explain (its plan comes
    back as a notice); where auto_explain cannot be loaded, EXPLAIN ANALYZE (a custom plan)."""
    query = build_query(USER, pg_search_terms(text.split()))
    assert query is not None
    conn = await asyncpg.connect(url)
    try:
        for _ in range(6):
            await conn.fetch(query.sql, *query.args)
        notices: list[str] = []
        conn.add_log_listener(lambda _conn, message: notices.append(str(message.message)))
        try:
            await conn.execute(
                "LOAD 'auto_explain'; SET auto_explain.log_min_duration = 0;"
                " SET auto_explain.log_analyze = on; SET auto_explain.log_buffers = on;"
                " SET auto_explain.log_level = notice"
            )
        except asyncpg.PostgresError as exc:
            rows = await conn.fetch(f"EXPLAIN (ANALYZE, BUFFERS) {query.sql}", *query.args)
            lines = [f"(auto_explain unavailable: {exc}; EXPLAIN ANALYZE, a custom plan)"]
            lines += [row[0] for row in rows]
        else:
            await conn.fetch(query.sql, *query.args)
            plan = notices[-1] if notices else "(no plan came back)"
            lines = [
                "(auto_explain of the 7th execution of the cached statement)",
                *(line for line in plan.splitlines() if not line.startswith("Query Text:")),
            ]
    finally:
        await conn.close()
    return "\n".join("  " + line for line in lines)


async def sizes(sqlite_path: Path, url: str) -> list[str]:
    files = [sqlite_path, Path(f"{sqlite_path}-wal")]
    sqlite_bytes = sum(path.stat().st_size for path in files if path.exists())
    conn = await asyncpg.connect(url)
    try:
        database = await conn.fetchval("SELECT pg_database_size(current_database())")
        notes = await conn.fetchval("SELECT pg_total_relation_size('notes')")
        index = await conn.fetchval("SELECT pg_relation_size('notes_search')")
    finally:
        await conn.close()
    raw = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True)
    try:
        fts = raw.execute(
            "SELECT sum(length(block)) FROM search_index_data"
        ).fetchone()[0]
    finally:
        raw.close()
    return [
        f"sqlite: file {sqlite_bytes / 1e6:.0f} MB (FTS5 index data {fts / 1e6:.0f} MB)",
        f"postgres: database {database / 1e6:.0f} MB (notes with its indexes"
        f" {notes / 1e6:.0f} MB, notes_search GIN {index / 1e6:.0f} MB)",
    ]


def report(queries: list[Timed], names: list[str]) -> None:
    print("\nall timed calls, ms:")
    print(table(
        ["backend", "median", "p95", "p99", "max", "calls"],
        [[name, *stats([s for q in queries for s in q.samples[name]])] for name in names],
    ))
    print("\nby query class, ms (median / p99):")
    classes = list(dict.fromkeys(query.label for query in queries))
    rows = []
    for label in classes:
        row = [label]
        for name in names:
            samples = [s for q in queries if q.label == label for s in q.samples[name]]
            row.append(f"{ms(statistics.median(samples))} / {ms(percentile(samples, 0.99))}")
        rows.append(row)
    print(table(["class", *names], rows))
    print("\nby query, ms (median / p99), hits (up to the ranked 200):")
    rows = []
    for query in queries:
        row = [f"{query.label}: {query.text}"]
        for name in names:
            samples = query.samples[name]
            row.append(f"{ms(statistics.median(samples))} / {ms(percentile(samples, 0.99))}")
        row.extend(str(query.hits[name]) for name in names)
        rows.append(row)
    print(table(["query", *names, *(f"hits {name}" for name in names)], rows))


async def bench(args: argparse.Namespace, folder: Path, server: str) -> None:
    started = time.perf_counter()
    data = generate(args)
    print(
        f"data: {len(data.notes):,} notes, {len(data.tasks):,} tasks, {len(data.clients):,}"
        f" clients (user {USER}: {args.notes:,} notes, {args.tasks:,} tasks, {args.clients:,}"
        f" clients), made in {time.perf_counter() - started:.1f} s"
    )
    sqlite_storage, sqlite_seconds, path = await open_sqlite(folder, data)
    print(f"sqlite seeded in {sqlite_seconds:.1f} s (executemany, FTS triggers)")
    pg_storage, pg_seconds, url = await open_postgres(server, data)
    print(f"postgres seeded in {pg_seconds:.1f} s (COPY, generated vectors, GIN, VACUUM ANALYZE)")
    backends = {"sqlite": sqlite_storage, "postgres": pg_storage}
    names = list(backends)
    try:
        for line in await sizes(path, url):
            print(line)
        queries = [Timed(label, text) for label, text in QUERIES]
        differences = await compare(backends, queries)
        print(f"\nsame hits (kind, ref_id) on both, limit {COMPARE_LIMIT}: "
              f"{len(queries) - len(differences)} of {len(queries)} queries")
        for line in differences:
            print(f"  DIFFERENT {line}")
        print(
            f"\ntiming notes.search(user, words, {args.limit}): {args.warmup} warm-up and"
            f" {args.rounds} timed rounds of {len(queries)} queries, backends interleaved"
        )
        await measure(backends, queries, args.rounds, args.warmup, args.limit)
        report(queries, names)
        print(f"\nplan on postgres, /find {args.explain}:")
        print(await explain(url, args.explain))
    finally:
        for storage in backends.values():
            await storage.backend.close()
        await drop_postgres(server)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--other-notes", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--limit", type=int, default=30, help="handlers.notes.find.FIND_LIMIT")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--explain", default="клиент", help="the query to EXPLAIN ANALYZE")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="bench-find-"))
    try:
        server = os.environ.get("BENCH_DATABASE_URL")
        if server:
            asyncio.run(bench(args, folder, server))
            return
        cluster = Path(tempfile.mkdtemp(prefix="bench-find-pg-"))
        try:
            server = pg_cluster.start(cluster)
            try:
                asyncio.run(bench(args, folder, server))
            finally:
                pg_cluster.stop(cluster)
        finally:
            shutil.rmtree(cluster, ignore_errors=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
