"""Reminder buttons (done, snooze, pick a snooze time) and working hours (/hours)."""

from __future__ import annotations

from datetime import datetime, timedelta

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RemindAction, TaskAction
from bot.clock import Clock
from bot.context import UserContext
from bot.services.dates import DateParser, at_local
from bot.services.handover import covering_handover
from bot.services.reminder_plan import parse_working_hours
from bot.services.reminders import ReminderPlanner
from bot.services.render import days_label, format_moment, quoted
from bot.services.text import clean_line
from bot.views.tasks import send_edit_card, when_examples
from handlers.replies import stale_button
from storage.interfaces import TaskRepo, TeamRepo, UserRepo
from storage.models import Task, TaskStatus, WorkingHours

SNOOZE_MINUTES = {"15": 15, "60": 60}


class RemindForm(StatesGroup):
    snooze_until = State()


def snoozed_keyboard(task: Task) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Done"), callback_data=RemindAction(op="done", id=task.id).pack()
                ),
                InlineKeyboardButton(
                    text=_("✏️ Reschedule"),
                    callback_data=TaskAction(op="time", id=task.id).pack(),
                ),
            ]
        ]
    )


def hours_text(hours: WorkingHours) -> str:
    always = hours.start_minute == 0 and hours.end_minute == 24 * 60 and len(hours.days) == 7
    if always or not hours.days or hours.start_minute >= hours.end_minute:
        return _("Working hours: off — reminders come at any time.")
    return _("Working hours: {start}–{end}, {days}.").format(
        start=f"{hours.start_minute // 60:02}:{hours.start_minute % 60:02}",
        end=f"{hours.end_minute // 60:02}:{hours.end_minute % 60:02}",
        days=days_label(hours.days),
    )


async def task_for(
    user_id: int, task_id: int, tasks: TaskRepo, teams: TeamRepo, now: datetime
) -> Task | None:
    """The user's own task, or one of a client handed over to them (they got its reminder)."""
    task = await tasks.get(user_id, task_id)
    if task is not None:
        return task
    handovers = await teams.active_handovers(now)
    for owner in {h.owner_id for h in handovers if h.to_user_id == user_id}:
        found = await tasks.get(owner, task_id)
        if found is not None:
            cover = covering_handover(handovers, owner, found.client_id)
            if cover is not None and cover.to_user_id == user_id:
                return found
    return None


def create_router() -> Router:
    router = Router(name=__name__)

    @router.callback_query(RemindAction.filter())
    async def reminder_button(
        query: CallbackQuery,
        callback_data: RemindAction,
        tasks: TaskRepo,
        teams: TeamRepo,
        planner: ReminderPlanner,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        now = clock.now()
        task = await task_for(user.id, callback_data.id, tasks, teams, now)
        if task is None or task.status is not TaskStatus.OPEN:
            await stale_button(query)
            return
        if callback_data.op == "done":
            completed = await tasks.complete(task.owner_id, task.id, now)
            if completed is None:
                await stale_button(query)
                return
            await query.answer(_("Done: #{number}").format(number=task.number))
            await send_edit_card(query, completed, user, clock)
            return
        if callback_data.op != "snooze":
            await stale_button(query)
            return
        arg = callback_data.arg
        if arg == "pick":
            await state.set_state(RemindForm.snooze_until)
            await state.update_data(task_id=task.id)
            await query.answer()
            if query.bot is not None:
                await query.bot.send_message(
                    user.id,
                    _("Remind about #{number} when?").format(number=task.number)
                    + " " + when_examples() + "\n" + _("/cancel to stop."),
                )
            return
        if arg in SNOOZE_MINUTES:
            until = (now + timedelta(minutes=SNOOZE_MINUTES[arg])).replace(second=0, microsecond=0)
        elif arg == "tm":
            until = at_local(1, user.morning_hour, tz=user.tz, now=now)
        else:
            await stale_button(query)
            return
        await planner.snooze(task, until)
        moment = format_moment(until, user.tz, user.locale)
        await query.answer(_("⏰ Until {moment}").format(moment=moment))
        if isinstance(query.message, Message):
            await query.message.edit_text(
                query.message.html_text + "\n⏰ " + _("Snoozed until {moment}.").format(
                    moment=moment
                ),
                reply_markup=snoozed_keyboard(task),
            )

    @router.message(StateFilter(RemindForm.snooze_until), F.text, ~F.text.startswith("/"))
    async def snooze_picked(
        message: Message,
        tasks: TaskRepo,
        teams: TeamRepo,
        planner: ReminderPlanner,
        dates: DateParser,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        data = await state.get_data()
        task_id = data.get("task_id")
        task = (
            await task_for(user.id, task_id, tasks, teams, clock.now())
            if isinstance(task_id, int)
            else None
        )
        if task is None or task.status is not TaskStatus.OPEN:
            await state.set_state(None)
            await message.answer(_("That task is no longer open."))
            return
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
        await planner.snooze(task, until)
        await state.set_state(None)
        await message.answer(
            "⏰ " + _("Snoozed until {moment}.").format(
                moment=format_moment(until, user.tz, user.locale)
            ),
            reply_markup=snoozed_keyboard(task),
        )

    @router.message(Command("hours"))
    async def working_hours(
        message: Message,
        command: CommandObject,
        users: UserRepo,
        user: UserContext,
        tasks: TaskRepo,
        planner: ReminderPlanner,
    ) -> None:
        args = (command.args or "").strip().lower()
        profile = await users.get(user.id)
        current = profile.hours if profile is not None else WorkingHours()
        if not args:
            await message.answer(
                hours_text(current) + "\n" + _(
                    "Reminders the bot times itself (ahead of a task, invoice steps, "
                    "recurring tasks) wait for the next working morning; a time you give a "
                    "task is kept. Change: /hours 9-19 · /hours 10:30-18:00 пн-сб · "
                    "/hours off"
                )
            )
            return
        hours = parse_working_hours(args, current)
        if hours is None:
            await message.answer(
                _("I did not understand {value}. Example: /hours 9-19 · /hours 9-19 mon-sat")
                .format(value=quoted(args[:40]))
            )
            return
        await users.set_hours(user.id, hours)
        # Pending reminders follow the new hours; one held for the old ones is released.
        await planner.replan_owner(user.id, tasks)
        await message.answer(html.quote(hours_text(hours)))

    return router
