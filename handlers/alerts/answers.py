"""An alert's buttons: acknowledge, resolve, snooze, open the log.

The OwnAlert filter has checked that the presser may answer the alert; the service checks
again as it writes (a press can race a removal from the team), and its answer is what the
presser is told.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer

from bot.callbacks import AlertOp
from bot.clock import Clock
from bot.context import UserContext
from bot.services.alerts import Answer, AnswerResult
from bot.services.catalog import Services
from bot.views.alert_render import alert_log
from bot.views.replies import send_long
from handlers.alerts.views import already_text, client_of, done_text, left_team_text
from handlers.buttons import button_expired
from storage.interfaces import Storage, UserRepo
from storage.models import Alert


async def acknowledge(
    query: CallbackQuery,
    callback_answer: CallbackAnswer,
    alert: Alert,
    user: UserContext,
    repos: Storage,
    services: Services,
) -> None:
    result = await services.alerts.acknowledge(alert.id, user.id)
    await tell_result(query, callback_answer, result, AlertOp.ACK, repos.users)


async def resolve(
    query: CallbackQuery,
    callback_answer: CallbackAnswer,
    alert: Alert,
    user: UserContext,
    repos: Storage,
    services: Services,
) -> None:
    result = await services.alerts.resolve(alert.id, user.id)
    await tell_result(query, callback_answer, result, AlertOp.RESOLVE, repos.users)


async def snooze(
    query: CallbackQuery,
    callback_answer: CallbackAnswer,
    alert: Alert,
    user: UserContext,
    repos: Storage,
    services: Services,
) -> None:
    result = await services.alerts.snooze(alert.id, user.id)
    await tell_result(query, callback_answer, result, AlertOp.SNOOZE, repos.users)


async def tell_result(
    query: CallbackQuery,
    callback_answer: CallbackAnswer,
    result: AnswerResult,
    op: AlertOp,
    users: UserRepo,
) -> None:
    """The press's answer: done, someone was first (an alert), or no longer allowed."""
    if result.answer is Answer.LEFT_TEAM:
        await left_team(query, callback_answer)
        return
    if result.answer is Answer.DONE:
        callback_answer.text = done_text(op)
        return
    if result.answer is not Answer.ALREADY or result.alert is None:  # gone, not theirs
        await button_expired(query, callback_answer)
        return
    alert = result.alert
    people = await users.display_names({alert.acked_by, alert.resolved_by})
    callback_answer.text = already_text(alert, op, people)
    callback_answer.show_alert = True


async def show_log(
    query: CallbackQuery,
    alert: Alert,
    user: UserContext,
    repos: Storage,
    clock: Clock,
) -> None:
    """📋 Log: every event of the alert, as a new message (registered to answer first)."""
    events = await repos.alerts.events(alert.id)
    people = await repos.users.display_names(
        {e.actor_id for e in events}
        | {int(p) for e in events for p in e.detail.split(",") if p.isdigit()}
        | {alert.acked_by, alert.resolved_by},
    )
    client = await client_of(repos.clients, alert)
    if query.message is not None:
        await send_long(
            # A page older than 48 hours is an InaccessibleMessage: it can still be answered.
            query.message,  # type: ignore[arg-type]
            alert_log(alert, client, events, people, user.tz, user.locale, clock.now()),
            None,
        )


async def left_team(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """A team's alert pressed by someone who has left that team: nothing changes."""
    del query  # the answer goes through callback_answer
    callback_answer.text = left_team_text()
    callback_answer.show_alert = True
