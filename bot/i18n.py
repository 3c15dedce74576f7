"""gettext catalogs (Babel-compiled) under bot/locales; English msgids, Russian catalog."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware

from bot.context import UserContext
from bot.settings import SUPPORTED_LANGUAGES

LOCALES_DIR = Path(__file__).parent / "locales"
DOMAIN = "messages"


def mark(message: str) -> str:
    """Marks a message for extraction where it is translated later, in another locale."""
    return message


def create_i18n(default_language: str) -> I18n:
    return I18n(path=LOCALES_DIR, default_locale=default_language, domain=DOMAIN)


def pick_language(chosen: str | None, telegram_code: str | None, default: str) -> str:
    """The user's /lang choice, else Telegram's language_code, else the default."""
    if chosen in SUPPORTED_LANGUAGES:
        return chosen
    if telegram_code:
        base = telegram_code.split("-")[0].lower()
        if base in SUPPORTED_LANGUAGES:
            return base
    return default


class UserLocaleMiddleware(I18nMiddleware):
    """Activates the locale UserMiddleware decided on for this update."""

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        user = data.get("user")
        if isinstance(user, UserContext):
            return user.locale
        return self.i18n.default_locale
