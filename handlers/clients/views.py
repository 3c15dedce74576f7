"""What the clients feature draws: the card, the list of clients, a field's prompt."""

from __future__ import annotations

from aiogram import html
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.text import NAME_LIMIT
from bot.views.keyboards import list_keyboard
from bot.views.render import client_card, shorten
from bot.views.replies import edit_or_send
from handlers.clients.keyboards import card_keyboard
from storage.interfaces import ClientRepo, NoteRepo, TaskRepo
from storage.models import Client, ClientStatus

CLIENTS_PAGE_SIZE = 25
CARD_TASKS = 10
CARD_NOTES = 3


def field_prompt(field: str) -> str:
    prompts = {
        "name": _("New name for the client:"),
        "contact_person": _("Contact person (name, role):"),
        "phone": _("Phone number, e.g. +7 900 000-00-00:"),
        "email": _("Email:"),
        "report_cadence": _("Report cadence, e.g. “monthly report on the 1st”:"),
        "emergency_contact": _("Whom to call in an emergency (name and phone):"),
        "contact_telegram": _("The contact's Telegram: @username or numeric id (forwards from "
                              "them are attached to this client):"),
    }
    if field == "name":
        return prompts[field] + "\n" + _("/cancel to stop.")
    return prompts[field] + "\n" + _("Send - to clear it, /cancel to stop.")


async def send_card(
    target: Message | CallbackQuery,
    client: Client,
    tasks: TaskRepo,
    notes: NoteRepo,
    user: UserContext,
    clock: Clock,
) -> None:
    """The card with its open tasks and latest notes: a new message, or the pressed one."""
    open_tasks = await tasks.open_for_client(user.id, client.id, CARD_TASKS)
    text = client_card(
        client, open_tasks, user.tz, user.locale, clock.now(),
        notes=await notes.latest(user.id, client.id, offset=0, limit=CARD_NOTES),
        last_contact=await notes.last_contact(user.id, client.id),
    )
    if len(open_tasks) == CARD_TASKS:
        more = await tasks.count_open_for_client(user.id, client.id) - CARD_TASKS
        if more > 0:
            text += "\n" + _("…and {count} more: /week, /overdue, /nodate").format(count=more)
    await edit_or_send(target, text, card_keyboard(client))


async def clients_list(
    user: UserContext, clients: ClientRepo, page: int
) -> tuple[str, InlineKeyboardMarkup | None]:
    """One page of /clients (a page out of range shows the nearest one)."""
    total = await clients.count(user.id)
    if total == 0:
        return _("No clients yet. Add one: /newclient Acme"), None
    pages = (total + CLIENTS_PAGE_SIZE - 1) // CLIENTS_PAGE_SIZE
    page = min(max(page, 0), pages - 1)
    rows = await clients.list_summaries(
        user.id, offset=page * CLIENTS_PAGE_SIZE, limit=CLIENTS_PAGE_SIZE
    )
    lines = [html.bold(_("Clients: {count}").format(count=total))]
    for summary in rows:
        client = summary.client
        mark = "🗄 " if client.status is ClientStatus.FORMER else ""
        line = f"{mark}{html.quote(shorten(client.name, NAME_LIMIT))}"
        if summary.open_tasks:
            line += " · " + _("open tasks: {count}").format(count=summary.open_tasks)
        lines.append(line)
    lines.append("")
    lines.append(_("Open a card: /client name"))
    return "\n".join(lines), list_keyboard("clients", page, pages, [])
