"""/note, /notes and their pages, a client typed for a note, and text that becomes a note."""

from __future__ import annotations

from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import NotesPage
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.task_input import split_client_prefix
from bot.domain.text import NAME_LIMIT, clean_line, clean_text
from bot.services.catalog import Services
from bot.views.names import unresolved_client
from bot.views.replies import edit_or_send, send_long
from handlers.notes.capture import capture
from handlers.notes.keyboards import note_keyboard
from handlers.notes.views import notes_list, saved_text
from storage.interfaces import Storage


async def note_command(
    message: Message,
    command: CommandObject,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
) -> None:
    """/note Acme: text (the same as sending the text, but a command is explicit)."""
    text = clean_text(command.args or "")
    if not text or split_client_prefix(text)[1] == "":
        # "/note Ромашка:" is a client and no note: an empty note helps nobody.
        await message.answer(
            _("Write the note after the command: <code>/note Acme: wants SMM in "
              "January</code>. Or just send any text: it becomes a note.")
        )
        return
    await capture(
        message, text, clients=repos.clients, notes=repos.notes, tasks=services.tasks,
        user=user, clock=clock,
    )


async def note_client_typed(
    message: Message,
    repos: Storage,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    """The client's name typed after "👤 Other client…"; not exactly one match asks again."""
    data = await state.get_data()
    note_id = data.get("note_id")
    note = await repos.notes.get(user.id, note_id) if isinstance(note_id, int) else None
    if note is None:
        await state.set_state(None)
        await message.answer(_("That note no longer exists."))
        return
    name = clean_line(message.text or "")[:NAME_LIMIT]
    found = await repos.clients.match(user.id, name) if name else []
    if len(found) != 1:
        await message.answer(unresolved_client(name, found))
        return
    attached = await repos.notes.set_client(user.id, note.id, found[0].id, clock.now())
    await state.set_state(None)
    if attached is not None:
        await message.answer(saved_text(attached), reply_markup=note_keyboard(attached, []))


async def notes_command(
    message: Message,
    command: CommandObject,
    repos: Storage,
    user: UserContext,
    clock: Clock,
) -> None:
    """/notes, or /notes Acme: the latest notes, a page at a time."""
    name = clean_line(command.args or "")
    client_id = 0
    if name:
        found = await repos.clients.match(user.id, name)
        if len(found) != 1:
            await message.answer(unresolved_client(name, found))
            return
        client_id = found[0].id
    text, markup = await notes_list(user, repos.notes, clock, client_id, 0)
    await send_long(message, text, markup)


async def notes_page(
    query: CallbackQuery,
    callback_data: NotesPage,
    repos: Storage,
    user: UserContext,
    clock: Clock,
) -> None:
    """◀️ ▶️ under /notes (NotesScope checked the client is still the user's)."""
    text, markup = await notes_list(
        user, repos.notes, clock, callback_data.client, callback_data.page
    )
    await edit_or_send(query, text, markup)


async def note_edited(message: Message, repos: Storage, user: UserContext, clock: Clock) -> None:
    """Editing the Telegram message edits the note it became."""
    note = await repos.notes.by_source_message(user.id, message.message_id)
    text = message.text or ""
    if note is None or text.startswith("/") or not text.strip():
        return
    # Kept exactly as typed, like the original; a "Client:" prefix is not note text.
    query, rest = split_client_prefix(text)
    if query and rest and note.client_id is not None and note.client_name and (
        query.casefold() == note.client_name.casefold()
    ):
        text = rest
    await repos.notes.set_text(user.id, note.id, text, clock.now())


async def plain_text(
    message: Message,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
) -> None:
    """Text nobody else wanted is a note, at once."""
    text = message.text or ""
    if text.strip():
        await capture(
            message, text, clients=repos.clients, notes=repos.notes, tasks=services.tasks,
            user=user, clock=clock,
        )


async def media_note(
    message: Message,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
) -> None:
    """A voice, photo, file or video is a note too; its caption is the text."""
    await capture(
        message, message.caption or "", clients=repos.clients, notes=repos.notes,
        tasks=services.tasks, user=user, clock=clock,
    )
