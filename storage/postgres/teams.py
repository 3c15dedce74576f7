"""Teams, their members, invites and client handovers on PostgreSQL: the same results as
storage/sqlite/teams.py, with several writers.

One team per user is the team_members primary key: a second membership is an
`ON CONFLICT DO NOTHING` that inserted nothing (AlreadyInTeamError, the transaction rolled
back), never an aborted transaction. Changes of a team's lead and removals of its members
lock the team's row first, so one of them sees the other's result.
"""

from __future__ import annotations

from datetime import datetime

from storage.errors import AlreadyInTeamError
from storage.models import Departure, Handover, Team, TeamInvite, UserProfile
from storage.postgres.codec import at
from storage.postgres.database import Connection, PgDatabase, Record, row_count
from storage.postgres.users import user_from_row

# The first key of the two-key advisory lock a handover's owner is serialised by.
_HANDOVER_LOCK = "handovers.owner"


def team_from_row(row: Record) -> Team:
    return Team(
        id=row["id"],
        name=row["name"],
        lead_id=row["lead_id"],
        intake_secret=row["intake_secret"],
        escalate_to_all=bool(row["escalate_to_all"]),
        created_at=row["created_at"],
    )


# A handover holds only while both people are in the same team: whatever ended it (a
# removal, leaving, a team deleted by /forget_me), nothing keeps routing to an ex-member.
_BETWEEN_TEAMMATES = (
    " AND (SELECT team_id FROM team_members WHERE user_id = handovers.owner_id)"
    " = (SELECT team_id FROM team_members WHERE user_id = handovers.to_user_id)"
)


