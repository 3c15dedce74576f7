"""Teams, their members, invites and client handovers."""

from __future__ import annotations

from datetime import datetime

import aiosqlite

from storage.errors import AlreadyInTeamError
from storage.models import Departure, Handover, Team, TeamInvite, UserProfile
from storage.sqlite.codec import decode_time, encode_time
from storage.sqlite.database import Database
from storage.sqlite.users import user_from_row


def team_from_row(row: aiosqlite.Row) -> Team:
    return Team(
        id=row["id"],
        name=row["name"],
        lead_id=row["lead_id"],
        intake_secret=row["intake_secret"],
        escalate_to_all=bool(row["escalate_to_all"]),
        created_at=decode_time(row["created_at"]),
    )


# A handover holds only while both people are in the same team: whatever ended it (a
# removal, leaving, a team deleted by /forget_me), nothing keeps routing to an ex-member.
_BETWEEN_TEAMMATES = (
    " AND (SELECT team_id FROM team_members WHERE user_id = handovers.owner_id)"
    " = (SELECT team_id FROM team_members WHERE user_id = handovers.to_user_id)"
)


def handover_from_row(row: aiosqlite.Row) -> Handover:
    return Handover(
        id=row["id"],
        owner_id=row["owner_id"],
        client_id=row["client_id"],
        to_user_id=row["to_user_id"],
        starts_at=decode_time(row["starts_at"]),
        ends_at=decode_time(row["ends_at"]),
    )


