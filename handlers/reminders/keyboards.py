"""The reminder's buttons once it is snoozed (a fresh reminder's are bot/views/keyboards.py's
``reminder_keyboard``: background delivery sends them)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import RemindAction, RemindOp, TaskAction, TaskOp
from storage.models import Task


def snoozed_keyboard(task: Task) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("✅ Done"),
                    callback_data=RemindAction(op=RemindOp.DONE, id=task.id).pack(),
                ),
                InlineKeyboardButton(
                    text=_("✏️ Reschedule"),
                    callback_data=TaskAction(op=TaskOp.TIME, id=task.id).pack(),
                ),
            ]
        ]
    )
