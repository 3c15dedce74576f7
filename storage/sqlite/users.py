from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.models import TaskKind, UserProfile, WorkingHours
from storage.sqlite.codec import decode_time, encode_time
from storage.sqlite.database import Database


def decode_ahead(text: str) -> tuple[tuple[TaskKind, int], ...]:
    pairs = []
    for part in text.split(","):
        kind, _sep, minutes = part.partition("=")
        if kind in TaskKind._value2member_map_ and minutes.isdigit():
            pairs.append((TaskKind(kind), int(minutes)))
    return tuple(pairs)


def user_from_row(row: aiosqlite.Row, prefix: str = "") -> UserProfile:
    """A profile from a row; with a prefix, from columns aliased like `u_language`."""
    days = row[f"{prefix}work_days"]
    return UserProfile(
        id=row[f"{prefix}id"],
        language=row[f"{prefix}language"],
        timezone=row[f"{prefix}timezone"],
        morning_hour=row[f"{prefix}morning_hour"],
        created_at=decode_time(row[f"{prefix}created_at"]),
        active=bool(row[f"{prefix}active"]),
        digest_enabled=bool(row[f"{prefix}digest_enabled"]),
        digest_minute=row[f"{prefix}digest_minute"],
        telegram_language=row[f"{prefix}telegram_language"],
        ahead_defaults=decode_ahead(row[f"{prefix}ahead_defaults"]),
        username=row[f"{prefix}username"],
        full_name=row[f"{prefix}full_name"],
        backup_id=row[f"{prefix}backup_id"],
        currency=row[f"{prefix}currency"],
        hours=WorkingHours(
            start_minute=row[f"{prefix}work_start_minute"],
            end_minute=row[f"{prefix}work_end_minute"],
            days=tuple(int(day) for day in days.split(",") if day),
        ),
    )


class SqliteUserRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def get(self, user_id: int) -> UserProfile | None:
        row = await self._db.fetchone("SELECT * FROM users WHERE id = ?", (user_id,))
        return None if row is None else user_from_row(row)

    async def ensure(self, user_id: int, now: datetime) -> UserProfile:
        existing = await self.get(user_id)
        if existing is not None:
            return existing
        await self._db.execute(
            "INSERT OR IGNORE INTO users (id, created_at) VALUES (?, ?)",
            (user_id, encode_time(now)),
        )
        created = await self.get(user_id)
        assert created is not None
        return created

    async def set_language(self, user_id: int, language: str) -> None:
        await self._db.execute("UPDATE users SET language = ? WHERE id = ?", (language, user_id))

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        await self._db.execute("UPDATE users SET timezone = ? WHERE id = ?", (timezone, user_id))

    async def set_currency(self, user_id: int, currency: str | None) -> None:
        await self._db.execute("UPDATE users SET currency = ? WHERE id = ?", (currency, user_id))

    async def set_identity(
        self, user_id: int, username: str | None, full_name: str | None
    ) -> None:
        await self._db.execute(
            "UPDATE users SET username = ?, full_name = ? WHERE id = ?",
            (username, full_name, user_id),
        )

    async def display_names(self, user_ids: set[int | None]) -> dict[int, str]:
        """Names to show for these users, in one query (unknown ids are left out)."""
        ids = tuple(user_id for user_id in user_ids if user_id is not None)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = await self._db.fetchall(f"SELECT * FROM users WHERE id IN ({marks})", ids)
        return {row["id"]: user_from_row(row).display_name for row in rows}

    async def by_username(self, username: str) -> UserProfile | None:
        row = await self._db.fetchone(
            "SELECT * FROM users WHERE lower(username) = lower(?) ORDER BY id LIMIT 1",
            (username.lstrip("@"),),
        )
        return None if row is None else user_from_row(row)

    async def set_backup(self, user_id: int, backup_id: int | None) -> None:
        await self._db.execute(
            "UPDATE users SET backup_id = ? WHERE id = ?", (backup_id, user_id)
        )

    async def intake_secret(self, user_id: int, new_secret: str) -> str:
        """The user's intake secret, set to `new_secret` the first time it is asked for."""
        await self._db.execute(
            "UPDATE users SET intake_secret = coalesce(intake_secret, ?) WHERE id = ?",
            (new_secret, user_id),
        )
        row = await self._db.fetchone("SELECT intake_secret FROM users WHERE id = ?", (user_id,))
        assert row is not None
        return str(row[0])

    async def stored_intake_secret(self, user_id: int) -> str | None:
        row = await self._db.fetchone("SELECT intake_secret FROM users WHERE id = ?", (user_id,))
        return None if row is None or row[0] is None else str(row[0])

    async def rotate_intake_secret(self, user_id: int, new_secret: str) -> str:
        """Replace the secret in one write: the old address stops working at once."""
        await self._db.execute(
            "UPDATE users SET intake_secret = ? WHERE id = ?", (new_secret, user_id)
        )
        return new_secret

    async def calendar_secret(self, user_id: int, new_secret: str) -> str:
        """The user's calendar feed secret, set to `new_secret` the first time it is asked for."""
        await self._db.execute(
            "UPDATE users SET calendar_secret = coalesce(calendar_secret, ?) WHERE id = ?",
            (new_secret, user_id),
        )
        row = await self._db.fetchone("SELECT calendar_secret FROM users WHERE id = ?", (user_id,))
        assert row is not None
        return str(row[0])

    async def stored_calendar_secret(self, user_id: int) -> str | None:
        row = await self._db.fetchone("SELECT calendar_secret FROM users WHERE id = ?", (user_id,))
        return None if row is None or row[0] is None else str(row[0])

    async def rotate_calendar_secret(self, user_id: int, new_secret: str) -> str:
        """Replace the secret in one write: the old feed address stops working at once."""
        await self._db.execute(
            "UPDATE users SET calendar_secret = ? WHERE id = ?", (new_secret, user_id)
        )
        return new_secret

    async def calendar_version(self, user_id: int, version: str, now: datetime) -> datetime:
        """When the feed became `version`: kept while it stays that, `now` once it changes
        (a second after the last change at the latest: Last-Modified has whole seconds, and a
        poller asking If-Modified-Since must not get 304 for a second change in one second)."""
        await self._db.execute(
            "UPDATE users SET calendar_version = ?, calendar_changed_at = max(?, coalesce("
            "strftime('%Y-%m-%dT%H:%M:%SZ', calendar_changed_at, '+1 second'), ''))"
            " WHERE id = ? AND calendar_version IS NOT ?",
            (version, encode_time(now), user_id, version),
        )
        row = await self._db.fetchone(
            "SELECT calendar_changed_at FROM users WHERE id = ?", (user_id,)
        )
        return now if row is None or row[0] is None else decode_time(row[0])

    async def set_active(self, user_id: int, active: bool) -> None:
        await self._db.execute(
            "UPDATE users SET active = ? WHERE id = ?", (int(active), user_id)
        )

    async def set_hours(self, user_id: int, hours: WorkingHours) -> None:
        await self._db.execute(
            "UPDATE users SET work_start_minute = ?, work_end_minute = ?, work_days = ?"
            " WHERE id = ?",
            (
                hours.start_minute,
                hours.end_minute,
                ",".join(str(day) for day in sorted(set(hours.days))),
                user_id,
            ),
        )

    async def set_digest(self, user_id: int, *, enabled: bool, minute: int) -> None:
        """New settings; the next digest moment is recomputed by the digest sweep."""
        await self._db.execute(
            "UPDATE users SET digest_enabled = ?, digest_minute = ?, digest_next_at = NULL"
            " WHERE id = ?",
            (int(enabled), minute, user_id),
        )

    async def digest_unplanned(self, limit: int) -> list[UserProfile]:
        rows = await self._db.fetchall(
            "SELECT * FROM users WHERE digest_enabled = 1 AND active = 1"
            " AND digest_next_at IS NULL LIMIT ?",
            (limit,),
        )
        return [user_from_row(row) for row in rows]

    async def digest_due(self, now: datetime, limit: int) -> list[tuple[UserProfile, datetime]]:
        rows = await self._db.fetchall(
            "SELECT * FROM users WHERE digest_enabled = 1 AND active = 1"
            " AND digest_next_at <= ? ORDER BY digest_next_at LIMIT ?",
            (encode_time(now), limit),
        )
        return [(user_from_row(row), decode_time(row["digest_next_at"])) for row in rows]

    async def plan_digest(
        self, user_id: int, expected: datetime | None, next_at: datetime
    ) -> bool:
        """Move the next digest moment forward if it is still `expected`: whoever succeeds
        owns (sends) the digest that was due; a second worker gets False."""
        if expected is None:
            changed = await self._db.execute(
                "UPDATE users SET digest_next_at = ? WHERE id = ? AND digest_next_at IS NULL",
                (encode_time(next_at), user_id),
            )
        else:
            changed = await self._db.execute(
                "UPDATE users SET digest_next_at = ? WHERE id = ? AND digest_next_at = ?",
                (encode_time(next_at), user_id, encode_time(expected)),
            )
        return changed == 1

    async def set_telegram_language(self, user_id: int, language: str | None) -> None:
        await self._db.execute(
            "UPDATE users SET telegram_language = ? WHERE id = ?", (language, user_id)
        )

    async def set_ahead_default(self, user_id: int, kind: TaskKind, minutes: int) -> None:
        profile = await self.get(user_id)
        if profile is None:
            return
        pairs = dict(profile.ahead_defaults)
        pairs[kind] = minutes
        encoded = ",".join(f"{key.value}={value}" for key, value in pairs.items())
        await self._db.execute(
            "UPDATE users SET ahead_defaults = ? WHERE id = ?", (encoded, user_id)
        )
