"""Recurring tasks: the series, its occurrences, /recurring and the client's cadence."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.series import SeriesService
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.handlers.harness import USER_ID, ChatHarness


def moscow(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour - 3, minute, tzinfo=UTC)


def service(chat: ChatHarness) -> SeriesService:
    found = chat.dispatcher.workflow_data["services"].series
    assert isinstance(found, SeriesService)
    return found


async def test_recurring_task_and_its_first_occurrence(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Ромашка")
    replies = await chat.send("/task Ромашка: созвон каждый понедельник в 11")
    assert "🔁 Recurring task" in replies.text
    assert "Ромашка" in replies.text
    assert "every week: Monday at 11:00" in replies.text
    assert "Next: Mon 30 Nov, 11:00, task #1." in replies.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.due_at == moscow(11, 30, 11)
    assert task.series_id is not None


async def test_done_occurrence_brings_the_next_and_keeps_the_series(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    await chat.send("/task send the report every month on the 1st at 10:00")
    done = await chat.send("/done 1")
    assert "✅ Done: #1" in done.text
    nxt = await storage.tasks.get_by_number(USER_ID, 2)
    assert nxt is not None and nxt.due_at == moscow(1, 1, 10).replace(year=2027)
    listing = await chat.send("/recurring")
    assert "every month on day 1 at 10:00" in listing.text
    assert "Next: Fri 1 Jan 2027, 10:00" in listing.text


async def test_a_missed_occurrence_stays_overdue_and_the_next_appears(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    await chat.send("/task созвон по будням в 18:00")
    clock.set(moscow(11, 26, 18, 1))  # the first one passed, not done
    assert await service(chat).advance_all() == 1
    first = await storage.tasks.get_by_number(USER_ID, 1)
    second = await storage.tasks.get_by_number(USER_ID, 2)
    assert first is not None and first.status.value == "open"
    assert second is not None and second.due_at == moscow(11, 27, 18)
    assert await service(chat).advance_all() == 0  # idempotent
    overdue = await chat.send("/overdue")
    assert "созвон" in overdue.text


async def test_pause_resume_and_stop(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/task отчёт каждый понедельник в 9")
    await chat.send("/recurring")
    paused = await chat.press("⏸")
    assert "Paused." in paused.alerts
    assert "paused" in paused.text
    resumed = await chat.press("▶️")
    assert "Resumed." in resumed.alerts
    stopped = await chat.press("⏹")
    assert "Stopped; its upcoming task is removed." in stopped.alerts
    assert "No recurring tasks yet" in stopped.text
    assert await storage.tasks.get_by_number(USER_ID, 1) is None  # the upcoming one went


async def test_change_the_schedule(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/task отчёт каждый понедельник в 9")
    await chat.send("/recurring")
    await chat.press("✏️")
    wrong = await chat.send("иногда")
    assert "could not understand the schedule" in wrong.text
    saved = await chat.send("каждый вторник в 10")
    assert "every week: Tuesday at 10:00" in saved.text
    assert "Next: Tue 1 Dec, 10:00" in saved.text
    assert await storage.tasks.get_by_number(USER_ID, 1) is None
    task = await storage.tasks.get_by_number(USER_ID, 2)
    assert task is not None and task.due_at == moscow(12, 1, 10)


async def test_client_cadence_keeps_a_recurring_task(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/newclient Acme")
    await chat.press("Cadence")
    replies = await chat.send("отчёт 1 числа каждого месяца")
    assert "Cadence → recurring task: “отчёт” — every month on day 1 at 10:00." in replies.text
    first = await storage.tasks.get_by_number(USER_ID, 1)
    assert first is not None and first.client_name == "Acme"
    assert first.kind.value == "report"
    # A new cadence replaces the old series and its upcoming task.
    await chat.send("/client Acme")
    await chat.press("Cadence")
    changed = await chat.send("созвон каждый понедельник в 11")
    assert "every week: Monday at 11:00" in changed.text
    assert await storage.tasks.get_by_number(USER_ID, 1) is None
    call = await storage.tasks.get_by_number(USER_ID, 2)
    assert call is not None and call.kind.value == "call"
    listing = await chat.send("/recurring")
    assert listing.text.count("S") >= 1 and "отчёт" not in listing.text
    # Free text that is not a schedule is kept, and the user is told how to get reminders.
    await chat.send("/client Acme")
    await chat.press("Cadence")
    free = await chat.send("when they ask")
    assert "Kept as text." in free.text
    assert "No recurring tasks yet" in (await chat.send("/recurring")).text


async def test_series_buttons_of_another_user_are_refused(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/task отчёт каждый понедельник в 9")
    [series] = await storage.series.list_live(USER_ID)
    replies = await chat.press_data(f"sr:stop:{series.id}", user_id=2002)
    assert "This button is no longer valid." in replies.alerts
    assert (await storage.series.get(USER_ID, series.id)) is not None
    assert await storage.tasks.get_by_number(USER_ID, 1) is not None


async def test_schedules_as_people_type_them(chat: ChatHarness, storage: Storage) -> None:
    weekly = await chat.send("/task weekly call on Monday")
    assert "“call” — every week: Monday at 10:00" in weekly.text  # not today, a Thursday
    assert "Next: Mon 30 Nov, 10:00" in weekly.text
    monthly = await chat.send("/task monthly report on the 1st")
    assert "“report” — every month on day 1 at 10:00" in monthly.text
    assert "Next: Tue 1 Dec, 10:00" in monthly.text
    whole = await chat.send("/task report on the 1st of every month")
    assert "“report” — every month on day 1 at 10:00" in whole.text
    fortnight = await chat.send("/task созвон раз в две недели по четвергам")
    assert "every 2 weeks on Thursdays at 10:00" in fortnight.text
    assert "Next: Thu 3 Dec, 10:00" in fortnight.text
    other = await chat.send("/task sync every other Friday at 11:00")
    assert "every 2 weeks on Fridays at 11:00" in other.text
    quarterly = await chat.send("/task сверка каждые 3 месяца 1-го числа")
    assert "every 3 months (quarterly) on day 1 at 10:00" in quarterly.text
    yearly = await chat.send("/task поздравить каждый год 15 марта")
    assert "every year on 15 March at 10:00" in yearly.text
    assert "Next: Mon 15 Mar 2027, 10:00" in yearly.text
    assert len(await storage.series.list_live(USER_ID)) == 7


async def test_russian_labels_follow_the_rule(chat: ChatHarness) -> None:
    await chat.send("/lang ru")
    replies = await chat.send("/task созвон раз в 2 недели по четвергам в 11")
    assert "раз в 2 недели по четвергам в 11:00" in replies.text
    quarterly = await chat.send("/task отчёт ежеквартально 5 числа")
    assert "раз в 3 месяца (ежеквартально), 5-го числа, в 10:00" in quarterly.text
    yearly = await chat.send("/task продлить домен ежегодно 1 апреля")
    assert "каждый год 1 апреля в 10:00" in yearly.text


async def test_the_last_day_of_the_month_once_is_not_a_series(
    chat: ChatHarness, storage: Storage
) -> None:
    replies = await chat.send("/task акт в последний день месяца")
    assert "🔁" not in replies.text
    assert await storage.series.list_live(USER_ID) == []


async def test_the_cadence_prompts_own_example_is_a_schedule(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/lang ru")
    await chat.send("/newclient Ромашка")
    prompt = await chat.press("Отчёты")
    assert "ежемесячный отчёт 1-го числа" in prompt.text
    replies = await chat.send("ежемесячный отчёт 1-го числа")
    assert "каждый месяц, 1-го числа, в 10:00" in replies.text
    [series] = await storage.series.list_live(USER_ID)
    assert series.text == "отчёт"


async def test_an_occurrence_before_working_hours_says_when_it_will_remind(
    chat: ChatHarness, storage: Storage
) -> None:
    replies = await chat.send("/task standup every day at 8:00")
    assert "Next: Fri 27 Nov, 08:00" in replies.text
    assert (
        "🌙 The reminder comes tomorrow at 09:00, after your working hours start."
        in replies.text
    )
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    [due] = await storage.reminders.pending_for_task(USER_ID, task.id)
    assert due.fire_at == moscow(11, 27, 9)
    assert due.held_from == moscow(11, 27, 8)
