"""Keyboards only notes use."""

from __future__ import annotations

from collections.abc import Sequence

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import NoteAction, NoteOp, NotesPage
from bot.views.keyboards import BUTTON_TEXT_LIMIT
from bot.views.render import shorten
from handlers.notes.media import media_label
from storage.models import Client, Note


def _button(text: str, op: NoteOp, note: Note, arg: int = 0) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=text, callback_data=NoteAction(op=op, id=note.id, arg=arg).pack()
    )


def note_keyboard(note: Note, recent: Sequence[Client]) -> InlineKeyboardMarkup:
    """Under a saved note: the recent clients (if it has none yet), another client, make a
    task, delete."""
    rows: list[list[InlineKeyboardButton]] = []
    if note.client_id is None:
        rows += [
            [
                _button("👤 " + shorten(client.name, BUTTON_TEXT_LIMIT), NoteOp.CLIENT, note,
                        client.id)
                for client in recent[index : index + 2]
            ]
            for index in range(0, len(recent), 2)
        ]
    rows.append(
        [
            _button(
                _("👤 Other client…") if note.client_id is None else _("👤 Another client"),
                NoteOp.OTHER, note,
            ),
            _button(_("📌 Make a task"), NoteOp.TASK, note),
            _button(_("🗑 Delete"), NoteOp.DELETE, note),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def notes_keyboard(
    shown: Sequence[Note], client_id: int, page: int, pages: int
) -> InlineKeyboardMarkup | None:
    """Under /notes: ▶️ to send each media note back, three to a row, then the pages."""
    resend = [
        _button(f"{media_label(note)} ▶️ N{note.id}", NoteOp.SEND, note)
        for note in shown
        if note.file_id
    ]
    rows = [resend[index : index + 3] for index in range(0, len(resend), 3)]
    nav = []
    if page > 0:
        nav.append(InlineKeyboardButton(
            text="◀️", callback_data=NotesPage(client=client_id, page=page - 1).pack()
        ))
    if page + 1 < pages:
        nav.append(InlineKeyboardButton(
            text="▶️", callback_data=NotesPage(client=client_id, page=page + 1).pack()
        ))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
