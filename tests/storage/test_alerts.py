"""Teams and alerts in SQLite: invites used once, dedup, and an answer beating the engine."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from storage.errors import AlreadyInTeamError
from storage.interfaces import Storage
from storage.models import AlertSeverity, AlertSource, AlertState, NewAlert

NOW = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
LEAD, ANNA, BORIS = 1, 2, 3


@pytest.fixture
async def team_storage(storage: Storage) -> Storage:
    for user in (LEAD, ANNA, BORIS):
        await storage.users.ensure(user, NOW)
    return storage


def new_alert(key: str | None = None, text: str = "site down") -> NewAlert:
    return NewAlert(
        scope="t1", team_id=None, owner_id=LEAD, client_id=None, client_label="Acme",
        text=text, severity=AlertSeverity.URGENT, dedup_key=key, source=AlertSource.INTAKE,
        raised_by=None,
    )


async def test_invite_is_single_use_and_expires(team_storage: Storage) -> None:
    teams = team_storage.teams
    team = await teams.create(LEAD, "Agency", "secret", NOW)
    await teams.create_invite("code1", team.id, LEAD, NOW + timedelta(hours=1))
    joined = await teams.join_by_invite("code1", ANNA, NOW)
    assert joined is not None and joined.id == team.id
    assert await teams.join_by_invite("code1", BORIS, NOW) is None  # used
    await teams.create_invite("code2", team.id, LEAD, NOW + timedelta(hours=1))
    assert await teams.join_by_invite("code2", BORIS, NOW + timedelta(hours=2)) is None
    with pytest.raises(AlreadyInTeamError):
        await teams.create(ANNA, "Another", "s2", NOW)
    assert [m.id for m in await teams.members(team.id)] == [LEAD, ANNA]


async def test_lead_cannot_be_removed_and_removal_clears_backups(team_storage: Storage) -> None:
    teams = team_storage.teams
    team = await teams.create(LEAD, "Agency", "secret", NOW)
    await teams.create_invite("c", team.id, LEAD, NOW + timedelta(hours=1))
    await teams.join_by_invite("c", ANNA, NOW)
    await team_storage.users.set_backup(LEAD, ANNA)
    assert not await teams.remove_member(team.id, LEAD, now=NOW, new_secret=None)
    assert await teams.remove_member(team.id, ANNA, now=NOW, new_secret=None)
    lead = await team_storage.users.get(LEAD)
    assert lead is not None and lead.backup_id is None


async def test_dedup_key_makes_one_alert_with_a_count(team_storage: Storage) -> None:
    alerts = team_storage.alerts
    first, created = await alerts.raise_alert(new_alert("db"), NOW, NOW)
    again, created_again = await alerts.raise_alert(new_alert("db"), NOW, NOW)
    assert (created, created_again) == (True, False)
    assert again.id == first.id and again.count == 2
    await alerts.resolve(first.id, LEAD, NOW)
    later, created_later = await alerts.raise_alert(new_alert("db"), NOW, NOW)
    assert created_later and later.id != first.id  # a resolved alert is not reopened


async def test_same_text_dedups_only_within_the_window(team_storage: Storage) -> None:
    alerts = team_storage.alerts
    first, _ = await alerts.raise_alert(new_alert(), NOW, NOW - timedelta(minutes=10))
    later = NOW + timedelta(minutes=5)
    same, created = await alerts.raise_alert(new_alert(), later, later - timedelta(minutes=10))
    assert not created and same.id == first.id
    much_later = NOW + timedelta(minutes=30)
    _, created = await alerts.raise_alert(
        new_alert(), much_later, much_later - timedelta(minutes=10)
    )
    assert created


async def test_acknowledgement_beats_a_claimed_step(team_storage: Storage) -> None:
    alerts = team_storage.alerts
    alert, _ = await alerts.raise_alert(new_alert("x"), NOW, NOW)
    [claimed] = await alerts.claim_due(NOW, "engine", NOW - timedelta(minutes=2), 10)
    acked = await alerts.acknowledge(alert.id, ANNA, NOW, NOW + timedelta(hours=1))
    assert acked is not None and acked.state is AlertState.ACKED
    saved = await alerts.save_progress(
        claimed, "engine", state=claimed.state, step=0, step_rounds=1, rounds=1,
        gave_up=False, next_at=NOW + timedelta(minutes=5), now=NOW,
    )
    assert not saved
    current = await alerts.get(alert.id)
    assert current is not None and current.state is AlertState.ACKED
    assert current.next_at == NOW + timedelta(hours=1)
    assert await alerts.acknowledge(alert.id, BORIS, NOW, NOW) is None  # already taken
    assert [e.kind for e in await alerts.events(alert.id)] == ["raised", "acked"]


async def test_a_live_claim_is_not_taken_twice(team_storage: Storage) -> None:
    alerts = team_storage.alerts
    await alerts.raise_alert(new_alert("x"), NOW, NOW)
    assert len(await alerts.claim_due(NOW, "a", NOW - timedelta(minutes=2), 10)) == 1
    assert await alerts.claim_due(NOW, "b", NOW - timedelta(minutes=2), 10) == []
    # A claim nobody finished (the process died) is taken again after a while.
    later = NOW + timedelta(minutes=3)
    assert len(await alerts.claim_due(later, "c", later - timedelta(minutes=2), 10)) == 1


async def test_a_starting_runtime_takes_over_claims_made_before_it(
    team_storage: Storage,
) -> None:
    """A killed leader's claims, even ones made in the second the next leader started, go
    back at once: the next leader pages within seconds, not after the two-minute lease."""
    alerts = team_storage.alerts
    first, _ = await alerts.raise_alert(new_alert("a"), NOW, NOW)
    second, _ = await alerts.raise_alert(new_alert("b"), NOW, NOW)
    claimed = await alerts.claim_due(NOW, "dead-leader", NOW - timedelta(minutes=2), 10)
    assert {alert.id for alert in claimed} == {first.id, second.id}
    # Nothing is due for another claimer while the claims are fresh.
    assert await alerts.claim_due(NOW, "next", NOW - timedelta(minutes=2), 10) == []

    assert await alerts.release_claims_before(NOW + timedelta(seconds=1)) == 2
    retaken = await alerts.claim_due(NOW, "next", NOW - timedelta(minutes=2), 10)
    assert {alert.id for alert in retaken} == {first.id, second.id}
    # Claims made at or after the moment stay.
    assert await alerts.release_claims_before(NOW) == 0
