"""The alerts feature's own keyboards (an alert page's buttons are the engine's, in
bot.views.alert_render)."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import AlertAction, AlertOp
from storage.models import Alert

LOGS_PER_ROW = 4


def log_keyboard(alerts: Sequence[Alert]) -> InlineKeyboardMarkup:
    """/alerts: a 📋 button per listed alert that opens its log."""
    buttons = [
        InlineKeyboardButton(
            text=f"📋 A{alert.id}",
            callback_data=AlertAction(op=AlertOp.LOG, id=alert.id).pack(),
        )
        for alert in alerts
    ]
    rows = [buttons[i : i + LOGS_PER_ROW] for i in range(0, len(buttons), LOGS_PER_ROW)]
    return InlineKeyboardMarkup(inline_keyboard=rows)
