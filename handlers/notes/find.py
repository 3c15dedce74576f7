"""/find words: clients, tasks and notes that contain them, with the words highlighted."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import PickClient, TaskAction, TaskOp
from bot.context import UserContext
from bot.domain.text import clean_line
from bot.services.catalog import Services
from bot.views.keyboards import BUTTON_TEXT_LIMIT
from bot.views.render import KIND_ICONS, highlight, quoted, shorten
from bot.views.replies import send_long
from storage.interfaces import ClientRepo, NoteRepo, Storage, TaskRepo
from storage.models import MIN_SEARCH_WORD, Client, Note, SearchKind, Task

FIND_LIMIT = 30
QUERY_LIMIT = 200
TASK_BUTTONS = 10  # #number buttons, five to a row
MAX_ROWS = 20


@dataclass
class Found:
    """What the search found, in its order, grouped by kind."""

    clients: list[Client] = field(default_factory=list)
    tasks: list[Task] = field(default_factory=list)
    notes: list[Note] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.clients or self.tasks or self.notes)


async def search(
    words: list[str], clients: ClientRepo, notes: NoteRepo, tasks: TaskRepo, user: UserContext
) -> Found:
    hits = await notes.search(user.id, words, FIND_LIMIT)
    note_hits = await notes.get_many(
        user.id, [hit.ref_id for hit in hits if hit.kind is SearchKind.NOTE]
    )
    found = Found()
    for hit in hits:
        if hit.kind is SearchKind.CLIENT:
            client = await clients.get(user.id, hit.ref_id)
            if client is not None:
                found.clients.append(client)
        elif hit.kind is SearchKind.TASK:
            task = await tasks.get(user.id, hit.ref_id)
            if task is not None:
                found.tasks.append(task)
        elif hit.ref_id in note_hits:
            found.notes.append(note_hits[hit.ref_id])
    return found


def _client_lines(
    found: list[Client], words: list[str]
) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    lines = ["", html.bold(_("Clients"))]
    rows = []
    for client in found:
        lines.append("👤 " + highlight(client.name, words))
        rows.append([InlineKeyboardButton(
            text="👤 " + shorten(client.name, BUTTON_TEXT_LIMIT),
            callback_data=PickClient(purpose="card", id=client.id).pack(),
        )])
    return lines, rows


def _task_lines(
    found: list[Task], words: list[str]
) -> tuple[list[str], list[list[InlineKeyboardButton]]]:
    lines = ["", html.bold(_("Tasks"))]
    for task in found:
        prefix = f"{html.quote(task.client_name)} — " if task.client_name else ""
        done = "✅ " if task.status.value == "done" else ""
        lines.append(
            f"{done}{KIND_ICONS[task.kind]} {prefix}{highlight(shorten(task.text), words)}"
            f"  <code>#{task.number}</code>"
        )
    rows = [
        [
            InlineKeyboardButton(
                text=f"#{task.number}", callback_data=TaskAction(op=TaskOp.EDIT, id=task.id).pack()
            )
            for task in found[index : index + 5]
        ]
        for index in range(0, min(len(found), TASK_BUTTONS), 5)
    ]
    return lines, rows


def _note_lines(found: list[Note], words: list[str]) -> list[str]:
    lines = ["", html.bold(_("Notes"))]
    for note in found:
        who = f"{html.quote(note.client_name)}: " if note.client_name else ""
        lines.append(f"📝 {who}{highlight(shorten(note.text, 200), words)}")
    return lines


def found_view(
    query_text: str, words: list[str], found: Found
) -> tuple[str, InlineKeyboardMarkup | None]:
    lines = [html.bold(_("🔎 Found for {query}:").format(query=quoted(query_text)))]
    rows: list[list[InlineKeyboardButton]] = []
    if found.clients:
        client_lines, client_rows = _client_lines(found.clients, words)
        lines += client_lines
        rows += client_rows
    if found.tasks:
        task_lines, task_rows = _task_lines(found.tasks, words)
        lines += task_lines
        rows += task_rows
    if found.notes:
        lines += _note_lines(found.notes, words)
    markup = InlineKeyboardMarkup(inline_keyboard=rows[:MAX_ROWS]) if rows else None
    return "\n".join(lines), markup


async def find(
    message: Message,
    command: CommandObject,
    repos: Storage,
    services: Services,
    user: UserContext,
) -> None:
    query_text = clean_line(command.args or "")[:QUERY_LIMIT]
    words = query_text.split()
    if not words:
        await message.answer(_("What to look for? Example: /find бюджет январь"))
        return
    if not any(len(word) >= MIN_SEARCH_WORD for word in re.findall(r"\w+", query_text)):
        await message.answer(_("Type at least two letters of a word."))
        return
    found = await search(words, repos.clients, repos.notes, services.tasks, user)
    if not found:
        await message.answer(_("Nothing found for {query}.").format(query=quoted(query_text)))
        return
    text, markup = found_view(query_text, words, found)
    await send_long(message, text, markup)
