"""storage/transfer.py: a SQLite database copied into PostgreSQL reads the same there.

A SQLite file is filled through the SQLite repositories with rows in every table, copied,
and compared with the PostgreSQL copy: every row of every table (raw SQL on both sides),
then what the repositories read (snapshots, teams, alerts, reminders, search), and what the
next writes get (numbers and ids after the copied ones).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from storage import update_marks
from storage.errors import DatabaseDamagedError, DatabaseUnusableError
from storage.interfaces import Storage
from storage.models import (
    AlertSeverity,
    AlertSource,
    ClientStatus,
    NewAlert,
    NoteMedia,
    PlannedReminder,
    ReminderPurpose,
    SeriesStatus,
    TaskKind,
    WorkingHours,
)
from storage.postgres import open_postgres_storage
from storage.sqlite import open_sqlite_storage
from storage.sqlite.codec import encode_time
from storage.transfer import (
    TABLES,
    TransferRefusedError,
    copy_sqlite_to_postgres,
    public_url,
)
from tests.fakes.clock import NOW

LEAD, MEMBER, SOLO, OUTSIDER = 101, 102, 103, 104
OWNERS = (LEAD, MEMBER, SOLO, OUTSIDER)
BOT_ID = 555


def later(**delta: float) -> datetime:
    return NOW + timedelta(**delta)


async def fill(storage: Storage) -> dict[str, Any]:
    """Rows in every table, in the states the bot makes; returns ids the checks use."""
    ids: dict[str, Any] = {}
    for user in OWNERS:
        await storage.users.ensure(user, NOW)
    await storage.users.set_language(LEAD, "ru")
    await storage.users.set_timezone(LEAD, "Europe/Moscow")
    await storage.users.set_currency(LEAD, "EUR")
    await storage.users.set_identity(LEAD, "lead_user", "Лёва Лидов")
    await storage.users.set_identity(MEMBER, "member", "Member Person")
    await storage.users.set_hours(LEAD, WorkingHours(8 * 60, 17 * 60 + 30, (0, 1, 2, 3, 4, 5)))
    await storage.users.set_digest(LEAD, enabled=False, minute=7 * 60)
    await storage.users.set_digest(MEMBER, enabled=True, minute=8 * 60)
    await storage.users.plan_digest(MEMBER, None, later(hours=5))
    await storage.users.set_telegram_language(LEAD, "ru")
    await storage.users.set_ahead_default(LEAD, TaskKind.CALL, 30)
    await storage.users.set_ahead_default(LEAD, TaskKind.REPORT, 2880)
    await storage.users.intake_secret(SOLO, "solo-secret")
    await storage.users.calendar_secret(SOLO, "solo-calendar-secret")
    await storage.users.calendar_version(SOLO, "feed-v1", later(hours=1))
    await storage.users.set_active(OUTSIDER, False)
    # A cycle: each is the other's backup.
    await storage.users.set_backup(LEAD, MEMBER)
    await storage.users.set_backup(MEMBER, LEAD)

    acme = await storage.clients.create(LEAD, "ООО Ёлка", NOW)
    await storage.clients.set_field(LEAD, acme.id, "contact_person", "Пётр Иванов", NOW)
    await storage.clients.set_field(LEAD, acme.id, "phone", "+7 900 000-00-00", NOW)
    await storage.clients.set_field(LEAD, acme.id, "email", "petr@elka.example", NOW)
    await storage.clients.set_field(LEAD, acme.id, "contact_telegram", "petr_elka", NOW)
    await storage.clients.set_field(LEAD, acme.id, "channel", "messenger", NOW)
    await storage.clients.set_field(LEAD, acme.id, "segment", "b2c", NOW)
    await storage.clients.add_alias(LEAD, acme.id, "Ёлочка", later(minutes=1))
    await storage.clients.add_alias(LEAD, acme.id, "Elka", later(minutes=2))
    beta = await storage.clients.create(LEAD, "Beta", later(minutes=3))
    await storage.clients.set_status(LEAD, beta.id, ClientStatus.FORMER, later(minutes=4))
    gone = await storage.clients.create(LEAD, "Gone", later(minutes=5))
    await storage.clients.delete(LEAD, gone.id, later(minutes=6))
    solo_client = await storage.clients.create(SOLO, "Solo Client", NOW)
    ids.update(acme=acme.id, beta=beta.id, gone=gone.id, solo_client=solo_client.id)

    tasks = storage.tasks
    call = await tasks.create(
        LEAD, client_id=acme.id, text="Позвонить про акт сверки", kind=TaskKind.CALL,
        due_at=later(days=1), now=NOW,
    )
    await tasks.set_remind_ahead(LEAD, call.id, 45, NOW)
    report = await tasks.create(
        LEAD, client_id=acme.id, text="Отчёт за квартал", kind=TaskKind.REPORT,
        due_at=later(days=3), now=NOW,
    )
    done = await tasks.create(
        LEAD, client_id=beta.id, text="Send the contract", kind=TaskKind.DOCUMENT,
        due_at=None, now=NOW,
    )
    await tasks.complete(LEAD, done.id, later(hours=1))
    done2 = await tasks.create(
        LEAD, client_id=None, text="Ещё одно дело", kind=TaskKind.OTHER,
        due_at=later(hours=2), now=NOW,
    )
    await tasks.complete(LEAD, done2.id, later(hours=2))
    deleted = await tasks.create(
        LEAD, client_id=None, text="Удалённая задача", kind=TaskKind.OTHER, due_at=None, now=NOW
    )
    await tasks.delete(LEAD, deleted.id, later(hours=3))
    hidden = await tasks.create(
        LEAD, client_id=gone.id, text="Hidden with its client", kind=TaskKind.CALL,
        due_at=later(days=2), now=NOW,
    )
    solo_task = await tasks.create(
        SOLO, client_id=solo_client.id, text="Solo call", kind=TaskKind.CALL, due_at=later(days=1),
        now=NOW,
    )
    ids.update(call=call.id, report=report.id, done=done.id, deleted=deleted.id,
               hidden=hidden.id, solo_task=solo_task.id)

    series = await storage.series.create(
        LEAD, client_id=acme.id, text="Еженедельный отчёт", kind=TaskKind.REPORT,
        rule="FREQ=WEEKLY;BYDAY=MO", timezone="Europe/Moscow", source="user", now=NOW,
    )
    paused = await storage.series.create(
        LEAD, client_id=None, text="Paused series", kind=TaskKind.CALL,
        rule="FREQ=DAILY", timezone="UTC", source="cadence", now=NOW,
    )
    await storage.series.set_status(LEAD, paused.id, SeriesStatus.PAUSED, later(minutes=1))
    for week in range(3):
        occurrence = await tasks.create(
            LEAD, client_id=acme.id, text="Еженедельный отчёт", kind=TaskKind.REPORT,
            due_at=later(weeks=week), now=NOW, series_id=series.id,
        )
        if week == 0:
            await tasks.complete(LEAD, occurrence.id, later(days=1))
    ids.update(series=series.id)

    unpaid = await storage.invoices.create(
        LEAD, client_id=acme.id, amount_minor=150_000, currency="RUB", due_at=later(days=10),
        note="Счёт за март", now=NOW,
    )
    payment = await tasks.create(
        LEAD, client_id=acme.id, text="Оплата счёта", kind=TaskKind.INVOICE, due_at=later(days=10),
        now=NOW, invoice_id=unpaid.id,
    )
    await storage.invoices.link_task(LEAD, unpaid.id, payment.id)
    await storage.invoices.add_payment(LEAD, unpaid.id, 50_000, later(days=1))
    await storage.invoices.set_promised(LEAD, unpaid.id, later(days=12), later(days=1))
    paid = await storage.invoices.create(
        LEAD, client_id=beta.id, amount_minor=99_00, currency="EUR", due_at=later(days=5),
        note=None, now=NOW,
    )
    paid_task = await tasks.create(
        LEAD, client_id=beta.id, text="Payment", kind=TaskKind.INVOICE, due_at=later(days=5),
        now=NOW, invoice_id=paid.id,
    )
    await storage.invoices.link_task(LEAD, paid.id, paid_task.id)
    await storage.invoices.add_payment(LEAD, paid.id, 99_00, later(days=2))
    await tasks.complete(LEAD, paid_task.id, later(days=2))
    ids.update(unpaid=unpaid.id, paid=paid.id, payment=payment.id)

    notes = storage.notes
    signed = await notes.create(
        LEAD, text="Подписали акт сверки за март", client_id=acme.id, source_message_id=11,
        now=NOW,
    )
    await notes.create(
        LEAD, text="Голосовое от клиента", client_id=acme.id, source_message_id=12,
        now=later(minutes=1),
        media=NoteMedia(media_type="voice", file_id="AwACAgIAAxk", duration=42,
                        file_size=123_456),
    )
    await notes.create(
        LEAD, text="Переслано: зелёная ёлка", client_id=acme.id, source_message_id=13,
        now=later(minutes=2),
        media=NoteMedia(forward_from="Пётр Иванов", forward_date=later(days=-1)),
    )
    await notes.create(
        LEAD, text="Ответ на задачу", client_id=None, source_message_id=14,
        now=later(minutes=3), task_id=call.id,
    )
    removed = await notes.create(
        LEAD, text="Удалённая заметка про акт", client_id=None, source_message_id=15,
        now=later(minutes=4),
    )
    await notes.delete(LEAD, removed.id, later(minutes=5))
    ids.update(signed_note=signed.id, removed_note=removed.id)
    await notes.create(
        SOLO, text="Solo's own акт", client_id=solo_client.id, source_message_id=1, now=NOW
    )

    reminders = storage.reminders
    await reminders.replace_for_task(
        LEAD, call.id,
        [
            PlannedReminder(ReminderPurpose.AHEAD, later(days=1, minutes=-45), later(days=1)),
            PlannedReminder(
                ReminderPurpose.DUE, later(days=1), later(days=1), held_from=later(hours=20)
            ),
        ],
        NOW,
    )
    await reminders.replace_for_task(
        LEAD, report.id, [PlannedReminder(ReminderPurpose.DUE, later(days=3), later(days=3))], NOW
    )
    await reminders.snooze(
        LEAD, report.id,
        PlannedReminder(ReminderPurpose.SNOOZE, later(hours=1), later(days=3)), NOW,
    )
    await reminders.replace_for_task(
        SOLO, solo_task.id,
        [PlannedReminder(ReminderPurpose.DUE, later(minutes=-5), later(days=1))], NOW,
    )
    await reminders.replace_for_task(
        LEAD, payment.id,
        [PlannedReminder(ReminderPurpose.FOLLOWUP, later(minutes=-1), later(days=10))],
        NOW,
    )
    claimed = await reminders.claim_due(NOW, "token-1", 10)
    assert len(claimed) == 2
    await reminders.mark_sent(claimed[0].id, NOW)
    await reminders.mark_failed(claimed[1].id)
    await reminders.cancel_for_task(LEAD, hidden.id)

    await storage.dialogs.set_state("chat:101", LEAD, "NoteFlow:text", NOW)
    await storage.dialogs.set_data(
        "chat:101", LEAD,
        {"text": "Привет, ёжик! «кавычки»", "ids": [1, 2, 3], "nested": {"ok": True}}, NOW,
    )
    await storage.dialogs.set_state("chat:103", SOLO, None, NOW)

    team = await storage.teams.create(LEAD, "Команда Ё", "team-secret", NOW)
    await storage.teams.set_escalate_to_all(team.id, False)
    await storage.teams.create_invite("INV-USED", team.id, LEAD, later(days=7))
    assert await storage.teams.join_by_invite("INV-USED", MEMBER, later(minutes=1))
    await storage.teams.create_invite("INV-OPEN", team.id, LEAD, later(days=7))
    await storage.teams.create_handover(
        LEAD, acme.id, MEMBER, NOW, later(days=5), NOW
    )
    await storage.teams.create_handover(
        LEAD, None, MEMBER, later(days=10), later(days=12), NOW
    )
    ended = await storage.teams.create_handover(
        MEMBER, None, LEAD, NOW, later(days=1), NOW
    )
    await storage.teams.end_handovers(MEMBER, later(minutes=30))
    ids.update(team=team.id, ended=ended.id)

    alerts = storage.alerts
    urgent, _ = await alerts.raise_alert(
        NewAlert(
            scope=f"t{team.id}", team_id=team.id, owner_id=None, client_id=acme.id,
            client_label="ООО Ёлка", text="Сайт лежит", severity=AlertSeverity.URGENT,
            dedup_key="site",
            source=AlertSource.INTAKE, raised_by=None, intake_address=f"t{team.id}",
        ),
        NOW, NOW - timedelta(minutes=10),
    )
    await alerts.raise_alert(
        NewAlert(
            scope=f"t{team.id}", team_id=team.id, owner_id=None, client_id=acme.id,
            client_label="ООО Ёлка", text="Сайт лежит", severity=AlertSeverity.URGENT,
            dedup_key="site",
            source=AlertSource.INTAKE, raised_by=None, intake_address=f"t{team.id}",
        ),
        later(minutes=1), NOW - timedelta(minutes=10),
    )
    await alerts.record_page(urgent.id, LEAD, 9001, 0, NOW)
    await alerts.record_page(urgent.id, MEMBER, None, 1, later(minutes=5))
    await alerts.acknowledge(urgent.id, MEMBER, later(minutes=6), later(minutes=66))
    await alerts.add_event(urgent.id, later(minutes=7), "note", MEMBER, "смотрю")
    personal, _ = await alerts.raise_alert(
        NewAlert(
            scope=f"u{SOLO}", team_id=None, owner_id=SOLO, client_id=None, client_label=None,
            text="Personal alert", severity=AlertSeverity.NORMAL, dedup_key=None,
            source=AlertSource.CHAT,
            raised_by=SOLO,
        ),
        NOW, NOW - timedelta(minutes=10),
    )
    await alerts.resolve(personal.id, SOLO, later(minutes=2))
    ids.update(urgent=urgent.id, personal=personal.id, team_scope=f"t{team.id}")

    for update_id in (1, 2, 3):
        with update_marks.marking(BOT_ID, update_id, later(seconds=update_id)):
            await storage.users.set_language(SOLO, "en")
    return ids


# --- raw rows ----------------------------------------------------------------------------


def _sqlite_rows(path: Path, table: str) -> tuple[list[str], list[tuple[Any, ...]]]:
    with sqlite3.connect(path) as raw:
        columns = [str(row[1]) for row in raw.execute(f"PRAGMA table_info({table})")]
        rows = raw.execute(
            f"SELECT {', '.join(columns)} FROM {table} ORDER BY {', '.join(columns)}"
        ).fetchall()
    if table == "dialog_states":
        index = columns.index("data")
        rows = [(*row[:index], json.loads(row[index]), *row[index + 1 :]) for row in rows]
    return columns, rows


def _plain(value: Any) -> Any:
    """A PostgreSQL value as SQLite keeps it."""
    if isinstance(value, datetime):
        return encode_time(value)
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, str) and value.startswith("{"):
        return json.loads(value)  # jsonb read without the pool's codec
    return value


async def _postgres_rows(url: str, table: str, columns: list[str]) -> list[tuple[Any, ...]]:
    connection = await asyncpg.connect(url)
    try:
        rows = await connection.fetch(f"SELECT {', '.join(columns)} FROM {table}")
    finally:
        await connection.close()
    plain = [tuple(_plain(value) for value in row) for row in rows]
    return sorted(plain, key=_order)


def _order(row: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((value is not None, json.dumps(value) if isinstance(value, dict) else value)
                 for value in row)


async def _hits(storage: Storage, owner: int, words: list[str]) -> set[tuple[str, int]]:
    """What a search finds (ranks are each backend's own)."""
    return {(str(hit.kind), hit.ref_id) for hit in await storage.notes.search(owner, words, 50)}


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> tuple[Path, dict[str, Any]]:
    path = tmp_path / "data" / "source.sqlite3"
    storage = await open_sqlite_storage(path)
    try:
        ids = await fill(storage)
    finally:
        await storage.backend.close()
    return path, ids


async def test_every_row_of_every_table_is_copied(
    sqlite_file: tuple[Path, dict[str, Any]], postgres_url: str
) -> None:
    path, _ = sqlite_file
    report = await copy_sqlite_to_postgres(path, postgres_url, batch=3)  # batches of 3

    assert [table.table for table in report.tables] == list(TABLES)
    for table in TABLES:
        columns, expected = _sqlite_rows(path, table)
        assert expected, f"the filled database has no {table} row: fill() must make one"
        actual = await _postgres_rows(postgres_url, table, columns)
        assert actual == sorted(expected, key=_order), table
        assert report.counts()[table] == len(expected)
    assert report.rows == sum(report.counts().values())
    assert report.target == public_url(postgres_url)


async def test_the_copy_reads_the_same_through_the_repositories(
    sqlite_file: tuple[Path, dict[str, Any]], postgres_url: str
) -> None:
    path, ids = sqlite_file
    await copy_sqlite_to_postgres(path, postgres_url)
    source = await open_sqlite_storage(path)
    target = await open_postgres_storage(postgres_url)
    try:
        for owner in OWNERS:
            assert await target.users.get(owner) == await source.users.get(owner)
            assert await target.user_data.snapshot(owner) == await source.user_data.snapshot(
                owner
            )
        team = ids["team"]
        assert await target.teams.get(team) == await source.teams.get(team)
        assert await target.teams.members(team) == await source.teams.members(team)
        assert await target.teams.team_of(MEMBER) == await source.teams.team_of(MEMBER)
        assert await target.teams.handed_over_by(LEAD, NOW) == (
            await source.teams.handed_over_by(LEAD, NOW)
        )
        assert await target.teams.active_handovers(NOW) == (
            await source.teams.active_handovers(NOW)
        )
        for alert in (ids["urgent"], ids["personal"]):
            assert await target.alerts.get(alert) == await source.alerts.get(alert)
            assert await target.alerts.events(alert) == await source.alerts.events(alert)
            assert await target.alerts.pages(alert) == await source.alerts.pages(alert)
        scopes = [ids["team_scope"], f"u{SOLO}"]
        assert await target.alerts.recent(scopes, NOW - timedelta(days=1), 10) == (
            await source.alerts.recent(scopes, NOW - timedelta(days=1), 10)
        )
        assert await target.reminders.count_pending() == await source.reminders.count_pending()
        assert await target.reminders.next_fire_at() == await source.reminders.next_fire_at()
        for task in (ids["call"], ids["report"], ids["hidden"]):
            assert await target.reminders.pending_for_task(LEAD, task) == (
                await source.reminders.pending_for_task(LEAD, task)
            )
        assert await target.dialogs.get_state("chat:101") == "NoteFlow:text"
        assert await target.dialogs.get_data("chat:101") == (
            await source.dialogs.get_data("chat:101")
        )
        assert await target.updates.last_id(BOT_ID) == 3
        for words in (["елка"], ["ёлка"], ["акт", "сверки"], ["петр"], ["отчет"], ["голос"]):
            assert await _hits(target, LEAD, words) == await _hits(source, LEAD, words), words
        assert await _hits(target, SOLO, ["акт"]) == await _hits(source, SOLO, ["акт"])
        # A Russian stem, which only PostgreSQL has: "акта" finds "акт сверки".
        assert ("note", ids["signed_note"]) in await _hits(target, LEAD, ["акта"])
        assert ("task", ids["call"]) in await _hits(target, LEAD, ["акта"])
        # Nobody else's, nothing deleted.
        assert ("note", ids["removed_note"]) not in await _hits(target, LEAD, ["акт"])
    finally:
        await source.backend.close()
        await target.backend.close()


async def test_new_rows_after_the_copy_follow_the_copied_ones(
    sqlite_file: tuple[Path, dict[str, Any]], postgres_url: str
) -> None:
    path, ids = sqlite_file
    await copy_sqlite_to_postgres(path, postgres_url)
    source = await open_sqlite_storage(path)
    target = await open_postgres_storage(postgres_url)
    try:
        for storage in (source, target):  # the same writes on both give the same rows
            task = await storage.tasks.create(
                LEAD, client_id=ids["acme"], text="After the move", kind=TaskKind.CALL,
                due_at=None, now=later(days=1),
            )
            assert task.number == 12  # LEAD had 11 tasks (a deleted one's number kept)
            solo = await storage.tasks.create(
                SOLO, client_id=None, text="Solo after", kind=TaskKind.OTHER, due_at=None,
                now=later(days=1),
            )
            assert solo.number == 2
            done = await storage.tasks.complete(LEAD, task.id, later(days=2))
            assert done is not None
            invoice = await storage.invoices.create(
                LEAD, client_id=ids["beta"], amount_minor=100, currency="EUR",
                due_at=later(days=3), note=None, now=later(days=1),
            )
            assert invoice.number == 3
            client = await storage.clients.create(LEAD, "New After Move", later(days=1))
            note = await storage.notes.create(
                LEAD, text="after", client_id=client.id, source_message_id=99,
                now=later(days=1),
            )
            await storage.series.create(
                LEAD, client_id=None, text="s", kind=TaskKind.CALL, rule="FREQ=DAILY",
                timezone="UTC", source="user", now=later(days=1),
            )
            team = await storage.teams.create(SOLO, "Second team", "s2", later(days=1))
            await storage.reminders.replace_for_task(
                LEAD, ids["report"],
                [PlannedReminder(ReminderPurpose.DUE, later(days=3), later(days=3))],
                later(days=1),
            )
            # The undo of "done" takes the task completed last: the new one, not a copied.
            reopened = await storage.tasks.reopen_last_completed(LEAD, later(days=2))
            assert reopened is not None and reopened.id == task.id
        for table in ("tasks", "invoices", "clients", "notes", "series", "teams", "reminders"):
            columns, expected = _sqlite_rows(path, table)
            actual = await _postgres_rows(postgres_url, table, columns)
            # The same ids on both: no collision with a copied row, nothing skipped.
            assert sorted(row[0] for row in actual) == sorted(row[0] for row in expected), table
        assert (await target.tasks.get(LEAD, task.id)) == await source.tasks.get(LEAD, task.id)
        assert (await target.notes.get(LEAD, note.id)) == await source.notes.get(LEAD, note.id)
        assert (await target.teams.get(team.id)) == await source.teams.get(team.id)
    finally:
        await source.backend.close()
        await target.backend.close()


async def test_a_second_copy_into_the_same_target_is_refused(
    sqlite_file: tuple[Path, dict[str, Any]], postgres_url: str
) -> None:
    path, _ = sqlite_file
    await copy_sqlite_to_postgres(path, postgres_url)
    before = {
        table: await _postgres_rows(postgres_url, table, _sqlite_rows(path, table)[0])
        for table in TABLES
    }

    with pytest.raises(TransferRefusedError, match="already holds data") as refused:
        await copy_sqlite_to_postgres(path, postgres_url)

    assert "\n" not in str(refused.value)
    assert "users" in str(refused.value)
    for table in TABLES:
        columns = _sqlite_rows(path, table)[0]
        assert await _postgres_rows(postgres_url, table, columns) == before[table]


async def test_a_target_with_one_row_is_refused(tmp_path: Path, postgres_url: str) -> None:
    path = tmp_path / "source.sqlite3"
    storage = await open_sqlite_storage(path)
    await storage.users.ensure(1, NOW)
    await storage.backend.close()
    target = await open_postgres_storage(postgres_url)
    try:
        await target.backend.execute(  # type: ignore[attr-defined]
            "INSERT INTO dialog_states (key, owner_id, updated_at) VALUES ('k', 9, now())"
        )
    finally:
        await target.backend.close()

    with pytest.raises(TransferRefusedError, match=r"already holds data \(dialog_states\)"):
        await copy_sqlite_to_postgres(path, postgres_url)

    connection = await asyncpg.connect(postgres_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM users") == 0
    finally:
        await connection.close()


async def test_an_empty_sqlite_database_copies_nothing_but_works(
    tmp_path: Path, postgres_url: str
) -> None:
    path = tmp_path / "empty.sqlite3"
    await (await open_sqlite_storage(path)).backend.close()

    report = await copy_sqlite_to_postgres(path, postgres_url)

    assert report.rows == 0
    target = await open_postgres_storage(postgres_url)
    try:
        await target.users.ensure(7, NOW)
        task = await target.tasks.create(
            7, client_id=None, text="first", kind=TaskKind.CALL, due_at=None, now=NOW
        )
        assert (task.id, task.number) == (1, 1)
    finally:
        await target.backend.close()


async def test_a_damaged_sqlite_file_is_refused_untouched(
    sqlite_file: tuple[Path, dict[str, Any]], postgres_url: str
) -> None:
    path, _ = sqlite_file
    data = bytearray(path.read_bytes())
    # Page 2 onwards overwritten: a header SQLite still opens, pages it cannot read.
    data[4096:] = b"\xff" * (len(data) - 4096)
    path.write_bytes(bytes(data))
    files = {entry.name: entry.read_bytes() for entry in path.parent.iterdir()}

    with pytest.raises(DatabaseDamagedError):
        await copy_sqlite_to_postgres(path, postgres_url)

    assert {entry.name: entry.read_bytes() for entry in path.parent.iterdir()} == files
    connection = await asyncpg.connect(postgres_url)
    try:
        assert await connection.fetchval("SELECT count(*) FROM users") == 0
    finally:
        await connection.close()


async def test_a_missing_or_older_sqlite_database_is_refused(
    tmp_path: Path, postgres_url: str
) -> None:
    with pytest.raises(TransferRefusedError, match="no SQLite database"):
        await copy_sqlite_to_postgres(tmp_path / "missing.sqlite3", postgres_url)
    assert not (tmp_path / "missing.sqlite3").exists()

    old = tmp_path / "old.sqlite3"
    await (await open_sqlite_storage(old)).backend.close()
    with sqlite3.connect(old) as raw:
        raw.execute("PRAGMA user_version = 12")
    with pytest.raises(TransferRefusedError, match="has schema 12, this code's is"):
        await copy_sqlite_to_postgres(old, postgres_url)


async def test_the_sqlite_file_is_only_read(
    sqlite_file: tuple[Path, dict[str, Any]], postgres_url: str
) -> None:
    path, _ = sqlite_file
    files = {entry.name: entry.read_bytes() for entry in path.parent.iterdir()}

    await copy_sqlite_to_postgres(path, postgres_url)

    assert {entry.name: entry.read_bytes() for entry in path.parent.iterdir()} == files


async def test_an_unreachable_target_is_refused(
    sqlite_file: tuple[Path, dict[str, Any]]
) -> None:
    path, _ = sqlite_file
    with pytest.raises(DatabaseUnusableError, match="cannot be used"):
        await copy_sqlite_to_postgres(path, "postgresql://nobody:secret@127.0.0.1:1/none")


def test_public_url_drops_the_password() -> None:
    assert public_url("postgresql://bot:s3cret@db.example:5432/am") == (
        "postgresql://bot@db.example:5432/am"
    )
    assert public_url("postgres://db/am?password=x&sslmode=require") == (
        "postgres://db/am?sslmode=require"
    )
    assert public_url("postgresql://bot@db/am") == "postgresql://bot@db/am"
