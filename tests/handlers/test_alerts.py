"""Urgent alerts with a frozen, steppable clock: routing, repeats, escalation, answers."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from bot.callbacks import RemindAction, TeamAction
from bot.i18n import create_i18n
from bot.runtime import Runtime
from bot.services.alerts import AlertService
from storage.interfaces import Storage
from storage.models import AlertSeverity, AlertSource, AlertState
from tests.fakes.clock import FakeClock
from tests.handlers.conftest import MakeChat, make_settings
from tests.handlers.harness import USER_ID, ChatHarness, Replies

LEAD, ANNA, BORIS, VERA, STRANGER = USER_ID, 2002, 3003, 4004, 9009
NAMES = {
    LEAD: ("Lena", "lena"),
    ANNA: ("Anna", "anna"),
    BORIS: ("Boris", "boris"),
    VERA: ("Vera", "vera"),
    STRANGER: ("Stan", "stan"),
}
# 01:00 at night in Moscow: an emergency call.
NIGHT = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
REPEAT = timedelta(minutes=5)


class Pager:
    """The app's alert engine over the chat's bot, stepped by hand."""

    def __init__(self, chat: ChatHarness, storage: Storage, clock: FakeClock) -> None:
        self.chat = chat
        self.clock = clock
        fake = FakeClock()
        service = chat.dispatcher.workflow_data["services"].alerts
        assert isinstance(service, AlertService)
        self.service = service
        self.runtime = Runtime(
            bot=chat.bot, storage=storage,
            planner=chat.dispatcher.workflow_data["services"].planner,
            i18n=create_i18n("en"), clock=clock, settings=make_settings(),
            sleep=fake.sleep, monotonic=fake.monotonic,
        )
        # No composition root here: the chat's alert service pages through this engine.
        service.engine = self.runtime.alerts

    async def step(self, after: timedelta = timedelta(0)) -> Replies:
        self.clock.advance(after)
        start = len(self.chat.session.requests)
        await self.runtime.alerts.run_due()
        return Replies(self.chat.session.requests[start:])


def sent_to(replies: Replies) -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for method in replies.of(SendMessage):
        found.setdefault(int(method.chat_id), []).append(method.text)
    return found


def alert_buttons(chat: ChatHarness, user_id: int) -> dict[str, str]:
    """The buttons of the latest alert page a user received."""
    for method in reversed(chat.session.requests):
        if (
            isinstance(method, SendMessage)
            and int(method.chat_id) == user_id
            and method.reply_markup is not None
        ):
            return {
                button.text: str(button.callback_data)
                for row in method.reply_markup.inline_keyboard  # type: ignore[union-attr]
                for button in row
            }
    raise AssertionError(f"no alert with buttons for {user_id}")


async def press(chat: ChatHarness, user_id: int, label: str) -> Replies:
    data = next(d for text, d in alert_buttons(chat, user_id).items() if label in text)
    return await chat.press_data(data, user_id=user_id)


async def invite(chat: ChatHarness, user_id: int) -> None:
    link = (await chat.send("/team invite", user_id=LEAD)).text
    code = re.search(r"start=(join-[\w-]+)", link)
    assert code is not None, link
    joined = await chat.send(f"/start {code.group(1)}", user_id=user_id)
    assert "Welcome to the team" in joined.text


@pytest.fixture
async def team_chat(chat: ChatHarness, clock: FakeClock) -> ChatHarness:
    """Lena leads; Anna manages Acme with Boris as her backup; Vera is in the team too."""
    clock.set(NIGHT - timedelta(hours=12))
    chat.people.update(NAMES)
    for user_id in NAMES:
        await chat.send("/tz Moscow", user_id=user_id)
    assert "created" in (await chat.send("/team new Agency", user_id=LEAD)).text
    for member in (ANNA, BORIS, VERA):
        await invite(chat, member)
    await chat.send("/newclient Acme", user_id=ANNA)
    assert "your backup" in (await chat.send("/backup @boris", user_id=ANNA)).text
    clock.set(NIGHT)
    return chat


@pytest.fixture
async def pager(
    team_chat: ChatHarness, storage: Storage, clock: FakeClock
) -> AsyncIterator[Pager]:
    driver = Pager(team_chat, storage, clock)
    await driver.runtime.sender.start()
    yield driver
    await driver.runtime.sender.stop()


async def test_alert_pages_the_clients_manager_at_night(
    team_chat: ChatHarness, pager: Pager, storage: Storage
) -> None:
    raised = await team_chat.send("/urgent Acme: site is down, 502", user_id=LEAD)
    assert "A1 · Acme raised: paging now." in raised.text
    first = sent_to(await pager.step())
    assert list(first) == [ANNA]  # the manager, not the lead who raised it; hours ignored
    [page] = first[ANNA]
    assert "🚨 <b>URGENT</b> · A1 · Acme" in page
    assert "site is down, 502" in page and "Raised by Lena" in page
    assert set(alert_buttons(team_chat, ANNA)) == {
        "✅ Acknowledge", "✔️ Resolve", "🔕 Snooze 15 min", "📋 Log"
    }
    assert sent_to(await pager.step()) == {}  # nothing more until the repeat interval


async def test_repeats_then_escalation_steps_are_announced(
    team_chat: ChatHarness, pager: Pager
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    for number in (1, 2, 3):
        repeat = sent_to(await pager.step(REPEAT))
        assert list(repeat) == [ANNA]
        assert f"Repeat {number}: still not acknowledged." in repeat[ANNA][0]
    escalated = sent_to(await pager.step(REPEAT))
    assert set(escalated) == {ANNA, BORIS}
    assert "Escalated to you: Anna did not acknowledge." in escalated[BORIS][0]
    assert "now paging Boris (backup)" in escalated[ANNA][0]
    for _ in range(3):
        assert set(sent_to(await pager.step(REPEAT))) == {ANNA, BORIS}
    to_lead = sent_to(await pager.step(REPEAT))
    assert "Escalated to you: Anna, Boris did not acknowledge." in to_lead[LEAD][0]
    assert "now paging Lena (team lead)" in to_lead[ANNA][0]
    assert "now paging Lena (team lead)" in to_lead[BORIS][0]


async def test_acknowledge_by_a_teammate_stops_everyones_repeats(
    team_chat: ChatHarness, pager: Pager, storage: Storage
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    for _ in range(4):
        await pager.step(REPEAT)  # now Boris is paged too
    answered = await press(team_chat, BORIS, "Acknowledge")
    assert "repeats stopped for everyone" in answered.of(AnswerCallbackQuery)[0].text
    told = sent_to(answered)
    assert told[ANNA] == ["✅ Boris took A1 · Acme."]
    assert BORIS not in told
    edits = {int(m.chat_id): m.text for m in answered.of(EditMessageText)}
    assert set(edits) == {ANNA, BORIS}
    assert all("Acknowledged by Boris at 01:20" in text for text in edits.values())
    for _ in range(6):
        assert sent_to(await pager.step(REPEAT)) == {}
    alert = await storage.alerts.get(1)
    assert alert is not None and alert.state is AlertState.ACKED and alert.acked_by == BORIS
    again = await press(team_chat, ANNA, "Acknowledge")
    assert "Already acknowledged by Boris." in again.alerts


async def test_resolve_closes_it_and_tells_the_others(
    team_chat: ChatHarness, pager: Pager, storage: Storage
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    resolved = await press(team_chat, ANNA, "Resolve")
    assert "Resolved. Thank you!" in resolved.alerts
    assert sent_to(resolved) == {}  # only Anna was paged: nobody else to tell
    for _ in range(20):
        assert sent_to(await pager.step(REPEAT)) == {}
    alert = await storage.alerts.get(1)
    assert alert is not None and alert.state is AlertState.RESOLVED
    log = await team_chat.press_data("a:log:1", user_id=LEAD)
    assert "raised by Lena" in log.text and "paged Anna" in log.text
    assert "resolved by Anna" in log.text


async def test_acknowledged_but_unresolved_pages_again(
    team_chat: ChatHarness, pager: Pager
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    await press(team_chat, ANNA, "Acknowledge")
    assert sent_to(await pager.step(timedelta(minutes=59))) == {}
    assert sent_to(await pager.step(timedelta(minutes=1))) == {}  # re-opened; pages next
    again = sent_to(await pager.step())
    assert list(again) == [ANNA]
    assert "Acknowledged by Anna but not resolved in 60 min: paging again." in again[ANNA][0]


async def test_snooze_pauses_repeats_for_15_minutes(
    team_chat: ChatHarness, pager: Pager
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    snoozed = await press(team_chat, ANNA, "Snooze")
    assert "Snoozed for 15 minutes for everyone." in snoozed.alerts
    assert sent_to(await pager.step(REPEAT)) == {}
    assert sent_to(await pager.step(REPEAT)) == {}
    assert list(sent_to(await pager.step(REPEAT))) == [ANNA]


async def test_a_duplicate_counts_and_updates_instead_of_paging(
    team_chat: ChatHarness, pager: Pager, storage: Storage
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    again = await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    assert "A1 · Acme is already open: counted again (2×)" in again.text
    [edit] = again.of(EditMessageText)
    assert int(edit.chat_id) == ANNA and "Reported 2 times" in edit.text
    assert sent_to(await pager.step()) == {}
    assert len(await storage.alerts.recent(["t1"], NIGHT, 10)) == 1


async def test_nobody_answers_the_lead_gets_a_summary_and_repeats_stop(
    team_chat: ChatHarness, pager: Pager
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    summary: dict[int, list[str]] = {}
    for _ in range(30):
        summary = sent_to(await pager.step(REPEAT))
        if any("Nobody acknowledged" in t for texts in summary.values() for t in texts):
            break
    assert list(summary) == [LEAD]
    assert "Nobody acknowledged A1 · Acme after 9 repeats. Paged: Anna, Boris, Lena." in (
        summary[LEAD][0]
    )
    for _ in range(5):
        assert sent_to(await pager.step(REPEAT)) == {}


async def test_normal_alert_waits_for_working_hours_urgent_does_not(
    team_chat: ChatHarness, pager: Pager, storage: Storage, clock: FakeClock
) -> None:
    team = await storage.teams.team_of(ANNA)
    normal = await pager.service.raise_alert(
        team=team, owner_hint=None, raised_by=None, client_query="Acme",
        text="disk 80% full", severity=AlertSeverity.NORMAL, dedup_key="disk",
        source=AlertSource.INTAKE,
    )
    assert normal.client is not None and normal.created
    assert sent_to(await pager.step()) == {}  # 01:00 at night: held
    alert = await storage.alerts.get(normal.alert.id)
    assert alert is not None and alert.next_at == datetime(2026, 11, 27, 6, 0, tzinfo=UTC)
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    assert list(sent_to(await pager.step())) == [ANNA]  # urgent: at once
    clock.set(datetime(2026, 11, 27, 6, 0, tzinfo=UTC))  # 09:00 Friday in Moscow
    morning = sent_to(await pager.step())
    assert any("disk 80% full" in text for text in morning[ANNA])
    assert "⚠️ <b>Alert</b>" in next(t for t in morning[ANNA] if "disk" in t)


async def test_restart_mid_escalation_resumes_without_skipping(
    team_chat: ChatHarness, pager: Pager, storage: Storage, clock: FakeClock
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    await pager.step(REPEAT)
    await pager.step(REPEAT)  # repeat 2 sent; then the process stops
    clock.advance(timedelta(minutes=12))  # down for a while, past the next repeat
    restarted = Pager(team_chat, storage, clock)
    await restarted.runtime.sender.start()
    try:
        resumed = sent_to(await restarted.step())
        assert list(resumed) == [ANNA]
        assert "Repeat 3: still not acknowledged." in resumed[ANNA][0]
        assert sent_to(await restarted.step()) == {}  # once, not once per missed interval
        escalated = sent_to(await restarted.step(REPEAT))
        assert "Escalated to you" in escalated[BORIS][0]
    finally:
        await restarted.runtime.sender.stop()


async def test_a_strangers_or_a_stale_button_changes_nothing(
    team_chat: ChatHarness, pager: Pager, storage: Storage
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    data = alert_buttons(team_chat, ANNA)["✅ Acknowledge"]
    await team_chat.send("/start", user_id=STRANGER)
    foreign = await team_chat.press_data(data, user_id=STRANGER)
    assert "This button is no longer valid." in foreign.alerts
    assert sent_to(foreign) == {} and foreign.of(EditMessageText) == []
    missing = await team_chat.press_data("a:ack:999", user_id=ANNA)
    assert "This button is no longer valid." in missing.alerts
    forged = await team_chat.press_data("a:explode:1", user_id=ANNA)
    assert "This button is no longer valid." in forged.alerts
    alert = await storage.alerts.get(1)
    assert alert is not None and alert.state is AlertState.OPEN
    log = await team_chat.press_data("a:log:1", user_id=STRANGER)
    assert "This button is no longer valid." in log.alerts


async def test_a_removed_members_clients_alerts_go_to_the_lead(
    team_chat: ChatHarness, pager: Pager
) -> None:
    await team_chat.send("/team remove", user_id=LEAD)
    removed = await team_chat.press("Anna", user_id=LEAD, chat_id=LEAD)
    assert "Anna is no longer in the team." in removed.text
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    paged = sent_to(await pager.step())
    assert list(paged) == [LEAD]
    assert "Unknown client" in paged[LEAD][0]  # Acme was Anna's: not a team client now


async def test_handover_routes_alerts_to_the_colleague_and_back(
    team_chat: ChatHarness, pager: Pager, clock: FakeClock
) -> None:
    clock.set(NIGHT - timedelta(hours=12))
    handed = await team_chat.send("/handover Acme: @vera until 28.11", user_id=ANNA)
    assert "Handed over to Vera" in handed.text
    pack = sent_to(handed)[VERA]
    assert "Handover pack" in pack[0] and "Acme" in pack[0]
    clock.set(NIGHT)
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    assert list(sent_to(await pager.step())) == [VERA]
    await press(team_chat, VERA, "Resolve")
    clock.set(datetime(2026, 11, 28, 22, 0, tzinfo=UTC))  # the handover has ended
    await team_chat.send("/urgent Acme: site is down again", user_id=LEAD)
    assert list(sent_to(await pager.step())) == [ANNA]


async def test_alone_without_a_team_you_are_paged_until_you_answer(
    make_chat: MakeChat, storage: Storage, clock: FakeClock
) -> None:
    chat = make_chat()
    clock.set(NIGHT)
    await chat.send("/newclient Acme")
    assert "raised" in (await chat.send("/urgent Acme: server down")).text
    driver = Pager(chat, storage, clock)
    await driver.runtime.sender.start()
    try:
        assert list(sent_to(await driver.step())) == [USER_ID]
        for _ in range(12):
            assert list(sent_to(await driver.step(REPEAT))) in ([USER_ID], [])
        await chat.press_data(alert_buttons(chat, USER_ID)["✅ Acknowledge"])
        assert sent_to(await driver.step(REPEAT)) == {}
    finally:
        await driver.runtime.sender.stop()


async def test_team_listing_and_overdue_by_person(
    team_chat: ChatHarness, clock: FakeClock
) -> None:
    await team_chat.send("/task Acme: send the contract yesterday 10:00", user_id=ANNA)
    listing = await team_chat.send("/team", user_id=LEAD)
    assert "Agency" in listing.text and "4 people" in listing.text
    assert "Anna" in listing.text and "backup: Boris" in listing.text
    assert "off hours" in listing.text  # 01:00 in Moscow
    overdue = await team_chat.send("/team overdue", user_id=LEAD)
    assert "<b>Anna</b> · 1 overdue" in overdue.text and "send the contract" in overdue.text
    refused = await team_chat.send("/team overdue", user_id=ANNA)
    assert "Only the team lead" in refused.text


async def test_an_invite_link_works_once(team_chat: ChatHarness) -> None:
    link = (await team_chat.send("/team invite", user_id=LEAD)).text
    code = re.search(r"start=(join-[\w-]+)", link)
    assert code is not None
    team_chat.people[5005] = ("Gleb", "gleb")
    assert "Welcome" in (await team_chat.send(f"/start {code.group(1)}", user_id=5005)).text
    team_chat.people[6006] = ("Dina", "dina")
    used = await team_chat.send(f"/start {code.group(1)}", user_id=6006)
    assert "used up or has expired" in used.text


async def test_handed_over_reminders_go_to_the_colleague_who_can_answer_them(
    team_chat: ChatHarness, pager: Pager, storage: Storage, clock: FakeClock
) -> None:
    clock.set(NIGHT - timedelta(hours=12))  # 13:00 Thursday in Moscow
    await team_chat.send("/task Acme: call about the invoice today 16:00", user_id=ANNA)
    await team_chat.send("/task renew my passport today 16:00", user_id=ANNA)
    await team_chat.send("/handover @vera until 28.11", user_id=ANNA)
    clock.set(datetime(2026, 11, 26, 13, 0, tzinfo=UTC))  # 16:00
    start = len(team_chat.session.requests)
    await pager.runtime.delivery.deliver_due()
    sent = sent_to(Replies(team_chat.session.requests[start:]))
    [for_vera] = sent[VERA]
    assert "call about the invoice" in for_vera and "You are covering for Anna." in for_vera
    assert [t for t in sent[ANNA] if "passport" in t]  # no client: stays with Anna
    assert not [t for t in sent[ANNA] if "invoice" in t]
    [task] = [t for t in await storage.tasks.due_between(
        ANNA, NIGHT - timedelta(days=1), NIGHT) if "invoice" in t.text]
    data = RemindAction(op="done", id=task.id).pack()
    foreign = await team_chat.press_data(data, user_id=BORIS)  # not covering Anna
    assert "This button is no longer valid." in foreign.alerts
    done = await team_chat.press_data(data, user_id=VERA)
    assert "Done: #" in done.alerts[0]
    reloaded = await storage.tasks.get(ANNA, task.id)
    assert reloaded is not None and reloaded.status.value == "done"


async def test_alerts_lists_state_who_was_paged_and_who_took_it(
    team_chat: ChatHarness, pager: Pager
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    await team_chat.send("/urgent payroll export failed", user_id=LEAD)
    await pager.step()
    await press(team_chat, ANNA, "Acknowledge")
    listing = await team_chat.send("/alerts", user_id=VERA)
    lines = listing.text.splitlines()
    acme = next(line for line in lines if "A1 · Acme" in line)
    assert "paged Anna" in acme and "taken by Anna at 01:00" in acme
    payroll = next(line for line in lines if "payroll" in line)
    assert "paged Lena" in payroll and "not acknowledged" in payroll
    assert "No open alerts" in (await team_chat.send("/alerts", user_id=STRANGER)).text


async def test_forget_me_in_a_team_leaves_team_data_with_the_team(
    team_chat: ChatHarness, pager: Pager, storage: Storage
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    await team_chat.send("/handover @vera until 28.11", user_id=ANNA)
    await team_chat.send("/forget_me", user_id=ANNA)
    gone = await team_chat.press("Delete everything", user_id=ANNA, chat_id=ANNA)
    assert "deleted" in gone.text
    assert await storage.clients.count(ANNA) == 0
    alert = await storage.alerts.get(1)
    assert alert is not None and alert.client_id is None and alert.client_label == "Acme"
    team = await storage.teams.team_of(LEAD)
    assert team is not None
    assert [m.id for m in await storage.teams.members(team.id)] == [LEAD, BORIS, VERA]
    # The lead leaves too: the longest-serving member leads now.
    await team_chat.send("/forget_me", user_id=LEAD)
    await team_chat.press("Delete everything", user_id=LEAD, chat_id=LEAD)
    after = await storage.teams.team_of(BORIS)
    assert after is not None and after.lead_id == BORIS


async def test_backup_by_buttons_lists_teammates_only(team_chat: ChatHarness) -> None:
    await team_chat.send("/team remove", user_id=LEAD)  # a lead's keyboard, not Vera's
    asked = await team_chat.send("/backup", user_id=VERA)
    assert "Who gets your alerts" in asked.text
    _message, labels = team_chat.last_keyboard(VERA)
    assert [text for text, _data in labels] == ["Lena", "Anna", "Boris"]
    chosen = await team_chat.press("Anna", user_id=VERA, chat_id=VERA)
    assert "Anna is your backup" in chosen.text
    stale = await team_chat.press_data(TeamAction(op="backup", id=STRANGER).pack(), user_id=VERA)
    assert "This button is no longer valid." in stale.alerts
