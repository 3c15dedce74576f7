"""Filters that load what a client button names, so its handler never checks by hand."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ClientAction, PickClient
from bot.context import UserContext
from bot.pending import recall_name
from storage.interfaces import Storage

# The card's fields a button may ask to edit (ClientAction.arg of the edit op).
FIELDS = frozenset({
    "name", "contact_person", "phone", "email", "report_cadence", "emergency_contact",
    "contact_telegram",
})


class OwnClient(Filter):
    """The pressing user's own client named by the button's id, handed over as ``client``.

    False (the press then falls to ``button_expired``) when it is gone or someone else's.
    """

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: ClientAction | PickClient,
        repos: Storage,
        user: UserContext,
    ) -> bool | dict[str, Any]:
        client = await repos.clients.get(user.id, callback_data.id)
        return False if client is None else {"client": client}


class PendingName(Filter):
    """The name waiting behind a "➕ Create" button (bot.pending), handed over as ``name``,
    with the message the button is on as ``button_message`` (new replies go to its chat).

    False when a restart forgot the name or the message is no longer accessible.
    """

    def __init__(self, key: str) -> None:
        self.key = key

    async def __call__(self, query: CallbackQuery, state: FSMContext) -> bool | dict[str, Any]:
        name = await recall_name(state, self.key)
        if name is None or not isinstance(query.message, Message):
            return False
        return {"name": name, "button_message": query.message}
