"""Alerts on PostgreSQL under real concurrency: two pools on one database stand for two
worker processes raising and claiming alerts at the same moment."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from storage.errors import OpenAlertLimitError
from storage.interfaces import Storage
from storage.models import Alert, AlertSeverity, AlertSource, NewAlert
from storage.postgres import open_postgres_storage
from tests.fakes.clock import NOW

OWNER = 7
POOL_SIZE = 20
ADDRESS = "t1"


@pytest.fixture
async def workers(postgres_url: str) -> AsyncIterator[tuple[Storage, Storage]]:
    """Two storages on one database: two pools, as two worker processes would have."""
    first = await open_postgres_storage(postgres_url, max_size=POOL_SIZE)
    try:
        second = await open_postgres_storage(postgres_url, max_size=POOL_SIZE)
        try:
            await first.users.ensure(OWNER, NOW)
            yield first, second
        finally:
            await second.backend.close()
    finally:
        await first.backend.close()


def new_alert(text: str, key: str | None = None) -> NewAlert:
    return NewAlert(
        scope=ADDRESS, team_id=None, owner_id=OWNER, client_id=None, client_label="Acme",
        text=text, severity=AlertSeverity.URGENT, dedup_key=key, source=AlertSource.INTAKE,
        raised_by=None, intake_address=ADDRESS,
    )


async def test_fifty_concurrent_raises_of_one_key_make_one_alert_counted_fifty_times(
    workers: tuple[Storage, Storage],
) -> None:
    results = await asyncio.gather(
        *(
            workers[n % 2].alerts.raise_alert(new_alert(f"site down {n}", "db"), NOW, NOW)
            for n in range(50)
        )
    )
    assert sum(created for _alert, created in results) == 1
    assert {alert.id for alert, _created in results} == {results[0][0].id}
    stored = await workers[0].alerts.get(results[0][0].id)
    assert stored is not None and stored.count == 50
    assert await workers[1].alerts.count_open() == 1
    kinds = [event.kind for event in await workers[1].alerts.events(stored.id)]
    assert sorted(kinds) == ["raised"] + ["repeated"] * 49


async def test_concurrent_raises_of_one_text_without_a_key_make_one_alert(
    workers: tuple[Storage, Storage],
) -> None:
    results = await asyncio.gather(
        *(workers[n % 2].alerts.raise_alert(new_alert("site down"), NOW, NOW) for n in range(30))
    )
    assert sum(created for _alert, created in results) == 1
    assert await workers[0].alerts.count_open() == 1
    stored = await workers[0].alerts.get(results[0][0].id)
    assert stored is not None and stored.count == 30


async def test_the_open_cap_of_an_address_holds_with_two_workers(
    workers: tuple[Storage, Storage],
) -> None:
    results = await asyncio.gather(
        *(
            workers[n % 2].alerts.raise_alert(
                new_alert(f"alert {n}", f"key {n}" if n % 2 else None), NOW, NOW, max_open=10
            )
            for n in range(40)
        ),
        return_exceptions=True,
    )
    refused = [result for result in results if isinstance(result, OpenAlertLimitError)]
    stored = [result for result in results if not isinstance(result, BaseException)]
    assert len(refused) == 30
    assert len(stored) == 10 and all(created for _alert, created in stored)
    assert await workers[0].alerts.count_open(ADDRESS) == 10
    # At the cap a repeat of an open alert is still counted.
    first = stored[0][0]
    repeated, created = await workers[1].alerts.raise_alert(
        new_alert(first.text, first.dedup_key), NOW, NOW, max_open=10
    )
    assert not created and repeated.id == first.id and repeated.count == 2


async def test_concurrent_claims_from_two_workers_never_share_an_alert(
    workers: tuple[Storage, Storage],
) -> None:
    for n in range(60):
        await workers[0].alerts.raise_alert(new_alert(f"alert {n}"), NOW, NOW)
    later = NOW + timedelta(seconds=1)
    stale_before = NOW - timedelta(minutes=5)
    tokens = [f"token-{n}" for n in range(24)]
    claims: list[list[Alert]] = await asyncio.gather(
        *(
            workers[n % 2].alerts.claim_due(later, token, stale_before, 4)
            for n, token in enumerate(tokens)
        )
    )
    seen: dict[int, str] = {}
    for token, claimed in zip(tokens, claims, strict=True):
        assert len(claimed) <= 4
        for alert in claimed:
            assert alert.id not in seen, f"alert {alert.id} went to {seen[alert.id]} and {token}"
            seen[alert.id] = token
    # What was handed out is what is stored, and the rest is still there to claim.
    rest = await workers[1].alerts.claim_due(later, "last", stale_before, 100)
    assert not set(seen) & {alert.id for alert in rest}
    assert len(seen) + len(rest) == 60
