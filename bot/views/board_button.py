"""The button that opens the Mini App board (bot/webapp) under a chat list.

Only when the bot has a public https origin (PUBLIC_URL, or WEBHOOK_URL's): Telegram opens Mini
Apps over https only, and without a served page the button would lead nowhere.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, WebAppInfo
from aiogram.utils.i18n import gettext as _

# The Mini App's first tab for each place the button is shown (bot/webapp/static/app.js).
BOARD, AGENDA, CHARTS = "board", "agenda", "charts"


def webapp_url(origin: str, view: str = BOARD) -> str:
    return f"{origin}/app/?view={view}"


def board_button(origin: str | None, view: str) -> InlineKeyboardButton | None:
    if origin is None or not origin.startswith("https://"):
        return None
    labels = {
        BOARD: _("📊 Board"),
        AGENDA: _("📊 Agenda on the board"),
        CHARTS: _("📊 Invoice charts"),
    }
    url = webapp_url(origin, view)
    return InlineKeyboardButton(text=labels[view], web_app=WebAppInfo(url=url))


def with_board_button(
    markup: InlineKeyboardMarkup | None, origin: str | None, view: str
) -> InlineKeyboardMarkup | None:
    """``markup`` with a last row opening the board at ``view`` (unchanged without an origin)."""
    button = board_button(origin, view)
    if button is None:
        return markup
    rows = list(markup.inline_keyboard) if markup is not None else []
    return InlineKeyboardMarkup(inline_keyboard=[*rows, [button]])
