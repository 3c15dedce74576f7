"""Urgent alerts: stored before anyone is paged, acted on by whoever claims them.

The escalation engine claims alerts whose `next_at` has come (a lease, like reminders), acts,
and saves its progress only if it still holds the claim: an acknowledgement or resolution
in between clears the claim, so a user's answer always beats the engine.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from storage.errors import OpenAlertLimitError
from storage.models import (
    Alert,
    AlertEvent,
    AlertPage,
    AlertSeverity,
    AlertSource,
    AlertState,
    NewAlert,
)
from storage.sqlite.codec import decode_optional, decode_time, encode_time
from storage.sqlite.database import Database


def _encode_optional(moment: datetime | None) -> str | None:
    return None if moment is None else encode_time(moment)


def alert_from_row(row: aiosqlite.Row) -> Alert:
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
        last_seen_at=decode_time(row["last_seen_at"]),
        step=row["step"],
        step_rounds=row["step_rounds"],
        rounds=row["rounds"],
        gave_up=bool(row["gave_up"]),
        next_at=decode_optional(row["next_at"]),
        acked_by=row["acked_by"],
        acked_at=decode_optional(row["acked_at"]),
        resolved_by=row["resolved_by"],
        resolved_at=decode_optional(row["resolved_at"]),
        created_at=decode_time(row["created_at"]),
        updated_at=decode_time(row["updated_at"]),
    )


class SqliteAlertRepo:
    def __init__(self, database: Database) -> None:
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
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            if new.dedup_key is not None:
                cursor = await conn.execute(
                    "SELECT id FROM alerts WHERE scope = ? AND dedup_key = ?"
                    " AND state != 'resolved'",
                    (new.scope, new.dedup_key),
                )
            else:
                cursor = await conn.execute(
                    "SELECT id FROM alerts WHERE scope = ? AND dedup_key IS NULL"
                    " AND state != 'resolved' AND text = ? AND client_id IS ?"
                    " AND coalesce(client_label, '') = ? AND last_seen_at >= ?"
                    " ORDER BY id DESC LIMIT 1",
                    (
                        new.scope, new.text, new.client_id, new.client_label or "",
                        encode_time(repeat_window_start),
                    ),
                )
            existing = await cursor.fetchone()
            if existing is not None:
                await conn.execute(
                    "UPDATE alerts SET count = count + 1, last_seen_at = ?, updated_at = ?"
                    " WHERE id = ?",
                    (stamp, stamp, existing[0]),
                )
                await conn.execute(
                    "INSERT INTO alert_events (alert_id, at, kind, actor_id) VALUES"
                    " (?, ?, 'repeated', ?)",
                    (existing[0], stamp, new.raised_by),
                )
                alert_id, created = int(existing[0]), False
            else:
                if max_open is not None and new.intake_address is not None:
                    # In the transaction: concurrent posts cannot both take the last place.
                    cursor = await conn.execute(
                        "SELECT count(*) FROM alerts WHERE intake_address = ?"
                        " AND state != 'resolved'",
                        (new.intake_address,),
                    )
                    row = await cursor.fetchone()
                    open_count = int(row[0]) if row is not None else 0
                    if open_count >= max_open:
                        raise OpenAlertLimitError(new.intake_address, open_count)
                cursor = await conn.execute(
                    "INSERT INTO alerts (scope, team_id, owner_id, client_id, client_label,"
                    " text, severity, dedup_key, source, raised_by, last_seen_at, next_at,"
                    " created_at, updated_at, intake_address) VALUES"
                    " (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        new.scope, new.team_id, new.owner_id, new.client_id, new.client_label,
                        new.text, new.severity.value, new.dedup_key, new.source.value,
                        new.raised_by, stamp, stamp, stamp, stamp, new.intake_address,
                    ),
                )
                alert_id, created = int(cursor.lastrowid or 0), True
                await conn.execute(
                    "INSERT INTO alert_events (alert_id, at, kind, actor_id, detail) VALUES"
                    " (?, ?, 'raised', ?, ?)",
                    (alert_id, stamp, new.raised_by, new.source.value),
                )
        alert = await self.get(alert_id)
        assert alert is not None
        return alert, created

    async def get(self, alert_id: int) -> Alert | None:
        row = await self._db.fetchone("SELECT * FROM alerts WHERE id = ?", (alert_id,))
        return None if row is None else alert_from_row(row)

    async def next_at(self, stale_before: datetime | None = None) -> datetime | None:
        """The earliest moment an alert is due; with `stale_before`, alerts claimed since
        then (a step is in flight for them) are left out."""
        if stale_before is None:
            row = await self._db.fetchone(
                "SELECT min(next_at) FROM alerts WHERE next_at IS NOT NULL"
                " AND state != 'resolved'"
            )
        else:
            row = await self._db.fetchone(
                "SELECT min(next_at) FROM alerts WHERE next_at IS NOT NULL"
                " AND state != 'resolved' AND (claim_token IS NULL OR claimed_at < ?)",
                (encode_time(stale_before),),
            )
        return None if row is None or row[0] is None else decode_time(row[0])

    async def claim_due(
        self, now: datetime, token: str, stale_before: datetime, limit: int
    ) -> list[Alert]:
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            await conn.execute(
                "UPDATE alerts SET claim_token = ?, claimed_at = ? WHERE id IN ("
                " SELECT id FROM alerts WHERE next_at IS NOT NULL AND next_at <= ?"
                " AND state != 'resolved'"
                " AND (claim_token IS NULL OR claimed_at < ?) ORDER BY next_at LIMIT ?)",
                (token, stamp, stamp, encode_time(stale_before), limit),
            )
        rows = await self._db.fetchall(
            "SELECT * FROM alerts WHERE claim_token = ? ORDER BY next_at, id", (token,)
        )
        return [alert_from_row(row) for row in rows]

    async def renew_claims(self, token: str, now: datetime) -> None:
        await self._db.execute(
            "UPDATE alerts SET claimed_at = ? WHERE claim_token = ?", (encode_time(now), token)
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
            "UPDATE alerts SET state = ?, step = ?, step_rounds = ?, rounds = ?, gave_up = ?,"
            " next_at = ?, claim_token = NULL, claimed_at = NULL, updated_at = ?"
            " WHERE id = ? AND claim_token = ? AND state = ?",
            (
                state.value, step, step_rounds, rounds, int(gave_up), _encode_optional(next_at),
                encode_time(now), alert.id, token, alert.state.value,
            ),
        )
        return changed > 0

    async def release_claims(self, tokens: Sequence[str]) -> int:
        """A stopping process's claims: cleared, their next_at kept, so the next start acts
        on those alerts at once instead of after the claim goes stale."""
        if not tokens:
            return 0
        marks = ",".join("?" * len(tokens))
        return await self._db.execute(
            "UPDATE alerts SET claim_token = NULL, claimed_at = NULL"
            f" WHERE claim_token IN ({marks})",
            tuple(tokens),
        )

    async def release_claims_before(self, moment: datetime) -> int:
        return await self._db.execute(
            "UPDATE alerts SET claim_token = NULL, claimed_at = NULL"
            " WHERE claim_token IS NOT NULL AND claimed_at < ?",
            (encode_time(moment),),
        )

    async def release(self, alert_id: int, token: str, retry_at: datetime) -> None:
        await self._db.execute(
            "UPDATE alerts SET claim_token = NULL, claimed_at = NULL, next_at = ?"
            " WHERE id = ? AND claim_token = ?",
            (encode_time(retry_at), alert_id, token),
        )

    async def acknowledge(
        self, alert_id: int, user_id: int, now: datetime, recheck_at: datetime
    ) -> Alert | None:
        """Open → acknowledged by this user; None if it was not open."""
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET state = 'acked', acked_by = ?, acked_at = ?, next_at = ?,"
                " claim_token = NULL, claimed_at = NULL, updated_at = ?"
                " WHERE id = ? AND state = 'open'",
                (user_id, stamp, encode_time(recheck_at), stamp, alert_id),
            )
            if cursor.rowcount == 0:
                return None
            await self._event(conn, alert_id, now, "acked", user_id)
        return await self.get(alert_id)

    async def resolve(self, alert_id: int, user_id: int, now: datetime) -> Alert | None:
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET state = 'resolved', resolved_by = ?, resolved_at = ?,"
                " next_at = NULL, claim_token = NULL, claimed_at = NULL, updated_at = ?,"
                " acked_by = coalesce(acked_by, ?), acked_at = coalesce(acked_at, ?)"
                " WHERE id = ? AND state != 'resolved'",
                (user_id, stamp, stamp, user_id, stamp, alert_id),
            )
            if cursor.rowcount == 0:
                return None
            await self._event(conn, alert_id, now, "resolved", user_id)
        return await self.get(alert_id)

    async def snooze(
        self, alert_id: int, user_id: int, now: datetime, until: datetime
    ) -> Alert | None:
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET next_at = ?, claim_token = NULL, claimed_at = NULL,"
                " updated_at = ? WHERE id = ? AND state = 'open'",
                (encode_time(until), stamp, alert_id),
            )
            if cursor.rowcount == 0:
                return None
            await self._event(conn, alert_id, now, "snoozed", user_id, encode_time(until))
        return await self.get(alert_id)

    async def reopen(self, alert_id: int, token: str, now: datetime) -> bool:
        """An acknowledged alert left unresolved too long starts paging again."""
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "UPDATE alerts SET state = 'open', step = 0, step_rounds = 0, rounds = 0,"
                " gave_up = 0, next_at = ?, claim_token = NULL, claimed_at = NULL,"
                " updated_at = ? WHERE id = ? AND claim_token = ? AND state = 'acked'",
                (stamp, stamp, alert_id, token),
            )
            if cursor.rowcount == 0:
                return False
            await self._event(conn, alert_id, now, "retriggered", None)
        return True

    @staticmethod
    async def _event(
        conn: aiosqlite.Connection,
        alert_id: int,
        now: datetime,
        kind: str,
        actor_id: int | None,
        detail: str = "",
    ) -> None:
        await conn.execute(
            "INSERT INTO alert_events (alert_id, at, kind, actor_id, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            (alert_id, encode_time(now), kind, actor_id, detail),
        )

    async def add_event(
        self, alert_id: int, now: datetime, kind: str, actor_id: int | None, detail: str = ""
    ) -> None:
        await self._db.execute(
            "INSERT INTO alert_events (alert_id, at, kind, actor_id, detail)"
            " VALUES (?, ?, ?, ?, ?)",
            (alert_id, encode_time(now), kind, actor_id, detail),
        )

    async def events(self, alert_id: int) -> list[AlertEvent]:
        rows = await self._db.fetchall(
            "SELECT at, kind, actor_id, detail FROM alert_events WHERE alert_id = ?"
            " ORDER BY id",
            (alert_id,),
        )
        return [
            AlertEvent(decode_time(row["at"]), row["kind"], row["actor_id"], row["detail"])
            for row in rows
        ]

    async def record_page(
        self, alert_id: int, user_id: int, message_id: int | None, step: int, now: datetime
    ) -> None:
        await self._db.execute(
            "INSERT INTO alert_pages (alert_id, user_id, message_id, step, first_at)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (alert_id, user_id) DO UPDATE SET"
            " message_id = coalesce(excluded.message_id, message_id)",
            (alert_id, user_id, message_id, step, encode_time(now)),
        )

    async def pages(self, alert_id: int) -> list[AlertPage]:
        rows = await self._db.fetchall(
            "SELECT alert_id, user_id, message_id, step FROM alert_pages WHERE alert_id = ?"
            " ORDER BY step, first_at, user_id",
            (alert_id,),
        )
        return [
            AlertPage(row["alert_id"], row["user_id"], row["message_id"], row["step"])
            for row in rows
        ]

    async def recent(self, scopes: list[str], since: datetime, limit: int) -> list[Alert]:
        """Open alerts of these scopes, then others updated since `since`, newest first."""
        if not scopes:
            return []
        marks = ",".join("?" * len(scopes))
        rows = await self._db.fetchall(
            f"SELECT * FROM alerts WHERE scope IN ({marks})"
            " AND (state != 'resolved' OR updated_at >= ?)"
            " ORDER BY state = 'resolved', created_at DESC, id DESC LIMIT ?",
            (*scopes, encode_time(since), limit),
        )
        return [alert_from_row(row) for row in rows]

    async def count_open(self, intake_address: str | None = None) -> int:
        """Open (not resolved) alerts; of one intake address if given."""
        if intake_address is None:
            row = await self._db.fetchone(
                "SELECT count(*) FROM alerts WHERE state != 'resolved'"
            )
        else:
            row = await self._db.fetchone(
                "SELECT count(*) FROM alerts WHERE intake_address = ? AND state != 'resolved'",
                (intake_address,),
            )
        return 0 if row is None else int(row[0])
