"""The team feature's router: which update goes to which handler.

/team's verbs each have a handler; a verb the user may not use (not leading the team, or
leading it for /team leave) reaches a handler that says so, and a user in no team reaches
``no_team`` whatever the verb (except ``new``).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandStart

from bot.callbacks import TeamAction, TeamOp
from handlers.buttons import answer_presses, button_expired
from handlers.team import backup, commands, handover, members
from handlers.team.filters import Argument, HandoverTo, HandoverUntil, InTeam, Teammate, Verb


def create_router() -> Router:
    router = Router(name=__name__)
    message, button = router.message.register, router.callback_query.register
    in_team, leads, follows = InTeam(), InTeam(leads=True), InTeam(leads=False)

    message(commands.join, CommandStart(deep_link=True, magic=F.args.startswith("join-")))

    team = Command("team")
    message(commands.create_team, team, Verb("new"))
    message(commands.invite, team, Verb("invite"), leads)
    message(commands.only_lead_invites, team, Verb("invite"), follows)
    message(commands.overdue, team, Verb("overdue"), leads)
    message(commands.only_lead_sees_overdue, team, Verb("overdue"), follows)
    message(commands.ask_removal, team, Verb("remove"), leads)
    message(commands.ask_new_lead, team, Verb("lead"), leads)
    message(commands.escalate_to_all, team, Verb("all"), leads)
    message(commands.only_lead, team, Verb("remove", "lead", "all"), follows)
    message(commands.leave, team, Verb("leave"), follows)
    message(commands.lead_cannot_leave, team, Verb("leave"), leads)
    message(commands.show_team, team, Verb(""), in_team)
    message(commands.unknown_verb, team, in_team)
    message(commands.no_team, team)

    backup_command = Command("backup")
    message(backup.backup_off, backup_command, Argument("off", "нет", "выкл"))
    message(backup.pick_backup, backup_command, Argument(""), in_team)
    message(backup.backup_usage, backup_command, Argument(""))
    message(backup.set_backup, backup_command)

    handover_command = Command("handover")
    message(handover.end_handovers, handover_command, Argument("off", "stop", "выкл", "стоп"))
    message(handover.list_handovers, handover_command, Argument(""))
    message(handover.hand_over, handover_command, in_team, HandoverTo(), HandoverUntil())
    message(handover.until_when, handover_command, in_team, HandoverTo())
    message(handover.whom_to, handover_command, in_team)
    message(handover.needs_team, handover_command)

    lead_only, anyone = Teammate(lead_only=True), Teammate(lead_only=False)
    button(members.remove_member, TeamAction.filter(F.op == TeamOp.REMOVE), lead_only)
    button(members.make_lead, TeamAction.filter(F.op == TeamOp.LEAD), lead_only)
    button(backup.backup_chosen, TeamAction.filter(F.op == TeamOp.BACKUP), anyone)
    # Whatever the filters above refused: the presser left or no longer leads, the member
    # is gone from the team.
    button(button_expired, TeamAction.filter())
    return answer_presses(router)
