"""Urgent alerts on PostgreSQL: the same lifecycle as storage/sqlite/alerts.py, safe with
several workers.

What SQLite's single writer gave for free is spelt out here:
- a repeat of a keyed alert is one `INSERT ... ON CONFLICT` on the open-dedup index, so two
  workers raising the same alert at once store one alert counted twice;
- an unkeyed repeat (same client and text) and the open-alert cap of an intake address are
  decided under transaction-scoped advisory locks, so concurrent raises queue instead of
  both seeing "not there yet" or both taking the last place;
- claims of due alerts skip rows another worker is claiming (`FOR UPDATE SKIP LOCKED`), and
  every state change re-checks the state (and claim) it expects in its WHERE.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from storage.errors import OpenAlertLimitError
from storage.forms import encode_time
from storage.models import (
    Alert,
    AlertEvent,
    AlertPage,
    AlertSeverity,
    AlertSource,
    AlertState,
    NewAlert,
)
from storage.postgres.codec import at, at_optional
from storage.postgres.database import Connection, PgDatabase, Record, row_count

# Namespaces (the first key of the two-key advisory locks) of the locks taken here.
_ADDRESS_LOCK = "alerts.intake_address"
_REPEAT_LOCK = "alerts.repeat"

_INSERT_COLUMNS = (
    "scope, team_id, owner_id, client_id, client_label, text, severity, dedup_key, source,"
    " raised_by, last_seen_at, next_at, created_at, updated_at, intake_address"
)
_INSERT_VALUES = "$1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11, $11, $12"


def alert_from_row(row: Record) -> Alert:
    return Alert(
        id=row["id"],
        scope=row["scope"],
        team_id=row["team_id"],
        owner_id=row["owner_id"],
        client_id=row["client_id"],
        client_label=row["client_label"],
        text=row["text"],
        severity=AlertSeverity(row["severity"]),
        dedup_key=row["dedup_key"],
        source=AlertSource(row["source"]),
        raised_by=row["raised_by"],
        state=AlertState(row["state"]),
        count=row["count"],
        last_seen_at=row["last_seen_at"],
        step=row["step"],
        step_rounds=row["step_rounds"],
        rounds=row["rounds"],
        gave_up=bool(row["gave_up"]),
        next_at=row["next_at"],
        acked_by=row["acked_by"],
        acked_at=row["acked_at"],
        resolved_by=row["resolved_by"],
        resolved_at=row["resolved_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


def _insert_args(new: NewAlert, stamp: datetime) -> tuple[object, ...]:
    return (
        new.scope, new.team_id, new.owner_id, new.client_id, new.client_label, new.text,
        new.severity.value, new.dedup_key, new.source.value, new.raised_by, stamp,
        new.intake_address,
    )


async def _raise_unkeyed(
    conn: Connection,
    new: NewAlert,
    stamp: datetime,
    repeat_window_start: datetime,
    cap: tuple[str, int] | None,
) -> tuple[Record, bool]:
    # Two raises of one text queue here, so the second sees the first and repeats it.
    # Always taken after the address lock (one order: no deadlock between the two).
    await conn.execute(
        "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
        _REPEAT_LOCK,
        f"{new.scope}\n{new.text}",
    )
    row = await conn.fetchrow(
        "UPDATE alerts SET count = count + 1, last_seen_at = $1, updated_at = $1"
        " WHERE id = (SELECT id FROM alerts WHERE scope = $2"
        " AND dedup_key IS NULL AND state != 'resolved' AND text = $3"
        " AND client_id IS NOT DISTINCT FROM $4::bigint"
        " AND coalesce(client_label, '') = $5 AND last_seen_at >= $6"
        " ORDER BY id DESC LIMIT 1) AND state != 'resolved' RETURNING *",
        stamp, new.scope, new.text, new.client_id, new.client_label or "",
        at(repeat_window_start),
    )
    if row is not None:
        return row, False
    if cap is not None:
        await _check_open_limit(conn, *cap)
    row = await conn.fetchrow(
        f"INSERT INTO alerts ({_INSERT_COLUMNS}) VALUES ({_INSERT_VALUES}) RETURNING *",
        *_insert_args(new, stamp),
    )
    assert row is not None
    return row, True


async def _raise_keyed(
    conn: Connection, new: NewAlert, stamp: datetime, cap: tuple[str, int] | None
) -> tuple[Record, bool]:
    if cap is not None:
        # A repeat is counted even at the cap: look for one before counting.
        row = await conn.fetchrow(
            "UPDATE alerts SET count = count + 1, last_seen_at = $1, updated_at = $1"
            " WHERE scope = $2 AND dedup_key = $3 AND state != 'resolved' RETURNING *",
            stamp, new.scope, new.dedup_key,
        )
        if row is not None:
            return row, False
        await _check_open_limit(conn, *cap)
    # Concurrent raises of one key: one inserts, the others wait on the unique index and
    # then count themselves as repeats of it.
    row = await conn.fetchrow(
        f"INSERT INTO alerts ({_INSERT_COLUMNS}) VALUES ({_INSERT_VALUES})"
        " ON CONFLICT (scope, dedup_key) WHERE dedup_key IS NOT NULL AND state != 'resolved'"
        " DO UPDATE SET count = alerts.count + 1, last_seen_at = excluded.last_seen_at,"
        " updated_at = excluded.updated_at"
        " RETURNING *, (xmax = 0) AS inserted",
        *_insert_args(new, stamp),
    )
    assert row is not None
    return row, bool(row["inserted"])


async def _check_open_limit(conn: Connection, address: str, max_open: int) -> None:
    """Under the address lock: no new alert past the cap."""
    open_count = int(
        await conn.fetchval(
            "SELECT count(*) FROM alerts WHERE intake_address = $1 AND state != 'resolved'",
            address,
        )
    )
    if open_count >= max_open:
        raise OpenAlertLimitError(address, open_count)


class PgAlertRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def raise_alert(
        self,
        new: NewAlert,
        now: datetime,
        repeat_window_start: datetime,
        max_open: int | None = None,
    ) -> tuple[Alert, bool]:
        """Store a new alert, or count a repeat of an open one; True if it is new.

        A repeat is the same dedup key in the scope, or (without a key) the same client and
        text seen since `repeat_window_start`. With `max_open`, an intake address that has
        that many open alerts gets no new one (OpenAlertLimitError); repeats still count.
        """
        stamp = at(now)
        cap = (
            (new.intake_address, max_open)
            if max_open is not None and new.intake_address is not None
            else None
        )
        async with self._db.transaction() as conn:
            if cap is not None:
                # Raises on one address queue here until the previous one commits, so the
                # open count read below cannot be taken by two of them at once.
                await conn.execute(
                    "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2))",
                    _ADDRESS_LOCK,
                    cap[0],
                )
            if new.dedup_key is None:
                row, created = await _raise_unkeyed(conn, new, stamp, repeat_window_start, cap)
            else:
                row, created = await _raise_keyed(conn, new, stamp, cap)
            alert = alert_from_row(row)
            if created:
                await self._event(
                    conn, alert.id, now, "raised", new.raised_by, new.source.value
                )
            else:
                await self._event(conn, alert.id, now, "repeated", new.raised_by)
        return alert, created

    async def get(self, alert_id: int) -> Alert | None:
        row = await self._db.fetchrow("SELECT * FROM alerts WHERE id = $1", alert_id)
        return None if row is None else alert_from_row(row)

    async def next_at(self, stale_before: datetime | None = None) -> datetime | None:
        """The earliest moment an alert is due; with `stale_before`, alerts claimed since
        then (a step is in flight for them) are left out."""
        if stale_before is None:
            value = await self._db.fetchval(
                "SELECT min(next_at) FROM alerts WHERE next_at IS NOT NULL"
                " AND state != 'resolved'"
            )
        else:
            value = await self._db.fetchval(
                "SELECT min(next_at) FROM alerts WHERE next_at IS NOT NULL"
                " AND state != 'resolved' AND (claim_token IS NULL OR claimed_at < $1)",
                at(stale_before),
            )
        return value if isinstance(value, datetime) else None

    async def claim_due(
        self, now: datetime, token: str, stale_before: datetime, limit: int
    ) -> list[Alert]:
        stamp = at(now)
        stale = at(stale_before)
        async with self._db.transaction() as conn:
            # Rows another worker is claiming right now are skipped, never claimed twice;
            # the outer WHERE re-checks what the locked rows look like now.
            await conn.execute(
                "UPDATE alerts SET claim_token = $1, claimed_at = $2 WHERE id IN ("
                " SELECT id FROM alerts WHERE next_at IS NOT NULL AND next_at <= $2"
                " AND state != 'resolved' AND (claim_token IS NULL OR claimed_at < $3)"
                " ORDER BY next_at LIMIT $4 FOR UPDATE SKIP LOCKED)"
                " AND state != 'resolved' AND (claim_token IS NULL OR claimed_at < $3)",
                token, stamp, stale, limit,
            )
            rows = await conn.fetch(
                "SELECT * FROM alerts WHERE claim_token = $1 ORDER BY next_at, id", token
            )
        return [alert_from_row(row) for row in rows]

    async def renew_claims(self, token: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE alerts SET claimed_at = $1 WHERE claim_token = $2", at(now), token
        )

    async def save_progress(
        self,
        alert: Alert,
        token: str,
        *,
        state: AlertState,
        step: int,
        step_rounds: int,
        rounds: int,
        gave_up: bool,
        next_at: datetime | None,
        now: datetime,
    ) -> bool:
        """Write the engine's step; False if someone answered meanwhile (the answer wins)."""
        changed = await self._db.execute(
            "UPDATE alerts SET state = $1, step = $2, step_rounds = $3, rounds = $4,"
            " gave_up = $5, next_at = $6, claim_token = NULL, claimed_at = NULL,"
            " updated_at = $7 WHERE id = $8 AND claim_token = $9 AND state = $10",
            state.value, step, step_rounds, rounds, bool(gave_up), at_optional(next_at),
            at(now), alert.id, token, alert.state.value,
        )
        return changed > 0

    async def release_claims(self, tokens: Sequence[str]) -> int:
        """A stopping process's claims: cleared, their next_at kept, so the next start acts
        on those alerts at once instead of after the claim goes stale."""
        if not tokens:
            return 0
        return await self._db.execute(
            "UPDATE alerts SET claim_token = NULL, claimed_at = NULL"
            " WHERE claim_token = ANY($1::text[])",
            list(tokens),
        )

    async def release_claims_before(self, moment: datetime) -> int:
        return await self._db.execute(
            "UPDATE alerts SET claim_token = NULL, claimed_at = NULL"
            " WHERE claim_token IS NOT NULL AND claimed_at < $1",
            at(moment),
        )

    async def release(self, alert_id: int, token: str, retry_at: datetime) -> None:
        await self._db.execute(
            "UPDATE alerts SET claim_token = NULL, claimed_at = NULL, next_at = $1"
            " WHERE id = $2 AND claim_token = $3",
            at(retry_at), alert_id, token,
        )

    async def acknowledge(
        self, alert_id: int, user_id: int, now: datetime, recheck_at: datetime
    ) -> Alert | None:
        """Open → acknowledged by this user; None if it was not open."""
        stamp = at(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE alerts SET state = 'acked', acked_by = $1, acked_at = $2,"
                " next_at = $3, claim_token = NULL, claimed_at = NULL, updated_at = $2"
                " WHERE id = $4 AND state = 'open' RETURNING *",
                user_id, stamp, at(recheck_at), alert_id,
            )
            if row is None:
                return None
            await self._event(conn, alert_id, now, "acked", user_id)
        return alert_from_row(row)

    async def resolve(self, alert_id: int, user_id: int, now: datetime) -> Alert | None:
        stamp = at(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE alerts SET state = 'resolved', resolved_by = $1, resolved_at = $2,"
                " next_at = NULL, claim_token = NULL, claimed_at = NULL, updated_at = $2,"
                " acked_by = coalesce(acked_by, $1), acked_at = coalesce(acked_at, $2)"
                " WHERE id = $3 AND state != 'resolved' RETURNING *",
                user_id, stamp, alert_id,
            )
            if row is None:
                return None
            await self._event(conn, alert_id, now, "resolved", user_id)
        return alert_from_row(row)

    async def snooze(
        self, alert_id: int, user_id: int, now: datetime, until: datetime
    ) -> Alert | None:
        stamp = at(now)
        async with self._db.transaction() as conn:
            row = await conn.fetchrow(
                "UPDATE alerts SET next_at = $1, claim_token = NULL, claimed_at = NULL,"
                " updated_at = $2 WHERE id = $3 AND state = 'open' RETURNING *",
                at(until), stamp, alert_id,
            )
            if row is None:
                return None
            await self._event(
                conn, alert_id, now, "snoozed", user_id, encode_time(until)
            )
        return alert_from_row(row)

    async def reopen(self, alert_id: int, token: str, now: datetime) -> bool:
        """An acknowledged alert left unresolved too long starts paging again."""
        stamp = at(now)
        async with self._db.transaction() as conn:
            status = await conn.execute(
                "UPDATE alerts SET state = 'open', step = 0, step_rounds = 0, rounds = 0,"
                " gave_up = false, next_at = $1, claim_token = NULL, claimed_at = NULL,"
                " updated_at = $1 WHERE id = $2 AND claim_token = $3 AND state = 'acked'",
                stamp, alert_id, token,
            )
            if row_count(status) == 0:
                return False
            await self._event(conn, alert_id, now, "retriggered", None)
        return True

    @staticmethod
    async def _event(
        conn: Connection,
        alert_id: int,
        now: datetime,
        kind: str,
        actor_id: int | None,
        detail: str = "",
    ) -> None:
        await conn.execute(
            "INSERT INTO alert_events (alert_id, at, kind, actor_id, detail)"
            " VALUES ($1, $2, $3, $4, $5)",
            alert_id, at(now), kind, actor_id, detail,
        )

    async def add_event(
        self, alert_id: int, now: datetime, kind: str, actor_id: int | None, detail: str = ""
    ) -> None:
        await self._db.execute(
            "INSERT INTO alert_events (alert_id, at, kind, actor_id, detail)"
            " VALUES ($1, $2, $3, $4, $5)",
            alert_id, at(now), kind, actor_id, detail,
        )

    async def events(self, alert_id: int) -> list[AlertEvent]:
        rows = await self._db.fetch(
            "SELECT at, kind, actor_id, detail FROM alert_events WHERE alert_id = $1"
            " ORDER BY id",
            alert_id,
        )
        return [AlertEvent(row["at"], row["kind"], row["actor_id"], row["detail"]) for row in rows]

    async def record_page(
        self, alert_id: int, user_id: int, message_id: int | None, step: int, now: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO alert_pages (alert_id, user_id, message_id, step, first_at)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (alert_id, user_id) DO UPDATE SET"
            " message_id = coalesce(excluded.message_id, alert_pages.message_id)",
            alert_id, user_id, message_id, step, at(now),
        )

    async def pages(self, alert_id: int) -> list[AlertPage]:
        rows = await self._db.fetch(
            "SELECT alert_id, user_id, message_id, step FROM alert_pages WHERE alert_id = $1"
            " ORDER BY step, first_at, user_id",
            alert_id,
        )
        return [
            AlertPage(row["alert_id"], row["user_id"], row["message_id"], row["step"])
            for row in rows
        ]

    async def recent(self, scopes: list[str], since: datetime, limit: int) -> list[Alert]:
        """Open alerts of these scopes, then others updated since `since`, newest first."""
        if not scopes:
            return []
        rows = await self._db.fetch(
            "SELECT * FROM alerts WHERE scope = ANY($1::text[])"
            " AND (state != 'resolved' OR updated_at >= $2)"
            " ORDER BY state = 'resolved', created_at DESC, id DESC LIMIT $3",
            list(scopes), at(since), limit,
        )
        return [alert_from_row(row) for row in rows]

    async def count_open(self, intake_address: str | None = None) -> int:
        """Open (not resolved) alerts; of one intake address if given."""
        if intake_address is None:
            value = await self._db.fetchval(
                "SELECT count(*) FROM alerts WHERE state != 'resolved'"
            )
        else:
            value = await self._db.fetchval(
                "SELECT count(*) FROM alerts WHERE intake_address = $1"
                " AND state != 'resolved'",
                intake_address,
            )
        return 0 if value is None else int(value)
