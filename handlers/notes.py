"""Quick capture: any plain text is a note at once; /note, /notes, /find, edits follow."""

from __future__ import annotations

import re

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    CallbackQuery,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)
from aiogram.utils.i18n import gettext as _

from bot.callbacks import NoteAction, NotesPage, PickClient, TaskAction
from bot.clock import Clock
from bot.context import UserContext
from bot.keyboards import BUTTON_TEXT_LIMIT, single_button
from bot.services.dates import DateParser
from bot.services.kinds import detect_kind
from bot.services.render import KIND_ICONS, highlight, note_line, quoted, shorten
from bot.services.task_input import split_client_prefix
from bot.services.text import NAME_LIMIT, TASK_TEXT_LIMIT, clean_line, clean_text, name_words
from bot.views.tasks import save_task
from handlers.replies import edit_or_send, send_long, stale_button, unresolved_client
from storage.interfaces import ClientRepo, NoteRepo, TaskRepo
from storage.models import MIN_SEARCH_WORD, Client, Note, NoteMedia, SearchKind, Task

NOTE_LIMIT = 4000  # one Telegram message; longer texts arrive as several messages anyway
NOTES_PAGE = 10
FIND_LIMIT = 30
_TAG = re.compile(r"(?<!\w)#(\w{2,64})")


class NoteForm(StatesGroup):
    client = State()


