"""/forget_me: delete everything the user keeps here, after a question answered by button.

A button answers only the latest question, asked of the user who presses it, within
FORGET_VALID: an old question's or a forwarded one's "Delete everything" changes nothing.
"""

from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from aiogram import Bot
from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ForgetAction, ForgetOp
from bot.clock import Clock
from bot.context import UserContext
from bot.settings import Settings
from bot.views.handovers import tell_handover_partners
from bot.views.replies import edit_or_send
from storage.errors import StorageError
from storage.interfaces import Storage

logger = logging.getLogger(__name__)

FORGET_KEY = "forget_me"
FORGET_VALID = timedelta(minutes=10)


def forget_keyboard(user_id: int, nonce: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🗑 Delete everything"),
                    callback_data=ForgetAction(op=ForgetOp.YES, uid=user_id, nonce=nonce).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Keep my data"),
                    callback_data=ForgetAction(op=ForgetOp.NO, uid=user_id, nonce=nonce).pack(),
                ),
            ]
        ]
    )


class CurrentQuestion(Filter):
    """The button is the latest /forget_me question's, asked of this user, not long ago."""

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: ForgetAction,
        user: UserContext,
        state: FSMContext,
        clock: Clock,
    ) -> bool:
        if callback_data.uid != user.id:
            return False
        pending = (await state.get_data()).get(FORGET_KEY)
        if not isinstance(pending, dict) or pending.get("nonce") != callback_data.nonce:
            return False
        try:
            asked = datetime.fromisoformat(str(pending.get("at")))
        except ValueError:
            return False
        return timedelta(0) <= clock.now() - asked <= FORGET_VALID


async def forget_me(
    message: Message, repos: Storage, user: UserContext, clock: Clock, state: FSMContext
) -> None:
    counts = await repos.user_data.counts(user.id)
    nonce = secrets.token_hex(4)
    await state.update_data({FORGET_KEY: {"nonce": nonce, "at": clock.now().isoformat()}})
    await message.answer(
        _(
            "This deletes everything you keep here, for good: clients {clients}, tasks "
            "{tasks}, notes {notes}, invoices {invoices}, with their reminders, recurring "
            "tasks and your settings. It cannot be undone. To keep a copy, send /export "
            "first."
        ).format(
            clients=counts.clients, tasks=counts.tasks, notes=counts.notes,
            invoices=counts.invoices,
        ),
        reply_markup=forget_keyboard(user.id, nonce),
    )


async def keep_data(query: CallbackQuery, state: FSMContext) -> None:
    data = await state.get_data()
    data.pop(FORGET_KEY, None)
    await state.set_data(data)
    await edit_or_send(query, _("Nothing was deleted."))


async def delete_everything(
    query: CallbackQuery, repos: Storage, user: UserContext, bot: Bot, i18n: I18n,
    settings: Settings, clock: Clock,
) -> None:
    # Their handovers go with their data: the other side of each is told, as at a removal.
    now = clock.now()
    ended = [
        handover for handover in await repos.teams.active_handovers(now)
        if user.id in (handover.owner_id, handover.to_user_id)
    ]
    leaver = await repos.users.get(user.id)
    try:
        await repos.user_data.forget(user.id)
    except StorageError:
        logger.exception("forget_me failed for a user")
        await edit_or_send(
            query,
            _("Nothing was deleted: some of your data is shared with others. Please "
              "tell the bot's administrator."),
        )
        return
    logger.info("a user's data was deleted on their request")
    if ended and leaver is not None:
        await tell_handover_partners(bot, i18n, settings, repos.users, ended, leaver)
    await edit_or_send(
        query,
        "🗑 " + _("Done: everything you kept here is deleted. If you write again, I start "
                  "from scratch."),
    )
