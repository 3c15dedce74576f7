"""The Mini App's API over both backends: what a user opening the board from Telegram sees
and what their taps change."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.services.catalog import Services
from bot.settings import Settings
from bot.views.agenda import today_page
from bot.webapp.server import create_webapp
from storage.errors import StorageUnavailableError
from storage.interfaces import Storage
from storage.models import Client, ClientStatus, InvoiceStatus, TaskKind, TaskStatus
from tests.fakes.clock import FakeClock
from tests.webapp.conftest import OWNER, MakeWeb, WebClient, sign_init_data

MOSCOW = ZoneInfo("Europe/Moscow")
OTHER = 2002


def auth(
    clock: FakeClock, user: int = OWNER, *, language: str | None = "en", **kw: Any
) -> dict[str, str]:
    return {"Authorization": "tma " + sign_init_data(user, clock.now(), language=language, **kw)}


async def call(
    client: WebClient,
    method: str,
    path: str,
    clock: FakeClock,
    *,
    user: int = OWNER,
    language: str | None = "en",
    headers: dict[str, str] | None = None,
    **kwargs: Any,
) -> tuple[int, Any]:
    sent = headers if headers is not None else auth(clock, user, language=language)
    response = await client.request(method, path, headers=sent, **kwargs)
    assert response.content_type == "application/json"
    return response.status, await response.json()


async def new_client(
    storage: Storage, name: str, created: datetime, owner: int = OWNER
) -> Client:
    return await storage.clients.create(owner, name, created)


async def note(storage: Storage, client: Client, at: datetime, text: str = "talked") -> None:
    await storage.notes.create(
        client.owner_id, text=text, client_id=client.id, source_message_id=None, now=at
    )


async def chat_today(storage: Storage, now: datetime) -> str:
    """The chat's /today text, as the bot would send it."""
    i18n = create_i18n("en")
    with i18n.context(), i18n.use_locale("en"):
        page = await today_page(storage.tasks, OWNER, MOSCOW, "en", now, 0)
    return page.text


async def seed_board(storage: Storage, services: Services, now: datetime) -> None:
    """One client for each level of attention, and a former client."""
    long_ago = now - timedelta(days=60)
    await storage.users.ensure(OWNER, long_ago)
    fine = await new_client(storage, "Fine Co", long_ago)
    await note(storage, fine, now - timedelta(days=2))
    await new_client(storage, "Silent Co", long_ago)
    owes = await new_client(storage, "Owes Co", long_ago)
    await note(storage, owes, now - timedelta(days=1))
    await services.invoices.create(
        owes, amount_minor=12_000_000, currency="RUB", due=now - timedelta(days=10), note=None,
        task_text="Collect invoice I{number}",
    )
    late = await new_client(storage, "Late Co", long_ago)
    await note(storage, late, now - timedelta(days=1))
    await services.tasks.create(
        OWNER, client_id=late.id, text="Send the monthly report", kind=TaskKind.REPORT,
        due_at=now - timedelta(days=1), now=long_ago,
    )
    weekly = await new_client(storage, "Weekly Co", long_ago)
    await note(storage, weekly, now - timedelta(days=10))
    await storage.series.create(
        OWNER, client_id=weekly.id, text="weekly call", kind=TaskKind.CALL,
        rule="DTSTART:20260105T110000\nRRULE:FREQ=WEEKLY;BYDAY=MO;BYHOUR=11;BYMINUTE=0",
        timezone="Europe/Moscow", source="cadence", now=long_ago,
    )
    gone = await new_client(storage, "Gone Co", long_ago)
    await storage.clients.set_status(OWNER, gone.id, ClientStatus.FORMER, long_ago)


