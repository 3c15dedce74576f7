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
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.intake import SERVICE_KEY, IntakeServer
from bot.local_session import LocalSession
from bot.sender import Sender
from bot.services.alerts import AlertEngine, AlertService
from storage.interfaces import Storage
from storage.models import AlertSeverity, AlertSource, Team
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import make_settings
from tests.handlers.harness import USER_ID, ChatHarness
from tests.raw_sql import is_postgres

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
    storage: Storage,
    clock: FakeClock,
    *,
    real_time: bool = False,
    limit_clock: FakeClock | None = None,
    **overrides: object,
) -> AsyncIterator[Intake]:
    """Lena leads a team where Anna manages Acme; Solo has no team but a personal secret.
    The sender paces in fake time unless `real_time` (1 message a second per chat); the
    per-address rate limit counts on `limit_clock` if given (real time otherwise)."""
    now = clock.now()
    for user in (LEAD, ANNA, SOLO):
        await storage.users.ensure(user, now)
    team = await storage.teams.create(LEAD, "Agency", TEAM_SECRET, now)
    await storage.teams.create_invite("join-1", team.id, LEAD, now + timedelta(hours=1))
    assert await storage.teams.join_by_invite("join-1", ANNA, now) is not None
    await storage.clients.create(ANNA, "Acme", now)
    await storage.users.intake_secret(SOLO, SOLO_SECRET)

    settings = make_settings(
        **{"intake_max_bytes": MAX_BYTES, "intake_rate_per_minute": 10_000, **overrides}
    )
    session = LocalSession()
    bot = create_bot(settings, session=session)
    fake = FakeClock()
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
    server = IntakeServer(
        service, settings, port=0,
        monotonic=limit_clock.monotonic if limit_clock is not None else time.monotonic,
    )
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
async def intake(storage: Storage, clock: FakeClock) -> AsyncIterator[Intake]:
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
    ("secret", "expected"),
    [
        ("t{team}-wrong-secret-0123456789abcd", 403),
        ("t999-" + TEAM_SECRET, 403),  # an unknown team, with another team's secret
        ("u{anna}-" + TEAM_SECRET, 403),  # a user who never asked for a secret
        ("u{solo}-" + TEAM_SECRET, 403),  # a team's secret on a user's address
        ("t{team}-%ED%A0%80", 403),  # not UTF-8 once decoded: it stays as typed
        # Not an address at all: 400, and never looked up.
        ("t{team}-", 400),
        (TEAM_SECRET, 400),
        ("x1-abc", 400),
    ],
)
async def test_wrong_secret_is_refused_and_nothing_stored(
    intake: Intake, secret: str, expected: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.intake")
    path = secret.format(team=intake.team.id, anna=ANNA, solo=SOLO)
    status, body = await intake.post(path, {"text": "site is down"})
    assert status == expected
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
    storage: Storage, clock: FakeClock
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
    intake: Intake, clock: FakeClock, dates: DateParser
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


# --- limits per address, malformed requests, secrets in logs, stalled bodies ----------------


async def test_rate_limit_answers_429_with_retry_after_and_logs_once(
    storage: Storage, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.intake")
    ticks = FakeClock()
    async with running_intake(
        storage, clock, limit_clock=ticks, intake_rate_per_minute=5
    ) as intake:
        answers = [
            await intake.post(intake.team_path, {"text": f"check {n}", "dedup_key": f"c{n}"})
            for n in range(5)
        ]
        assert [status for status, _ in answers] == [201] * 5
        for n in range(10):
            async with intake.http.post(
                intake.url(intake.team_path), json={"text": "x", "dedup_key": f"more{n}"}
            ) as response:
                assert response.status == 429
                # One request is back 12 s after the burst (5 a minute).
                assert response.headers["Retry-After"] == "12"
                body = await response.json()
                assert "INTAKE_RATE_PER_MINUTE" in body["error"]
                assert body["retry_after"] == 12
        assert await intake.storage.alerts.count_open() == 5
        # Another address is not held back by this one.
        status, _ = await intake.post(f"u{SOLO}-{SOLO_SECRET}", {"text": "backup failed"})
        assert status == 201
        ticks.advance(12.0)  # one request back: the episode goes on (still at the limit)
        status, _ = await intake.post(intake.team_path, {"text": "later", "dedup_key": "l"})
        assert status == 201
        status, _ = await intake.post(intake.team_path, {"text": "x", "dedup_key": "l2"})
        assert status == 429
        ticks.advance(60.0)  # a minute without a refusal: the episode is over
        status, _ = await intake.post(intake.team_path, {"text": "calm", "dedup_key": "c"})
        assert status == 201

    logged = [r.getMessage() for r in caplog.records if r.name == "bot.intake"]
    refused = [line for line in logged if "429" in line]
    assert len(refused) == 2, refused  # the start of the episode and its end, not 10 lines
    assert f"intake t{intake.team.id}: more than 5 requests a minute" in refused[0]
    assert "accepting alerts again after 11 request(s) refused with 429" in refused[1]
    assert all(TEAM_SECRET not in line for line in logged)


async def test_open_alert_cap_answers_429_but_still_counts_repeats(
    storage: Storage, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.intake")
    ticks = FakeClock()
    async with running_intake(storage, clock, limit_clock=ticks, intake_max_open=3) as intake:
        for n in range(3):
            status, _ = await intake.post(
                intake.team_path, {"text": f"n{n}", "dedup_key": f"k{n}"}
            )
            assert status == 201
        for _ in range(4):
            async with intake.http.post(
                intake.url(intake.team_path), json={"text": "new", "dedup_key": "k9"}
            ) as response:
                assert response.status == 429
                assert response.headers["Retry-After"] == "60"
                error = (await response.json())["error"]
                assert "3 open alerts" in error and "INTAKE_MAX_OPEN" in error
        # A repeat of an open alert is still counted: it opens nothing new.
        status, body = await intake.post(intake.team_path, {"text": "n0", "dedup_key": "k0"})
        assert (status, body["count"]) == (200, 2)
        # Another address has its own cap.
        status, _ = await intake.post(f"u{SOLO}-{SOLO_SECRET}", {"text": "backup failed"})
        assert status == 201
        # Resolving one makes room.
        await intake.storage.alerts.resolve(body["alert"], LEAD, clock.now())
        ticks.advance(60.0)
        status, _ = await intake.post(intake.team_path, {"text": "new", "dedup_key": "k9"})
        assert status == 201
        assert await intake.storage.alerts.count_open(f"t{intake.team.id}") == 3

    refused = [r.getMessage() for r in caplog.records if "429" in r.getMessage()]
    assert len(refused) == 2, refused
    assert "3 open alerts, the most allowed (INTAKE_MAX_OPEN)" in refused[0]
    assert "after 4 request(s) refused" in refused[1]


@pytest.mark.parametrize(
    "path",
    [
        "t²-abc",  # str.isdigit() says yes, int() says no
        "t١-abc",
        "t{team}-sec%00ret",
        "t{team}-" + "é" * 10,
        "u" + "9" * 30 + "-abc",
        "t{team}-" + "a" * 300,
    ],
)
async def test_malformed_address_is_400_not_500(
    intake: Intake, path: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    status, body = await intake.post_raw(
        path.format(team=intake.team.id), b'{"text": "site is down"}'
    )
    assert status == 400, body
    assert "malformed intake address" in body["error"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def nested(depth: int) -> bytes:
    return b'{"text": "x", "extra": ' + b"[" * depth + b"]" * depth + b"}"


@pytest.mark.parametrize(
    ("data", "needle"),
    [
        (nested(40), "nested deeper than 32 levels"),
        (nested(1900), "nested deeper than 32 levels"),  # json's own recursion limit
        (b"[" * 2000 + b"]" * 2000, "nested deeper than 32 levels"),
        (b'{"text": "\\ud800 down"}', "not valid Unicode"),
        (b'{"text": "x", "client": "\\udfff"}', "not valid Unicode"),
        (b'{"text": {"a": 1}}', "text: must be a string"),
        (b'{"text": "x", "severity": 5}', "severity"),
        (b'{"text": "x", "dedup_key": 7}', "dedup_key: must be a string"),
        (b'{"text": ["x"]}', "text: must be a string"),
    ],
)
async def test_hostile_bodies_are_400_not_500(
    intake: Intake, data: bytes, needle: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    status, body = await intake.post_raw(
        intake.team_path, data, {"Content-Type": "application/json"}
    )
    assert status == 400, body
    assert needle in body["error"]
    assert await intake.storage.alerts.count_open() == 0
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_the_secret_is_in_no_log_line_even_at_debug(
    intake: Intake, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    new_secret = "fresh-secret-9876543210zyxw"
    await intake.storage.users.intake_secret(SOLO, new_secret)  # an UPDATE with it (SQL log)
    await intake.post(intake.team_path, {"text": "site is down"})
    await intake.post(f"u{SOLO}-{new_secret}", {"text": "backup failed"})
    await intake.post(f"t{intake.team.id}-wrong-{TEAM_SECRET}", {"text": "x"})
    async with intake.http.get(intake.url(intake.team_path) + "/deeper") as response:
        assert response.status == 404

    # Requests aiohttp itself refuses (its own error lines, at DEBUG): a bad header value,
    # a request line too long for its parser.
    assert intake.server.port is not None
    for raw in (
        f"POST /alerts/{intake.team_path} HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
        f"POST /alerts/{intake.team_path}{'x' * 9000} HTTP/1.1\r\nHost: x\r\n\r\n",
    ):
        reader, writer = await asyncio.open_connection("127.0.0.1", intake.server.port)
        writer.write(raw.encode())
        await writer.drain()
        assert b" 400 " in (await asyncio.wait_for(reader.read(200), 5))[:20]
        writer.close()

    async def crash(**_kwargs: object) -> None:
        raise RuntimeError(f"could not handle /alerts/{intake.team_path}")

    monkeypatch.setattr(intake.server._app[SERVICE_KEY], "raise_alert", crash)
    status, _ = await intake.post(intake.team_path, {"text": "site is down"})
    assert status == 500

    names = {record.name for record in caplog.records}
    assert "aiohttp.access" in names, names  # it was on
    if not is_postgres(intake.storage):
        # SQLite's driver logs every statement at DEBUG, the secret's UPDATE among them;
        # asyncpg logs no statements.
        assert "aiosqlite" in names, names
    for secret in (TEAM_SECRET, new_secret):
        assert secret not in caplog.text
        for record in caplog.records:
            assert secret not in record.getMessage(), (record.name, record.getMessage())
    access = [r.getMessage() for r in caplog.records if r.name == "aiohttp.access"]
    assert any(f"/alerts/t{intake.team.id}-… 201" in line for line in access), access


async def test_a_stalled_body_is_dropped(storage: Storage, clock: FakeClock) -> None:
    async with running_intake(storage, clock, intake_read_timeout_seconds=0.5) as intake:
        assert intake.server.port is not None
        reader, writer = await asyncio.open_connection("127.0.0.1", intake.server.port)
        try:
            writer.write(
                f"POST /alerts/{intake.team_path} HTTP/1.1\r\nHost: localhost\r\n"
                "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
                '{"text": "site is do'.encode()
            )
            await writer.drain()
            started = time.monotonic()
            answer = await asyncio.wait_for(reader.read(2000), 5)
            took = time.monotonic() - started
            # ... and the connection is closed: the rest of that body is never waited for.
            assert await asyncio.wait_for(reader.read(), 5) == b""
        finally:
            writer.close()
        assert answer.startswith(b"HTTP/1.1 408"), answer[:80]
        assert b"INTAKE_READ_TIMEOUT_SECONDS" in answer
        assert 0.4 < took < 3.0, took
        assert await intake.storage.alerts.count_open() == 0
        # The server is still fine for others.
        status, _ = await intake.post(intake.team_path, {"text": "site is down"})
        assert status == 201
