"""Team boundaries over time: leaving or being removed ends every door the team opened.

An ex-member's old alert buttons answer "no longer in this team" and change nothing, the
handovers to and from them end at once (both sides are told, reminders go back to the
owner, old reminder buttons stop working), and the team's intake address is replaced when
a member is removed or the lead changes.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from aiogram.methods import EditMessageText, SendMessage

from bot.callbacks import RemindAction
from bot.services.alerts import AlertService
from storage.interfaces import Storage
from storage.models import AlertState, TaskStatus
from tests.fakes.clock import FakeClock
from tests.handlers import test_alerts
from tests.handlers.harness import ChatHarness, Replies
from tests.handlers.test_alerts import (
    ANNA,
    BORIS,
    LEAD,
    NIGHT,
    VERA,
    Pager,
    alert_buttons,
    press,
    sent_to,
)
from tests.raw_sql import raw_execute

# The alert suite's team (Lena leads; Anna manages Acme, Boris backs her up; Vera) and pager.
team_chat = test_alerts.team_chat
pager = test_alerts.pager

LEFT = "You are no longer in this alert's team"
STALE = "This button is no longer valid."
# 13:00 and 16:00 on Thursday in Moscow.
AFTERNOON = NIGHT - timedelta(hours=12)
FOUR_PM = datetime(2026, 11, 26, 13, 0, tzinfo=UTC)
_PATH = re.compile(r"/alerts/([tu]\d+-[\w-]+)")


async def remove(chat: ChatHarness, who: str) -> Replies:
    await chat.send("/team remove", user_id=LEAD)
    return await chat.press(who, user_id=LEAD, chat_id=LEAD)


def team_path(text: str) -> str:
    [path] = [str(p) for p in _PATH.findall(text) if p.startswith("t")]
    return path


async def opens_team(service: AlertService, path: str) -> bool:
    found = await service.intake_owner(path)
    return found is not None and found[0] is not None and found[1] is None


# ---------------------------------------------------------------- alerts


async def test_an_ex_members_old_ack_button_is_refused_and_the_alert_stays_open(
    team_chat: ChatHarness, pager: Pager, storage: Storage
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    assert list(sent_to(await pager.step())) == [ANNA]
    old = alert_buttons(team_chat, ANNA)
    await remove(team_chat, "Anna")
    for label in ("Acknowledge", "Resolve", "Snooze", "Log"):
        data = next(d for text, d in old.items() if label in text)
        pressed = await team_chat.press_data(data, user_id=ANNA)
        assert any(LEFT in text for text in pressed.alerts), pressed.alerts
        assert pressed.of(SendMessage) == [] and pressed.of(EditMessageText) == []
    russian = await team_chat.press_data(old["✅ Acknowledge"], user_id=ANNA, language_code="ru")
    assert any("больше не в команде" in text for text in russian.alerts), russian.alerts
    alert = await storage.alerts.get(1)
    assert alert is not None and alert.state is AlertState.OPEN and alert.acked_by is None
    # Still paging the people who are in the team: the lead, now that Anna has gone.
    assert LEAD in sent_to(await pager.step(timedelta(minutes=5)))


async def test_an_ex_member_hears_nothing_more_of_an_alert_they_were_paged_for(
    team_chat: ChatHarness, pager: Pager
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    assert list(sent_to(await pager.step())) == [ANNA]
    await remove(team_chat, "Anna")
    assert LEAD in sent_to(await pager.step(timedelta(minutes=5)))
    answered = await press(team_chat, LEAD, "Acknowledge")
    # Her old page is not edited to show who took it, and she is not told.
    assert ANNA not in sent_to(answered)
    assert ANNA not in {int(m.chat_id) for m in answered.of(EditMessageText)}
    assert LEAD in {int(m.chat_id) for m in answered.of(EditMessageText)}


async def test_an_ex_member_cannot_open_the_alert_log_or_list_team_alerts(
    team_chat: ChatHarness, pager: Pager
) -> None:
    await team_chat.send("/urgent Acme: site is down", user_id=LEAD)
    await pager.step()
    listing = await team_chat.send("/alerts", user_id=VERA)
    assert "A1 · Acme" in listing.text
    log_button = team_chat.last_keyboard(VERA)[1][0][1]
    assert "paged Anna" in (await team_chat.press_data(log_button, user_id=VERA)).text
    await team_chat.send("/team leave", user_id=VERA)
    refused = await team_chat.press_data(log_button, user_id=VERA)
    assert any(LEFT in text for text in refused.alerts), refused.alerts
    assert refused.of(SendMessage) == []
    assert "No open alerts" in (await team_chat.send("/alerts", user_id=VERA)).text
    # A member still opens it.
    assert "site is down" in (await team_chat.press_data(log_button, user_id=BORIS)).text


# ---------------------------------------------------------------- handovers


async def test_removal_ends_handovers_both_ways_and_the_owner_gets_the_next_reminder(
    team_chat: ChatHarness, pager: Pager, storage: Storage, clock: FakeClock
) -> None:
    clock.set(AFTERNOON)
    team_chat.people[VERA] = ("Vera <V>", "vera")  # names are escaped in every notice
    await team_chat.send("/task Acme: call about the invoice today 16:00", user_id=ANNA)
    await team_chat.send("/newclient Zeta", user_id=VERA)
    await team_chat.send("/task Zeta: send the report today 16:00", user_id=VERA)
    assert "Handed over to Vera" in (
        await team_chat.send("/handover @vera until 28.11", user_id=ANNA)
    ).text
    assert "Handed over to Boris" in (
        await team_chat.send("/handover @boris until 28.11", user_id=VERA)
    ).text

    await team_chat.send("/alerts", user_id=ANNA, language_code="ru")  # Anna reads Russian
    removed = await remove(team_chat, "Vera")
    assert "No handovers now." in (await team_chat.send("/handover", user_id=ANNA)).text

    clock.set(FOUR_PM)
    start = len(team_chat.session.requests)
    await pager.runtime.delivery.deliver_due()
    sent = sent_to(Replies(team_chat.session.requests[start:]))
    assert [t for t in sent.get(ANNA, []) if "invoice" in t]  # back with its owner
    assert not [t for t in sent.get(ANNA, []) if "covering" in t]
    assert [t for t in sent.get(VERA, []) if "report" in t]  # her own, not Boris's
    assert not [t for t in sent.get(VERA, []) if "invoice" in t]
    assert BORIS not in sent

    # Everyone concerned was told at the removal.
    told = sent_to(removed)
    [to_vera] = told[VERA]
    assert "removed you from the team Agency" in to_vera
    assert "Your cover for Anna has ended" in to_vera
    assert "Your handover to Boris has ended" in to_vera
    [to_anna] = told[ANNA]
    assert "Vera &lt;V&gt; больше не в команде: передача ваших клиентов закончилась" in to_anna
    [to_boris] = told[BORIS]
    assert "you no longer cover their clients" in to_boris


async def test_an_ex_cover_cannot_complete_or_snooze_the_owners_task_with_an_old_button(
    team_chat: ChatHarness, pager: Pager, storage: Storage, clock: FakeClock
) -> None:
    clock.set(AFTERNOON)
    await team_chat.send("/task Acme: call about the invoice today 16:00", user_id=ANNA)
    await team_chat.send("/handover @vera until 28.11", user_id=ANNA)
    clock.set(FOUR_PM)
    start = len(team_chat.session.requests)
    await pager.runtime.delivery.deliver_due()
    [for_vera] = sent_to(Replies(team_chat.session.requests[start:]))[VERA]
    assert "You are covering for Anna." in for_vera
    [task] = [t for t in await storage.tasks.due_between(
        ANNA, NIGHT - timedelta(days=1), NIGHT) if "invoice" in t.text]

    left = await team_chat.send("/team leave", user_id=VERA)
    for button in (
        RemindAction(op="done", id=task.id),
        RemindAction(op="snooze", id=task.id, arg="60"),
        RemindAction(op="snooze", id=task.id, arg="pick"),
    ):
        pressed = await team_chat.press_data(button.pack(), user_id=VERA)
        assert STALE in pressed.alerts, pressed.alerts
        assert pressed.of(SendMessage) == [] and pressed.of(EditMessageText) == []
    reloaded = await storage.tasks.get(ANNA, task.id)
    assert reloaded is not None and reloaded.status is TaskStatus.OPEN
    # The owner can still do it.
    done = await team_chat.press_data(RemindAction(op="done", id=task.id).pack(), user_id=ANNA)
    assert "Done: #" in done.alerts[0]
    assert "You left the team Agency." in left.text
    assert "Your cover for Anna has ended" in left.text
    assert "your handover to them has ended" in sent_to(left)[ANNA][0]


async def test_a_handover_between_people_who_are_no_longer_teammates_holds_no_more(
    storage: Storage, clock: FakeClock
) -> None:
    """Data written before removals ended handovers: the membership decides, not the row."""
    now = clock.now()
    for user in (LEAD, ANNA, VERA):
        await storage.users.ensure(user, now)
    team = await storage.teams.create(LEAD, "Agency", "s" * 32, now)
    for code, user in (("c1", ANNA), ("c2", VERA)):
        await storage.teams.create_invite(code, team.id, LEAD, now + timedelta(hours=1))
        await storage.teams.join_by_invite(code, user, now)
    client = await storage.clients.create(ANNA, "Acme", now)
    await storage.teams.create_handover(ANNA, None, VERA, now, now + timedelta(days=2), now)
    assert await storage.teams.covering(ANNA, client.id, now) is not None
    # As the old code removed a member: the membership row only.
    removed = await raw_execute(
        storage,
        "DELETE FROM team_members WHERE user_id = ?",
        "DELETE FROM team_members WHERE user_id = $1",
        VERA,
    )
    assert removed == 1
    assert await storage.teams.covering(ANNA, client.id, now) is None
    assert await storage.teams.active_handovers(now) == []
    assert await storage.teams.handed_to(VERA, now) == []
    assert await storage.teams.handed_over_by(ANNA, now) == []


# ---------------------------------------------------------------- intake addresses


async def test_a_lead_change_and_a_removal_replace_the_teams_intake_address(
    team_chat: ChatHarness, pager: Pager
) -> None:
    service = pager.service
    first = team_path((await team_chat.send("/intake", user_id=LEAD)).text)
    assert await opens_team(service, first)

    await team_chat.send("/team lead", user_id=LEAD)
    changed = await team_chat.press("Anna", user_id=LEAD, chat_id=LEAD)
    assert "Anna now leads the team." in changed.text
    assert "Anna has the new one: /intake" in changed.text
    [to_anna] = sent_to(changed)[ANNA]
    assert "made you the lead of the team Agency" in to_anna
    second = team_path(to_anna)
    assert second != first
    assert not await opens_team(service, first)  # the ex-lead's copy is dead
    assert await opens_team(service, second)
    assert team_path((await team_chat.send("/intake", user_id=ANNA)).text) == second
    assert "• the team's" not in (await team_chat.send("/intake", user_id=LEAD)).text

    await team_chat.send("/team remove", user_id=ANNA)
    removed = await team_chat.press("Lena", user_id=ANNA, chat_id=ANNA)
    assert "Lena is no longer in the team." in removed.text
    third = team_path(removed.text)
    assert third not in (first, second)
    assert not await opens_team(service, second)
    assert await opens_team(service, third)
    assert "removed you from the team Agency" in sent_to(removed)[LEAD][0]


async def test_intake_rotate_replaces_only_what_the_caller_may(
    team_chat: ChatHarness, pager: Pager
) -> None:
    service = pager.service
    before = (await team_chat.send("/intake", user_id=VERA)).text
    [mine] = _PATH.findall(before)
    refused = await team_chat.send("/intake rotate team", user_id=VERA)
    assert "Only the team lead" in refused.text
    assert await service.intake_owner(mine) is not None
    rotated = await team_chat.send("/intake rotate", user_id=VERA)
    assert "Your address is replaced" in rotated.text
    [new] = _PATH.findall(rotated.text)
    assert new != mine and new.startswith(f"u{VERA}-")
    assert await service.intake_owner(mine) is None
    assert await service.intake_owner(new) is not None

    team_before = team_path((await team_chat.send("/intake", user_id=LEAD)).text)
    only_mine = await team_chat.send("/intake rotate me", user_id=LEAD)
    assert team_path(only_mine.text) == team_before
    both = await team_chat.send("/intake rotate", user_id=LEAD)
    assert "Your address and the team's are replaced" in both.text
    assert team_path(both.text) != team_before
    assert not await opens_team(service, team_before)


async def test_a_lead_who_deletes_their_data_leaves_no_working_team_address(
    team_chat: ChatHarness, pager: Pager
) -> None:
    old = team_path((await team_chat.send("/intake", user_id=LEAD)).text)
    await team_chat.send("/forget_me", user_id=LEAD)
    await team_chat.press("Delete everything", user_id=LEAD, chat_id=LEAD)
    assert not await opens_team(pager.service, old)
    new = team_path((await team_chat.send("/intake", user_id=ANNA)).text)  # Anna leads now
    assert new != old and await opens_team(pager.service, new)


async def test_a_cover_who_deletes_their_data_is_no_cover_and_the_owner_is_told(
    team_chat: ChatHarness, storage: Storage, clock: FakeClock
) -> None:
    clock.set(AFTERNOON)
    assert "Handed over to Vera" in (
        await team_chat.send("/handover @vera until 28.11", user_id=ANNA)
    ).text
    await team_chat.send("/forget_me", user_id=VERA)
    deleted = await team_chat.press("Delete everything", user_id=VERA, chat_id=VERA)
    told = sent_to(deleted)
    assert any("no longer in the team: your handover to them has ended" in text
               for text in told.get(ANNA, [])), told
    assert "No handovers now." in (await team_chat.send("/handover", user_id=ANNA)).text
    assert await storage.teams.active_handovers(clock.now()) == []
