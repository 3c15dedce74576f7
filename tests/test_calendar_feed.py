"""The calendar feed: what the .ics holds (parsed back with icalendar), a weekly series
across a daylight-saving change, and the HTTP side (404s that say nothing, 304s, ETags).
Runs on both backends through the `storage` fixture."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from dateutil.rrule import rrulestr
from icalendar import Calendar, Component, Timezone
from pydantic import SecretStr

from bot.calendar_feed.address import feed_url, read_token
from bot.calendar_feed.web import add_calendar_routes
from bot.domain.recurrence import next_occurrence, split_recurrence
from bot.logs import redact_secret_paths
from bot.services.series import SeriesService
from bot.settings import Settings
from storage.interfaces import Storage
from storage.models import SeriesStatus, TaskKind
from tests.fakes.clock import FakeClock
from tests.fault_injection import read_only

BERLIN = ZoneInfo("Europe/Berlin")
OWNER = 501
OTHER = 502
# Tuesday 10 March 2026, 12:00 in Berlin (CET, UTC+1): Berlin moves to CEST on 29 March.
MARCH = datetime(2026, 3, 10, 11, 0, tzinfo=UTC)
SECRET = "A" * 8 + "-b_c" + "d" * 20  # token_urlsafe's alphabet, dashes included
OTHER_SECRET = "Z" * 32
ORIGIN = "https://bot.example.com"


def settings(**overrides: object) -> Settings:
    values: dict[str, object] = {
        "bot_token": SecretStr("42:TEST"),
        "default_timezone": "Europe/Moscow",
        "default_language": "en",
        "public_url": ORIGIN,
    }
    values.update(overrides)
    return Settings.model_validate(values)


Serve = Callable[..., Any]


@pytest.fixture
async def serve(
    storage: Storage, clock: FakeClock
) -> AsyncIterator[Callable[..., Any]]:
    """serve(**settings) -> a TestClient for an app with the feed's routes."""
    clients: list[TestClient[web.Request, web.Application]] = []

    async def start(**overrides: object) -> TestClient[web.Request, web.Application]:
        app = web.Application()
        add_calendar_routes(app, storage=storage, clock=clock, settings=settings(**overrides))
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


async def seed_user(storage: Storage, user_id: int = OWNER, *, language: str = "en") -> None:
    await storage.users.ensure(user_id, MARCH)
    await storage.users.set_timezone(user_id, "Europe/Berlin")
    await storage.users.set_language(user_id, language)


def path(user_id: int, secret: str) -> str:
    return f"/cal/{user_id}-{secret}.ics"


def events(body: bytes) -> dict[str, Component]:
    calendar = Calendar.from_ical(body)
    return {str(event["UID"]).split("@")[0]: event for event in calendar.walk("VEVENT")}


def start_of(event: Component) -> datetime:
    value = event.decoded("DTSTART")
    assert isinstance(value, datetime)
    return value


def recurrence(event: Component) -> str:
    value: Any = event["RRULE"]
    return str(value.to_ical().decode())


# --- storage ------------------------------------------------------------------------------


async def test_the_secret_is_made_once_kept_and_replaced_by_rotation(storage: Storage) -> None:
    await seed_user(storage)
    assert await storage.users.stored_calendar_secret(OWNER) is None
    first = await storage.users.calendar_secret(OWNER, SECRET)
    assert first == SECRET
    # Asked again with another candidate: the stored one stays.
    assert await storage.users.calendar_secret(OWNER, OTHER_SECRET) == SECRET
    assert await storage.users.stored_calendar_secret(OWNER) == SECRET
    assert await storage.users.rotate_calendar_secret(OWNER, OTHER_SECRET) == OTHER_SECRET
    assert await storage.users.stored_calendar_secret(OWNER) == OTHER_SECRET
    # Another user's secret is theirs alone; an unknown user has none.
    await seed_user(storage, OTHER)
    assert await storage.users.stored_calendar_secret(OTHER) is None
    assert await storage.users.stored_calendar_secret(999_999) is None


