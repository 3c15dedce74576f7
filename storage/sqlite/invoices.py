from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import Invoice, InvoiceStatus
from storage.sqlite.codec import decode_optional, decode_time, encode_time
from storage.sqlite.database import Database

_SELECT = "SELECT i.*, c.name AS client_name FROM invoices i JOIN clients c ON c.id = i.client_id"


def invoice_from_row(row: aiosqlite.Row) -> Invoice:
    return Invoice(
        id=row["id"],
        owner_id=row["owner_id"],
        client_id=row["client_id"],
        client_name=row["client_name"],
        number=row["number"],
        amount_minor=row["amount_minor"],
        paid_minor=row["paid_minor"],
        currency=row["currency"],
        due_at=decode_time(row["due_at"]),
        promised_at=decode_optional(row["promised_at"]),
        note=row["note"],
        status=InvoiceStatus(row["status"]),
        paid_at=decode_optional(row["paid_at"]),
        task_id=row["task_id"],
    )


class SqliteInvoiceRepo:
    def __init__(self, database: Database) -> None:
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
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "INSERT INTO invoices (owner_id, client_id, number, amount_minor, currency,"
                " due_at, note, created_at, updated_at) VALUES (?, ?,"
                " (SELECT coalesce(max(number), 0) + 1 FROM invoices WHERE owner_id = ?),"
                " ?, ?, ?, ?, ?, ?) RETURNING id",
                (owner_id, client_id, owner_id, amount_minor, currency, encode_time(due_at),
                 note, stamp, stamp),
            )
            row = await cursor.fetchone()
            await cursor.close()
        assert row is not None
        created = await self.get(owner_id, int(row[0]))
        assert created is not None
        return created

    async def get(self, owner_id: int, invoice_id: int) -> Invoice | None:
        row = await self._db.fetchone(
            f"{_SELECT} WHERE i.id = ? AND i.owner_id = ?", (invoice_id, owner_id)
        )
        return None if row is None else invoice_from_row(row)

    async def get_by_number(self, owner_id: int, number: int) -> Invoice | None:
        row = await self._db.fetchone(
            f"{_SELECT} WHERE i.number = ? AND i.owner_id = ?", (number, owner_id)
        )
        return None if row is None else invoice_from_row(row)

    async def unpaid(
        self, owner_id: int, limit: int = 500, client_id: int | None = None
    ) -> list[Invoice]:
        """Unpaid invoices, the soonest to collect first; with client_id, that client's."""
        rows = await self._db.fetchall(
            f"{_SELECT} WHERE i.owner_id = ? AND i.status = 'unpaid' AND c.deleted_at IS NULL"
            " AND (? IS NULL OR i.client_id = ?)"
            " ORDER BY coalesce(i.promised_at, i.due_at), i.number LIMIT ?",
            (owner_id, client_id, client_id, limit),
        )
        return [invoice_from_row(row) for row in rows]

    async def link_task(self, owner_id: int, invoice_id: int, task_id: int) -> None:
        await self._db.execute(
            "UPDATE invoices SET task_id = ? WHERE id = ? AND owner_id = ?",
            (task_id, invoice_id, owner_id),
        )

    async def add_payment(
        self, owner_id: int, invoice_id: int, amount_minor: int, now: datetime
    ) -> Invoice | None:
        """Record a payment; the invoice becomes paid once the whole amount has come (what was
        paid before that payment is kept, so "unpaid" can put it back)."""
        stamp = encode_time(now)
        changed = await self._db.execute(
            "UPDATE invoices SET paid_minor = min(amount_minor, paid_minor + ?),"
            " paid_minor_before = CASE WHEN paid_minor + ? >= amount_minor THEN paid_minor"
            " ELSE paid_minor_before END,"
            " status = CASE WHEN paid_minor + ? >= amount_minor THEN 'paid' ELSE status END,"
            " paid_at = CASE WHEN paid_minor + ? >= amount_minor THEN ? ELSE paid_at END,"
            " updated_at = ? WHERE id = ? AND owner_id = ? AND status = 'unpaid'",
            (amount_minor, amount_minor, amount_minor, amount_minor, stamp, stamp, invoice_id,
             owner_id),
        )
        return await self.get(owner_id, invoice_id) if changed else None

    async def set_promised(
        self, owner_id: int, invoice_id: int, promised_at: datetime, now: datetime
    ) -> Invoice | None:
        changed = await self._db.execute(
            "UPDATE invoices SET promised_at = ?, updated_at = ?"
            " WHERE id = ? AND owner_id = ? AND status = 'unpaid'",
            (encode_time(promised_at), encode_time(now), invoice_id, owner_id),
        )
        return await self.get(owner_id, invoice_id) if changed else None

    async def set_unpaid(self, owner_id: int, invoice_id: int, now: datetime) -> Invoice | None:
        """Undo "paid": owed again, with what was paid before the closing payment."""
        changed = await self._db.execute(
            "UPDATE invoices SET status = 'unpaid', paid_minor = paid_minor_before,"
            " paid_at = NULL, updated_at = ? WHERE id = ? AND owner_id = ? AND status = 'paid'",
            (encode_time(now), invoice_id, owner_id),
        )
        return await self.get(owner_id, invoice_id) if changed else None

    async def set_amount(
        self, owner_id: int, invoice_id: int, amount_minor: int, currency: str, now: datetime
    ) -> Invoice | None:
        changed = await self._db.execute(
            "UPDATE invoices SET amount_minor = ?, currency = ?, updated_at = ?"
            " WHERE id = ? AND owner_id = ? AND status = 'unpaid'",
            (amount_minor, currency, encode_time(now), invoice_id, owner_id),
        )
        return await self.get(owner_id, invoice_id) if changed else None

    async def set_due(
        self, owner_id: int, invoice_id: int, due_at: datetime, now: datetime
    ) -> Invoice | None:
        changed = await self._db.execute(
            "UPDATE invoices SET due_at = ?, updated_at = ?"
            " WHERE id = ? AND owner_id = ? AND status = 'unpaid'",
            (encode_time(due_at), encode_time(now), invoice_id, owner_id),
        )
        return await self.get(owner_id, invoice_id) if changed else None

    async def set_note(
        self, owner_id: int, invoice_id: int, note: str | None, now: datetime
    ) -> Invoice | None:
        changed = await self._db.execute(
            "UPDATE invoices SET note = ?, updated_at = ?"
            " WHERE id = ? AND owner_id = ? AND status != 'cancelled'",
            (note, encode_time(now), invoice_id, owner_id),
        )
        return await self.get(owner_id, invoice_id) if changed else None

    async def delete(self, owner_id: int, invoice_id: int) -> bool:
        """Gone for good; its payment task (already deleted) forgets it."""
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE tasks SET invoice_id = NULL WHERE invoice_id = ? AND owner_id = ?",
                (invoice_id, owner_id),
            )
            cursor = await conn.execute(
                "DELETE FROM invoices WHERE id = ? AND owner_id = ?", (invoice_id, owner_id)
            )
            deleted = cursor.rowcount > 0
            await cursor.close()
        return deleted
