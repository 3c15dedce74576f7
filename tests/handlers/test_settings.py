"""/settings: buttons for language, working hours and the digest."""

from __future__ import annotations

from datetime import UTC, datetime

from storage.interfaces import Storage
from storage.models import WorkingHours
from tests.fakes.clock import FakeClock
from tests.handlers.harness import USER_ID, ChatHarness


async def test_settings_card_and_buttons(chat: ChatHarness, storage: Storage) -> None:
    card = await chat.send("/settings")
    assert "⚙️ Settings" in card.text
    assert "Working hours: 09:00–19:00, Mon–Fri." in card.text
    assert "Daily digest: every working day at 09:00" in card.text
    changed = await chat.press("10–19")
    assert "Saved." in changed.alerts
    assert "Working hours: 10:00–19:00, Mon–Fri." in changed.text
    anytime = await chat.press("Reminders any time")
    assert "Working hours: off" in anytime.text
    profile = await storage.users.get(USER_ID)
    assert profile is not None and profile.hours == WorkingHours(0, 24 * 60, tuple(range(7)))
    off = await chat.press("Digest off")
    assert "Daily digest: off" in off.text
    eight = await chat.press("8:00")
    assert "Daily digest: every working day at 08:00" in eight.text
    russian = await chat.press("Русский")
    assert "Язык: русский." in russian.alerts


async def test_forged_settings_button(chat: ChatHarness) -> None:
    await chat.send("/settings")
    replies = await chat.press_data("s:hours:3-4")
    assert "This button is no longer valid." in replies.alerts


async def test_remind_ahead_defaults_per_kind(chat: ChatHarness, storage: Storage) -> None:
    from datetime import UTC, datetime

    await chat.send("/task call Ivan 30.11 12:00")
    card = await chat.send("/settings")
    assert "Remind ahead: 📞 15 min · 📄 1 d · 💰 1 d · 🤝 30 min · 📑 1 d · 📝 —" in card.text
    changed = await chat.press("📞 15 min")
    assert "📞 1 h" in changed.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None
    planned = await storage.reminders.pending_for_task(USER_ID, task.id)
    # The upcoming call follows the new default: an hour ahead (11:00 Moscow = 08:00 UTC).
    assert planned[0].fire_at == datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
    new_task = await chat.send("/task call Olga 30.11 15:00")
    assert "1 hour before" in new_task.text


async def test_hours_after_off_mean_the_working_week_and_days_are_understood(
    chat: ChatHarness, storage: Storage
) -> None:
    await chat.send("/hours off")
    back = await chat.send("/hours 9-19")
    assert "Working hours: 09:00–19:00, Mon–Fri." in back.text
    six = await chat.send("/hours 9-19 пн-сб")
    assert "Working hours: 09:00–19:00, Mon–Sat." in six.text
    profile = await storage.users.get(USER_ID)
    assert profile is not None
    assert profile.hours == WorkingHours(9 * 60, 19 * 60, (0, 1, 2, 3, 4, 5))
    # Days alone keep the times; a new span keeps the days.
    assert "10:00–18:00, Mon–Sat." in (await chat.send("/hours 10-18")).text
    assert "10:00–18:00, Mon–Fri." in (await chat.send("/hours будни")).text
    assert "10:00–18:00, Mon–Sat." in (await chat.send("/hours mon-sat")).text
    assert "10:00–18:00, Mon–Fri." in (await chat.send("/hours пн-пт")).text
    assert "10:00–18:00, every day." in (await chat.send("/hours every day")).text
    assert "10:30–18:00, Mon, Wed, Fri." in (await chat.send("/hours 10:30-18 пн, ср, пт")).text
    assert "did not understand" in (await chat.send("/hours 9-19 someday")).text
    # The settings button after "any time" is the working week too.
    await chat.send("/hours off")
    await chat.send("/settings")
    assert "Working hours: 10:00–19:00, Mon–Fri." in (await chat.press("10–19")).text


async def test_russian_days_in_russian(chat: ChatHarness) -> None:
    await chat.send("/lang ru")
    replies = await chat.send("/hours 9-19 пн-сб")
    assert "пн–сб" in replies.text


Moments = list[tuple[int, datetime | None, list[tuple[str, datetime]]]]


