"""/settings: buttons for language, working hours and the digest."""

from __future__ import annotations

from storage.interfaces import Storage
from storage.models import WorkingHours
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
