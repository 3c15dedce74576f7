"""/newclient, /clients, /client, /alias, and the buttons that open or create a card."""

from __future__ import annotations

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ClientAction, ClientOp, ListPage
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.text import NAME_LIMIT, clean_line
from bot.pending import remember_name
from bot.services.catalog import Services
from bot.settings import Settings
from bot.views.board_button import BOARD, with_board_button
from bot.views.keyboards import client_pick_keyboard, single_button
from bot.views.names import unresolved_client
from bot.views.render import quoted, shorten
from bot.views.replies import edit_or_send
from handlers.clients.states import ClientForm
from handlers.clients.views import clients_list, send_card
from storage.errors import DuplicateClientError
from storage.interfaces import ClientRepo, NoteRepo, Storage, TaskRepo
from storage.models import Client

PENDING_KEY = "card"  # where the name behind "➕ Create" waits (bot.pending)
RECENT_PICKS = 8


async def create_client(
    message: Message, name: str, clients: ClientRepo, user: UserContext, clock: Clock
) -> Client | None:
    """Create and confirm; explain a bad or duplicate name. None when nothing was created."""
    name = clean_line(name)
    if not name:
        await message.answer(_("A client needs a name. Example: /newclient Acme"))
        return None
    if len(name) > NAME_LIMIT:
        await message.answer(
            _("That name is too long ({length} characters); the limit is {limit}.").format(
                length=len(name), limit=NAME_LIMIT
            )
        )
        return None
    try:
        client = await clients.create(user.id, name, clock.now())
    except DuplicateClientError:
        existing = await clients.match(user.id, name)
        stored = existing[0].name if existing else name
        await message.answer(
            _("You already have a client {name}.").format(name=quoted(stored)),
            reply_markup=single_button(
                _("Open the card"), ClientAction(op=ClientOp.OPEN, id=existing[0].id).pack()
            )
            if existing
            else None,
        )
        return None
    return client


async def confirm_created(
    message: Message,
    client: Client,
    tasks: TaskRepo,
    notes: NoteRepo,
    user: UserContext,
    clock: Clock,
) -> None:
    await message.answer(_("✅ Client {name} added.").format(name=quoted(client.name)))
    await send_card(message, client, tasks, notes, user, clock)


async def ask_client_name(message: Message, state: FSMContext) -> None:
    """/newclient alone: the next text is the name."""
    await state.set_state(ClientForm.name)
    await message.answer(_("What is the client's name? (/cancel to stop)"))


async def new_client(
    message: Message,
    command: CommandObject,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
) -> None:
    """/newclient Acme"""
    client = await create_client(message, command.args or "", repos.clients, user, clock)
    if client is not None:
        await confirm_created(message, client, services.tasks, repos.notes, user, clock)


async def new_client_name(
    message: Message,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    """The name typed after a bare /newclient; a bad one is explained and asked again."""
    client = await create_client(message, message.text or "", repos.clients, user, clock)
    if client is not None:
        await state.set_state(None)
        await confirm_created(message, client, services.tasks, repos.notes, user, clock)


async def add_alias(
    message: Message,
    command: CommandObject,
    repos: Storage,
    user: UserContext,
    clock: Clock,
) -> None:
    """/alias Acme АКМЕ (or "Acme Corp: АКМЕ"): another name notes and #tags know it by."""
    args = clean_line(command.args or "")
    if ":" in args:
        name, _sep, alias = args.partition(":")
    else:
        name, _sep, alias = args.rpartition(" ")
    name, alias = name.strip(), alias.strip()
    if not name or not alias or len(alias) > NAME_LIMIT:
        await message.answer(_("Write the client and another name for it: /alias Acme АКМЕ"))
        return
    found = await repos.clients.match(user.id, name)
    if len(found) != 1:
        await message.answer(unresolved_client(name, found))
        return
    try:
        updated = await repos.clients.add_alias(user.id, found[0].id, alias, clock.now())
    except DuplicateClientError:
        await message.answer(_("{alias} already names a client.").format(alias=quoted(alias)))
        return
    if updated is not None:
        await message.answer(
            _("{client} is also {alias} now: notes with it and #{tag} go to this client.")
            .format(client=quoted(updated.name), alias=quoted(alias),
                    tag=html.quote(alias.replace(" ", "_")))
        )


async def list_clients(
    message: Message, repos: Storage, user: UserContext, settings: Settings
) -> None:
    text, keyboard = await clients_list(user, repos.clients, 0)
    await message.answer(
        text, reply_markup=with_board_button(keyboard, settings.public_origin, BOARD)
    )


async def clients_page(
    query: CallbackQuery, callback_data: ListPage, repos: Storage, user: UserContext,
    settings: Settings,
) -> None:
    text, keyboard = await clients_list(user, repos.clients, callback_data.page)
    await edit_or_send(query, text, with_board_button(keyboard, settings.public_origin, BOARD))


async def show_client(
    message: Message,
    command: CommandObject,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    """/client name: the one card, a choice among several, or an offer to create it."""
    name = clean_line(command.args or "")
    if not name:
        await pick_recent(message, repos.clients, user)
        return
    found = await repos.clients.match(user.id, name)
    if len(found) == 1:
        await send_card(message, found[0], services.tasks, repos.notes, user, clock)
    elif found:
        await message.answer(
            _("Several clients start with {name}. Which one?").format(name=quoted(name)),
            reply_markup=client_pick_keyboard(found, "card"),
        )
    else:
        await offer_create(message, name[:NAME_LIMIT], state)


async def pick_recent(message: Message, clients: ClientRepo, user: UserContext) -> None:
    """/client alone: the clients touched last, as buttons."""
    recent = await clients.recent(user.id, RECENT_PICKS)
    if not recent:
        await message.answer(_("No clients yet. Add one: /newclient Acme"))
        return
    await message.answer(
        _("Which client? Or send /client and a name."),
        reply_markup=client_pick_keyboard(recent, "card"),
    )


async def offer_create(message: Message, name: str, state: FSMContext) -> None:
    """No such client: a button creates it (the name waits in the state, not the button)."""
    await remember_name(state, PENDING_KEY, name)
    await message.answer(
        _("No client {name}. Create it?").format(name=quoted(name)),
        reply_markup=single_button(
            _("➕ Create {name}").format(name=quoted(shorten(name, 40))),
            ClientAction(op=ClientOp.CREATE, id=0).pack(),
        ),
    )


async def create_from_button(
    query: CallbackQuery,
    name: str,
    button_message: Message,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
) -> None:
    """➕ Create under "No client …": the name comes from PendingName."""
    client = await create_client(button_message, name, repos.clients, user, clock)
    if client is not None:
        await send_card(query, client, services.tasks, repos.notes, user, clock)


async def open_picked(
    query: CallbackQuery,
    client: Client,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
) -> None:
    """A client picked among several (or the recent ones): its card."""
    await send_card(query, client, services.tasks, repos.notes, user, clock)