def handover_from_row(row: Record) -> Handover:
    return Handover(
        id=row["id"],
        owner_id=row["owner_id"],
        client_id=row["client_id"],
        to_user_id=row["to_user_id"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
    )


async def _add_member(conn: Connection, user_id: int, team_id: int, stamp: datetime) -> None:
    """In the caller's transaction; AlreadyInTeamError (rolling it back) if they have one."""
    status = await conn.execute(
        "INSERT INTO team_members (user_id, team_id, joined_at) VALUES ($1, $2, $3)"
        " ON CONFLICT (user_id) DO NOTHING",
        user_id, team_id, stamp,
    )
    if row_count(status) == 0:
        raise AlreadyInTeamError(user_id)


class PgTeamRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database

    async def create(self, lead_id: int, name: str, secret: str, now: datetime) -> Team:
        stamp = at(now)
        async with self._db.transaction() as conn:
            if await conn.fetchval("SELECT 1 FROM team_members WHERE user_id = $1", lead_id):
                raise AlreadyInTeamError(lead_id)
            row = await conn.fetchrow(
                "INSERT INTO teams (name, lead_id, intake_secret, created_at)"
                " VALUES ($1, $2, $3, $4) RETURNING *",
                name, lead_id, secret, stamp,
            )
            assert row is not None
            # A join committed since the check above: the new team goes with the error.
            await _add_member(conn, lead_id, row["id"], stamp)
        return team_from_row(row)

    async def get(self, team_id: int) -> Team | None:
        row = await self._db.fetchrow("SELECT * FROM teams WHERE id = $1", team_id)
        return None if row is None else team_from_row(row)

    async def team_of(self, user_id: int) -> Team | None:
        row = await self._db.fetchrow(
            "SELECT t.* FROM teams t JOIN team_members m ON m.team_id = t.id"
            " WHERE m.user_id = $1",
            user_id,
        )
        return None if row is None else team_from_row(row)

    async def members(self, team_id: int) -> list[UserProfile]:
        rows = await self._db.fetch(
            "SELECT u.* FROM users u JOIN team_members m ON m.user_id = u.id"
            " WHERE m.team_id = $1 ORDER BY m.joined_at, u.id",
            team_id,
        )
        return [user_from_row(row) for row in rows]

    async def remove_member(
        self, team_id: int, user_id: int, *, now: datetime, new_secret: str | None
    ) -> Departure | None:
        """Never the lead: a team always keeps one (make another member lead first).

        In one transaction with the removal: handovers to and from the person end, and
        `new_secret` (a removal by the lead) replaces the team's intake secret. None if they
        were not a member (or lead)."""
        stamp = at(now)
        async with self._db.transaction() as conn:
            # The team's row first: a concurrent set_lead to this member waits, or is seen.
            await conn.execute("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", team_id)
            status = await conn.execute(
                "DELETE FROM team_members WHERE team_id = $1 AND user_id = $2"
                " AND user_id != (SELECT lead_id FROM teams WHERE id = $1)",
                team_id, user_id,
            )
            if row_count(status) <= 0:
                return None
            # Nobody keeps a backup who is no longer a teammate.
            await conn.execute(
                "UPDATE users SET backup_id = NULL WHERE backup_id = $1 AND id IN"
                " (SELECT user_id FROM team_members WHERE team_id = $2)",
                user_id, team_id,
            )
            await conn.execute("UPDATE users SET backup_id = NULL WHERE id = $1", user_id)
            # Cover ends with the membership: reminders and alerts go back to the owner.
            rows = await conn.fetch(
                "UPDATE handovers SET cancelled_at = $1"
                " WHERE (owner_id = $2 OR to_user_id = $2)"
                " AND cancelled_at IS NULL AND ends_at > $1 RETURNING *",
                stamp, user_id,
            )
            ended = tuple(sorted((handover_from_row(row) for row in rows), key=lambda h: h.id))
            if new_secret is not None:
                row = await conn.fetchrow(
                    "UPDATE teams SET intake_secret = $1 WHERE id = $2 RETURNING *",
                    new_secret, team_id,
                )
            else:
                row = await conn.fetchrow("SELECT * FROM teams WHERE id = $1", team_id)
        assert row is not None
        return Departure(team=team_from_row(row), ended=ended)

    async def set_lead(self, team_id: int, user_id: int, new_secret: str) -> bool:
        """The old lead knew the team's intake address: it is replaced in the same write."""
        async with self._db.transaction() as conn:
            # Locked before the membership is read, so a removal of that member committed
            # meanwhile is seen (the UPDATE's own snapshot is taken after the lock).
            await conn.execute("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE", team_id)
            status = await conn.execute(
                "UPDATE teams SET lead_id = $1, intake_secret = $2 WHERE id = $3 AND EXISTS"
                " (SELECT 1 FROM team_members WHERE team_id = $3 AND user_id = $1)",
                user_id, new_secret, team_id,
            )
        return row_count(status) > 0

    async def rotate_intake_secret(self, team_id: int, new_secret: str) -> Team | None:
        row = await self._db.fetchrow(
            "UPDATE teams SET intake_secret = $1 WHERE id = $2 RETURNING *", new_secret, team_id
        )
        return None if row is None else team_from_row(row)

    async def was_member(self, team_id: int, user_id: int) -> bool:
        """Joined by an invite or invited someone: an ex-member, if not a member now."""
        row = await self._db.fetchrow(
            "SELECT 1 FROM team_invites WHERE team_id = $1"
            " AND (used_by = $2 OR created_by = $2) LIMIT 1",
            team_id, user_id,
        )
        return row is not None

    async def set_escalate_to_all(self, team_id: int, enabled: bool) -> None:
        await self._db.execute(
            "UPDATE teams SET escalate_to_all = $1 WHERE id = $2", bool(enabled), team_id
        )

    async def create_invite(
        self, code: str, team_id: int, created_by: int, expires_at: datetime
    ) -> TeamInvite:
        await self._db.execute(
            "INSERT INTO team_invites (code, team_id, created_by, expires_at)"
            " VALUES ($1, $2, $3, $4)",
            code, team_id, created_by, at(expires_at),
        )
        return TeamInvite(code, team_id, created_by, expires_at, None)

    async def join_by_invite(self, code: str, user_id: int, now: datetime) -> Team | None:
        """Use the invite once, atomically; None if unknown, used or expired."""
        stamp = at(now)
        async with self._db.transaction() as conn:
            if await conn.fetchval("SELECT 1 FROM team_members WHERE user_id = $1", user_id):
                raise AlreadyInTeamError(user_id)
            # Two joins by one code: the second waits on the row, then finds it used.
            team_id = await conn.fetchval(
                "UPDATE team_invites SET used_by = $1, used_at = $2"
                " WHERE code = $3 AND used_by IS NULL AND expires_at > $2 RETURNING team_id",
                user_id, stamp, code,
            )
            if team_id is None:
                return None
            # A join by another invite committed since the check: this invite stays unused.
            await _add_member(conn, user_id, team_id, stamp)
            row = await conn.fetchrow("SELECT * FROM teams WHERE id = $1", team_id)
        return None if row is None else team_from_row(row)

    async def create_handover(
        self,
        owner_id: int,
        client_id: int | None,
        to_user_id: int,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
    ) -> Handover:
        stamp = at(now)
        async with self._db.transaction() as conn:
            # One owner's handovers are made one at a time, so two at once cannot both
            # stay running.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext($1), hashtext($2::bigint::text))",
                _HANDOVER_LOCK, owner_id,
            )
            # A new handover of the same clients replaces the running one.
            await conn.execute(
                "UPDATE handovers SET cancelled_at = $1 WHERE owner_id = $2"
                " AND client_id IS NOT DISTINCT FROM $3::bigint"
                " AND cancelled_at IS NULL AND ends_at > $1",
                stamp, owner_id, client_id,
            )
            row = await conn.fetchrow(
                "INSERT INTO handovers (owner_id, client_id, to_user_id, starts_at, ends_at,"
                " created_at) VALUES ($1, $2, $3, $4, $5, $6) RETURNING *",
                owner_id, client_id, to_user_id, at(starts_at), at(ends_at), stamp,
            )
        assert row is not None
        return handover_from_row(row)

    async def end_handovers(self, owner_id: int, now: datetime) -> int:
        return await self._db.execute(
            "UPDATE handovers SET cancelled_at = $1 WHERE owner_id = $2"
            " AND cancelled_at IS NULL AND ends_at > $1",
            at(now), owner_id,
        )

    async def covering(
        self, owner_id: int, client_id: int | None, now: datetime
    ) -> Handover | None:
        """The handover in force for this client (one for the client beats one for all)."""
        row = await self._db.fetchrow(
            "SELECT * FROM handovers WHERE owner_id = $1 AND cancelled_at IS NULL"
            " AND starts_at <= $2 AND ends_at > $2"
            " AND (client_id IS NULL OR client_id IS NOT DISTINCT FROM $3::bigint)"
            + _BETWEEN_TEAMMATES
            + " ORDER BY client_id IS NULL, id DESC LIMIT 1",
            owner_id, at(now), client_id,
        )
        return None if row is None else handover_from_row(row)

    async def handed_to(self, user_id: int, now: datetime) -> list[Handover]:
        rows = await self._db.fetch(
            "SELECT * FROM handovers WHERE to_user_id = $1 AND cancelled_at IS NULL"
            " AND ends_at > $2"
            + _BETWEEN_TEAMMATES
            + " ORDER BY starts_at",
            user_id, at(now),
        )
        return [handover_from_row(row) for row in rows]

    async def active_handovers(self, now: datetime) -> list[Handover]:
        """Every handover in force now (a short list: people on leave this week)."""
        rows = await self._db.fetch(
            "SELECT * FROM handovers WHERE cancelled_at IS NULL AND starts_at <= $1"
            " AND ends_at > $1"
            + _BETWEEN_TEAMMATES
            + " ORDER BY client_id IS NULL, id DESC",
            at(now),
        )
        return [handover_from_row(row) for row in rows]

    async def handed_over_by(self, owner_id: int, now: datetime) -> list[Handover]:
        rows = await self._db.fetch(
            "SELECT * FROM handovers WHERE owner_id = $1 AND cancelled_at IS NULL"
            " AND ends_at > $2"
            + _BETWEEN_TEAMMATES
            + " ORDER BY starts_at",
            owner_id, at(now),
        )
        return [handover_from_row(row) for row in rows]
