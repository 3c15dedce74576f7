"""The reminders feature's router: which press or message goes to which handler."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.callbacks import RemindAction, RemindOp, Snooze
from handlers.buttons import answer_presses, button_expired
from handlers.reminders.filters import ReminderTask, SnoozeDialogTask
from handlers.reminders.hours import working_hours
from handlers.reminders.presses import (
    SNOOZE_MINUTES,
    RemindForm,
    ask_snooze_time,
    done,
    snooze_for,
    snooze_picked,
    snooze_tomorrow,
    snoozed_task_gone,
)

SNOOZE = F.op == RemindOp.SNOOZE
TYPED_TEXT = (F.text, ~F.text.startswith("/"))  # a command ends the dialog instead


def create_router() -> Router:
    router = Router(name=__name__)
    press = router.callback_query.register
    press(done, RemindAction.filter(F.op == RemindOp.DONE), ReminderTask())
    press(snooze_for, RemindAction.filter(SNOOZE & F.arg.in_(SNOOZE_MINUTES)), ReminderTask())
    press(snooze_tomorrow, RemindAction.filter(SNOOZE & (F.arg == Snooze.TOMORROW)),
          ReminderTask())
    press(ask_snooze_time, RemindAction.filter(SNOOZE & (F.arg == Snooze.PICK)), ReminderTask())
    press(button_expired, RemindAction.filter())
    answer_presses(router)

    router.message.register(snooze_picked, RemindForm.snooze_until, *TYPED_TEXT,
                            SnoozeDialogTask())
    router.message.register(snoozed_task_gone, RemindForm.snooze_until, *TYPED_TEXT)
    router.message.register(working_hours, Command("hours"))
    return router
