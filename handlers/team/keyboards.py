"""The team feature's keyboards."""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

from bot.callbacks import TeamAction, TeamOp
from bot.views.render import shorten
from storage.models import UserProfile


def people_keyboard(people: list[UserProfile], op: TeamOp) -> InlineKeyboardMarkup:
    """One button per teammate; the Teammate filter re-checks the id against the team."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(
                text=shorten(person.display_name, 40),
                callback_data=TeamAction(op=op, id=person.id).pack(),
            )]
            for person in people
        ]
    )
