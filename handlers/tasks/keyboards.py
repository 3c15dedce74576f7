"""Keyboards only the tasks feature's handlers show (the task cards' own are in bot/keyboards:
reminders and other features show those too)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import Dialog, DialogOp, TaskAction, TaskOp
from bot.domain.reminder_plan import AHEAD_CHOICES
from bot.views.keyboards import when_rows
from bot.views.render import KIND_ICONS, kind_label
from storage.models import Task, TaskKind


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def undo_reschedule(task_id: int, previous_due: datetime | None) -> str:
    """Callback data that puts a task back to the moment it had before a change of time
    (an empty arg: it had none)."""
    arg = "" if previous_due is None else str(int(previous_due.timestamp()))
    return TaskAction(op=TaskOp.UNDUE, id=task_id, arg=arg).pack()


def change_time_keyboard(
    task: Task, tz: ZoneInfo, now: datetime, morning_hour: int, locale: str
) -> InlineKeyboardMarkup:
    rows = when_rows(task.id, tz, now, morning_hour, locale)
    rows.append([_button(_("« Back"), TaskAction(op=TaskOp.SHOW, id=task.id).pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def kind_keyboard(task: Task) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for kind in TaskKind:
        mark = "• " if kind is task.kind else ""
        builder.button(
            text=f"{mark}{KIND_ICONS[kind]} {kind_label(kind)}",
            callback_data=TaskAction(op=TaskOp.SET_KIND, id=task.id, arg=kind.value),
        )
    builder.button(text=_("« Back"), callback_data=TaskAction(op=TaskOp.SHOW, id=task.id))
    builder.adjust(2)
    return builder.as_markup()


def ahead_label(minutes: int) -> str:
    if minutes == 0:
        return _("only at the time")
    if minutes % (24 * 60) == 0:
        return _("{count} d before").format(count=minutes // (24 * 60))
    if minutes % 60 == 0:
        return _("{count} h before").format(count=minutes // 60)
    return _("{count} min before").format(count=minutes)


def ahead_keyboard(task: Task, current: int) -> InlineKeyboardMarkup:
    buttons = [
        _button(
            ("• " if minutes == current else "") + ahead_label(minutes),
            TaskAction(op=TaskOp.SET_AHEAD, id=task.id, arg=str(minutes)).pack(),
        )
        for minutes in AHEAD_CHOICES
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            buttons[:2],
            buttons[2:],
            [_button(_("« Back"), TaskAction(op=TaskOp.EDIT, id=task.id).pack())],
        ]
    )


def dialog_without_client() -> InlineKeyboardButton:
    """The new-task dialog's "no client" choice, below the client buttons."""
    return _button(_("Without a client"), Dialog(op=DialogOp.NO_CLIENT).pack())


def task_without_client(task_id: int) -> InlineKeyboardButton:
    """Take the client off an existing task, below the client buttons."""
    return _button(_("Without a client"), TaskAction(op=TaskOp.NO_CLIENT, id=task_id).pack())
