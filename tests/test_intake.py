"""The HTTP alert intake over real HTTP on 127.0.0.1: secrets, validation, limits, routing."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import aiohttp
import pytest
from aiogram.methods import EditMessageText, SendMessage

from bot.app import create_bot, create_dispatcher
from bot.clock import FrozenClock
from bot.i18n import create_i18n
from bot.intake import IntakeServer
from bot.local_session import LocalSession
from bot.sender import Sender
from bot.services.alerts import AlertEngine, AlertService
from bot.services.dates import DateParser
from storage.interfaces import Storage
from storage.models import AlertSeverity, AlertSource, Team
from tests.handlers.conftest import make_settings
from tests.handlers.harness import USER_ID, ChatHarness
from tests.handlers.test_reminders import FakeTime

LEAD, ANNA, SOLO = 1001, 2002, 3003
TEAM_SECRET = "team-secret-0123456789abcdef"
SOLO_SECRET = "solo-secret-0123456789abcdef"
MAX_BYTES = 4096  # room for a 2001-character text, which must reach the validator


@dataclass
class Intake:
    """A running intake over an alert engine whose pages land in a LocalSession."""

    storage: Storage
    session: LocalSession
    engine: AlertEngine
    server: IntakeServer
    http: aiohttp.ClientSession
    team: Team

    def url(self, secret: str) -> str:
        return f"{self.server.url}/alerts/{secret}"

    @property
    def team_path(self) -> str:
        return f"t{self.team.id}-{TEAM_SECRET}"

    async def post(self, secret: str, body: Any) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.url(secret), json=body) as response:
            return response.status, await response.json()

    async def post_raw(
        self, secret: str, data: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any]]:
        async with self.http.post(self.url(secret), data=data, headers=headers) as response:
            return response.status, await response.json()

    async def page(self) -> dict[int, list[str]]:
        """Let the engine act; return what each chat was sent."""
        start = len(self.session.requests)
        await self.engine.run_due()
        found: dict[int, list[str]] = {}
        for method in self.session.requests[start:]:
            if isinstance(method, SendMessage):
                found.setdefault(int(method.chat_id), []).append(method.text)
        return found


@contextlib.asynccontextmanager
async def running_intake(
    storage: Storage, clock: FrozenClock, *, real_time: bool = False
) -> AsyncIterator[Intake]:
    """Lena leads a team where Anna manages Acme; Solo has no team but a personal secret.
    The sender paces in fake time unless `real_time` (1 message a second per chat)."""
    now = clock.now()
    for user in (LEAD, ANNA, SOLO):
        await storage.users.ensure(user, now)
    team = await storage.teams.create(LEAD, "Agency", TEAM_SECRET, now)
    await storage.teams.create_invite("join-1", team.id, LEAD, now + timedelta(hours=1))
    assert await storage.teams.join_by_invite("join-1", ANNA, now) is not None
    await storage.clients.create(ANNA, "Acme", now)
    await storage.users.intake_secret(SOLO, SOLO_SECRET)

    settings = make_settings(intake_max_bytes=MAX_BYTES)
    session = LocalSession()
    bot = create_bot(settings, session=session)
    fake = FakeTime()
    sender = (
        Sender(bot) if real_time else Sender(bot, sleep=fake.sleep, monotonic=fake.monotonic)
    )
    engine = AlertEngine(
        alerts=storage.alerts, users=storage.users, teams=storage.teams,
        clients=storage.clients, sender=sender, i18n=create_i18n("en"), clock=clock,
        settings=settings,
    )
    service = AlertService(
        alerts=storage.alerts, teams=storage.teams, users=storage.users,
        clients=storage.clients, engine=engine, clock=clock, settings=settings,
    )
    server = IntakeServer(service, settings, port=0)
    await sender.start()
    await server.start()
    try:
        async with aiohttp.ClientSession() as http:
            yield Intake(storage, session, engine, server, http, team)
    finally:
        await server.stop()
        await engine.stop()
        await sender.stop()


@pytest.fixture
async def intake(storage: Storage, clock: FrozenClock) -> AsyncIterator[Intake]:
    async with running_intake(storage, clock) as running:
        yield running


async def test_health(intake: Intake) -> None:
    async with intake.http.get(f"{intake.server.url}/health") as response:
        assert response.status == 200
        assert await response.json() == {"ok": True}


async def test_alert_for_a_known_client_pages_its_manager(
    intake: Intake, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.intake")
    status, body = await intake.post(
        intake.team_path,
        {"client": "acme", "text": "  checkout is down  ", "dedup_key": "acme-co",
         "source": "grafana"},  # an unknown field is ignored
    )
    assert status == 201
    assert body == {"alert": body["alert"], "created": True, "count": 1, "client_known": True}
    alert = await intake.storage.alerts.get(body["alert"])
    assert alert is not None
    assert (alert.owner_id, alert.team_id) == (ANNA, intake.team.id)
    assert alert.text == "checkout is down"
    assert alert.client_id is not None and alert.client_label is None
    assert (alert.severity, alert.source, alert.raised_by) == (
        AlertSeverity.URGENT, AlertSource.INTAKE, None,
    )

    sent = await intake.page()
    assert list(sent) == [ANNA]
    assert "checkout is down" in sent[ANNA][0]
    assert "Acme" in sent[ANNA][0]

    logged = [r.getMessage() for r in caplog.records if r.name == "bot.intake"]
    assert any(f"/alerts/t{intake.team.id}-… -> 201" in line for line in logged), logged
    assert all(TEAM_SECRET not in line and "checkout" not in line for line in logged)


async def test_unknown_client_goes_to_the_lead_marked_unknown(intake: Intake) -> None:
    status, body = await intake.post(
        intake.team_path, {"client": "Globex", "text": "payment API 500s", "severity": "Urgent"}
    )
    assert status == 201 and body["client_known"] is False
    alert = await intake.storage.alerts.get(body["alert"])
    assert alert is not None
    assert alert.client_id is None and alert.owner_id is None
    assert alert.client_label == "Globex"
    sent = await intake.page()
    assert list(sent) == [LEAD]
    assert "Globex" in sent[LEAD][0] and "payment API 500s" in sent[LEAD][0]


async def test_personal_secret_without_a_team_pages_the_user(intake: Intake) -> None:
    assert await intake.storage.teams.team_of(SOLO) is None
    status, body = await intake.post(f"u{SOLO}-{SOLO_SECRET}", {"text": "backup failed"})
    assert status == 201 and body["client_known"] is False
    alert = await intake.storage.alerts.get(body["alert"])
    assert alert is not None and alert.scope == f"u{SOLO}" and alert.owner_id == SOLO
    sent = await intake.page()
    assert list(sent) == [SOLO]
    assert "backup failed" in sent[SOLO][0]


async def test_a_team_members_own_address_pages_them_not_the_lead(intake: Intake) -> None:
    secret = await intake.storage.users.intake_secret(ANNA, "anna-own-secret-0123456789")
    status, body = await intake.post(f"u{ANNA}-{secret}", {"text": "my monitor: disk full"})
    assert status == 201 and body["client_known"] is False
    alert = await intake.storage.alerts.get(body["alert"])
    assert alert is not None and alert.owner_id == ANNA and alert.team_id == intake.team.id
    sent = await intake.page()
    assert list(sent) == [ANNA]


@pytest.mark.parametrize(
    "secret",
    [
        "t{team}-wrong-secret-0123456789abcd",
        "t{team}-",
        "t999-" + TEAM_SECRET,  # an unknown team, with another team's secret
        "u{anna}-" + TEAM_SECRET,  # a user who never asked for a secret
        "u{solo}-" + TEAM_SECRET,  # a team's secret on a user's address
        TEAM_SECRET,
        "x1-abc",
    ],
)
async def test_wrong_secret_is_refused_and_nothing_stored(
    intake: Intake, secret: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.intake")
    path = secret.format(team=intake.team.id, anna=ANNA, solo=SOLO)
    status, body = await intake.post(path, {"text": "site is down"})
    assert status == 403
    assert "secret" in body["error"]
    assert await intake.storage.alerts.count_open() == 0
    assert await intake.page() == {}
    assert all(TEAM_SECRET not in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (b"{not json", "not valid JSON"),
        (b"\xff\xfe", "not valid JSON"),
        (b"", "not valid JSON"),
        (b'["site is down"]', "JSON object"),
        (b'{"client": "Acme"}', "text: is required"),
        (b'{"text": "   "}', "text: must not be empty"),
        (b'{"text": 42}', "text: must be a string"),
        (b'{"text": "x" , "client": ["Acme"]}', "client: must be a string"),
        (b'{"text": "x", "severity": "panic"}', 'severity: must be "urgent" or "normal"'),
        (b'{"text": "x", "dedup_key": "' + b"k" * 201 + b'"}', "dedup_key: is longer than 200"),
        (b'{"text": "' + b"y" * 2001 + b'"}', "text: is longer than 2000"),
    ],
)
async def test_bad_body_is_refused_with_a_clear_message(
    intake: Intake, data: bytes, needle: str
) -> None:
    status, body = await intake.post_raw(
        intake.team_path, data, {"Content-Type": "application/json"}
    )
    assert status == 400, body
    assert needle in body["error"]
    assert await intake.storage.alerts.count_open() == 0


async def test_oversized_body_is_refused(intake: Intake) -> None:
    big = b'{"text": "' + b"z" * MAX_BYTES + b'"}'
    # Told by Content-Length: refused before reading.
    status, body = await intake.post_raw(intake.team_path, big)
    assert status == 413
    assert f"limit of {MAX_BYTES} bytes" in body["error"]

    # Chunked, so no Content-Length: refused once the read passes the limit.
    async def chunks() -> AsyncIterator[bytes]:
        for start in range(0, len(big), 512):
            yield big[start : start + 512]

    async with intake.http.post(intake.url(intake.team_path), data=chunks()) as response:
        assert response.request_info.headers.get("Transfer-Encoding") == "chunked"
        assert response.status == 413
        assert "INTAKE_MAX_BYTES" in (await response.json())["error"]
    assert await intake.storage.alerts.count_open() == 0


async def test_only_post(intake: Intake) -> None:
    async with intake.http.get(intake.url(intake.team_path)) as response:
        assert response.status == 405
        assert response.headers["Allow"] == "POST"
        assert "POST" in (await response.json())["error"]
    async with intake.http.get(f"{intake.server.url}/nowhere") as response:
        assert response.status == 404
        assert "error" in await response.json()
    assert await intake.storage.alerts.count_open() == 0


async def test_duplicate_answers_200_with_the_count(intake: Intake) -> None:
    first = await intake.post(intake.team_path, {"text": "disk full", "dedup_key": "disk"})
    second = await intake.post(intake.team_path, {"text": "disk full!", "dedup_key": "disk"})
    assert first[0] == 201 and second[0] == 200
    assert second[1]["alert"] == first[1]["alert"]
    assert (second[1]["created"], second[1]["count"]) == (False, 2)


async def test_burst_of_concurrent_posts_dedups_exactly(intake: Intake) -> None:
    keys = [f"check-{n}" for n in range(20)]

    async def one(index: int) -> tuple[int, dict[str, Any]]:
        key = keys[index % len(keys)]
        return await intake.post(intake.team_path, {"text": f"{key} failing", "dedup_key": key})

    answers = await asyncio.gather(*(one(index) for index in range(200)))
    statuses = Counter(status for status, _ in answers)
    assert statuses == {201: 20, 200: 180}
    alert_ids = {body["alert"] for _, body in answers}
    assert len(alert_ids) == 20
    alerts = [await intake.storage.alerts.get(alert_id) for alert_id in alert_ids]
    assert all(alert is not None and alert.count == 10 for alert in alerts)
    assert sum(alert.count for alert in alerts if alert is not None) == 200
    assert await intake.storage.alerts.count_open() == 20
    # The highest count any answer reported for a key is its final count.
    best: dict[int, int] = {}
    for _, body in answers:
        best[body["alert"]] = max(best.get(body["alert"], 0), body["count"])
    assert set(best.values()) == {10}


async def test_a_burst_of_duplicates_is_answered_at_once_and_edits_pages_twice(
    storage: Storage, clock: FrozenClock
) -> None:
    # Real pacing: an edit of the page waits for the chat's next slot, 1 a second.
    async with running_intake(storage, clock, real_time=True) as intake:
        status, _ = await intake.post(intake.team_path, {"text": "queue stuck", "dedup_key": "q"})
        assert status == 201
        assert list(await intake.page()) == [LEAD]
        start = len(intake.session.requests)

        started = time.monotonic()
        answers = await asyncio.gather(
            *(intake.post(intake.team_path, {"text": "queue stuck", "dedup_key": "q"})
              for _ in range(30))
        )
        took = time.monotonic() - started
        assert Counter(status for status, _ in answers) == {200: 30}
        # One edit in flight (≈ 1 s for the chat's slot) at most, not 30 of them in a row.
        assert took < 2.5, took
        while intake.engine._background:  # the refresh left for the last duplicates
            await asyncio.wait_for(asyncio.gather(*intake.engine._background), 5)
        edits = [
            m for m in intake.session.requests[start:]
            if isinstance(m, EditMessageText) and m.chat_id == LEAD
        ]
        assert 1 <= len(edits) <= 3, len(edits)
        assert "31 times" in str(edits[-1].text)
        assert await intake.page() == {}  # nobody is paged again for a duplicate


# ---------------------------------------------------------------- /intake rotate (issue 10)


async def test_intake_rotate_shuts_the_old_addresses_and_opens_the_new(
    intake: Intake, clock: FrozenClock, dates: DateParser
) -> None:
    """The lead asks the bot for new addresses: the old ones answer 403 at once."""
    settings = make_settings()
    session = LocalSession()
    chat = ChatHarness(
        create_dispatcher(
            settings=settings, storage=intake.storage, clock=clock, dates=dates,
            i18n=create_i18n("en"),
        ),
        create_bot(settings, session=session),
        session,
    )
    assert LEAD == USER_ID
    paths = re.compile(r"/alerts/([tu]\d+-[\w-]+)")
    old = sorted(paths.findall((await chat.send("/intake")).text))
    assert old == sorted([intake.team_path, old[1]]) and old[1].startswith(f"u{LEAD}-")
    rotated = await chat.send("/intake rotate")
    new = sorted(paths.findall(rotated.text))
    assert len(new) == 2 and not set(new) & set(old)
    for path in old:
        status, body = await intake.post(path, {"text": "site is down"})
        assert status == 403, (path, body)
    assert await intake.storage.alerts.count_open() == 0
    for path in new:
        status, body = await intake.post(path, {"text": f"site is down via {path[0]}"})
        assert status == 201, (path, body)
    assert await intake.storage.alerts.count_open() == 2
