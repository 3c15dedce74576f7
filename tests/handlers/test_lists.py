"""/today, /overdue, /week: grouping, order, buttons, pages."""

from __future__ import annotations

import re
from datetime import timedelta

from aiogram.methods import EditMessageText

from storage.interfaces import Storage
from storage.models import TaskKind
from tests.fakes.clock import FakeClock
from tests.handlers.harness import USER_ID, ChatHarness


async def test_today_groups_by_client_orders_by_time_counts_overdue(chat: ChatHarness) -> None:
    await chat.send("/newclient Acme")
    await chat.send("/newclient Romashka")
    await chat.send("/task Romashka: send the act today 16:00")
    await chat.send("/task Acme: budget call today 15:00")
    await chat.send("/task Acme: report today 17:30")
    await chat.send("/task Acme: old invoice 20.11 10:00")
    await chat.send("/task Acme: next week call 1 dec")
    replies = await chat.send("/today")
    text = replies.text
    assert "📅 Today, Thu 26 November" in text
    assert text.index("Acme") < text.index("budget call") < text.index("report")
    assert text.index("report") < text.index("Romashka") < text.index("send the act")
    assert "next week call" not in text
    assert "Overdue from earlier days: 1" in text
    labels = [label for label, _ in chat.last_keyboard()[1]]
    assert labels == ["✅ #2", "✅ #3", "✅ #1"]


async def test_done_button_edits_the_list(chat: ChatHarness, storage: Storage) -> None:
    await chat.send("/task call Ivan today 18:00")
    await chat.send("/task call Olga today 19:00")
    await chat.send("/today")
    replies = await chat.press("✅ #1")
    assert "✅ Done: #1" in replies.alerts
    [edit] = replies.of(EditMessageText)
    assert "call Ivan" not in edit.text and "call Olga" in edit.text
    task = await storage.tasks.get_by_number(USER_ID, 1)
    assert task is not None and task.status.value == "done"
    stale = await chat.press_data(
        "ld:today:0:" + str(task.id), message=chat.last_keyboard()[0]
    )
    assert "This button is no longer valid." in stale.alerts


async def test_overdue_oldest_first_with_lateness(chat: ChatHarness) -> None:
    await chat.send("/task recent one today 9:00")
    await chat.send("/task ancient one 01.11.2026 10:00")
    replies = await chat.send("/overdue")
    text = replies.text
    assert "Overdue: 2" in text
    assert text.index("ancient one") < text.index("recent one")
    assert "25 days late" in text
    assert "5 hours late" in text


async def test_week_by_day(chat: ChatHarness) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    await chat.send("/task send report 30.11 12:00")
    await chat.send("/task far away 10.12 12:00")
    text = (await chat.send("/week")).text
    assert "Fri 27 November" in text and "Mon 30 November" in text
    assert text.index("Fri 27 November") < text.index("call Ivan") < text.index("Mon 30")
    assert "far away" not in text


async def test_empty_lists_say_so(chat: ChatHarness) -> None:
    assert "Nothing is due today." in (await chat.send("/today")).text
    assert "Nothing is overdue" in (await chat.send("/overdue")).text
    assert "Nothing planned" in (await chat.send("/week")).text


async def test_long_lists_are_paged_and_nothing_is_dropped(
    chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    await storage.users.ensure(USER_ID, clock.now())
    long_text = "подготовить отчёт " + "очень длинное описание задачи " * 10
    for index in range(40):
        await storage.tasks.create(
            USER_ID,
            client_id=None,
            text=f"{long_text} {index}",
            kind=TaskKind.REPORT,
            due_at=clock.now() - timedelta(hours=1),
            now=clock.now(),
        )
    await chat.send("/start")
    page = await chat.send("/overdue")
    seen = set(re.findall(r"#(\d+)</code>", page.text))
    assert all(len(text) <= 4096 for text in page.texts)
    while any(label == "▶️" for label, _ in chat.last_keyboard()[1]):
        page = await chat.press("▶️")
        assert all(len(text) <= 4096 for text in page.texts)
        seen |= set(re.findall(r"#(\d+)</code>", page.text))
    assert seen == {str(number) for number in range(1, 41)}
