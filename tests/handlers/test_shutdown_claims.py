"""A graceful shutdown hands back the reminders and alerts it claimed but did not send: the
next start sends them at once, not after the claim's lease (STALE_CLAIM) runs out."""

from __future__ import annotations

import asyncio
import functools

from aiogram.methods import SendMessage

from bot.services.alerts import STALE_CLAIM as ALERT_STALE_CLAIM
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import MakeChat
from tests.handlers.harness import USER_ID, Replies
from tests.handlers.test_alerts import Pager
from tests.handlers.test_reminders import BlockedSession, Reminders, moscow


async def test_claims_held_at_shutdown_are_sent_at_once_by_the_next_start(
    make_chat: MakeChat, storage: Storage, clock: FakeClock
) -> None:
    session = BlockedSession()
    chat = make_chat(session=session)
    await chat.send("/task buy flowers today 18:00")
    await chat.send("/task call Ivan today 18:00")
    clock.set(moscow(26, 18, 0))

    old = Reminders(chat, storage, clock)
    runtime = old.runtime
    # Real time: don't wait the full five seconds for a request that never ends.
    runtime.sender.stop = functools.partial(runtime.sender.stop, timeout=0.2)  # type: ignore[method-assign]
    await runtime.sender.start()
    session.blocking = True
    delivering = asyncio.create_task(runtime.delivery.deliver_due())
    # One reminder is in flight, the other waits behind it for the chat's next slot.
    await asyncio.wait_for(session.waiting.wait(), 5)
    await runtime.stop()  # SIGTERM: the same steps as the bot's shutdown hook
    assert await asyncio.wait_for(delivering, 5) == 0

    # Not failed, not claimed: pending and due now, with the clock where it was.
    assert await storage.reminders.next_fire_at() == moscow(26, 18, 0)
    session.blocking = False
    session.released.set()
    restarted = Reminders(chat, storage, clock)
    await restarted.runtime.sender.start()
    try:
        start = len(session.requests)
        assert await restarted.runtime.delivery.release_stale_claims() == 0
        assert await restarted.runtime.delivery.deliver_due() == 2
    finally:
        await restarted.runtime.sender.stop()
    sent = Replies(session.requests[start:]).of(SendMessage)
    assert sorted("flowers" in m.text for m in sent) == [False, True]
    assert all(int(m.chat_id) == USER_ID for m in sent)


async def test_a_shutdown_with_nothing_claimed_hands_back_nothing(
    make_chat: MakeChat, storage: Storage, clock: FakeClock
) -> None:
    chat = make_chat()
    await chat.send("/task buy flowers today 18:00")
    runtime = Reminders(chat, storage, clock).runtime
    await runtime.sender.start()
    await runtime.stop()
    assert await runtime.delivery.release_held_claims() == 0
    assert await storage.reminders.count_pending() == 1


async def test_an_alert_being_paged_at_shutdown_pages_at_once_after_the_restart(
    make_chat: MakeChat, storage: Storage, clock: FakeClock
) -> None:
    session = BlockedSession()
    chat = make_chat(session=session)
    raised = await chat.send("/urgent site is down, 502")
    assert "raised: paging now" in raised.text
    pager = Pager(chat, storage, clock)
    runtime = pager.runtime
    runtime.sender.stop = functools.partial(runtime.sender.stop, timeout=0.2)  # type: ignore[method-assign]
    await runtime.sender.start()
    session.blocking = True
    paging = asyncio.create_task(runtime.alerts.run_due())
    await asyncio.wait_for(session.waiting.wait(), 5)  # the page is on its way
    await runtime.stop()
    await asyncio.wait_for(paging, 5)

    # Not held by the stopped process: the next start takes it now, not after STALE_CLAIM.
    now = clock.now()
    [again] = await storage.alerts.claim_due(now, "next-start", now - ALERT_STALE_CLAIM, 10)
    assert again.text == "site is down, 502"
