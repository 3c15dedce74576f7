"""Who is asking: Telegram's signed ``initData`` (the only session the Mini App has).

Every API request carries ``Authorization: tma <initData>``: the raw query string Telegram
hands the page (``Telegram.WebApp.initData``). It is checked with aiogram's
``safe_parse_webapp_init_data`` (HMAC-SHA256 keyed by the bot token), then for freshness:
``auth_date`` no older than WEBAPP_AUTH_MAX_AGE_SECONDS and not from the future (a minute of
clock skew allowed). A valid launch of a user not on ALLOWED_USER_IDS is refused apart (403),
as the chat refuses them.

Nothing is written here: a user who never started the bot gets a profile built from the
defaults (an empty board), not a new row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from aiogram.utils.web_app import (
    WebAppInitData,
    parse_webapp_init_data,
    safe_parse_webapp_init_data,
)

from bot.clock import Clock
from bot.domain.timezones import user_zone
from bot.i18n import pick_language
from bot.settings import Settings
from storage.interfaces import UserRepo

logger = logging.getLogger(__name__)

SCHEME = "tma"
# initData is a few hundred bytes; anything much longer is not Telegram's.
MAX_INIT_DATA = 8192
FUTURE_SKEW = timedelta(seconds=60)
DEFAULT_MORNING_HOUR = 10


class AuthProblem(StrEnum):
    MISSING = "missing"
    FORGED = "forged"
    STALE = "stale"
    NOT_ALLOWED = "not_allowed"


class AuthError(Exception):
    """The request is not from a valid, fresh, allowed launch. ``locale``: the language to
    answer in (from the launch's unchecked language code: only the wording depends on it)."""

    def __init__(self, problem: AuthProblem, locale: str) -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.locale = locale

    @property
    def status(self) -> int:
        return 403 if self.problem is AuthProblem.NOT_ALLOWED else 401


@dataclass(frozen=True, slots=True)
class WebAppUser:
    """The signed-in user as the API needs them (a UserContext without Telegram's update)."""

    id: int
    name: str
    locale: str
    tz: ZoneInfo
    morning_hour: int
    # False: they never started the bot (no profile row); they see an empty board.
    known: bool


def _header_data(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _sep, value = authorization.strip().partition(" ")
    if scheme.lower() != SCHEME or not value.strip():
        return None
    return value.strip()


def _guess_locale(init_data: str | None, default: str) -> str:
    """The language for an error answer before the data is trusted (wording only)."""
    if init_data:
        try:
            parsed = parse_webapp_init_data(init_data)
        except Exception:
            return default
        if parsed.user is not None:
            return pick_language(None, parsed.user.language_code, default)
    return default


def verify_init_data(
    authorization: str | None, *, settings: Settings, now: datetime
) -> WebAppInitData:
    """The checked launch data, or AuthError (401 missing/forged/stale, 403 not allowed)."""
    default = settings.default_language
    init_data = _header_data(authorization)
    if init_data is None or len(init_data) > MAX_INIT_DATA:
        raise AuthError(AuthProblem.MISSING, default)
    token = settings.bot_token.get_secret_value() if settings.bot_token else ""
    try:
        parsed = safe_parse_webapp_init_data(token, init_data)
    except Exception:
        logger.info("refused a Mini App request: initData does not verify")
        raise AuthError(AuthProblem.FORGED, _guess_locale(init_data, default)) from None
    locale = _guess_locale(init_data, default)
    if parsed.user is None:
        raise AuthError(AuthProblem.FORGED, locale)
    issued = parsed.auth_date
    if issued.tzinfo is None:
        issued = issued.replace(tzinfo=UTC)
    age = now - issued
    if age > timedelta(seconds=settings.webapp_auth_max_age_seconds) or age < -FUTURE_SKEW:
        raise AuthError(AuthProblem.STALE, locale)
    allowed = settings.allowed_user_ids
    if allowed and parsed.user.id not in allowed:
        logger.info("refused a Mini App request from user %s: not allowed", parsed.user.id)
        raise AuthError(AuthProblem.NOT_ALLOWED, locale)
    return parsed


async def authenticate(
    authorization: str | None, *, settings: Settings, users: UserRepo, clock: Clock
) -> WebAppUser:
    """The user behind a request: verified launch data plus their stored settings."""
    parsed = verify_init_data(authorization, settings=settings, now=clock.now())
    launch_user = parsed.user
    assert launch_user is not None  # verify_init_data refuses a launch without one
    profile = await users.get(launch_user.id)
    telegram_name = " ".join(
        part for part in (launch_user.first_name, launch_user.last_name) if part
    )
    if profile is None:
        return WebAppUser(
            id=launch_user.id,
            name=telegram_name or f"id{launch_user.id}",
            locale=pick_language(None, launch_user.language_code, settings.default_language),
            tz=settings.timezone,
            morning_hour=DEFAULT_MORNING_HOUR,
            known=False,
        )
    return WebAppUser(
        id=profile.id,
        name=telegram_name or profile.display_name,
        locale=pick_language(
            profile.language, launch_user.language_code, settings.default_language
        ),
        tz=user_zone(profile.timezone, settings.timezone),
        morning_hour=profile.morning_hour,
        known=True,
    )
