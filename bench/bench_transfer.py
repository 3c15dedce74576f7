"""What `migrate-to` costs: a SQLite database of --notes notes and --tasks tasks copied into
an empty PostgreSQL database (storage/transfer.py), --rounds times, each into a fresh one.

The SQLite file is made with the real migrations and filled by fast raw inserts (its FTS
triggers included): --users owners with 20 clients each (an alias for every other one),
tasks spread over them (a third done, a tenth deleted, every fifth with a client-less text),
two reminders per open task, an invoice per 20 tasks, notes of ~120 characters of Russian
text, a dialog state per user, applied updates. Prints per table rows, seconds and rows a
second, and the whole copy's time (read, convert, COPY, the generated search vectors and
their GIN indexes, the commit).

    python bench/bench_transfer.py [--notes 100000] [--tasks 20000] [--users 50]
                                   [--rounds 3] [--batch 5000] [--dir DIR] [--url URL]

--url: a PostgreSQL server (its databases am_bench_transfer_N are created and dropped);
without it a throwaway cluster is started in DIR (tests/pg_cluster.py). A script that prints
numbers, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tests.pg_cluster

import asyncpg

from storage.sqlite import open_sqlite_storage
from storage.sqlite.codec import encode_time, name_key
from storage.transfer import TransferReport, copy_sqlite_to_postgres
from tests import pg_cluster

NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)
WORDS = (
    "акт сверки счёт оплата договор отчёт звонок клиент встреча бюджет ёлка проект сроки "
    "согласование макет правки поставка документы подпись директор бухгалтерия"
).split()


def text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def t(moment: datetime) -> str:
    return encode_time(moment)


def fill(path: Path, users: int, tasks: int, notes: int) -> None:
    rng = random.Random(13)
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("BEGIN")
    now = t(NOW)
    raw.executemany(
        "INSERT INTO users (id, language, timezone, created_at, username, full_name)"
        " VALUES (?, 'ru', 'Europe/Moscow', ?, ?, ?)",
        [(u, now, f"user{u}", f"Пользователь {u}") for u in range(1, users + 1)],
    )
    clients: list[tuple[int, int]] = []
    client_rows = []
    alias_rows = []
    for u in range(1, users + 1):
        for c in range(20):
            cid = len(clients) + 1
            clients.append((cid, u))
            name = f"ООО Клиент {u}-{c}"
            alias = f"К{u}-{c}" if c % 2 else ""
            client_rows.append(
                (cid, u, name, name_key(name), f"Пётр {c}", "+7 900 000-00-00",
                 f"c{cid}@example.com", now, now, now, alias)
            )
            if alias:
                alias_rows.append((u, cid, alias, name_key(alias)))
    raw.executemany(
        "INSERT INTO clients (id, owner_id, name, name_key, contact_person, phone, email,"
        " created_at, updated_at, last_used_at, aliases) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        client_rows,
    )
    raw.executemany(
        "INSERT INTO client_aliases (owner_id, client_id, alias, alias_key) VALUES (?,?,?,?)",
        alias_rows,
    )
    numbers = dict.fromkeys(range(1, users + 1), 0)
    done_seq = dict.fromkeys(range(1, users + 1), 0)
    task_rows = []
    reminder_rows = []
    open_tasks: list[tuple[int, int, int]] = []
    for tid in range(1, tasks + 1):
        cid, owner = rng.choice(clients)
        numbers[owner] += 1
        due = NOW + timedelta(hours=rng.randint(-500, 500))
        roll = rng.random()
        status, done_at, deleted_at, seq = "open", None, None, None
        if roll < 0.33:
            status, done_at = "done", t(due)
            done_seq[owner] += 1
            seq = done_seq[owner]
        elif roll < 0.43:
            status, deleted_at = "deleted", now
        task_rows.append(
            (tid, owner, numbers[owner], cid if tid % 5 else None, text(rng, 6),
             rng.choice(["call", "report", "meeting", "document", "other"]), t(due), status,
             now, now, done_at, deleted_at, seq)
        )
        if status == "open":
            open_tasks.append((tid, owner, cid))
            reminder_rows.append((owner, tid, "ahead", t(due - timedelta(hours=1)), t(due), now))
            reminder_rows.append((owner, tid, "due", t(due), t(due), now))
    raw.executemany(
        "INSERT INTO tasks (id, owner_id, number, client_id, text, kind, due_at, status,"
        " created_at, updated_at, done_at, deleted_at, done_seq)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
        task_rows,
    )
    raw.executemany(
        "INSERT INTO reminders (owner_id, task_id, purpose, fire_at, for_due_at, created_at)"
        " VALUES (?,?,?,?,?,?)",
        reminder_rows,
    )
    # An invoice per 20 tasks, its payment task pointing back (the FK cycle).
    invoice_numbers = dict.fromkeys(range(1, users + 1), 0)
    for iid, (tid, owner, cid) in enumerate(open_tasks[: tasks // 20], start=1):
        invoice_numbers[owner] += 1
        raw.execute(
            "INSERT INTO invoices (id, owner_id, client_id, number, amount_minor, currency,"
            " due_at, created_at, updated_at, task_id) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (iid, owner, cid, invoice_numbers[owner], 100_00, "RUB", now, now, now, tid),
        )
        raw.execute("UPDATE tasks SET invoice_id = ?, kind = 'invoice' WHERE id = ?", (iid, tid))
    note_rows = []
    for nid in range(1, notes + 1):
        cid, owner = rng.choice(clients)
        note_rows.append(
            (nid, owner, cid if nid % 4 else None, text(rng, 14), nid, now, now,
             now if nid % 50 == 0 else None)
        )
    raw.executemany(
        "INSERT INTO notes (id, owner_id, client_id, text, source_message_id, created_at,"
        " updated_at, deleted_at) VALUES (?,?,?,?,?,?,?,?)",
        note_rows,
    )
    raw.executemany(
        "INSERT INTO dialog_states (key, owner_id, state, data, updated_at) VALUES (?,?,?,?,?)",
        [
            (f"chat:{u}", u, "NoteFlow:text",
             json.dumps({"text": "Привет, ёжик", "n": u}, ensure_ascii=False), now)
            for u in range(1, users + 1)
        ],
    )
    raw.executemany(
        "INSERT INTO applied_updates (bot_id, update_id, applied_at) VALUES (1, ?, ?)",
        [(n, now) for n in range(1, 1001)],
    )
    raw.execute("COMMIT")
    raw.close()


async def make_source(folder: Path, users: int, tasks: int, notes: int) -> Path:
    path = folder / "source.sqlite3"
    path.unlink(missing_ok=True)
    storage = await open_sqlite_storage(path)  # the real schema
    await storage.backend.close()
    start = time.perf_counter()
    await asyncio.to_thread(fill, path, users, tasks, notes)
    size = path.stat().st_size / 1e6
    print(f"source: {path} ({size:.0f} MB) filled in {time.perf_counter() - start:.1f} s")
    return path


async def copy_once(server: str, number: int, source: Path, batch: int) -> TransferReport:
    name = f"am_bench_transfer_{number}"
    admin = await asyncpg.connect(server)
    try:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {name}")
        url = f"{server.rsplit('/', 1)[0]}/{name}"
        return await copy_sqlite_to_postgres(source, url, batch=batch)
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def bench(args: argparse.Namespace, folder: Path, server: str) -> None:
    source = await make_source(folder, args.users, args.tasks, args.notes)
    reports = [
        await copy_once(server, number, source, args.batch) for number in range(args.rounds)
    ]
    totals = [report.seconds for report in reports]
    best = min(reports, key=lambda report: report.seconds)
    print(f"\ncopy (batch {args.batch}), the fastest of {args.rounds} rounds:")
    print(f"  {'table':<16} {'rows':>8} {'seconds':>8} {'rows/s':>9}")
    for table in best.tables:
        rate = table.rows / table.seconds if table.seconds > 0 else 0
        print(f"  {table.table:<16} {table.rows:>8} {table.seconds:>8.2f} {rate:>9.0f}")
    print(
        f"  {'all (+checks)':<16} {best.rows:>8} {best.seconds:>8.2f} "
        f"{best.rows / best.seconds:>9.0f}"
    )
    print(
        f"whole copy per round: median {statistics.median(totals):.2f} s, "
        f"min {min(totals):.2f} s, max {max(totals):.2f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--notes", type=int, default=100_000)
    parser.add_argument("--tasks", type=int, default=20_000)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=5000)
    parser.add_argument("--dir", type=Path)
    parser.add_argument("--url", help="a PostgreSQL server's URL (else one is started)")
    args = parser.parse_args()
    folder = args.dir or Path(tempfile.mkdtemp(prefix="bench-transfer-"))
    folder.mkdir(parents=True, exist_ok=True)
    if args.url:
        asyncio.run(bench(args, folder, args.url))
        return
    cluster = Path(tempfile.mkdtemp(prefix="bench-transfer-pg-"))
    server = pg_cluster.start(cluster)
    try:
        asyncio.run(bench(args, folder, server))
    finally:
        pg_cluster.stop(cluster)


if __name__ == "__main__":
    main()
