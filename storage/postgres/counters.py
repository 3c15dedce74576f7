"""Per-owner numbers ("task #12", "invoice #3", the order of completions).

SQLite's single writer could take max(number) + 1; several PostgreSQL writers would collide.
One row per (owner, counter) incremented by an upsert: concurrent inserts queue on that row
for the rest of their transaction and each gets its own number. A number is never reused
(a rolled-back insert leaves a gap, as a sequence does).
"""

from __future__ import annotations

from typing import Literal

from storage.postgres.database import Connection

CounterName = Literal["task", "invoice", "done"]


async def next_number(connection: Connection, owner_id: int, name: CounterName) -> int:
    """The owner's next number of that counter, inside the caller's transaction."""
    value = await connection.fetchval(
        "INSERT INTO owner_counters AS c (owner_id, name, last) VALUES ($1, $2, 1)"
        " ON CONFLICT (owner_id, name) DO UPDATE SET last = c.last + 1 RETURNING c.last",
        owner_id,
        name,
    )
    return int(value)
