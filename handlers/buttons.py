"""Buttons: every press answered once, and a button whose object is gone answered plainly.

A feature's router calls :func:`answer_presses` once; its callback handlers then never call
``query.answer()``: they set ``callback_answer.text`` (and ``show_alert``) on the
``callback_answer`` keyword argument, and the press is answered when the handler returns.
A loading filter (one per feature, e.g. the user's own task by the button's id) hands the
object to the handler or returns False; :func:`button_expired`, registered last for the
feature's callback data, then tells the user the button no longer works.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import Router
from aiogram.dispatcher.flags import get_flag
from aiogram.types import CallbackQuery, TelegramObject
from aiogram.utils.callback_answer import CallbackAnswer, CallbackAnswerMiddleware
from aiogram.utils.i18n import gettext as _


class AnswerPressMiddleware(CallbackAnswerMiddleware):
    """aiogram's CallbackAnswerMiddleware, except when the handler raises: then the error
    handler answers the press ("something went wrong", as an alert); an empty answer first
    would use up the one answer Telegram accepts and the user would see nothing."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        if not isinstance(event, CallbackQuery):
            return await handler(event, data)
        answer = data["callback_answer"] = self.construct_callback_answer(
            properties=get_flag(data, "callback_answer"),
        )
        if not answer.disabled and answer.answered:  # pre=True: answered before the handler
            await self.answer(event, answer)
        result = await handler(event, data)
        if not answer.disabled and not answer.answered:
            await self.answer(event, answer)
        return result


def answer_presses(router: Router) -> Router:
    """Every button press handled by this router is answered once, after its handler."""
    router.callback_query.middleware(AnswerPressMiddleware())
    return router


async def button_expired(query: CallbackQuery, callback_answer: CallbackAnswer) -> None:
    """The button's object is gone, is not the user's, or the action no longer applies."""
    del query  # the answer goes through callback_answer
    callback_answer.text = _("This button is no longer valid.")
    callback_answer.show_alert = True
