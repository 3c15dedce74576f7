from __future__ import annotations

from datetime import datetime

from storage.models import TaskKind, UserProfile, WorkingHours
from storage.postgres.codec import at
from storage.postgres.database import PgDatabase, Record

# The columns of a profile, for queries that alias them with a prefix (`u.language AS
# u_language`): see user_columns().
_COLUMNS = (
    "id", "language", "timezone", "morning_hour", "created_at", "active", "digest_enabled",
    "digest_minute", "telegram_language", "ahead_defaults", "username", "full_name",
    "backup_id", "currency", "work_start_minute", "work_end_minute", "work_days",
)


def user_columns(table: str, prefix: str) -> str:
    """`t.id AS p_id, t.language AS p_language, ...` for user_from_row(row, prefix)."""
    return ", ".join(f"{table}.{column} AS {prefix}{column}" for column in _COLUMNS)


def decode_ahead(text: str) -> tuple[tuple[TaskKind, int], ...]:
    pairs = []
    for part in text.split(","):
        kind, _sep, minutes = part.partition("=")
        if kind in TaskKind._value2member_map_ and minutes.isdigit():
            pairs.append((TaskKind(kind), int(minutes)))
    return tuple(pairs)


def user_from_row(row: Record, prefix: str = "") -> UserProfile:
    """A profile from a row; with a prefix, from columns aliased like `u_language`."""
    days = row[f"{prefix}work_days"]
    return UserProfile(
        id=row[f"{prefix}id"],
        language=row[f"{prefix}language"],
        timezone=row[f"{prefix}timezone"],
        morning_hour=row[f"{prefix}morning_hour"],
        created_at=row[f"{prefix}created_at"],
        active=row[f"{prefix}active"],
        digest_enabled=row[f"{prefix}digest_enabled"],
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


class PgUserRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def get(self, user_id: int) -> UserProfile | None:
        row = await self._db.fetchrow("SELECT * FROM users WHERE id = $1", user_id)
        return None if row is None else user_from_row(row)

    async def ensure(self, user_id: int, now: datetime) -> UserProfile:
        existing = await self.get(user_id)
        if existing is not None:
            return existing
        await self._db.execute(
            "INSERT INTO users (id, created_at) VALUES ($1, $2) ON CONFLICT (id) DO NOTHING",
            user_id,
            at(now),
        )
        created = await self.get(user_id)
        assert created is not None
        return created

    async def _set(self, user_id: int, column: str, value: object) -> None:
        # column is one of this module's literals, never user input.
        await self._db.execute(f"UPDATE users SET {column} = $1 WHERE id = $2", value, user_id)

    async def set_language(self, user_id: int, language: str) -> None:
        await self._set(user_id, "language", language)

    async def set_timezone(self, user_id: int, timezone: str) -> None:
        await self._set(user_id, "timezone", timezone)

    async def set_currency(self, user_id: int, currency: str | None) -> None:
        await self._set(user_id, "currency", currency)

    async def set_identity(
        self, user_id: int, username: str | None, full_name: str | None
    ) -> None:
        await self._db.execute(
            "UPDATE users SET username = $1, full_name = $2 WHERE id = $3",
            username,
            full_name,
            user_id,
        )

    async def display_names(self, user_ids: set[int | None]) -> dict[int, str]:
        """Names to show for these users, in one query (unknown ids are left out)."""
        ids = [user_id for user_id in user_ids if user_id is not None]
        if not ids:
            return {}
        rows = await self._db.fetch("SELECT * FROM users WHERE id = ANY($1::bigint[])", ids)
        return {row["id"]: user_from_row(row).display_name for row in rows}

    async def by_username(self, username: str) -> UserProfile | None:
        row = await self._db.fetchrow(
            "SELECT * FROM users WHERE lower(username) = lower($1) ORDER BY id LIMIT 1",
            username.lstrip("@"),
        )
        return None if row is None else user_from_row(row)

    async def set_backup(self, user_id: int, backup_id: int | None) -> None:
        await self._set(user_id, "backup_id", backup_id)

    async def intake_secret(self, user_id: int, new_secret: str) -> str:
        """The user's intake secret, set to `new_secret` the first time it is asked for."""
        value = await self._db.fetchval(
            "UPDATE users SET intake_secret = coalesce(intake_secret, $1) WHERE id = $2"
            " RETURNING intake_secret",
            new_secret,
            user_id,
        )
        assert value is not None
        return str(value)

    async def stored_intake_secret(self, user_id: int) -> str | None:
        value = await self._db.fetchval("SELECT intake_secret FROM users WHERE id = $1", user_id)
        return None if value is None else str(value)

    async def rotate_intake_secret(self, user_id: int, new_secret: str) -> str:
        """Replace the secret in one write: the old address stops working at once."""
        await self._set(user_id, "intake_secret", new_secret)
        return new_secret

    async def calendar_secret(self, user_id: int, new_secret: str) -> str:
        """The user's calendar feed secret, set to `new_secret` the first time it is asked for."""
        value = await self._db.fetchval(
            "UPDATE users SET calendar_secret = coalesce(calendar_secret, $1) WHERE id = $2"
            " RETURNING calendar_secret",
            new_secret,
            user_id,
        )
        assert value is not None
        return str(value)

    async def stored_calendar_secret(self, user_id: int) -> str | None:
        value = await self._db.fetchval(
            "SELECT calendar_secret FROM users WHERE id = $1", user_id
        )
        return None if value is None else str(value)

    async def rotate_calendar_secret(self, user_id: int, new_secret: str) -> str:
        """Replace the secret in one write: the old feed address stops working at once."""
        await self._set(user_id, "calendar_secret", new_secret)
        return new_secret

    async def calendar_version(self, user_id: int, version: str, now: datetime) -> datetime:
        """When the feed became `version`: kept while it stays that, `now` once it changes
        (a second after the last change at the latest: Last-Modified has whole seconds, and a
        poller asking If-Modified-Since must not get 304 for a second change in one second)."""
        value = await self._db.fetchval(
            "WITH changed AS (UPDATE users SET calendar_version = $1, calendar_changed_at ="
            " greatest($2, calendar_changed_at + interval '1 second')"
            " WHERE id = $3 AND calendar_version IS DISTINCT FROM $1"
            " RETURNING calendar_changed_at)"
            " SELECT calendar_changed_at FROM changed"
            " UNION ALL SELECT calendar_changed_at FROM users WHERE id = $3"
            " AND NOT EXISTS (SELECT 1 FROM changed)",
            version,
            at(now),
            user_id,
        )
        return value if isinstance(value, datetime) else now

    async def set_active(self, user_id: int, active: bool) -> None:
        await self._set(user_id, "active", active)

    async def set_hours(self, user_id: int, hours: WorkingHours) -> None:
        await self._db.execute(
            "UPDATE users SET work_start_minute = $1, work_end_minute = $2, work_days = $3"
            " WHERE id = $4",
            hours.start_minute,
            hours.end_minute,
            ",".join(str(day) for day in sorted(set(hours.days))),
            user_id,
        )

    async def set_digest(self, user_id: int, *, enabled: bool, minute: int) -> None:
        """New settings; the next digest moment is recomputed by the digest sweep."""
        await self._db.execute(
            "UPDATE users SET digest_enabled = $1, digest_minute = $2, digest_next_at = NULL"
            " WHERE id = $3",
            enabled,
            minute,
            user_id,
        )

    async def digest_unplanned(self, limit: int) -> list[UserProfile]:
        rows = await self._db.fetch(
            "SELECT * FROM users WHERE digest_enabled AND active"
            " AND digest_next_at IS NULL LIMIT $1",
            limit,
        )
        return [user_from_row(row) for row in rows]

    async def digest_due(self, now: datetime, limit: int) -> list[tuple[UserProfile, datetime]]:
        rows = await self._db.fetch(
            "SELECT * FROM users WHERE digest_enabled AND active"
            " AND digest_next_at <= $1 ORDER BY digest_next_at LIMIT $2",
            at(now),
            limit,
        )
        return [(user_from_row(row), row["digest_next_at"]) for row in rows]

    async def plan_digest(
        self, user_id: int, expected: datetime | None, next_at: datetime
    ) -> bool:
        """Move the next digest moment forward if it is still `expected`: whoever succeeds
        owns (sends) the digest that was due; a second worker gets False."""
        if expected is None:
            changed = await self._db.execute(
                "UPDATE users SET digest_next_at = $1 WHERE id = $2 AND digest_next_at IS NULL",
                at(next_at),
                user_id,
            )
        else:
            changed = await self._db.execute(
                "UPDATE users SET digest_next_at = $1 WHERE id = $2 AND digest_next_at = $3",
                at(next_at),
                user_id,
                at(expected),
            )
        return changed == 1

    async def set_telegram_language(self, user_id: int, language: str | None) -> None:
        await self._set(user_id, "telegram_language", language)

    async def set_ahead_default(self, user_id: int, kind: TaskKind, minutes: int) -> None:
        # Read and write under the row's lock: two workers changing two kinds keep both.
        async with self._db.transaction() as connection:
            row = await connection.fetchrow(
                "SELECT ahead_defaults FROM users WHERE id = $1 FOR UPDATE", user_id
            )
            if row is None:
                return
            pairs = dict(decode_ahead(row["ahead_defaults"]))
            pairs[kind] = minutes
            encoded = ",".join(f"{key.value}={value}" for key, value in pairs.items())
            await connection.execute(
                "UPDATE users SET ahead_defaults = $1 WHERE id = $2", encoded, user_id
            )
