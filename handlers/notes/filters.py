"""Filters that load what a note button names, so its handler never checks by hand."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery, Message

from bot.callbacks import NoteAction, NotesPage
from bot.context import UserContext
from handlers.notes.media import MEDIA_ICONS
from storage.interfaces import Storage
from storage.models import Note


class OwnNote(Filter):
    """The pressing user's own note named by the button's id, handed over as ``note``.

    False (the press then falls to ``button_expired``) when it is gone or someone else's.
    """

    async def __call__(
        self, query: CallbackQuery, callback_data: NoteAction, repos: Storage, user: UserContext
    ) -> bool | dict[str, Any]:
        note = await repos.notes.get(user.id, callback_data.id)
        return False if note is None else {"note": note}


class MediaNote(Filter):
    """After OwnNote: the note has a file the bot can send back."""

    async def __call__(self, query: CallbackQuery, note: Note) -> bool:
        return bool(note.file_id) and note.media_type in MEDIA_ICONS


class ButtonMessage(Filter):
    """The message the button is on, still accessible, handed over as ``button_message``
    (replies that need a Message, not a press, go to its chat)."""

    async def __call__(self, query: CallbackQuery) -> bool | dict[str, Any]:
        if not isinstance(query.message, Message):
            return False
        return {"button_message": query.message}


class NotesScope(Filter):
    """A /notes page of all notes, or of a client that is still the user's own."""

    async def __call__(
        self, query: CallbackQuery, callback_data: NotesPage, repos: Storage, user: UserContext
    ) -> bool:
        if not callback_data.client:
            return True
        return await repos.clients.get(user.id, callback_data.client) is not None
