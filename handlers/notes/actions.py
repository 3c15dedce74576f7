"""A note's buttons, one handler each. ``OwnNote`` has loaded ``note``.

A press answers through ``callback_answer`` (handlers.buttons): empty unless said otherwise.
Every handler takes the press first, even one that needs only what the filters loaded:
aiogram passes the event as the first positional argument.
"""

from __future__ import annotations

from aiogram import Bot
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import NoteAction, NoteOp
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.dates import DateParser
from bot.domain.kinds import detect_kind
from bot.domain.text import TASK_TEXT_LIMIT, clean_line
from bot.services.catalog import Services
from bot.views.keyboards import single_button
from bot.views.replies import edit_or_send
from bot.views.tasks import save_task
from handlers.buttons import button_expired
from handlers.notes.capture import RECENT_CLIENTS
from handlers.notes.keyboards import note_keyboard
from handlers.notes.media import send_media
from handlers.notes.states import NoteForm
from handlers.notes.views import saved_text
from storage.interfaces import Storage
from storage.models import Note


async def attach_client(
    query: CallbackQuery,
    callback_data: NoteAction,
    note: Note,
    repos: Storage,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """👤 Acme under a note: the note is about that client (the button's arg)."""
    attached = await repos.notes.set_client(user.id, note.id, callback_data.arg, clock.now())
    if attached is None:  # the client is gone or not the user's
        await button_expired(query, callback_answer)
        return
    await edit_or_send(query, saved_text(attached), note_keyboard(attached, []))


async def ask_client(
    query: CallbackQuery, note: Note, bot: Bot, user: UserContext, state: FSMContext
) -> None:
    """👤 Other client…: the next text names it (commands.note_client_typed)."""
    await state.set_state(NoteForm.client)
    await state.update_data(note_id=note.id)
    await bot.send_message(
        user.id, _("Which client is the note about? Type a name. /cancel to stop.")
    )


async def make_task(
    query: CallbackQuery,
    button_message: Message,
    note: Note,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
    dates: DateParser,
) -> None:
    """📌 Make a task: the note's first line; a moment in it ("позвонить завтра в 10")
    becomes the task's time."""
    line = clean_line(note.text)
    when = dates.split(
        line, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour, locale=user.locale,
    )
    text = (when.text if when is not None else line)[:TASK_TEXT_LIMIT]
    text = text or _("task from a note")
    await save_task(
        button_message, tasks=services.tasks, clients=repos.clients, user=user, clock=clock,
        state=state, client_id=note.client_id, client_query=None, text=text,
        kind=detect_kind(text), due=when.due if when is not None else None,
    )


async def send_back(query: CallbackQuery, note: Note, bot: Bot, user: UserContext) -> None:
    """▶️ under /notes: the voice, photo or file itself (MediaNote checked it has one)."""
    await send_media(bot, user.id, note)


async def delete(
    query: CallbackQuery, note: Note, repos: Storage, user: UserContext, clock: Clock
) -> None:
    """🗑 Delete, with ↩️ Undo."""
    await repos.notes.delete(user.id, note.id, clock.now())
    await edit_or_send(
        query, "🗑 " + _("Note deleted."),
        single_button(_("↩️ Undo"), NoteAction(op=NoteOp.RESTORE, id=note.id).pack()),
    )


async def restore(
    query: CallbackQuery,
    callback_data: NoteAction,
    repos: Storage,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """↩️ Undo after a delete (no OwnNote: the note is deleted until this brings it back)."""
    restored = await repos.notes.restore(user.id, callback_data.id, clock.now())
    if restored is None:
        await button_expired(query, callback_answer)
        return
    callback_answer.text = _("Restored.")
    recent = [] if restored.client_id else await repos.clients.recent(user.id, RECENT_CLIENTS)
    await edit_or_send(query, saved_text(restored), note_keyboard(restored, recent))
