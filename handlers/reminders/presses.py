"""A reminder's buttons: ✅ done, ⏰ snooze (15 min, 1 h, tomorrow morning, or a time the
user writes). The task comes from the ``ReminderTask`` filter; a press it rejects (task done,
gone, or no longer handed over to this user) gets "no longer valid" from the router."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RemindAction, Snooze
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.dates import DateParser, at_local
from bot.domain.text import clean_line
from bot.services.catalog import Services
from bot.services.reminders import ReminderPlanner
from bot.views.render import format_moment, quoted
from bot.views.tasks import send_edit_card, when_examples
from handlers.buttons import button_expired
from handlers.reminders.keyboards import snoozed_keyboard
from storage.models import Task

SNOOZE_MINUTES = {Snooze.MINUTES_15: 15, Snooze.HOUR: 60}


class RemindForm(StatesGroup):
    snooze_until = State()


async def done(
    query: CallbackQuery,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    # The owner's task, also when a teammate covering for them presses it.
    completed = await services.tasks.complete(task.owner_id, task.id, clock.now())
    if completed is None:  # completed or deleted since the filter loaded it
        await button_expired(query, callback_answer)
        return
    callback_answer.text = _("Done: #{number}").format(number=task.number)
    await send_edit_card(query, completed, user, clock)


async def snooze_for(
    query: CallbackQuery,
    callback_data: RemindAction,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """⏰ 15 min / 1 h: from now, to the minute."""
    minutes = SNOOZE_MINUTES[Snooze(callback_data.arg)]
    until = (clock.now() + timedelta(minutes=minutes)).replace(second=0, microsecond=0)
    await snooze(query, task, until, services.planner, user, callback_answer)


async def snooze_tomorrow(
    query: CallbackQuery,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """⏰ Tomorrow: the user's morning hour tomorrow, in their timezone."""
    until = at_local(1, user.morning_hour, tz=user.tz, now=clock.now())
    await snooze(query, task, until, services.planner, user, callback_answer)


async def snooze(
    query: CallbackQuery,
    task: Task,
    until: datetime,
    planner: ReminderPlanner,
    user: UserContext,
    callback_answer: CallbackAnswer,
) -> None:
    """Snooze, say until when, and mark the reminder itself as snoozed."""
    await planner.snooze(task, until)
    moment = format_moment(until, user.tz, user.locale)
    callback_answer.text = _("⏰ Until {moment}").format(moment=moment)
    if isinstance(query.message, Message):
        await query.message.edit_text(
            query.message.html_text + "\n⏰ " + _("Snoozed until {moment}.").format(
                moment=moment
            ),
            reply_markup=snoozed_keyboard(task),
        )


async def ask_snooze_time(
    query: CallbackQuery, task: Task, user: UserContext, state: FSMContext
) -> None:
    """⏰ Pick…: the user's next text is the time."""
    await state.set_state(RemindForm.snooze_until)
    await state.update_data(task_id=task.id)
    if query.bot is not None:
        await query.bot.send_message(
            user.id,
            _("Remind about #{number} when?").format(number=task.number)
            + " " + when_examples() + "\n" + _("/cancel to stop."),
        )


async def snooze_picked(
    message: Message,
    task: Task,
    services: Services,
    dates: DateParser,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    phrase = clean_line(message.text or "")[:200]
    now = clock.now()
    until = dates.parse(
        phrase, tz=user.tz, now=now, morning_hour=user.morning_hour, locale=user.locale
    )
    if until is None or until <= now:
        await message.answer(
            _("I could not understand the time {phrase}.").format(phrase=quoted(phrase))
            + " " + when_examples()
        )
        return
    await services.planner.snooze(task, until)
    await state.set_state(None)
    await message.answer(
        "⏰ " + _("Snoozed until {moment}.").format(
            moment=format_moment(until, user.tz, user.locale)
        ),
        reply_markup=snoozed_keyboard(task),
    )


async def snoozed_task_gone(message: Message, state: FSMContext) -> None:
    """A time written for a task that was completed or deleted meanwhile."""
    await state.set_state(None)
    await message.answer(_("That task is no longer open."))
