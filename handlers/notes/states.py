"""The notes feature's dialogs."""

from __future__ import annotations

from aiogram.fsm.state import State, StatesGroup


class NoteForm(StatesGroup):
    client = State()  # "👤 Other client…": the next text names the note's client
