"""What handlers not yet moved over import from here; new code imports from bot/views.

edit_or_send and send_long live in bot/views/replies.py, unresolved_client in
bot/views/names.py. stale_button is the old hand-written "no longer valid" answer: a
converted router answers such presses with handlers.buttons.button_expired instead.
"""

from __future__ import annotations

from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.views.names import unresolved_client
from bot.views.replies import edit_or_send, send_long

__all__ = ["edit_or_send", "send_long", "stale_button", "unresolved_client"]


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer valid."), show_alert=True)
