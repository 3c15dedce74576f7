"""Saving a note: first (nothing is lost whatever happens next), then finding its client."""

from __future__ import annotations

import re

from aiogram.types import Message, MessageOriginHiddenUser, MessageOriginUser

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.task_input import split_client_prefix
from bot.domain.text import name_words
from handlers.notes.keyboards import note_keyboard
from handlers.notes.media import media_of
from handlers.notes.views import saved_text
from storage.interfaces import ClientRepo, NoteRepo, TaskRepo
from storage.models import Client, Task

RECENT_CLIENTS = 4  # offered as buttons under a note without a client
_TAG = re.compile(r"(?<!\w)#(\w{2,64})")
_TASK_REF = re.compile(r"#(\d{1,9})\b")
_CARD_HEAD = "👤 "


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
    The client, in order: the prefix or a #tag, the contact a forward came from, the task or
    the client card the message replies to.
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
    recent = [] if client else await clients.recent(user.id, RECENT_CLIENTS)
    await message.answer(saved_text(note), reply_markup=note_keyboard(note, recent))