def note_keyboard(note: Note, recent: list[Client]) -> InlineKeyboardMarkup:
    rows: list[list[InlineKeyboardButton]] = []
    if note.client_id is None:
        rows += [
            [
                InlineKeyboardButton(
                    text="👤 " + shorten(client.name, BUTTON_TEXT_LIMIT),
                    callback_data=NoteAction(op="client", id=note.id, arg=client.id).pack(),
                )
                for client in recent[index : index + 2]
            ]
            for index in range(0, len(recent), 2)
        ]
    rows.append(
        [
            InlineKeyboardButton(
                text=_("👤 Other client…") if note.client_id is None else _("👤 Another client"),
                callback_data=NoteAction(op="other", id=note.id).pack(),
            ),
            InlineKeyboardButton(
                text=_("📌 Make a task"), callback_data=NoteAction(op="task", id=note.id).pack()
            ),
            InlineKeyboardButton(
                text=_("🗑 Delete"), callback_data=NoteAction(op="delete", id=note.id).pack()
            ),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


MEDIA_ICONS = {
    "voice": "🎤", "audio": "🎵", "photo": "🖼", "document": "📎", "video": "🎬",
    "video_note": "⏺",
}


def media_of(message: Message) -> NoteMedia:
    """File, kind, length and size of a media message, and where a forward came from."""
    media_type: str | None = None
    file_id: str | None = None
    duration: int | None = None
    size: int | None = None
    if message.voice:
        media_type, file_id = "voice", message.voice.file_id
        duration, size = message.voice.duration, message.voice.file_size
    elif message.audio:
        media_type, file_id = "audio", message.audio.file_id
        duration, size = message.audio.duration, message.audio.file_size
    elif message.photo:
        largest = message.photo[-1]
        media_type, file_id, size = "photo", largest.file_id, largest.file_size
    elif message.document:
        media_type, file_id = "document", message.document.file_id
        size = message.document.file_size
    elif message.video:
        media_type, file_id = "video", message.video.file_id
        duration, size = message.video.duration, message.video.file_size
    elif message.video_note:
        media_type, file_id = "video_note", message.video_note.file_id
        duration, size = message.video_note.duration, message.video_note.file_size
    origin = message.forward_origin
    forward_from = None
    if isinstance(origin, MessageOriginUser):
        forward_from = origin.sender_user.full_name
    elif isinstance(origin, MessageOriginHiddenUser):
        forward_from = origin.sender_user_name
    elif isinstance(origin, MessageOriginChat):
        forward_from = origin.sender_chat.title or _("a chat")
    elif isinstance(origin, MessageOriginChannel):
        forward_from = origin.chat.title or _("a channel")
    return NoteMedia(
        media_type=media_type, file_id=file_id, duration=duration, file_size=size,
        forward_from=forward_from, forward_date=origin.date if origin is not None else None,
    )


def media_label(note: Note) -> str:
    if note.media_type is None:
        return ""
    label = MEDIA_ICONS.get(note.media_type, "📎")
    if note.duration:
        label += f" {note.duration // 60}:{note.duration % 60:02}"
    return label


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


def names_by_words(query: str, client: Client) -> bool:
    """The query is the client's name or alias, or its first whole words."""
    words = name_words(query)
    return any(name_words(name)[: len(words)] == words for name in (client.name, *client.aliases))


async def resolve_prefix(text: str, clients: ClientRepo, user: UserContext) -> (
    tuple[Client | None, str]
):
    """A leading "Client:" or a #tag naming exactly one client attaches the note.

    Unlike /task, a plain note's "Word:" must name the client by whole words ("Acme:" for
    "Acme Corp", not "Итог:" for "Итоговая"): people start notes with "Итог:", "Note:".
    """
    query, rest = split_client_prefix(text)
    if query and rest:
        found = await clients.match(user.id, query)
        if len(found) == 1 and names_by_words(query, found[0]):
            return found[0], rest
    for tag in _TAG.findall(text):
        found = await clients.match(user.id, tag.replace("_", " "))
        if len(found) == 1:
            return found[0], text
    return None, text


async def forward_client(message: Message, clients: ClientRepo, user: UserContext) -> (
    Client | None
):
    """The client whose contact sent the forwarded message, by Telegram account or name."""
    origin = message.forward_origin
    if isinstance(origin, MessageOriginUser):
        sender = origin.sender_user
        handles = [str(sender.id), sender.username or ""]
        return await clients.by_telegram(user.id, handles) or await clients.by_contact_name(
            user.id, sender.full_name
        )
    if isinstance(origin, MessageOriginHiddenUser):
        return await clients.by_contact_name(user.id, origin.sender_user_name)
    return None


_TASK_REF = re.compile(r"#(\d{1,9})\b")
_CARD_HEAD = "👤 "


def _replied_bot_text(message: Message) -> str | None:
    replied = message.reply_to_message
    if replied is None or replied.from_user is None or not replied.from_user.is_bot:
        return None
    return replied.text or replied.caption


async def replied_task(message: Message, tasks: TaskRepo, user: UserContext) -> Task | None:
    """A reply to the bot's task card, reminder or list line names the task by its #number."""
    text = _replied_bot_text(message)
    numbers = _TASK_REF.findall(text or "")
    if len(set(numbers)) != 1:
        return None  # none, or a list of several: which one is meant is unclear
    return await tasks.get_by_number(user.id, int(numbers[0]))


async def replied_client(message: Message, clients: ClientRepo, user: UserContext) -> (
    Client | None
):
    """A reply to a client card ("👤 Acme ...") attaches to that client."""
    text = _replied_bot_text(message)
    if not text or not text.startswith(_CARD_HEAD):
        return None
    name = text[len(_CARD_HEAD) :].split("\n", 1)[0].split(" · ", 1)[0]
    found = await clients.match(user.id, name)
    return found[0] if len(found) == 1 else None


async def capture(
    message: Message,
    text: str,
    *,
    clients: ClientRepo,
    notes: NoteRepo,
    tasks: TaskRepo,
    user: UserContext,
    clock: Clock,
) -> None:
    """Save first (nothing is lost whatever happens next), then offer what to do with it.

    The text is kept exactly as sent; only a leading "Client:" that attached it is taken off.
    """
    media = media_of(message)
    client, body = await resolve_prefix(text, clients, user)
    if client is None and media.forward_from is not None:
        client = await forward_client(message, clients, user)
    task = await replied_task(message, tasks, user)
    if client is None and task is not None and task.client_id is not None:
        client = await clients.get(user.id, task.client_id)
    if client is None and task is None:
        client = await replied_client(message, clients, user)
    note = await notes.create(
        user.id, text=body, client_id=client.id if client else None,
        source_message_id=message.message_id, now=clock.now(), media=media,
        task_id=task.id if task else None,
    )
    recent = [] if client else await clients.recent(user.id, 4)
    await message.answer(saved_text(note), reply_markup=note_keyboard(note, recent))


async def send_media(bot: Bot, chat_id: int, note: Note) -> None:
    """Send a media note back by its Telegram file_id, with its caption."""
    assert note.file_id is not None
    caption = note.text[:1024] or None
    if note.media_type == "voice":
        await bot.send_voice(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.media_type == "audio":
        await bot.send_audio(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.media_type == "photo":
        await bot.send_photo(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.media_type == "video":
        await bot.send_video(chat_id, note.file_id, caption=caption, parse_mode=None)
    elif note.media_type == "video_note":
        await bot.send_video_note(chat_id, note.file_id)
    else:
        await bot.send_document(chat_id, note.file_id, caption=caption, parse_mode=None)


def create_router() -> Router:
    router = Router(name=__name__)

    @router.message(Command("note"))
    async def note_command(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
        notes: NoteRepo,
        tasks: TaskRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        text = clean_text(command.args or "")
        if not text or split_client_prefix(text)[1] == "":
            # "/note Ромашка:" is a client and no note: an empty note helps nobody.
            await message.answer(
                _("Write the note after the command: <code>/note Acme: wants SMM in "
                  "January</code>. Or just send any text: it becomes a note.")
            )
            return
        await capture(
            message, text, clients=clients, notes=notes, tasks=tasks, user=user, clock=clock
        )

    @router.callback_query(NoteAction.filter())
    async def note_button(
        query: CallbackQuery,
        callback_data: NoteAction,
        clients: ClientRepo,
        notes: NoteRepo,
        tasks: TaskRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
        dates: DateParser,
    ) -> None:
        op = callback_data.op
        if op == "restore":
            restored = await notes.restore(user.id, callback_data.id, clock.now())
            if restored is None:
                await stale_button(query)
                return
            await query.answer(_("Restored."))
            recent = [] if restored.client_id else await clients.recent(user.id, 4)
            await edit_or_send(query, saved_text(restored), note_keyboard(restored, recent))
            return
        note = await notes.get(user.id, callback_data.id)
        if note is None:
            await stale_button(query)
            return
        if op == "client":
            attached = await notes.set_client(user.id, note.id, callback_data.arg, clock.now())
            if attached is None:
                await stale_button(query)
                return
            await query.answer()
            await edit_or_send(query, saved_text(attached), note_keyboard(attached, []))
        elif op == "other":
            await state.set_state(NoteForm.client)
            await state.update_data(note_id=note.id)
            await query.answer()
            if query.bot is not None:
                await query.bot.send_message(
                    user.id, _("Which client is the note about? Type a name. /cancel to stop.")
                )
        elif op == "task":
            if not isinstance(query.message, Message):
                await stale_button(query)
                return
            # The moment in the note ("позвонить завтра в 10") becomes the task's time.
            line = clean_line(note.text)
            when = dates.split(
                line, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour,
                locale=user.locale,
            )
            text = (when.text if when is not None else line)[:TASK_TEXT_LIMIT]
            text = text or _("task from a note")
            await query.answer()
            await save_task(
                query.message, tasks=tasks, clients=clients, user=user, clock=clock,
                state=state, client_id=note.client_id, client_query=None, text=text,
                kind=detect_kind(text), due=when.due if when is not None else None,
            )
        elif op == "send":
            if not note.file_id or note.media_type not in MEDIA_ICONS or query.bot is None:
                await stale_button(query)
                return
            await query.answer()
            await send_media(query.bot, user.id, note)
        elif op == "delete":
            await notes.delete(user.id, note.id, clock.now())
            await query.answer()
            await edit_or_send(
                query, "🗑 " + _("Note deleted."),
                single_button(_("↩️ Undo"), NoteAction(op="restore", id=note.id).pack()),
            )
        else:
            await stale_button(query)

    @router.message(StateFilter(NoteForm.client), F.text, ~F.text.startswith("/"))
    async def note_client_typed(
        message: Message,
        clients: ClientRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        data = await state.get_data()
        note_id = data.get("note_id")
        note = await notes.get(user.id, note_id) if isinstance(note_id, int) else None
        if note is None:
            await state.set_state(None)
            await message.answer(_("That note no longer exists."))
            return
        name = clean_line(message.text or "")[:NAME_LIMIT]
        found = await clients.match(user.id, name) if name else []
        if len(found) != 1:
            await message.answer(unresolved_client(name, found))
            return
        attached = await notes.set_client(user.id, note.id, found[0].id, clock.now())
        await state.set_state(None)
        if attached is not None:
            await message.answer(saved_text(attached), reply_markup=note_keyboard(attached, []))

    async def render_notes(
        user: UserContext, notes: NoteRepo, clock: Clock, client_id: int, page: int
    ) -> tuple[str, InlineKeyboardMarkup | None]:
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
        nav = []
        if page > 0:
            nav.append(InlineKeyboardButton(
                text="◀️", callback_data=NotesPage(client=client_id, page=page - 1).pack()
            ))
        if page + 1 < pages:
            nav.append(InlineKeyboardButton(
                text="▶️", callback_data=NotesPage(client=client_id, page=page + 1).pack()
            ))
        resend = [
            InlineKeyboardButton(
                text=f"{media_label(note)} ▶️ N{note.id}",
                callback_data=NoteAction(op="send", id=note.id).pack(),
            )
            for note in shown
            if note.file_id
        ]
        rows = [resend[index : index + 3] for index in range(0, len(resend), 3)]
        if nav:
            rows.append(nav)
        markup = InlineKeyboardMarkup(inline_keyboard=rows) if rows else None
        return "\n\n".join(lines), markup

    @router.message(Command("notes"))
    async def notes_command(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        name = clean_line(command.args or "")
        client_id = 0
        if name:
            found = await clients.match(user.id, name)
            if len(found) != 1:
                await message.answer(unresolved_client(name, found))
                return
            client_id = found[0].id
        text, markup = await render_notes(user, notes, clock, client_id, 0)
        await send_long(message, text, markup)

    @router.callback_query(NotesPage.filter())
    async def notes_page(
        query: CallbackQuery,
        callback_data: NotesPage,
        clients: ClientRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        if callback_data.client and await clients.get(user.id, callback_data.client) is None:
            await stale_button(query)
            return
        text, markup = await render_notes(
            user, notes, clock, callback_data.client, callback_data.page
        )
        await query.answer()
        await edit_or_send(query, text, markup)

    @router.message(Command("find"))
    async def find(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
        notes: NoteRepo,
        tasks: TaskRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        query_text = clean_line(command.args or "")[:200]
        words = query_text.split()
        if not words:
            await message.answer(_("What to look for? Example: /find бюджет январь"))
            return
        if not any(len(word) >= MIN_SEARCH_WORD for word in re.findall(r"\w+", query_text)):
            await message.answer(_("Type at least two letters of a word."))
            return
        hits = await notes.search(user.id, words, FIND_LIMIT)
        note_hits = await notes.get_many(
            user.id, [hit.ref_id for hit in hits if hit.kind is SearchKind.NOTE]
        )
        found_clients, found_tasks, found_notes = [], [], []
        for hit in hits:
            if hit.kind is SearchKind.CLIENT:
                client = await clients.get(user.id, hit.ref_id)
                if client is not None:
                    found_clients.append(client)
            elif hit.kind is SearchKind.TASK:
                task = await tasks.get(user.id, hit.ref_id)
                if task is not None:
                    found_tasks.append(task)
            elif hit.ref_id in note_hits:
                found_notes.append(note_hits[hit.ref_id])
        if not (found_clients or found_tasks or found_notes):
            await message.answer(
                _("Nothing found for {query}.").format(query=quoted(query_text))
            )
            return
        lines = [html.bold(_("🔎 Found for {query}:").format(query=quoted(query_text)))]
        rows: list[list[InlineKeyboardButton]] = []
        if found_clients:
            lines += ["", html.bold(_("Clients"))]
            for client in found_clients:
                lines.append("👤 " + highlight(client.name, words))
                rows.append([InlineKeyboardButton(
                    text="👤 " + shorten(client.name, BUTTON_TEXT_LIMIT),
                    callback_data=PickClient(purpose="card", id=client.id).pack(),
                )])
        if found_tasks:
            lines += ["", html.bold(_("Tasks"))]
            for task in found_tasks:
                prefix = f"{html.quote(task.client_name)} — " if task.client_name else ""
                done = "✅ " if task.status.value == "done" else ""
                lines.append(
                    f"{done}{KIND_ICONS[task.kind]} {prefix}{highlight(shorten(task.text), words)}"
                    f"  <code>#{task.number}</code>"
                )
            rows += [
                [
                    InlineKeyboardButton(
                        text=f"#{task.number}",
                        callback_data=TaskAction(op="edit", id=task.id).pack(),
                    )
                    for task in found_tasks[index : index + 5]
                ]
                for index in range(0, min(len(found_tasks), 10), 5)
            ]
        if found_notes:
            lines += ["", html.bold(_("Notes"))]
            for note in found_notes:
                who = f"{html.quote(note.client_name)}: " if note.client_name else ""
                lines.append(f"📝 {who}{highlight(shorten(note.text, 200), words)}")
        await send_long(
            message, "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows[:20])
            if rows else None,
        )

    @router.edited_message(F.text)
    async def note_edited(
        message: Message, notes: NoteRepo, user: UserContext, clock: Clock
    ) -> None:
        """Editing the Telegram message edits the note it became."""
        note = await notes.by_source_message(user.id, message.message_id)
        text = message.text or ""
        if note is None or text.startswith("/") or not text.strip():
            return
        # Kept exactly as typed, like the original; a "Client:" prefix is not note text.
        query, rest = split_client_prefix(text)
        if query and rest and note.client_id is not None and note.client_name and (
            query.casefold() == note.client_name.casefold()
        ):
            text = rest
        await notes.set_text(user.id, note.id, text, clock.now())

    # Registered last among message handlers of this router: text nobody else wanted.
    @router.message(F.text, ~F.text.startswith("/"))
    async def plain_text(
        message: Message,
        clients: ClientRepo,
        notes: NoteRepo,
        tasks: TaskRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        text = message.text or ""
        if text.strip():
            await capture(
            message, text, clients=clients, notes=notes, tasks=tasks, user=user, clock=clock
        )

    @router.message(F.voice | F.audio | F.photo | F.document | F.video | F.video_note)
    async def media_note(
        message: Message,
        clients: ClientRepo,
        notes: NoteRepo,
        tasks: TaskRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        await capture(
            message, message.caption or "", clients=clients, notes=notes, tasks=tasks,
            user=user, clock=clock,
        )

    return router