async def test_the_feed_version_keeps_its_moment_until_it_changes(storage: Storage) -> None:
    await seed_user(storage)
    first = await storage.users.calendar_version(OWNER, "v1", MARCH)
    assert first == MARCH
    later = MARCH + timedelta(hours=3)
    assert await storage.users.calendar_version(OWNER, "v1", later) == MARCH
    assert await storage.users.calendar_version(OWNER, "v2", later) == later
    assert await storage.users.calendar_version(OWNER, "v2", later + timedelta(days=1)) == later


async def test_a_second_change_within_one_second_gets_a_later_last_modified(
    storage: Storage,
) -> None:
    # Last-Modified has whole seconds: a poller that saw v1 at MARCH and asks
    # If-Modified-Since MARCH must not be told 304 about v2 made in the same second.
    await seed_user(storage)
    assert await storage.users.calendar_version(OWNER, "v1", MARCH) == MARCH
    assert await storage.users.calendar_version(OWNER, "v2", MARCH) == MARCH + timedelta(
        seconds=1
    )
    assert await storage.users.calendar_version(OWNER, "v3", MARCH) == MARCH + timedelta(
        seconds=2
    )


async def test_open_dated_tasks_include_overdue_and_leave_out_undated_and_done(
    storage: Storage,
) -> None:
    await seed_user(storage)
    await seed_user(storage, OTHER)
    make = storage.tasks.create
    overdue = await make(OWNER, client_id=None, text="late", kind=TaskKind.CALL,
                         due_at=MARCH - timedelta(days=40), now=MARCH)
    ahead = await make(OWNER, client_id=None, text="ahead", kind=TaskKind.CALL,
                       due_at=MARCH + timedelta(days=2), now=MARCH)
    await make(OWNER, client_id=None, text="undated", kind=TaskKind.OTHER, due_at=None,
               now=MARCH)
    done = await make(OWNER, client_id=None, text="done", kind=TaskKind.CALL,
                      due_at=MARCH + timedelta(days=1), now=MARCH)
    await storage.tasks.complete(OWNER, done.id, MARCH)
    await make(OTHER, client_id=None, text="not mine", kind=TaskKind.CALL,
               due_at=MARCH + timedelta(days=1), now=MARCH)
    assert [task.id for task in await storage.tasks.open_dated(OWNER)] == [overdue.id, ahead.id]


# --- what the feed holds ------------------------------------------------------------------


