"""Invoices, as storage/sqlite/invoices.py does them.

Numbers come from the owner's "invoice" counter (storage/postgres/counters.py) in the
inserting transaction. Every change is one UPDATE that re-checks the state it expects in its
WHERE and computes from the row's current values (PostgreSQL re-reads a row a concurrent
writer changed before applying the SET), returning the row as it left it.
"""

from __future__ import annotations

from datetime import datetime

from storage.models import Invoice, InvoiceStatus
from storage.postgres.codec import at
from storage.postgres.counters import next_number
from storage.postgres.database import PgDatabase, Record, row_count

_SELECT = "SELECT i.*, c.name AS client_name FROM invoices i JOIN clients c ON c.id = i.client_id"
# The changed (or new) row of a CTE named i, with its client's name.
_CHANGED = "SELECT i.*, c.name AS client_name FROM i JOIN clients c ON c.id = i.client_id"


def invoice_from_row(row: Record) -> Invoice:
    return Invoice(
        id=row["id"],
        owner_id=row["owner_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        number=row["number"],
        amount_minor=row["amount_minor"],
        paid_minor=row["paid_minor"],
        currency=row["currency"],
        due_at=row["due_at"],
        promised_at=row["promised_at"],
        note=row["note"],
        status=InvoiceStatus(row["status"]),
        paid_at=row["paid_at"],
        task_id=row["task_id"],
    )


class PgInvoiceRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def create(
        self,
        owner_id: int,
        *,
        client_id: int,
        amount_minor: int,
        currency: str,
        due_at: datetime,
        note: str | None,
        now: datetime,
    ) -> Invoice:
        stamp = at(now)
        async with self._db.transaction() as conn:
            number = await next_number(conn, owner_id, "invoice")
            row = await conn.fetchrow(
                "WITH i AS (INSERT INTO invoices (owner_id, client_id, number, amount_minor,"
                " currency, due_at, note, created_at, updated_at)"
                f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8) RETURNING *) {_CHANGED}",
                owner_id, client_id, number, amount_minor, currency, at(due_at), note, stamp,
            )
        assert row is not None
        return invoice_from_row(row)

    async def get(self, owner_id: int, invoice_id: int) -> Invoice | None:
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE i.id = $1 AND i.owner_id = $2", invoice_id, owner_id
        )
        return None if row is None else invoice_from_row(row)

    async def get_by_number(self, owner_id: int, number: int) -> Invoice | None:
        row = await self._db.fetchrow(
            f"{_SELECT} WHERE i.number = $1 AND i.owner_id = $2", number, owner_id
        )
        return None if row is None else invoice_from_row(row)

    async def unpaid(
        self, owner_id: int, limit: int = 500, client_id: int | None = None
    ) -> list[Invoice]:
        """Unpaid invoices, the soonest to collect first; with client_id, that client's."""
        rows = await self._db.fetch(
            f"{_SELECT} WHERE i.owner_id = $1 AND i.status = 'unpaid' AND c.deleted_at IS NULL"
            " AND ($2::bigint IS NULL OR i.client_id = $2)"
            " ORDER BY coalesce(i.promised_at, i.due_at), i.number LIMIT $3",
            owner_id, client_id, limit,
        )
        return [invoice_from_row(row) for row in rows]

    async def link_task(self, owner_id: int, invoice_id: int, task_id: int) -> None:
        await self._db.execute(
            "UPDATE invoices SET task_id = $1 WHERE id = $2 AND owner_id = $3",
            task_id, invoice_id, owner_id,
        )

    async def _change(self, assignments: str, condition: str, *args: object) -> Invoice | None:
        """One UPDATE of the invoice ($1 the id, $2 the owner) where `condition` holds, and
        the row it left; None when there is no such invoice in that state."""
        row = await self._db.fetchrow(
            f"WITH i AS (UPDATE invoices SET {assignments}"
            f" WHERE id = $1 AND owner_id = $2 AND {condition} RETURNING *) {_CHANGED}",
            *args,
        )
        return None if row is None else invoice_from_row(row)

    async def add_payment(
        self, owner_id: int, invoice_id: int, amount_minor: int, now: datetime
    ) -> Invoice | None:
        """Record a payment; the invoice becomes paid once the whole amount has come (what was
        paid before that payment is kept, so "unpaid" can put it back)."""
        return await self._change(
            "paid_minor = least(amount_minor, paid_minor + $3),"
            " paid_minor_before = CASE WHEN paid_minor + $3 >= amount_minor THEN paid_minor"
            " ELSE paid_minor_before END,"
            " status = CASE WHEN paid_minor + $3 >= amount_minor THEN 'paid' ELSE status END,"
            " paid_at = CASE WHEN paid_minor + $3 >= amount_minor THEN $4 ELSE paid_at END,"
            " updated_at = $4",
            "status = 'unpaid'",
            invoice_id, owner_id, amount_minor, at(now),
        )

    async def set_promised(
        self, owner_id: int, invoice_id: int, promised_at: datetime, now: datetime
    ) -> Invoice | None:
        return await self._change(
            "promised_at = $3, updated_at = $4", "status = 'unpaid'",
            invoice_id, owner_id, at(promised_at), at(now),
        )

    async def set_unpaid(self, owner_id: int, invoice_id: int, now: datetime) -> Invoice | None:
        """Undo "paid": owed again, with what was paid before the closing payment."""
        return await self._change(
            "status = 'unpaid', paid_minor = paid_minor_before, paid_at = NULL, updated_at = $3",
            "status = 'paid'",
            invoice_id, owner_id, at(now),
        )

    async def set_amount(
        self, owner_id: int, invoice_id: int, amount_minor: int, currency: str, now: datetime
    ) -> Invoice | None:
        return await self._change(
            "amount_minor = $3, currency = $4, updated_at = $5", "status = 'unpaid'",
            invoice_id, owner_id, amount_minor, currency, at(now),
        )

    async def set_due(
        self, owner_id: int, invoice_id: int, due_at: datetime, now: datetime
    ) -> Invoice | None:
        return await self._change(
            "due_at = $3, updated_at = $4", "status = 'unpaid'",
            invoice_id, owner_id, at(due_at), at(now),
        )

    async def set_note(
        self, owner_id: int, invoice_id: int, note: str | None, now: datetime
    ) -> Invoice | None:
        return await self._change(
            "note = $3, updated_at = $4", "status != 'cancelled'",
            invoice_id, owner_id, note, at(now),
        )

    async def delete(self, owner_id: int, invoice_id: int) -> bool:
        """Gone for good; its payment task (already deleted) forgets it."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE tasks SET invoice_id = NULL WHERE invoice_id = $1 AND owner_id = $2",
                invoice_id, owner_id,
            )
            status = await conn.execute(
                "DELETE FROM invoices WHERE id = $1 AND owner_id = $2", invoice_id, owner_id
            )
        return row_count(status) > 0
