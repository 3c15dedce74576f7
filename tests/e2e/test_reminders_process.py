"""End-to-end reminders: the real process, the real scheduler, a local fake Bot API."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.e2e.conftest import Launcher
from tests.e2e.test_bot_process import USER_ID, WAIT, ask, plain_text, stop, wait_polling
from tests.fakes.fake_bot_api import JSON, FakeBotAPI, FaultKind


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def move_task(database: Path, number: int, due: datetime) -> None:
    """Move a task and its planned reminder while the bot is stopped (as if time passed)."""
    with sqlite3.connect(database) as raw:
        raw.execute(
            "UPDATE tasks SET due_at = ? WHERE owner_id = ? AND number = ?",
            (stamp(due), USER_ID, number),
        )
        raw.execute(
            "UPDATE reminders SET fire_at = ?, for_due_at = ? WHERE status = 'pending'"
            " AND purpose = 'due' AND task_id ="
            " (SELECT id FROM tasks WHERE owner_id = ? AND number = ?)",
            (stamp(due), stamp(due), USER_ID, number),
        )


def reminders_about(api: FakeBotAPI, words: str) -> list[str]:
    texts = [plain_text(params) for params in api.calls_of("sendMessage")]
    return [text for text in texts if text.startswith("🔔") and words in text]


async def test_reminders_arrive_on_time_and_after_downtime_once(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher, tmp_path: Path
) -> None:
    api = fake_api
    database = tmp_path / "db" / "assistant.sqlite3"
    first = await launch_bot(bot_env)
    await wait_polling(api, first, after=0)
    await ask(api, first, "/hours off", "off")  # the test may run at night or on a Sunday
    # Plain dates: "tomorrow" typed after midnight gets a question back, not a task.
    day = (datetime.now(UTC) + timedelta(days=3)).strftime("%d.%m.%Y")
    await ask(api, first, f"/task ping the printer {day} 10:00", "ping the printer")
    await ask(api, first, f"/task water the plants {day} 11:00", "water the plants")
    await stop(first)

    now = datetime.now(UTC)
    move_task(database, 1, now + timedelta(seconds=4))  # due in a few seconds
    move_task(database, 2, now - timedelta(minutes=5))  # fell due while the bot was down

    mark = api.mark()
    second = await launch_bot(bot_env)
    await wait_polling(api, second, after=mark)

    def reminder(words: str) -> Callable[[JSON], bool]:
        def matches(params: JSON) -> bool:
            shown = plain_text(params)
            return params.get("chat_id") == USER_ID and shown.startswith("🔔") and words in shown

        return matches

    late = await second.race(
        api.wait_for("sendMessage", reminder("water the plants"), after=mark, timeout=WAIT)
    )
    assert "Late" in plain_text(late)
    on_time = await second.race(
        api.wait_for("sendMessage", reminder("ping the printer"), after=mark, timeout=WAIT)
    )
    assert "Late" not in plain_text(on_time)
    arrived = datetime.now(UTC)
    assert arrived - (now + timedelta(seconds=4)) < timedelta(seconds=3)

    await asyncio.sleep(2)
    await stop(second)
    third = await launch_bot(bot_env)
    await wait_polling(api, third, after=api.mark())
    await asyncio.sleep(2)
    await stop(third)
    assert len(reminders_about(api, "water the plants")) == 1
    assert len(reminders_about(api, "ping the printer")) == 1


async def test_a_reminder_held_up_at_sigterm_is_sent_at_once_after_the_restart(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher, tmp_path: Path
) -> None:
    """SIGTERM while a due reminder waits in the sender (Telegram said "retry after 60 s"):
    the stopping bot hands its claim back, so the next start sends it within seconds, not
    after the two-minute claim lease (and it is not lost as "failed")."""
    api = fake_api
    database = tmp_path / "db" / "assistant.sqlite3"
    first = await launch_bot(bot_env)
    await wait_polling(api, first, after=0)
    await ask(api, first, "/hours off", "off")
    # A plain date: "tomorrow" asked after midnight gets a question back, not a task.
    day = (datetime.now(UTC) + timedelta(days=3)).strftime("%d.%m.%Y")
    await ask(api, first, f"/task ping the printer {day} 10:00", "ping the printer")
    await stop(first)
    move_task(database, 1, datetime.now(UTC) + timedelta(seconds=3))

    def is_reminder(params: JSON) -> bool:
        return plain_text(params).startswith("🔔")

    api.fail_next("sendMessage", FaultKind.RETRY_AFTER, when=is_reminder, retry_after=60)
    mark = api.mark()
    second = await launch_bot(bot_env)
    await wait_polling(api, second, after=mark)
    await second.race(api.wait_until(lambda: bool(api.fault_hits), timeout=WAIT))
    await stop(second)  # the reminder is claimed and waiting out the 429
    with sqlite3.connect(database) as raw:
        [(status,)] = raw.execute("SELECT status FROM reminders WHERE purpose = 'due'")
    assert status == "pending"

    mark = api.mark()
    third = await launch_bot(bot_env)
    await wait_polling(api, third, after=mark)
    restarted = datetime.now(UTC)
    await third.race(api.wait_for("sendMessage", is_reminder, after=mark, timeout=WAIT))
    assert datetime.now(UTC) - restarted < timedelta(seconds=10)
    await stop(third)
    assert len(reminders_about(api, "ping the printer")) == 1