class SqliteTeamRepo:
    def __init__(self, database: Database) -> None:
        self._db = database

    async def create(self, lead_id: int, name: str, secret: str, now: datetime) -> Team:
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM team_members WHERE user_id = ?", (lead_id,)
            )
            if await cursor.fetchone() is not None:
                raise AlreadyInTeamError(lead_id)
            cursor = await conn.execute(
                "INSERT INTO teams (name, lead_id, intake_secret, created_at)"
                " VALUES (?, ?, ?, ?)",
                (name, lead_id, secret, stamp),
            )
            team_id = cursor.lastrowid
            await conn.execute(
                "INSERT INTO team_members (user_id, team_id, joined_at) VALUES (?, ?, ?)",
                (lead_id, team_id, stamp),
            )
        team = await self.get(int(team_id or 0))
        assert team is not None
        return team

    async def get(self, team_id: int) -> Team | None:
        row = await self._db.fetchone("SELECT * FROM teams WHERE id = ?", (team_id,))
        return None if row is None else team_from_row(row)

    async def team_of(self, user_id: int) -> Team | None:
        row = await self._db.fetchone(
            "SELECT t.* FROM teams t JOIN team_members m ON m.team_id = t.id"
            " WHERE m.user_id = ?",
            (user_id,),
        )
        return None if row is None else team_from_row(row)

    async def members(self, team_id: int) -> list[UserProfile]:
        rows = await self._db.fetchall(
            "SELECT u.* FROM users u JOIN team_members m ON m.user_id = u.id"
            " WHERE m.team_id = ? ORDER BY m.joined_at, u.id",
            (team_id,),
        )
        return [user_from_row(row) for row in rows]

    async def remove_member(
        self, team_id: int, user_id: int, *, now: datetime, new_secret: str | None
    ) -> Departure | None:
        """Never the lead: a team always keeps one (make another member lead first).

        In one transaction with the removal: handovers to and from the person end, and
        `new_secret` (a removal by the lead) replaces the team's intake secret. None if they
        were not a member (or lead)."""
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "DELETE FROM team_members WHERE team_id = ? AND user_id = ?"
                " AND user_id != (SELECT lead_id FROM teams WHERE id = ?)",
                (team_id, user_id, team_id),
            )
            if cursor.rowcount <= 0:
                return None
            # Nobody keeps a backup who is no longer a teammate.
            await conn.execute(
                "UPDATE users SET backup_id = NULL WHERE backup_id = ? AND id IN"
                " (SELECT user_id FROM team_members WHERE team_id = ?)",
                (user_id, team_id),
            )
            await conn.execute("UPDATE users SET backup_id = NULL WHERE id = ?", (user_id,))
            # Cover ends with the membership: reminders and alerts go back to the owner.
            cursor = await conn.execute(
                "UPDATE handovers SET cancelled_at = ? WHERE (owner_id = ? OR to_user_id = ?)"
                " AND cancelled_at IS NULL AND ends_at > ? RETURNING *",
                (stamp, user_id, user_id, stamp),
            )
            ended = tuple(
                sorted((handover_from_row(row) for row in await cursor.fetchall()),
                       key=lambda h: h.id)
            )
            if new_secret is not None:
                await conn.execute(
                    "UPDATE teams SET intake_secret = ? WHERE id = ?", (new_secret, team_id)
                )
            cursor = await conn.execute("SELECT * FROM teams WHERE id = ?", (team_id,))
            row = await cursor.fetchone()
        assert row is not None
        return Departure(team=team_from_row(row), ended=ended)

    async def set_lead(self, team_id: int, user_id: int, new_secret: str) -> bool:
        """The old lead knew the team's intake address: it is replaced in the same write."""
        return (
            await self._db.execute(
                "UPDATE teams SET lead_id = ?, intake_secret = ? WHERE id = ? AND EXISTS"
                " (SELECT 1 FROM team_members WHERE team_id = ? AND user_id = ?)",
                (user_id, new_secret, team_id, team_id, user_id),
            )
            > 0
        )

    async def rotate_intake_secret(self, team_id: int, new_secret: str) -> Team | None:
        await self._db.execute(
            "UPDATE teams SET intake_secret = ? WHERE id = ?", (new_secret, team_id)
        )
        return await self.get(team_id)

    async def was_member(self, team_id: int, user_id: int) -> bool:
        """Joined by an invite or invited someone: an ex-member, if not a member now."""
        row = await self._db.fetchone(
            "SELECT 1 FROM team_invites WHERE team_id = ? AND (used_by = ? OR created_by = ?)"
            " LIMIT 1",
            (team_id, user_id, user_id),
        )
        return row is not None

    async def set_escalate_to_all(self, team_id: int, enabled: bool) -> None:
        await self._db.execute(
            "UPDATE teams SET escalate_to_all = ? WHERE id = ?", (int(enabled), team_id)
        )

    async def create_invite(
        self, code: str, team_id: int, created_by: int, expires_at: datetime
    ) -> TeamInvite:
        await self._db.execute(
            "INSERT INTO team_invites (code, team_id, created_by, expires_at)"
            " VALUES (?, ?, ?, ?)",
            (code, team_id, created_by, encode_time(expires_at)),
        )
        return TeamInvite(code, team_id, created_by, expires_at, None)

    async def join_by_invite(self, code: str, user_id: int, now: datetime) -> Team | None:
        """Use the invite once, atomically; None if unknown, used or expired."""
        stamp = encode_time(now)
        async with self._db.transaction() as conn:
            cursor = await conn.execute(
                "SELECT 1 FROM team_members WHERE user_id = ?", (user_id,)
            )
            if await cursor.fetchone() is not None:
                raise AlreadyInTeamError(user_id)
            cursor = await conn.execute(
                "UPDATE team_invites SET used_by = ?, used_at = ?"
                " WHERE code = ? AND used_by IS NULL AND expires_at > ? RETURNING team_id",
                (user_id, stamp, code, stamp),
            )
            row = await cursor.fetchone()
            if row is None:
                return None
            await conn.execute(
                "INSERT INTO team_members (user_id, team_id, joined_at) VALUES (?, ?, ?)",
                (user_id, row[0], stamp),
            )
        return await self.get(int(row[0]))

    async def create_handover(
        self,
        owner_id: int,
        client_id: int | None,
        to_user_id: int,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
    ) -> Handover:
        async with self._db.transaction() as conn:
            # A new handover of the same clients replaces the running one.
            await conn.execute(
                "UPDATE handovers SET cancelled_at = ? WHERE owner_id = ? AND client_id IS ?"
                " AND cancelled_at IS NULL AND ends_at > ?",
                (encode_time(now), owner_id, client_id, encode_time(now)),
            )
            cursor = await conn.execute(
                "INSERT INTO handovers (owner_id, client_id, to_user_id, starts_at, ends_at,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?) RETURNING *",
                (
                    owner_id, client_id, to_user_id, encode_time(starts_at),
                    encode_time(ends_at), encode_time(now),
                ),
            )
            row = await cursor.fetchone()
        assert row is not None
        return handover_from_row(row)

    async def end_handovers(self, owner_id: int, now: datetime) -> int:
        return await self._db.execute(
            "UPDATE handovers SET cancelled_at = ? WHERE owner_id = ? AND cancelled_at IS NULL"
            " AND ends_at > ?",
            (encode_time(now), owner_id, encode_time(now)),
        )

    async def covering(
        self, owner_id: int, client_id: int | None, now: datetime
    ) -> Handover | None:
        """The handover in force for this client (one for the client beats one for all)."""
        stamp = encode_time(now)
        row = await self._db.fetchone(
            "SELECT * FROM handovers WHERE owner_id = ? AND cancelled_at IS NULL"
            " AND starts_at <= ? AND ends_at > ? AND (client_id IS NULL OR client_id IS ?)"
            + _BETWEEN_TEAMMATES
            + " ORDER BY client_id IS NULL, id DESC LIMIT 1",
            (owner_id, stamp, stamp, client_id),
        )
        return None if row is None else handover_from_row(row)

    async def handed_to(self, user_id: int, now: datetime) -> list[Handover]:
        stamp = encode_time(now)
        rows = await self._db.fetchall(
            "SELECT * FROM handovers WHERE to_user_id = ? AND cancelled_at IS NULL"
            " AND ends_at > ?"
            + _BETWEEN_TEAMMATES
            + " ORDER BY starts_at",
            (user_id, stamp),
        )
        return [handover_from_row(row) for row in rows]

    async def active_handovers(self, now: datetime) -> list[Handover]:
        """Every handover in force now (a short list: people on leave this week)."""
        stamp = encode_time(now)
        rows = await self._db.fetchall(
            "SELECT * FROM handovers WHERE cancelled_at IS NULL AND starts_at <= ?"
            " AND ends_at > ?"
            + _BETWEEN_TEAMMATES
            + " ORDER BY client_id IS NULL, id DESC",
            (stamp, stamp),
        )
        return [handover_from_row(row) for row in rows]

    async def handed_over_by(self, owner_id: int, now: datetime) -> list[Handover]:
        stamp = encode_time(now)
        rows = await self._db.fetchall(
            "SELECT * FROM handovers WHERE owner_id = ? AND cancelled_at IS NULL"
            " AND ends_at > ?"
            + _BETWEEN_TEAMMATES
            + " ORDER BY starts_at",
            (owner_id, stamp),
        )
        return [handover_from_row(row) for row in rows]
