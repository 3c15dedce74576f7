"""Sending and editing replies safely: within Telegram's size limits, stale messages tolerated."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram import html
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _

from bot.services.render import quoted, shorten
from bot.services.text import NAME_LIMIT
from bot.views.replies import edit_or_send, send_long

# edit_or_send and send_long moved down to bot/views (views shared by features send through
# them); still importable from here for handlers that have not moved yet.
__all__ = ["edit_or_send", "send_long", "stale_button", "unresolved_client"]


async def stale_button(query: CallbackQuery) -> None:
    await query.answer(_("This button is no longer valid."), show_alert=True)


def unresolved_client(name: str, found: Sequence[object]) -> str:
    """Why a name did not pick exactly one client: several match, or none does."""
    # Echoed twice and escaped: a long query must not push the reply past 4096 characters.
    name = shorten(name, NAME_LIMIT)
    if found:
        return _("Several clients start with {name}. Write the full name.").format(
            name=quoted(name)
        )
    return _("No client {name}. Add it: /newclient {plain}").format(
        name=quoted(name), plain=html.quote(name)
    )
