"""One person's flood of alerts starves nobody: the engine pages different people side by side,
and what piles up for one person goes as one summary, in fake sender time (1 s per chat)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram.methods import SendMessage, TelegramMethod

from bot.app import create_bot
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from bot.sender import Priority, Sender
from bot.services.alert_outbox import ONE_BY_ONE
from bot.services.alerts import AlertEngine, AlertService, user_scope
from storage.interfaces import Storage
from storage.models import AlertSeverity, AlertSource, NewAlert
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import make_settings

FLOODED, OTHER, THIRD = 5005, 6006, 7007


@dataclass
class Sent:
    at: float  # fake sender time the request was made
    chat_id: int
    text: str


@dataclass
class Flood:
    storage: Storage
    clock: FakeClock
    fake: FakeClock
    sender: Sender
    engine: AlertEngine
    service: AlertService
    sent: list[Sent] = field(default_factory=list)

    def to(self, chat_id: int) -> list[Sent]:
        return [item for item in self.sent if item.chat_id == chat_id]

    async def alert(self, user_id: int, text: str, key: str | None) -> None:
        await self.storage.alerts.raise_alert(
            NewAlert(
                scope=user_scope(user_id), team_id=None, owner_id=user_id, client_id=None,
                client_label=None, text=text, severity=AlertSeverity.URGENT, dedup_key=key,
                source=AlertSource.INTAKE, raised_by=None,
            ),
            self.clock.now(), self.clock.now(),
        )


@pytest.fixture
async def flood(storage: Storage, clock: FakeClock) -> AsyncIterator[Flood]:
    for user in (FLOODED, OTHER, THIRD):
        await storage.users.ensure(user, clock.now())
    fake = FakeClock()
    recorded: list[Sent] = []

    def record(method: TelegramMethod[Any], _result: object) -> None:
        if isinstance(method, SendMessage):
            recorded.append(Sent(fake.monotonic(), int(method.chat_id), method.text))

    settings = make_settings()
    bot = create_bot(settings, session=LocalSession(on_request=record))
    sender = Sender(bot, sleep=fake.sleep, monotonic=fake.monotonic)
    engine = AlertEngine(
        alerts=storage.alerts, users=storage.users, teams=storage.teams,
        clients=storage.clients, sender=sender, i18n=create_i18n("en"), clock=clock,
        settings=settings,
    )
    service = AlertService(
        alerts=storage.alerts, teams=storage.teams, users=storage.users,
        clients=storage.clients, engine=None, clock=clock, settings=settings,
    )
    await sender.start()
    try:
        yield Flood(storage, clock, fake, sender, engine, service, recorded)
    finally:
        await engine.stop()
        await sender.stop()


async def test_another_persons_urgent_page_does_not_wait_for_a_flood(flood: Flood) -> None:
    for number in range(200):
        await flood.alert(FLOODED, f"check {number} failing", f"check-{number}")
    await flood.alert(OTHER, "payment API down", None)  # due last: claimed in the 5th batch

    assert await flood.engine.run_due() == 201

    [page] = flood.to(OTHER)
    assert "payment API down" in page.text
    # Telegram's 1 message a second per chat binds the flooded chat only: the other page
    # goes out within a couple of (fake) seconds, not after 200 of them.
    assert page.at < 3.0, page.at
    to_flooded = flood.to(FLOODED)
    # The flooded person gets a few messages, the pile-up summarised, not 200 pages.
    assert len(to_flooded) <= 5, [item.text[:60] for item in to_flooded]
    summary = to_flooded[-1].text
    assert "alert messages for you at once" in summary and "/alerts" in summary
    assert "… and" in summary
    # Every alert counts as paged (its log says so), and none is paged again meanwhile.
    for alert_id in (1, 100, 200):
        kinds = [event.kind for event in await flood.storage.alerts.events(alert_id)]
        assert kinds == ["raised", "paged"], (alert_id, kinds)
    assert await flood.engine.run_due() == 0


async def test_the_flooded_persons_chat_is_free_again_within_seconds(flood: Flood) -> None:
    for number in range(120):
        await flood.alert(FLOODED, f"check {number} failing", f"check-{number}")
    paging = flood.engine.run_due()
    reminder = flood.sender.send(FLOODED, "⏰ Call Acme", priority=Priority.NORMAL)
    third = flood.sender.send(THIRD, "⏰ Send the invoice", priority=Priority.NORMAL)
    await asyncio.gather(paging, reminder, third)
    # 120 pages are a few messages (the first, at most ONE_BY_ONE in all one by one as the
    # engine's batches arrive, then one summary), not 2 minutes of the chat.
    pages = [item for item in flood.to(FLOODED) if "Call Acme" not in item.text]
    assert len(pages) <= ONE_BY_ONE + 1, len(pages)
    assert "… and" in pages[-1].text and "/alerts" in pages[-1].text
    # Every step done, its claim let go.
    assert flood.fake.monotonic() < 5.0, flood.fake.monotonic()
    [sent] = [item for item in flood.to(FLOODED) if "Call Acme" in item.text]
    assert sent.at < 5.0, sent.at
    [other] = flood.to(THIRD)
    assert other.at < 2.0, other.at
    assert await flood.engine.run_due() == 0


async def test_a_few_alerts_at_once_still_come_one_by_one_with_buttons(flood: Flood) -> None:
    for number in range(3):
        await flood.alert(FLOODED, f"disk {number} full", f"disk-{number}")
    await flood.engine.run_due()
    texts = [item.text for item in flood.to(FLOODED)]
    assert len(texts) == 3
    assert all("URGENT" in text for text in texts)
    # Each has its own message (with buttons) to show who answered later.
    for alert_id in (1, 2, 3):
        [page] = await flood.storage.alerts.pages(alert_id)
        assert page.message_id is not None