async def test_the_feed_holds_tasks_series_and_invoices_in_the_users_zone(
    storage: Storage, clock: FakeClock, serve: Serve
) -> None:
    clock.set(MARCH)
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    acme = await storage.clients.create(OWNER, "Acme", MARCH)
    # 30 March 08:00 UTC is 10:00 in Berlin (summer time by then).
    call = await storage.tasks.create(
        OWNER, client_id=acme.id, text="call about the renewal", kind=TaskKind.CALL,
        due_at=datetime(2026, 3, 30, 8, 0, tzinfo=UTC), now=MARCH,
    )
    overdue = await storage.tasks.create(
        OWNER, client_id=None, text="send the contract", kind=TaskKind.DOCUMENT,
        due_at=MARCH - timedelta(days=3), now=MARCH,
    )
    await storage.tasks.create(
        OWNER, client_id=None, text="someday", kind=TaskKind.OTHER, due_at=None, now=MARCH
    )
    invoice = await storage.invoices.create(
        OWNER, client_id=acme.id, amount_minor=120_000, currency="EUR",
        due_at=datetime(2026, 3, 31, 23, 30, tzinfo=UTC),  # 1 April 01:30 in Berlin
        note=None, now=MARCH,
    )
    paid = await storage.invoices.create(
        OWNER, client_id=acme.id, amount_minor=5_000, currency="EUR",
        due_at=MARCH + timedelta(days=5), note=None, now=MARCH,
    )
    await storage.invoices.add_payment(OWNER, paid.id, 5_000, MARCH)
    rule = split_recurrence("standup every Monday at 10", tz=BERLIN, now=MARCH)
    assert rule is not None
    series, _occurrence = await SeriesService(storage.series, storage.tasks, clock).start(
        OWNER, client_id=acme.id, text="standup", kind=TaskKind.MEETING, rule=rule.rule,
        timezone="Europe/Berlin",
    )
    client = await serve()

    response = await client.get(path(OWNER, SECRET))

    assert response.status == 200
    assert response.headers["Content-Type"] == "text/calendar; charset=utf-8"
    found = events(await response.read())
    # The series' own open occurrence is the RRULE's, not an event of its own.
    assert set(found) == {
        f"task-{call.id}", f"task-{overdue.id}", f"series-{series.id}", f"invoice-{invoice.id}"
    }
    event = found[f"task-{call.id}"]
    assert str(event["SUMMARY"]) == "Acme: call about the renewal"
    assert event["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert start_of(event).replace(tzinfo=None) == datetime(2026, 3, 30, 10, 0)
    assert start_of(event) == call.due_at
    assert event.decoded("DTEND") - start_of(event) == timedelta(minutes=30)
    assert start_of(found[f"task-{overdue.id}"]) == overdue.due_at
    due = found[f"invoice-{invoice.id}"]
    assert str(due["SUMMARY"]) == "Invoice #1 due: Acme"
    assert due.decoded("DTSTART") == date(2026, 4, 1)  # all day, on Berlin's date
    assert due.decoded("DTEND") == date(2026, 4, 2)
    assert "€1,200" in str(due["DESCRIPTION"])
    weekly = found[f"series-{series.id}"]
    assert str(weekly["SUMMARY"]) == "Acme: standup"
    assert "FREQ=WEEKLY" in recurrence(weekly)
    assert start_of(weekly).replace(tzinfo=None) == datetime(2026, 3, 16, 10, 0)
    calendar = Calendar.from_ical(await response.read())
    assert [str(zone["TZID"]) for zone in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]


async def test_texts_follow_the_users_language(
    storage: Storage, clock: FakeClock, serve: Serve
) -> None:
    clock.set(MARCH)
    await seed_user(storage, language="ru")
    await storage.users.calendar_secret(OWNER, SECRET)
    acme = await storage.clients.create(OWNER, "Ёлка", MARCH)
    invoice = await storage.invoices.create(
        OWNER, client_id=acme.id, amount_minor=120_000, currency="RUB",
        due_at=MARCH + timedelta(days=3), note=None, now=MARCH,
    )
    client = await serve()
    body = await (await client.get(path(OWNER, SECRET))).read()
    due = events(body)[f"invoice-{invoice.id}"]
    assert str(due["SUMMARY"]) == "Срок оплаты счёта №1: Ёлка"
    assert str(Calendar.from_ical(body)["X-WR-CALNAME"]) == "Ассистент: задачи и счета"


async def test_a_weekly_series_keeps_its_local_hour_across_the_spring_change(
    storage: Storage, clock: FakeClock, serve: Serve
) -> None:
    clock.set(MARCH)
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    rule = split_recurrence("review every Monday at 10:00", tz=BERLIN, now=MARCH)
    assert rule is not None
    service = SeriesService(storage.series, storage.tasks, clock)
    series, occurrence = await service.start(
        OWNER, client_id=None, text="review", kind=TaskKind.MEETING, rule=rule.rule,
        timezone="Europe/Berlin",
    )
    assert occurrence is not None and occurrence.due_at is not None
    # This week's occurrence moved by hand to 11:00: it shows beside the rule's slots.
    moved = await storage.tasks.set_due(
        OWNER, occurrence.id, occurrence.due_at + timedelta(hours=1), MARCH
    )
    assert moved is not None and moved.due_at is not None
    client = await serve()
    body = await (await client.get(path(OWNER, SECRET))).read()
    found = events(body)
    assert start_of(found[f"task-{moved.id}"]).astimezone(BERLIN).hour == 11

    weekly = found[f"series-{series.id}"]
    start = start_of(weekly)
    expanded = list(rrulestr(recurrence(weekly), dtstart=start))[:4]
    # Mondays 16, 23 March (CET), 30 March, 6 April (CEST): 10:00 on the wall each time.
    assert [moment.date() for moment in expanded] == [
        date(2026, 3, 16), date(2026, 3, 23), date(2026, 3, 30), date(2026, 4, 6)
    ]
    assert all(moment.astimezone(BERLIN).hour == 10 for moment in expanded)
    assert [moment.astimezone(UTC).hour for moment in expanded] == [9, 9, 8, 8]
    # The same moments the bot itself plans the series' reminders at.
    for before, moment in itertools.pairwise(expanded):
        assert next_occurrence(series.rule, BERLIN, before) == moment.astimezone(UTC)
    # And the VTIMEZONE shipped in the feed (what Outlook uses) says the same.
    [zone] = Calendar.from_ical(body).walk("VTIMEZONE")
    assert isinstance(zone, Timezone)
    shipped = zone.to_tz(lookup_tzid=False)  # its own rules, not the system zoneinfo
    assert datetime(2026, 3, 23, 10, 0, tzinfo=shipped).utcoffset() == timedelta(hours=1)
    assert datetime(2026, 3, 30, 10, 0, tzinfo=shipped).utcoffset() == timedelta(hours=2)


async def test_a_paused_series_has_no_rule_event_but_keeps_its_open_task(
    storage: Storage, clock: FakeClock, serve: Serve
) -> None:
    clock.set(MARCH)
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    rule = split_recurrence("report every Friday at 9", tz=BERLIN, now=MARCH)
    assert rule is not None
    service = SeriesService(storage.series, storage.tasks, clock)
    series, occurrence = await service.start(
        OWNER, client_id=None, text="report", kind=TaskKind.REPORT, rule=rule.rule,
        timezone="Europe/Berlin",
    )
    assert occurrence is not None
    await storage.series.set_status(OWNER, series.id, SeriesStatus.PAUSED, MARCH)
    client = await serve()
    found = events(await (await client.get(path(OWNER, SECRET))).read())
    assert set(found) == {f"task-{occurrence.id}"}


# --- HTTP ---------------------------------------------------------------------------------


async def test_a_rotated_address_answers_404_and_the_new_one_works(
    storage: Storage, serve: Serve
) -> None:
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    client = await serve()
    assert (await client.get(path(OWNER, SECRET))).status == 200
    await storage.users.rotate_calendar_secret(OWNER, OTHER_SECRET)
    assert (await client.get(path(OWNER, SECRET))).status == 404
    assert (await client.get(path(OWNER, OTHER_SECRET))).status == 200


_VARYING = {"Date"}


async def refusal(client: TestClient[web.Request, web.Application], url: str) -> tuple[
    int, dict[str, str], bytes
]:
    response = await client.get(url)
    headers = {k: v for k, v in response.headers.items() if k not in _VARYING}
    return response.status, headers, await response.read()


async def test_every_refusal_is_the_same_404(storage: Storage, serve: Serve) -> None:
    await seed_user(storage)
    await seed_user(storage, OTHER)  # a user with no feed yet
    await storage.users.calendar_secret(OWNER, SECRET)
    client = await serve()
    wrong_secret = await refusal(client, path(OWNER, OTHER_SECRET))
    assert wrong_secret[0] == 404
    same = [
        await refusal(client, path(999_999, SECRET)),  # nobody
        await refusal(client, path(OTHER, SECRET)),  # someone without a feed
        await refusal(client, path(OWNER, SECRET[:-1])),  # one character short
        await refusal(client, f"/cal/{OWNER}-{SECRET}"),  # no .ics
        await refusal(client, f"/cal/{OWNER}{SECRET}.ics"),  # no dash
        await refusal(client, "/cal/"),
        await refusal(client, f"/cal/0{OWNER}-{SECRET}.ics"),
        await refusal(client, f"/cal/{OWNER}-{SECRET}%00.ics"),
    ]
    assert all(answer == wrong_secret for answer in same)
    assert b"calendar" not in wrong_secret[2].lower()


async def test_the_allowlist_applies_with_the_same_404(storage: Storage, serve: Serve) -> None:
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    closed = await serve(allowed_user_ids=str(OTHER))
    open_to_owner = await serve(allowed_user_ids=f"{OWNER},{OTHER}")
    refused = await refusal(closed, path(OWNER, SECRET))
    assert refused == await refusal(closed, path(OWNER, OTHER_SECRET))
    assert (await open_to_owner.get(path(OWNER, SECRET))).status == 200


async def test_conditional_requests_get_304_until_a_task_changes(
    storage: Storage, clock: FakeClock, serve: Serve
) -> None:
    clock.set(MARCH)
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    task = await storage.tasks.create(
        OWNER, client_id=None, text="call", kind=TaskKind.CALL,
        due_at=MARCH + timedelta(days=1), now=MARCH,
    )
    client = await serve()
    first = await client.get(path(OWNER, SECRET))
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert modified == "Tue, 10 Mar 2026 11:00:00 GMT"
    assert b"DTSTAMP:20260310T110000Z" in await first.read()

    clock.advance(timedelta(hours=2))
    again = await client.get(path(OWNER, SECRET), headers={"If-None-Match": etag})
    assert again.status == 304
    assert await again.read() == b""
    assert again.headers["ETag"] == etag
    since = await client.get(path(OWNER, SECRET), headers={"If-Modified-Since": modified})
    assert since.status == 304
    # Unchanged content: the same ETag and Last-Modified hours later.
    later = await client.get(path(OWNER, SECRET))
    assert (later.headers["ETag"], later.headers["Last-Modified"]) == (etag, modified)

    await storage.tasks.set_due(OWNER, task.id, MARCH + timedelta(days=2), clock.now())
    changed = await client.get(path(OWNER, SECRET), headers={"If-None-Match": etag})
    assert changed.status == 200
    assert changed.headers["ETag"] != etag
    assert changed.headers["Last-Modified"] == "Tue, 10 Mar 2026 13:00:00 GMT"
    moved = events(await changed.read())[f"task-{task.id}"]
    assert start_of(moved) == MARCH + timedelta(days=2)
    stale = await client.get(path(OWNER, SECRET), headers={"If-Modified-Since": modified})
    assert stale.status == 200


async def test_a_read_only_database_still_serves_the_feed(
    storage: Storage, clock: FakeClock, serve: Serve
) -> None:
    clock.set(MARCH)
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    task = await storage.tasks.create(
        OWNER, client_id=None, text="call", kind=TaskKind.CALL,
        due_at=MARCH + timedelta(days=1), now=MARCH,
    )
    client = await serve()
    await read_only(storage, True)
    try:
        response = await client.get(path(OWNER, SECRET))
        assert response.status == 200
        assert f"task-{task.id}" in events(await response.read())
    finally:
        await read_only(storage, False)


async def test_the_secret_never_reaches_the_log(
    storage: Storage, serve: Serve, caplog: pytest.LogCaptureFixture
) -> None:
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    client = await serve()
    with caplog.at_level(logging.DEBUG):
        await client.get(path(OWNER, SECRET))
        await client.get(path(OWNER, OTHER_SECRET))
        logging.getLogger("aiohttp.access").info('"GET %s HTTP/1.1" 200', path(OWNER, SECRET))
    text = "\n".join(record.getMessage() for record in caplog.records)
    assert f"user {OWNER}" in text
    assert SECRET not in text and OTHER_SECRET not in text
    assert redact_secret_paths(f"GET {path(OWNER, SECRET)}") == f"GET /cal/{OWNER}-…"


def test_addresses_round_trip() -> None:
    url = feed_url(ORIGIN + "/", OWNER, SECRET)
    assert url == f"{ORIGIN}/cal/{OWNER}-{SECRET}.ics"
    token = read_token(url.rsplit("/", 1)[1])
    assert token is not None and (token.user_id, token.secret) == (OWNER, SECRET)
    assert read_token(f"٣-{SECRET}.ics") is None


async def test_user_text_is_escaped_and_long_lines_fold_back_whole(
    storage: Storage, clock: FakeClock, serve: Serve
) -> None:
    clock.set(MARCH)
    await seed_user(storage)
    await storage.users.calendar_secret(OWNER, SECRET)
    tricky = "звонок; итоги, план\\ДТSTART:19700101T000000Z " + "ж" * 60 + " €"
    client_row = await storage.clients.create(OWNER, "ООО «Ёлка, Палка»", MARCH)
    task = await storage.tasks.create(
        OWNER, client_id=client_row.id, text=tricky, kind=TaskKind.CALL,
        due_at=MARCH + timedelta(days=1), now=MARCH,
    )
    client = await serve()
    body = await (await client.get(path(OWNER, SECRET))).read()
    assert all(len(line) <= 75 for line in body.split(b"\r\n"))
    event = events(body)[f"task-{task.id}"]
    assert str(event["SUMMARY"]) == f"ООО «Ёлка, Палка»: {tricky}"
