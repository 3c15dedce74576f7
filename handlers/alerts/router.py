"""The alerts feature's router: which update goes to which handler."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.callbacks import AlertAction, AlertOp
from handlers.alerts import answers, commands
from handlers.alerts.filters import AnyArgument, FormerTeamAlert, IntakeRotation, OwnAlert
from handlers.buttons import answer_presses, button_expired

# The log is a new message: the press is answered first, as the spinner would otherwise
# wait for the whole log to be sent.
_ANSWER_FIRST = {"callback_answer": {"pre": True}}


def create_router() -> Router:
    router = Router(name=__name__)
    message, button = router.message.register, router.callback_query.register

    message(commands.urgent, Command("urgent"))
    message(commands.list_alerts, Command("alerts"))
    intake = Command("intake")
    message(commands.rotate_intake, intake, IntakeRotation())
    message(commands.intake_help, intake, AnyArgument())
    message(commands.show_intake, intake)

    own = OwnAlert()
    button(answers.acknowledge, AlertAction.filter(F.op == AlertOp.ACK), own)
    button(answers.resolve, AlertAction.filter(F.op == AlertOp.RESOLVE), own)
    button(answers.snooze, AlertAction.filter(F.op == AlertOp.SNOOZE), own)
    button(answers.show_log, AlertAction.filter(F.op == AlertOp.LOG), own, flags=_ANSWER_FIRST)
    # Refused above: a team's alert pressed by an ex-member is told so; the rest (gone, or
    # someone else's) expired.
    button(answers.left_team, AlertAction.filter(), FormerTeamAlert())
    button(button_expired, AlertAction.filter())
    return answer_presses(router)
