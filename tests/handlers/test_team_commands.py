"""Each form of /team, /backup and /handover answers as a person expects: who may use a
verb, what someone outside a team is told, and what a half-written command asks for.

The team is the alert suite's (Lena leads; Anna, Boris and Vera are members; Stan writes to
the bot but is in no team)."""

from __future__ import annotations

import re

from aiogram.methods import AnswerCallbackQuery, SendMessage

from tests.handlers import test_alerts
from tests.handlers.harness import ChatHarness
from tests.handlers.test_alerts import ANNA, LEAD, STRANGER, VERA

team_chat = test_alerts.team_chat

USAGE = "<code>/team new Agency</code> creates one"


async def test_someone_in_no_team_is_told_so_whatever_the_verb(team_chat: ChatHarness) -> None:
    for text in ("/team", "/team invite", "/team overdue", "/team leave", "/team whatever"):
        reply = await team_chat.send(text, user_id=STRANGER)
        assert reply.text.startswith("You are not in a team yet."), text
        assert USAGE in reply.text


async def test_a_member_is_told_which_verbs_are_the_leads(team_chat: ChatHarness) -> None:
    assert (await team_chat.send("/team invite", user_id=VERA)).text == (
        "Only the team lead can invite."
    )
    assert (await team_chat.send("/team overdue", user_id=VERA)).text == (
        "Only the team lead sees everyone's overdue tasks."
    )
    for text in ("/team remove", "/team lead", "/team all off", "/team ALL"):
        assert (await team_chat.send(text, user_id=VERA)).text == (
            "Only the team lead can do that."
        ), text


async def test_the_lead_cannot_leave_and_an_unknown_verb_shows_the_usage(
    team_chat: ChatHarness,
) -> None:
    assert (await team_chat.send("/team leave", user_id=LEAD)).text == (
        "You lead the team: make someone else lead first (/team lead)."
    )
    assert USAGE in (await team_chat.send("/team bogus", user_id=VERA)).text
    assert "You are in a team already" in (
        await team_chat.send("/team new Other", user_id=VERA)
    ).text


async def test_the_lead_switches_escalation_to_the_whole_team_on_and_off(
    team_chat: ChatHarness,
) -> None:
    off = await team_chat.send("/team all нет", user_id=LEAD)
    assert off.text == "Unanswered alerts stop at the lead."
    assert "Unanswered alerts stop at the lead." in (
        await team_chat.send("/team", user_id=VERA)
    ).text
    on = await team_chat.send("/team ALL", user_id=LEAD)
    assert on.text == "Unanswered alerts finally go to the whole team."


async def test_a_team_name_is_required_and_limited(team_chat: ChatHarness) -> None:
    assert "Name the team" in (await team_chat.send("/team new", user_id=STRANGER)).text
    long = await team_chat.send("/team new " + "x" * 65, user_id=STRANGER)
    assert long.text == "A team name is at most 64 characters."


async def test_backup_forms(team_chat: ChatHarness) -> None:
    alone = await team_chat.send("/backup", user_id=STRANGER)
    assert alone.text.startswith("Name your backup: <code>/backup @colleague</code>")
    assert "must write to me once first" in (
        await team_chat.send("/backup @nobody_here", user_id=STRANGER)
    ).text
    assert "is your backup" in (await team_chat.send("/backup @vera", user_id=STRANGER)).text
    assert "is not a teammate I know" in (
        await team_chat.send("/backup @stan", user_id=ANNA)
    ).text
    assert (await team_chat.send("/backup OFF", user_id=ANNA)).text == (
        "No backup now: unanswered alerts go to the lead."
    )


async def test_handover_forms_ask_for_what_is_missing(team_chat: ChatHarness) -> None:
    assert "Handing over needs a team" in (
        await team_chat.send("/handover @anna until 15.12", user_id=STRANGER)
    ).text
    for whom in ("/handover @stan until 15.12", "/handover @anna until 15.12", "/handover x"):
        assert (await team_chat.send(whom, user_id=ANNA)).text.startswith("Whom to?"), whom
    for when in ("/handover @vera", "/handover @vera until yesterday"):
        assert (await team_chat.send(when, user_id=ANNA)).text.startswith("Until when?"), when
    assert "No client" in (
        await team_chat.send("/handover Nope: @vera until 15.12", user_id=ANNA)
    ).text
    assert (await team_chat.send("/handover", user_id=ANNA)).text.startswith(
        "No handovers now."
    )


async def test_handover_listing_both_ways_and_ending(team_chat: ChatHarness) -> None:
    handed = await team_chat.send("/handover Acme: @vera until 15.12", user_id=ANNA)
    assert "Handed over to Vera" in handed.text
    assert "Handover pack" in handed.of(SendMessage)[-1].text
    assert (await team_chat.send("/handover", user_id=ANNA)).text.startswith(
        "→ Acme to Vera until"
    )
    assert (await team_chat.send("/handover", user_id=VERA)).text.startswith(
        "← Acme from Anna until"
    )
    ended = await team_chat.send("/handover стоп", user_id=ANNA)
    assert ended.text == "Handovers ended: your clients are yours again (1)."


async def test_a_member_button_pressed_by_a_member_expires(team_chat: ChatHarness) -> None:
    pressed = await team_chat.press_data(f"tm:rm:{ANNA}", user_id=VERA)
    [answer] = pressed.of(AnswerCallbackQuery)
    assert answer.text == "This button is no longer valid." and answer.show_alert
    assert pressed.of(SendMessage) == []


async def test_intake_help_for_unknown_words(team_chat: ChatHarness) -> None:
    assert (await team_chat.send("/intake bogus", user_id=VERA)).text.startswith("Leaked?")
    assert (await team_chat.send("/intake rotate team", user_id=VERA)).text == (
        "Only the team lead can replace the team's address."
    )


async def test_the_lead_hears_of_a_new_member_in_the_leads_own_language(
    team_chat: ChatHarness,
) -> None:
    await team_chat.send("/lang ru", user_id=LEAD)
    link = (await team_chat.send("/team invite", user_id=LEAD)).text
    code = re.search(r"start=(join-[\w-]+)", link)
    assert code is not None, link
    team_chat.people[5005] = ("Gleb", "gleb")
    joined = await team_chat.send(f"/start {code.group(1)}", user_id=5005, language_code="en")
    assert "Welcome to the team" in joined.texts[0]
    told = [m.text for m in joined.of(SendMessage) if int(m.chat_id) == LEAD]
    assert told == ["Gleb вступил(а) в команду Agency."], told
