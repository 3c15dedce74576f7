"""What idempotent updates and the start-up check cost.

1. marks: --notes notes.create calls at storage level (synchronous=FULL commits), three ways,
   interleaved over --rounds rounds: plain; after the "applied?" lookup the middleware makes;
   and that lookup plus the update mark, so the note's transaction also records
   applied_updates. Prints the median time per note of each.
2. start-up check: a database with --big-notes notes of ~400 characters (bulk-inserted into
   the real table, its FTS triggers included), then inspect_file (read-only PRAGMA
   quick_check + the schema version) timed --checks times (the page cache is warm after
   the first).

    python bench/bench_update_marks.py [--notes 1500] [--rounds 3] [--big-notes 200000]
                                       [--checks 3] [--dir DIR]

A script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from storage import update_marks
from storage.interfaces import Storage
from storage.sqlite import open_sqlite_storage
from storage.sqlite.database import inspect_file

NOW = datetime(2026, 11, 26, 11, 37, tzinfo=UTC)
BOT_ID = 42
OWNER = 1


async def note(storage: Storage, number: int) -> None:
    await storage.notes.create(
        OWNER, text=f"note {number}", client_id=None, source_message_id=None, now=NOW
    )


async def bench_marks(folder: Path, notes: int, rounds: int) -> None:
    storage = await open_sqlite_storage(folder / "marks.sqlite3")
    await storage.users.ensure(OWNER, NOW)
    ids = itertools.count(1)
    timings: dict[str, list[float]] = {"plain": [], "lookup": [], "lookup + mark": []}
    try:
        for _ in range(rounds):
            for mode, runs in timings.items():
                start = time.perf_counter()
                for number in range(notes):
                    update_id = next(ids)
                    if mode == "plain":
                        await note(storage, number)
                        continue
                    assert not await storage.updates.applied(BOT_ID, update_id)
                    if mode == "lookup":
                        await note(storage, number)
                        continue
                    with update_marks.marking(BOT_ID, update_id, NOW):
                        await note(storage, number)
                runs.append((time.perf_counter() - start) / notes)
    finally:
        await storage.backend.close()
    print(f"marks: {notes} notes x {rounds} rounds, median per note")
    for mode, runs in timings.items():
        each = ", ".join(f"{run * 1e6:.0f}" for run in runs)
        print(f"  {mode:14} {statistics.median(runs) * 1e6:6.0f} µs  (rounds: {each})")


async def bench_check(folder: Path, big_notes: int, checks: int) -> None:
    path = folder / "big.sqlite3"
    storage = await open_sqlite_storage(path)
    await storage.users.ensure(OWNER, NOW)
    await storage.backend.close()
    stamp = "2026-11-26T11:37:00Z"
    with sqlite3.connect(path) as raw:
        raw.executemany(
            "INSERT INTO notes (owner_id, text, created_at, updated_at) VALUES (?, ?, ?, ?)",
            ((OWNER, f"note {n} " + "x" * 400, stamp, stamp) for n in range(big_notes)),
        )
    raw.close()
    size = path.stat().st_size / 1e6
    runs = []
    for _ in range(checks):
        start = time.perf_counter()
        inspect_file(path)
        runs.append(time.perf_counter() - start)
    each = ", ".join(f"{run * 1000:.0f}" for run in runs)
    print(f"start-up check: {size:.0f} MB database, {big_notes} notes: "
          f"quick_check + schema {each} ms")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notes", type=int, default=1500)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--big-notes", type=int, default=200_000)
    parser.add_argument("--checks", type=int, default=3)
    parser.add_argument("--dir", type=Path)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.dir) as folder:
        await bench_marks(Path(folder), args.notes, args.rounds)
        await bench_check(Path(folder), args.big_notes, args.checks)


if __name__ == "__main__":
    asyncio.run(main())
