"""The notes feature's router: which update goes to which handler.

bot.app includes this router last but one: its plain-text handler takes any text no other
feature wanted (only the fallback router comes after it).
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter

from bot.callbacks import NoteAction, NoteOp, NotesPage
from handlers.buttons import answer_presses, button_expired
from handlers.notes import actions, commands
from handlers.notes.filters import ButtonMessage, MediaNote, NotesScope, OwnNote
from handlers.notes.find import find
from handlers.notes.states import NoteForm

_TYPED = (F.text, ~F.text.startswith("/"))  # text, not a command


def create_router() -> Router:
    router = Router(name=__name__)
    message, button = router.message.register, router.callback_query.register

    message(commands.note_command, Command("note"))
    message(commands.note_client_typed, StateFilter(NoteForm.client), *_TYPED)
    message(commands.notes_command, Command("notes"))
    message(find, Command("find"))
    router.edited_message.register(commands.note_edited, F.text)
    # Last among this router's message handlers: text and media nobody else wanted.
    message(commands.plain_text, *_TYPED)
    message(commands.media_note, F.voice | F.audio | F.photo | F.document | F.video
            | F.video_note)

    own = OwnNote()  # stateless: one instance serves every registration
    button(actions.restore, NoteAction.filter(F.op == NoteOp.RESTORE))
    button(actions.attach_client, NoteAction.filter(F.op == NoteOp.CLIENT), own)
    button(actions.ask_client, NoteAction.filter(F.op == NoteOp.OTHER), own)
    button(actions.make_task, NoteAction.filter(F.op == NoteOp.TASK), own, ButtonMessage())
    button(actions.send_back, NoteAction.filter(F.op == NoteOp.SEND), own, MediaNote())
    button(actions.delete, NoteAction.filter(F.op == NoteOp.DELETE), own)
    button(commands.notes_page, NotesPage.filter(), NotesScope())

    # Whatever the filters above refused: gone, someone else's, or no longer applicable.
    button(button_expired, NoteAction.filter())
    button(button_expired, NotesPage.filter())
    return answer_presses(router)
