"""Last-resort error handling: log with the update id, tell the user, never go silent.

A failed button press is still unanswered when it gets here (handlers.buttons leaves it so):
the one answer Telegram accepts for it is the alert below.
"""

from __future__ import annotations

import logging
from typing import Any

from aiogram import Bot, Router
from aiogram.filters import ExceptionTypeFilter
from aiogram.types import ErrorEvent, Update
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.context import UserContext
from bot.i18n import mark, pick_language
from storage.errors import StorageError
from storage.faults import StorageFault, describe, storage_fault

logger = logging.getLogger(__name__)


def _telegram_language(update: Update) -> str | None:
    """The sender's Telegram language, for errors raised before the user was loaded."""
    for event in (update.message, update.callback_query):
        if event is not None and event.from_user is not None:
            return event.from_user.language_code
    return None


def _faulted_storage(event: ErrorEvent) -> dict[str, Any] | bool:
    """Filter: the database cannot take the request now (disk full, read-only, unreachable,
    a conflicting writer): a StorageFaultError, whichever backend raised it."""
    fault = storage_fault(event.exception)
    return {"fault": fault} if fault is not None else False


async def _tell_user(
    event: ErrorEvent, bot: Bot, i18n: I18n, user: UserContext | None, message: str
) -> None:
    """Answer in the user's language; the error arrives outside the locale middleware."""
    update = event.update
    locale = (
        user.locale
        if user is not None
        else pick_language(None, _telegram_language(update), i18n.default_locale)
    )
    with i18n.context(), i18n.use_locale(locale):
        text = _(message)
    try:
        if update.callback_query is not None:  # the press's one answer: this alert
            await bot.answer_callback_query(update.callback_query.id, text, show_alert=True)
        elif update.message is not None:
            await bot.send_message(update.message.chat.id, text)
    except Exception:  # the user may be unreachable; the log line below is what matters
        logger.warning("could not report an error to the user of update %s", update.update_id)


async def storage_unavailable(
    event: ErrorEvent,
    bot: Bot,
    i18n: I18n,
    fault: StorageFault,
    user: UserContext | None = None,
) -> None:
    # An incident, not a bug: one line, no traceback. The transaction was rolled back.
    logger.error(
        "storage unavailable (%s) in update %s: %s",
        fault,
        event.update.update_id,
        describe(event.exception),
    )
    await _tell_user(
        event, bot, i18n, user,
        mark(
            "⚠️ Could not save that: the bot's storage is not accepting changes right "
            "now. Please try again in a few minutes."
        ),
    )


async def storage_failed(
    event: ErrorEvent, bot: Bot, i18n: I18n, user: UserContext | None = None
) -> None:
    logger.error(
        "storage error in update %s: %s", event.update.update_id, describe(event.exception)
    )
    await _tell_user(event, bot, i18n, user, mark("⚠️ Could not save that. Please try again."))


async def unexpected(
    event: ErrorEvent, bot: Bot, i18n: I18n, user: UserContext | None = None
) -> None:
    logger.exception(
        "unhandled error in update %s", event.update.update_id, exc_info=event.exception
    )
    await _tell_user(
        event, bot, i18n, user, mark("⚠️ Something went wrong on my side. Please try again.")
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.errors.register(storage_unavailable, _faulted_storage)
    router.errors.register(storage_failed, ExceptionTypeFilter(StorageError))
    router.errors.register(unexpected)
    return router
