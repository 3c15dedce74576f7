"""The clients feature's dialogs."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class ClientForm(StatesGroup):
    name = State()  # /newclient without a name: the next text is the name
    field = State()  # a card's field button: the next text is the field's value