async def _moments(storage: Storage) -> Moments:
    """Every open task's due moment and its pending reminders, as stored (UTC)."""

    found = []
    since = datetime(2000, 1, 1, tzinfo=UTC)
    for task in await storage.tasks.open_with_due_after(USER_ID, since):
        pending = await storage.reminders.pending_for_task(USER_ID, task.id)
        found.append(
            (task.number, task.due_at, [(r.purpose.value, r.fire_at) for r in pending])
        )
    return found


async def test_tz_there_and_back_restores_every_moment(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    # 23:23 in Moscow; a task at 02:02 tonight, a call tomorrow, a weekly series at 09:00.
    clock.set(datetime(2026, 11, 26, 20, 23, tzinfo=UTC))
    await chat.send("/task check the backup 27.11 02:02")
    await chat.send("/task call Ivan 27.11 15:00")
    await chat.send("/task send the report 01.12 12:00")
    await chat.send("/task weekly call every Monday at 9")
    before = await _moments(storage)
    assert len(before) == 4 and all(pending for _, _, pending in before)

    there = await chat.send("/tz Новосибирск")
    assert "Asia/Novosibirsk" in there.text
    assert "1 recurring task keeps its local time." in there.text
    moved = {number: due for number, due, _ in await _moments(storage)}
    # A typed moment is the same instant; the series is at 09:00 in Novosibirsk now.
    assert moved[1] == datetime(2026, 11, 26, 23, 2, tzinfo=UTC)
    assert moved[2] == datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
    assert moved[4] == datetime(2026, 11, 30, 2, 0, tzinfo=UTC)

    await chat.send("/tz Москва")
    assert await _moments(storage) == before
    [series] = await storage.series.list_live(USER_ID)
    assert series.timezone == "Europe/Moscow"


async def test_tz_there_and_back_in_the_morning_keeps_the_series_day(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 26, 5, 30, tzinfo=UTC))  # Thursday 08:30 in Moscow
    await chat.send("/task standup every day at 9:00")
    first = await storage.tasks.get_by_number(USER_ID, 1)
    assert first is not None and first.due_at == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
    # 09:00 in Novosibirsk has passed already (02:00 UTC): the next is Friday's.
    await chat.send("/tz Новосибирск")
    moved = await storage.tasks.get_by_number(USER_ID, 1)
    assert moved is not None and moved.due_at == datetime(2026, 11, 27, 2, 0, tzinfo=UTC)
    # Back in Moscow, today's 09:00 is still ahead and not done: it comes back.
    await chat.send("/tz Москва")
    back = await storage.tasks.get_by_number(USER_ID, 1)
    assert back is not None and back.due_at == first.due_at


async def test_tz_after_a_done_occurrence_does_not_bring_the_day_back(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 11, 26, 5, 30, tzinfo=UTC))  # Thursday 08:30 in Moscow
    await chat.send("/task standup every day at 9:00")
    await chat.send("/done 1")  # Thursday's is done; Friday 09:00 Moscow is next
    nxt = await storage.tasks.get_by_number(USER_ID, 2)
    assert nxt is not None and nxt.due_at == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    # In New York Thursday 09:00 is still ahead, but Thursday is done: Friday 09:00 there.
    await chat.send("/tz New York")
    there = await storage.tasks.get_by_number(USER_ID, 2)
    assert there is not None and there.due_at == datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    await chat.send("/tz Москва")
    back = await storage.tasks.get_by_number(USER_ID, 2)
    assert back is not None and back.due_at == nxt.due_at


async def test_settings_buttons_already_in_chats_keep_working(
    chat: ChatHarness, storage: Storage
) -> None:
    """Callback data exactly as the bot wrote it before its keys became an enum."""
    await chat.send("/settings")
    assert "Saved." in (await chat.press_data("s:digest:off")).alerts
    assert "Saved." in (await chat.press_data("s:hours:9-18")).alerts
    assert "Saved." in (await chat.press_data("s:ahead:call")).alerts
    profile = await storage.users.get(USER_ID)
    assert profile is not None and not profile.digest_enabled
    assert profile.hours.start_minute == 9 * 60 and profile.hours.end_minute == 18 * 60
    assert "Europe/Berlin" in (await chat.press_data("s:tz:Europe/Berlin")).text
    assert "This button is no longer valid." in (await chat.press_data("s:lang:de")).alerts
    assert "Язык: русский." in (await chat.press_data("s:lang:ru")).alerts
