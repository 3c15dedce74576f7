"""Working hours in words: shown by /hours (reminders) and by /settings."""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from bot.views.render import days_label
from storage.models import WorkingHours


def hours_text(hours: WorkingHours) -> str:
    always = hours.start_minute == 0 and hours.end_minute == 24 * 60 and len(hours.days) == 7
    if always or not hours.days or hours.start_minute >= hours.end_minute:
        return _("Working hours: off — reminders come at any time.")
    return _("Working hours: {start}–{end}, {days}.").format(
        start=f"{hours.start_minute // 60:02}:{hours.start_minute % 60:02}",
        end=f"{hours.end_minute // 60:02}:{hours.end_minute % 60:02}",
        days=days_label(hours.days),
    )