async def test_board_orders_clients_by_attention_with_former_apart(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    await seed_board(storage, services, clock.now())
    status, board = await call(web_client, "GET", "/app/api/board", clock)
    assert status == 200
    assert [item["name"] for item in board["clients"]] == [
        "Late Co", "Owes Co", "Silent Co", "Weekly Co", "Fine Co",
    ]
    assert [item["name"] for item in board["former"]] == ["Gone Co"]
    late, owes, silent, weekly, fine = board["clients"]
    assert (late["overdue_tasks"], late["open_tasks"]) == (1, 1)
    assert late["reasons"] == ["Overdue tasks: 1"]
    # The invoice's payment task is overdue too, but it is counted as the invoice.
    assert (owes["overdue_tasks"], owes["unpaid_overdue"]) == (0, 1)
    assert owes["unpaid"] == [
        {"currency": "RUB", "amount_minor": 12_000_000, "amount": "₽120,000",
         "overdue_days": 10}
    ]
    assert owes["reasons"] == ["Overdue invoices: 1, up to 10 d"]
    assert (silent["days_silent"], silent["contact_limit_days"]) == (60, 30)
    assert silent["silent_too_long"] and silent["last_contact"].startswith("2026-09-27")
    # Silent for 10 days only, but its cadence is weekly (a week and a day's grace).
    assert (weekly["days_silent"], weekly["contact_limit_days"]) == (10, 8)
    assert weekly["reasons"] == ["No contact for 10 d (every 8 d expected)"]
    assert not fine["silent_too_long"] and fine["reasons"] == []


async def test_board_in_russian(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    await seed_board(storage, services, clock.now())
    await storage.users.set_language(OWNER, "ru")
    status, board = await call(web_client, "GET", "/app/api/board", clock, language="en")
    assert status == 200
    owes = board["clients"][1]
    assert owes["reasons"] == ["Просроченные счета: 1, до 10 дн."]
    assert owes["unpaid_text"] == "120\xa0000\u202f₽"
    status, session = await call(web_client, "GET", "/app/api/session", clock)
    assert session["locale"] == "ru"
    assert session["texts"]["tab_board"] == "Доска"
    assert session["texts"]["tab_charts"] == "Графики"


async def test_session_in_english_for_a_user_who_never_started_the_bot(
    clock: FakeClock, web_client: WebClient
) -> None:
    status, session = await call(web_client, "GET", "/app/api/session", clock, user=5005)
    assert status == 200
    assert session["user"] == {"id": 5005, "name": "Anna"}
    assert (session["locale"], session["timezone"]) == ("en", "Europe/Moscow")
    assert session["texts"]["tab_board"] == "Board"
    assert [preset["key"] for preset in session["presets"]] == [
        "hour", "evening", "tomorrow", "week",
    ]
    # 14:37 in Moscow: this evening is today's 18:00, next Monday is 30 November at 10:00.
    assert session["presets"][1]["at"] == "2026-11-26T15:00:00+00:00"
    assert session["presets"][3]["at"] == "2026-11-30T07:00:00+00:00"
    status, board = await call(web_client, "GET", "/app/api/board", clock, user=5005)
    assert (status, board) == (200, {"clients": [], "former": [], "covering": []})


async def test_session_follows_telegram_language_until_the_user_picks_one(
    storage: Storage, clock: FakeClock, web_client: WebClient
) -> None:
    await storage.users.ensure(OWNER, clock.now())
    _status, session = await call(web_client, "GET", "/app/api/session", clock, language="ru")
    assert session["locale"] == "ru" and session["texts"]["done"] == "Готово"
    await storage.users.set_language(OWNER, "en")
    _status, session = await call(web_client, "GET", "/app/api/session", clock, language="ru")
    assert session["locale"] == "en" and session["texts"]["done"] == "Done"


async def test_done_closes_the_task_and_the_chat_agenda_drops_it(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    await storage.users.ensure(OWNER, now)
    acme = await new_client(storage, "Acme", now)
    task = await services.tasks.create(
        OWNER, client_id=acme.id, text="Call Anna about the budget", kind=TaskKind.CALL,
        due_at=datetime(2026, 11, 26, 13, 0, tzinfo=UTC), now=now,
    )
    assert await storage.reminders.pending_for_task(OWNER, task.id)
    assert "Call Anna about the budget" in await chat_today(storage, now)

    status, agenda = await call(web_client, "GET", "/app/api/agenda", clock)
    today = next(group for group in agenda["groups"] if group["key"] == "today")
    assert [item["id"] for item in today["items"]] == [task.id]
    assert today["items"][0]["time"] == "16:00" and today["items"][0]["client"] == "Acme"

    status, answer = await call(web_client, "POST", f"/app/api/tasks/{task.id}/done", clock)
    assert status == 200 and answer["ok"] and answer["task"]["status"] == "done"
    stored = await storage.tasks.get(OWNER, task.id)
    assert stored is not None and stored.status is TaskStatus.DONE
    # Reminders follow, as after ✅ in the chat.
    assert await storage.reminders.pending_for_task(OWNER, task.id) == []
    assert "Call Anna about the budget" not in await chat_today(storage, now)
    _status, agenda = await call(web_client, "GET", "/app/api/agenda", clock)
    today = next(group for group in agenda["groups"] if group["key"] == "today")
    assert today["items"] == [] and today["empty"] == "Nothing is due today."

    status, again = await call(web_client, "POST", f"/app/api/tasks/{task.id}/done", clock)
    assert (status, again) == (409, {"error": "Already done."})


async def test_agenda_groups_as_the_chat_does(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    await storage.users.ensure(OWNER, now)
    acme = await new_client(storage, "Acme", now)
    beta = await new_client(storage, "Beta", now)

    async def task(text: str, due: datetime, client: Client | None) -> None:
        await services.tasks.create(
            OWNER, client_id=client.id if client else None, text=text, kind=TaskKind.OTHER,
            due_at=due, now=now,
        )

    await task("old one", now - timedelta(days=3), acme)
    await task("this morning", datetime(2026, 11, 26, 6, 0, tzinfo=UTC), beta)
    await task("acme later", datetime(2026, 11, 26, 15, 0, tzinfo=UTC), acme)
    await task("beta later", datetime(2026, 11, 26, 16, 0, tzinfo=UTC), beta)
    await task("acme noon", datetime(2026, 11, 26, 9, 0, tzinfo=UTC), acme)
    await task("friday", datetime(2026, 11, 27, 9, 0, tzinfo=UTC), None)
    await task("in a week", datetime(2026, 12, 3, 9, 0, tzinfo=UTC), acme)
    await task("too far", datetime(2026, 12, 4, 9, 0, tzinfo=UTC), acme)
    status, agenda = await call(web_client, "GET", "/app/api/agenda", clock)
    assert status == 200
    groups = {group["key"]: group for group in agenda["groups"]}
    assert [group["key"] for group in agenda["groups"]] == ["overdue", "today", "week"]
    assert [item["text"] for item in groups["overdue"]["items"]] == ["old one"]
    # Today by client, in the order of each client's first task (as /today).
    assert [item["text"] for item in groups["today"]["items"]] == [
        "this morning", "beta later", "acme noon", "acme later",
    ]
    assert [item["overdue"] for item in groups["today"]["items"]] == [True, False, True, False]
    assert [item["text"] for item in groups["week"]["items"]] == ["friday", "in a week"]
    assert groups["week"]["items"][0]["day_label"] == "Fri 27 November"
    assert groups["week"]["items"][0]["client"] is None


async def test_reschedule_by_preset_and_by_free_text_replans_reminders(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    await storage.users.ensure(OWNER, now)
    await storage.users.set_language(OWNER, "ru")
    task = await services.tasks.create(
        OWNER, client_id=None, text="Отправить акт", kind=TaskKind.DOCUMENT,
        due_at=now - timedelta(hours=2), now=now,
    )
    path = f"/app/api/tasks/{task.id}/reschedule"
    status, answer = await call(web_client, "POST", path, clock, json={"preset": "tomorrow"})
    assert status == 200
    assert answer["task"]["due"] == "2026-11-27T07:00:00+00:00"
    assert not answer["task"]["overdue"]
    status, answer = await call(
        web_client, "POST", path, clock, json={"when": "в пятницу в 15:30"}
    )
    assert status == 200 and answer["task"]["due"] == "2026-11-27T12:30:00+00:00"
    stored = await storage.tasks.get(OWNER, task.id)
    assert stored is not None and stored.due_at == datetime(2026, 11, 27, 12, 30, tzinfo=UTC)
    pending = await storage.reminders.pending_for_task(OWNER, task.id)
    assert pending and {item.for_due_at for item in pending} == {stored.due_at}

    status, answer = await call(web_client, "POST", path, clock, json={"when": "когда-нибудь"})
    assert status == 400
    assert answer == {"error": "Не удалось распознать время «когда-нибудь»."}
    status, answer = await call(web_client, "POST", path, clock, json={"preset": "someday"})
    assert status == 400 and answer["error"]


async def test_invoice_paid_closes_its_payment_task(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    await storage.users.ensure(OWNER, now)
    acme = await new_client(storage, "Acme", now)
    invoice, task = await services.invoices.create(
        acme, amount_minor=500_00, currency="USD", due=now - timedelta(days=2), note=None,
        task_text="Invoice I{number}",
    )
    status, detail = await call(web_client, "GET", f"/app/api/clients/{acme.id}", clock)
    assert status == 200
    assert [item["id"] for item in detail["invoices"]] == [invoice.id]
    assert detail["invoices"][0]["amount"] == "$500"
    assert detail["invoices"][0]["due_text"] == "2 d overdue"
    status, answer = await call(
        web_client, "POST", f"/app/api/invoices/{invoice.id}/paid", clock
    )
    assert status == 200 and answer["ok"]
    paid = await storage.invoices.get(OWNER, invoice.id)
    assert paid is not None and paid.status is InvoiceStatus.PAID
    closed = await storage.tasks.get(OWNER, task.id)
    assert closed is not None and closed.status is TaskStatus.DONE
    assert await storage.reminders.pending_for_task(OWNER, task.id) == []
    status, again = await call(
        web_client, "POST", f"/app/api/invoices/{invoice.id}/paid", clock
    )
    assert status == 409 and again["error"]


async def test_a_note_is_saved_and_counts_as_contact(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    await seed_board(storage, services, clock.now())
    silent = (await storage.clients.match(OWNER, "Silent Co"))[0]
    text = "<b>Agreed</b> on the & budget\nnext call in May"
    status, answer = await call(
        web_client, "POST", f"/app/api/clients/{silent.id}/notes", clock, json={"text": text}
    )
    assert status == 200 and answer["note"]["text"] == text
    _status, detail = await call(web_client, "GET", f"/app/api/clients/{silent.id}", clock)
    assert detail["notes"][0]["text"] == text  # plain text, exactly as written
    _status, board = await call(web_client, "GET", "/app/api/board", clock)
    entry = next(item for item in board["clients"] if item["id"] == silent.id)
    assert entry["days_silent"] == 0 and not entry["silent_too_long"]
    assert [item["name"] for item in board["clients"]][-1] == "Silent Co"
    for bad in ({"text": "   "}, {"text": 5}, {}, {"text": "x" * 4001}):
        status, answer = await call(
            web_client, "POST", f"/app/api/clients/{silent.id}/notes", clock, json=bad
        )
        assert status == 400 and answer["error"]


async def test_charts_show_the_seeded_figures(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    await storage.users.ensure(OWNER, now - timedelta(days=300))
    acme = await new_client(storage, "Acme", now - timedelta(days=60))
    fresh = await new_client(storage, "Fresh", now - timedelta(days=60))
    await note(storage, fresh, now - timedelta(hours=3))
    await new_client(storage, "Ancient", now - timedelta(days=200))
    gone = await new_client(storage, "Gone", now - timedelta(days=200))
    await storage.clients.set_status(OWNER, gone.id, ClientStatus.FORMER, now)

    async def invoice(minor: int, currency: str, due_in_days: int) -> int:
        created, _task = await services.invoices.create(
            fresh, amount_minor=minor, currency=currency, due=now + timedelta(days=due_in_days),
            note=None, task_text="Invoice I{number}",
        )
        return created.id

    await invoice(12_000_000, "RUB", -10)
    await invoice(500_000, "RUB", 3)
    await invoice(5_000, "USD", -40)
    partly = await invoice(100_000, "RUB", -3)
    await storage.invoices.add_payment(OWNER, partly, 40_000, now)
    paid = await invoice(999_900, "RUB", -20)
    await services.invoices.pay(OWNER, paid)

    async def task(kind: TaskKind, due: datetime) -> None:
        await services.tasks.create(
            OWNER, client_id=acme.id, text=kind.value, kind=kind, due_at=due, now=now
        )

    await task(TaskKind.CALL, datetime(2026, 11, 26, 13, 0, tzinfo=UTC))
    await task(TaskKind.MEETING, datetime(2026, 11, 27, 7, 0, tzinfo=UTC))
    await task(TaskKind.MEETING, datetime(2026, 11, 27, 20, 59, tzinfo=UTC))  # 23:59 local
    await task(TaskKind.MEETING, datetime(2026, 11, 27, 21, 0, tzinfo=UTC))  # the 28th
    await task(TaskKind.CALL, datetime(2026, 12, 20, 7, 0, tzinfo=UTC))  # beyond 14 days

    status, charts = await call(web_client, "GET", "/app/api/charts", clock)
    assert status == 200
    rub, usd = charts["ageing"]
    assert rub["currency"] == "RUB" and usd["currency"] == "USD"
    assert [(b["key"], b["amount_minor"], b["count"]) for b in rub["buckets"]] == [
        ("not_due", 500_000, 1), ("1_7", 60_000, 1), ("8_30", 12_000_000, 1),
        ("30_plus", 0, 0),
    ]
    assert rub["buckets"][2]["amount"] == "₽120,000"
    assert [(b["key"], b["amount_minor"]) for b in usd["buckets"]] == [
        ("not_due", 0), ("1_7", 0), ("8_30", 0), ("30_plus", 5_000),
    ]
    days = charts["workload"]["days"]
    assert len(days) == 14 and days[0]["date"] == "2026-11-26"
    assert days[0]["counts"]["call"] == 1 and days[0]["total"] == 1
    assert days[1]["counts"]["meeting"] == 2 and days[1]["total"] == 2
    assert days[2]["counts"]["meeting"] == 1
    # The unpaid invoice due in 3 days has its payment task on that day.
    assert days[3]["counts"]["invoice"] == 1
    assert sum(day["total"] for day in days) == 5
    assert charts["workload"]["kinds"][0] == {"key": "call", "label": "call"}
    assert {item["key"]: item["count"] for item in charts["freshness"]} == {
        "0_7": 1, "8_30": 0, "31_90": 1, "90_plus": 1,
    }


async def test_forged_stale_and_missing_init_data_get_401(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    await seed_board(storage, services, clock.now())
    forged = {"Authorization": "tma " + sign_init_data(OWNER, clock.now(), token="42:OTHER")}
    genuine = sign_init_data(OWNER, clock.now())
    tampered = {"Authorization": "tma " + genuine.replace("1001", "1002", 1)}
    stale = {"Authorization": "tma " + sign_init_data(
        OWNER, clock.now() - timedelta(seconds=86_400 + 5)
    )}
    future = {"Authorization": "tma " + sign_init_data(
        OWNER, clock.now() + timedelta(minutes=5)
    )}
    for headers in (forged, tampered, stale, future, {}, {"Authorization": genuine},
                    {"Authorization": "tma "}, {"Authorization": "tma garbage=%%%"}):
        status, answer = await call(
            web_client, "GET", "/app/api/board", clock, headers=headers
        )
        assert status == 401, headers
        assert set(answer) == {"error"} and "Late Co" not in str(answer)
    status, answer = await call(web_client, "GET", "/app/api/board", clock, headers=stale)
    assert answer["error"] == "This page has expired: close it and open it again from the chat."
    # Nothing changed through a forged request.
    late = (await storage.clients.match(OWNER, "Late Co"))[0]
    task = (await storage.tasks.open_for_client(OWNER, late.id, 5))[0]
    status, _answer = await call(
        web_client, "POST", f"/app/api/tasks/{task.id}/done", clock, headers=forged
    )
    assert status == 401
    unchanged = await storage.tasks.get(OWNER, task.id)
    assert unchanged is not None and unchanged.status is TaskStatus.OPEN


async def test_a_launch_a_little_old_is_still_accepted(
    storage: Storage, clock: FakeClock, web_client: WebClient
) -> None:
    headers = {"Authorization": "tma " + sign_init_data(
        OWNER, clock.now() - timedelta(hours=23)
    )}
    status, _session = await call(
        web_client, "GET", "/app/api/session", clock, headers=headers
    )
    assert status == 200


async def test_a_user_not_on_the_allowlist_gets_403(
    storage: Storage, clock: FakeClock, make_web: MakeWeb
) -> None:
    web_client = await make_web(allowed_user_ids=frozenset({OWNER}))
    status, answer = await call(
        web_client, "GET", "/app/api/board", clock, user=OTHER, language="ru"
    )
    assert status == 403
    assert answer == {
        "error": "Извините, это личный ассистент, и вас нет в списке его пользователей."
    }
    status, _answer = await call(web_client, "GET", "/app/api/board", clock)
    assert status == 200


async def test_another_users_ids_are_404(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    for user in (OWNER, OTHER):
        await storage.users.ensure(user, now)
    theirs = await new_client(storage, "Their Co", now, owner=OTHER)
    their_task = await services.tasks.create(
        OTHER, client_id=theirs.id, text="their secret task", kind=TaskKind.CALL,
        due_at=now + timedelta(hours=1), now=now,
    )
    their_invoice, _task = await services.invoices.create(
        theirs, amount_minor=100, currency="EUR", due=now, note=None, task_text="I{number}"
    )
    requests: list[tuple[str, str, dict[str, Any] | None]] = [
        ("GET", f"/app/api/clients/{theirs.id}", None),
        ("POST", f"/app/api/clients/{theirs.id}/notes", {"text": "hi"}),
        ("POST", f"/app/api/tasks/{their_task.id}/done", None),
        ("POST", f"/app/api/tasks/{their_task.id}/reschedule", {"preset": "hour"}),
        ("POST", f"/app/api/invoices/{their_invoice.id}/paid", None),
        ("GET", "/app/api/clients/999999", None),
        ("GET", "/app/api/clients/abc", None),
    ]
    for method, path, body in requests:
        status, answer = await call(web_client, method, path, clock, json=body)
        assert status == 404, path
        assert answer == {"error": "Not found: it may have been deleted."}
    still = await storage.tasks.get(OTHER, their_task.id)
    assert still is not None and still.status is TaskStatus.OPEN and still.due_at == (
        their_task.due_at
    )
    assert await storage.notes.count(OTHER, theirs.id) == 0
    invoice = await storage.invoices.get(OTHER, their_invoice.id)
    assert invoice is not None and invoice.status is InvoiceStatus.UNPAID
    _status, board = await call(web_client, "GET", "/app/api/board", clock)
    assert board == {"clients": [], "former": [], "covering": []}


async def test_bad_input_is_a_translated_400_never_a_traceback(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    await storage.users.ensure(OWNER, now)
    task = await services.tasks.create(
        OWNER, client_id=None, text="x", kind=TaskKind.OTHER, due_at=now, now=now
    )
    path = f"/app/api/tasks/{task.id}/reschedule"
    for body in ("{not json", "[1, 2]", "\xff\xfe", '"text"'):
        status, answer = await call(
            web_client, "POST", path, clock, data=body.encode("latin-1"), language="ru"
        )
        assert status == 400
        assert answer == {"error": "Не удалось прочитать запрос."}
    status, answer = await call(
        web_client, "POST", path, clock, data=b'{"when": "' + b"a" * 20_000 + b'"}'
    )
    assert status == 413 and answer == {"error": "That is too long."}
    # 16 KiB of "[": json.loads runs out of recursion, which is bad input too, not a 500.
    status, answer = await call(web_client, "POST", path, clock, data=b"[" * 16_000)
    assert status == 400
    # A digit that is not ASCII ("²") in an id: not found, not a 500.
    status, answer = await call(web_client, "GET", "/app/api/clients/%C2%B2", clock)
    assert status == 404 and set(answer) == {"error"}

    async def in_pieces(body: bytes) -> AsyncIterator[bytes]:
        # A body that arrives in several pieces (chunked): read whole, not only its start.
        for start in range(0, len(body), 1000):
            yield body[start : start + 1000]
            await asyncio.sleep(0.01)

    long_note = ("Заметка " * 500).strip()  # ~8 KB of UTF-8
    client = await new_client(storage, "Pieces", now)
    status, answer = await call(
        web_client, "POST", f"/app/api/clients/{client.id}/notes", clock,
        data=in_pieces(json.dumps({"text": long_note}, ensure_ascii=False).encode()),
    )
    assert status == 200 and answer["note"]["text"] == long_note
    status, answer = await call(
        web_client, "POST", path, clock, data=in_pieces(b'{"when": "' + b"a" * 20_000 + b'"}')
    )
    assert status == 413
    status, answer = await call(web_client, "GET", "/app/api/nothing-here", clock)
    assert status == 404 and set(answer) == {"error"}
    status, answer = await call(web_client, "DELETE", f"/app/api/tasks/{task.id}/done", clock)
    assert status == 405 and set(answer) == {"error"}


async def test_the_page_is_served_and_nothing_else_from_disk(
    storage: Storage, services: Services, clock: FakeClock, make_web: MakeWeb
) -> None:
    web_client = await make_web()
    response = await web_client.get("/app", allow_redirects=False)
    assert response.status == 302 and response.headers["Location"] == "/app/"
    response = await web_client.get("/app/")
    assert response.status in (200, 404)  # the page itself is the frontend's file
    for path in (
        "/app/static/..%2F..%2Fapi.py", "/app/static/../server.py", "/app/static/api.py",
        "/app/static/.env", "/app/static/%2e%2e%2fauth.py", "/app/static/x.js%00.py",
    ):
        response = await web_client.get(path)
        assert response.status == 404, path


async def test_static_files_with_etag_and_csp(
    storage: Storage, services: Services, clock: FakeClock, tmp_path: Path,
    dates: DateParser, settings: Settings,
) -> None:
    (tmp_path / "index.html").write_text("<!doctype html><title>x</title>", "utf-8")
    (tmp_path / "app.js").write_text("console.log(1)", "utf-8")
    (tmp_path / "notes.txt").write_text("secret", "utf-8")
    root = web.Application()
    root.add_subapp("/app", create_webapp(
        storage=storage, services=services, clock=clock, dates=dates,
        i18n=create_i18n("en"), settings=settings, static_dir=tmp_path,
    ))
    async with TestClient(TestServer(root)) as client:
        page = await client.get("/app/")
        assert page.status == 200 and page.content_type == "text/html"
        assert "script-src 'self' https://telegram.org" in page.headers[
            "Content-Security-Policy"
        ]
        script = await client.get("/app/static/app.js")
        assert script.status == 200 and await script.text() == "console.log(1)"
        assert script.content_type == "text/javascript"
        etag = script.headers["ETag"]
        again = await client.get("/app/static/app.js", headers={"If-None-Match": etag})
        assert again.status == 304
        (tmp_path / "app.js").write_text("console.log(22)", "utf-8")
        changed = await client.get("/app/static/app.js", headers={"If-None-Match": etag})
        assert changed.status == 200 and await changed.text() == "console.log(22)"
        assert (await client.get("/app/static/notes.txt")).status == 404


class _BrokenBoard:
    """A ClientRepo whose board read fails as a database that went away would."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def board(self, owner_id: int, now: datetime) -> Any:
        raise StorageUnavailableError("gone")


async def test_a_failure_inside_is_a_json_500_in_the_users_language(
    storage: Storage, services: Services, clock: FakeClock, dates: DateParser,
    settings: Settings,
) -> None:
    await storage.users.ensure(OWNER, clock.now())
    broken = dataclasses.replace(storage, clients=_BrokenBoard(storage.clients))
    root = web.Application()
    root.add_subapp("/app", create_webapp(
        storage=broken, services=services, clock=clock, dates=dates,
        i18n=create_i18n("en"), settings=settings,
    ))
    async with TestClient(TestServer(root)) as client:
        status, answer = await call(client, "GET", "/app/api/board", clock, language="ru")
        assert (status, answer) == (500, {"error": "Что-то пошло не так. Попробуйте ещё раз."})
        status, _answer = await call(client, "GET", "/app/api/agenda", clock)
        assert status == 200


async def test_a_teammate_covering_sees_the_handed_over_client_until_the_handover_ends(
    storage: Storage, services: Services, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    for user in (OWNER, OTHER):
        await storage.users.ensure(user, now - timedelta(days=60))
    await storage.users.set_identity(OTHER, "vera", "Vera K")
    team = await storage.teams.create(OTHER, "Agency", "s" * 32, now)
    await storage.teams.create_invite("invite1", team.id, OTHER, now + timedelta(hours=1))
    assert await storage.teams.join_by_invite("invite1", OWNER, now) is not None
    handed = await new_client(storage, "Handed Co", now - timedelta(days=60), owner=OTHER)
    kept = await new_client(storage, "Kept Co", now - timedelta(days=60), owner=OTHER)
    task = await services.tasks.create(
        OTHER, client_id=handed.id, text="call them back", kind=TaskKind.CALL,
        due_at=now - timedelta(hours=3), now=now,
    )
    kept_task = await services.tasks.create(
        OTHER, client_id=kept.id, text="not yours", kind=TaskKind.CALL,
        due_at=now - timedelta(hours=3), now=now,
    )
    invoice, payment_task = await services.invoices.create(
        handed, amount_minor=100, currency="EUR", due=now, note=None, task_text="I{number}"
    )
    await storage.teams.create_handover(
        OTHER, handed.id, OWNER, now - timedelta(hours=1), now + timedelta(days=2), now
    )

    _status, board = await call(web_client, "GET", "/app/api/board", clock)
    assert board["clients"] == []
    assert [(item["name"], item["owner"]) for item in board["covering"]] == [
        ("Handed Co", "Vera K")
    ]
    status, detail = await call(web_client, "GET", f"/app/api/clients/{handed.id}", clock)
    assert status == 200
    assert (detail["client"]["owner"], detail["client"]["can_edit"]) == ("Vera K", False)
    assert [item["text"] for item in detail["tasks"]] == ["call them back", "I1"]
    status, _answer = await call(web_client, "GET", f"/app/api/clients/{kept.id}", clock)
    assert status == 404
    status, _answer = await call(
        web_client, "POST", f"/app/api/tasks/{kept_task.id}/done", clock
    )
    assert status == 404
    # Ticking off is allowed, as on the reminder the covering teammate gets; the rest is
    # the owner's.
    status, answer = await call(web_client, "POST", f"/app/api/tasks/{task.id}/done", clock)
    assert status == 200 and answer["task"]["status"] == "done"
    done = await storage.tasks.get(OTHER, task.id)
    assert done is not None and done.status is TaskStatus.DONE
    for path, body in (
        (f"/app/api/invoices/{invoice.id}/paid", None),
        (f"/app/api/clients/{handed.id}/notes", {"text": "hi"}),
        (f"/app/api/tasks/{payment_task.id}/reschedule", {"preset": "hour"}),
    ):
        status, _answer = await call(web_client, "POST", path, clock, json=body)
        assert status == 404, path

    clock.advance(timedelta(days=3))
    _status, board = await call(web_client, "GET", "/app/api/board", clock)
    assert board["covering"] == []
    status, _answer = await call(web_client, "GET", f"/app/api/clients/{handed.id}", clock)
    assert status == 404


async def test_a_large_answer_goes_gzipped(
    storage: Storage, clock: FakeClock, web_client: WebClient
) -> None:
    now = clock.now()
    await storage.users.ensure(OWNER, now)
    for number in range(60):
        await new_client(storage, f"Client {number:02}", now - timedelta(days=number))
    response = await web_client.get(
        "/app/api/board", headers={**auth(clock), "Accept-Encoding": "gzip"}
    )
    assert response.status == 200 and response.headers["Content-Encoding"] == "gzip"
    board = await response.json()
    assert len(board["clients"]) == 60 and board["clients"][0]["name"] == "Client 59"
