"""What the notes feature writes: a saved note's line and a page of /notes."""

from __future__ import annotations

from aiogram import html
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.views.render import note_line
from handlers.notes.keyboards import notes_keyboard
from handlers.notes.media import media_label
from storage.interfaces import NoteRepo
from storage.models import Note

NOTES_PAGE = 10


def saved_text(note: Note) -> str:
    head = "📝 " + (
        _("Note saved → {client}").format(client=html.quote(note.client_name))
        if note.client_name
        else _("Note saved.")
    )
    details = [media_label(note)] if note.media_type else []
    if note.forward_from:
        details.append(_("forwarded from {sender}").format(sender=html.quote(note.forward_from)))
    if note.task_id is not None:
        details.append(_("about the task"))
    return head + (" " + " · ".join(details) if details else "")


async def notes_list(
    user: UserContext, notes: NoteRepo, clock: Clock, client_id: int, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of /notes, all of them or one client's (client_id 0: all)."""
    scope = client_id or None
    total = await notes.count(user.id, scope)
    if not total:
        return _("No notes yet. Send any text and it becomes a note."), None
    pages = (total + NOTES_PAGE - 1) // NOTES_PAGE
    page = min(max(page, 0), pages - 1)
    shown = await notes.latest(user.id, scope, offset=page * NOTES_PAGE, limit=NOTES_PAGE)
    header = _("📝 Notes: {count}").format(count=total)
    if scope is not None and shown and shown[0].client_name:
        header += f" · {html.quote(shown[0].client_name)}"
    lines = [html.bold(header)]
    lines += [
        note_line(note, user.tz, user.locale, clock.now(), with_client=scope is None)
        for note in shown
    ]
    return "\n\n".join(lines), notes_keyboard(shown, client_id, page, pages)
