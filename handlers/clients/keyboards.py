"""Keyboards only a client card uses (pickers shared with tasks stay in bot.views.keyboards)."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import ClientAction, ClientOp
from bot.views.render import channel_label
from storage.models import Channel, Client, ClientStatus


def _button(text: str, op: ClientOp, client: Client, arg: str = "") -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=ClientAction(op=op, id=client.id, arg=arg).pack()
    )


def card_keyboard(client: Client) -> InlineKeyboardMarkup:
    def edit(label: str, field: str) -> InlineKeyboardButton:
        return _button(label, ClientOp.EDIT, client, field)

    status_button = (
        _button(_("🗄 Mark former"), ClientOp.FORMER, client)
        if client.status is ClientStatus.ACTIVE
        else _button(_("♻️ Mark active"), ClientOp.ACTIVE, client)
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [_button(_("➕ Add task"), ClientOp.TASK, client)],
            [edit(_("Contact"), "contact_person"), edit(_("Phone"), "phone"),
             edit(_("Email"), "email")],
            [
                _button(_("Channel"), ClientOp.CHANNEL, client),
                edit(_("Cadence"), "report_cadence"),
                edit(_("Emergency"), "emergency_contact"),
            ],
            [
                edit(_("Telegram"), "contact_telegram"),
                _button(_("B2B / B2C"), ClientOp.SEGMENT, client),
                edit(_("Rename"), "name"),
            ],
            [status_button, _button(_("🗑 Delete"), ClientOp.DELETE, client)],
        ]
    )


def channel_keyboard(client: Client) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for channel in Channel:
        mark = "• " if channel is client.channel else ""
        builder.button(
            text=mark + channel_label(channel),
            callback_data=ClientAction(op=ClientOp.SET_CHANNEL, id=client.id, arg=channel.value),
        )
    builder.button(
        text=_("« Back"), callback_data=ClientAction(op=ClientOp.OPEN, id=client.id)
    )
    builder.adjust(2)
    return builder.as_markup()


def delete_keyboard(client: Client) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("🗑 Yes, delete"), ClientOp.DELETE_YES, client),
                _button(_("« Back"), ClientOp.OPEN, client),
            ]
        ]
    )
