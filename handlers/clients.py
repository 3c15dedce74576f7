"""Client cards: /newclient, /clients, /client and the card's buttons."""

from __future__ import annotations

import re

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ClientAction, ListPage, PickClient
from bot.clock import Clock
from bot.context import UserContext
from bot.keyboards import (
    channel_keyboard,
    client_card_keyboard,
    client_pick_keyboard,
    list_keyboard,
    single_button,
)
from bot.pending import recall_name, remember_name
from bot.services.contacts import is_email, is_phone
from bot.services.recurrence import describe
from bot.services.render import client_card, format_moment, quoted, shorten
from bot.services.series import SeriesService
from bot.services.text import FIELD_LIMIT, NAME_LIMIT, clean_line
from handlers.replies import edit_or_send, stale_button, unresolved_client
from storage.errors import DuplicateClientError
from storage.interfaces import ClientRepo, NoteRepo, TaskRepo
from storage.models import Channel, Client, ClientStatus, Segment

CLIENTS_PAGE_SIZE = 25
CARD_TASKS = 10
CARD_NOTES = 3
_CLEAR = {"-", "—", "–"}
_TELEGRAM = re.compile(r"^(@?[A-Za-z][A-Za-z0-9_]{4,31}|\d{5,15})$")


class ClientForm(StatesGroup):
    name = State()
    field = State()


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
    user: UserContext,
    clock: Clock,
    notes: NoteRepo,
) -> None:
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
    await edit_or_send(target, text, client_card_keyboard(client))


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
                _("Open the card"), ClientAction(op="open", id=existing[0].id).pack()
            )
            if existing
            else None,
        )
        return None
    return client


async def cadence_note(
    client: Client, cadence: str | None, series: SeriesService, user: UserContext, clock: Clock
) -> str:
    """Keep the cadence's recurring task in step with the card, and say what happened."""
    synced = await series.sync_cadence(
        client, cadence, tz=user.tz, morning_hour=user.morning_hour, default_text=_("report")
    )
    if synced is None:
        if not cadence:
            return _("No cadence: its recurring task is stopped.")
        return "ℹ️ " + _(
            "Kept as text. For reminders, write it as a schedule, e.g. "
            "«отчёт 1 числа каждого месяца», «созвон каждый понедельник в 11», "
            "“report every month on the 1st”."
        )
    created, first = synced
    text = "🔁 " + _("Cadence → recurring task: {text} — {rule}.").format(
        text=quoted(created.text), rule=describe(created.rule, user.locale)
    )
    if first is not None and first.due_at is not None:
        text += "\n" + _("Next: {moment}, task #{number}.").format(
            moment=format_moment(first.due_at, user.tz, user.locale, clock.now()),
            number=first.number,
        )
    return text


async def confirm_created(
    message: Message,
    client: Client,
    tasks: TaskRepo,
    user: UserContext,
    clock: Clock,
    notes: NoteRepo,
) -> None:
    await message.answer(_("✅ Client {name} added.").format(name=quoted(client.name)))
    await send_card(message, client, tasks, user, clock, notes)


def create_router() -> Router:
    router = Router(name=__name__)

    @router.message(Command("newclient"))
    async def new_client(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        if not command.args or not command.args.strip():
            await state.set_state(ClientForm.name)
            await message.answer(_("What is the client's name? (/cancel to stop)"))
            return
        client = await create_client(message, command.args, clients, user, clock)
        if client is not None:
            await confirm_created(message, client, tasks, user, clock, notes)

    @router.message(StateFilter(ClientForm.name), F.text, ~F.text.startswith("/"))
    async def new_client_name(
        message: Message,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        client = await create_client(message, message.text or "", clients, user, clock)
        if client is not None:
            await state.set_state(None)
            await confirm_created(message, client, tasks, user, clock, notes)

    async def render_clients(user: UserContext, clients: ClientRepo, page: int) -> (
        tuple[str, InlineKeyboardMarkup | None]
    ):
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

    @router.message(Command("alias"))
    async def add_alias(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        args = clean_line(command.args or "")
        if ":" in args:
            name, _sep, alias = args.partition(":")
        else:
            name, _sep, alias = args.rpartition(" ")
        name, alias = name.strip(), alias.strip()
        if not name or not alias or len(alias) > NAME_LIMIT:
            await message.answer(_("Write the client and another name for it: /alias Acme АКМЕ"))
            return
        found = await clients.match(user.id, name)
        if len(found) != 1:
            await message.answer(unresolved_client(name, found))
            return
        try:
            updated = await clients.add_alias(user.id, found[0].id, alias, clock.now())
        except DuplicateClientError:
            await message.answer(
                _("{alias} already names a client.").format(alias=quoted(alias))
            )
            return
        if updated is not None:
            await message.answer(
                _("{client} is also {alias} now: notes with it and #{tag} go to this client.")
                .format(client=quoted(updated.name), alias=quoted(alias),
                        tag=html.quote(alias.replace(" ", "_")))
            )

    @router.message(Command("clients"))
    async def list_clients(message: Message, clients: ClientRepo, user: UserContext) -> None:
        text, keyboard = await render_clients(user, clients, 0)
        await message.answer(text, reply_markup=keyboard)

    @router.callback_query(ListPage.filter(F.view == "clients"))
    async def clients_page(
        query: CallbackQuery, callback_data: ListPage, clients: ClientRepo, user: UserContext
    ) -> None:
        text, keyboard = await render_clients(user, clients, callback_data.page)
        await query.answer()
        await edit_or_send(query, text, keyboard)

    @router.message(Command("client"))
    async def show_client(
        message: Message,
        command: CommandObject,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        name = clean_line(command.args or "")
        if not name:
            recent = await clients.recent(user.id, 8)
            if not recent:
                await message.answer(_("No clients yet. Add one: /newclient Acme"))
                return
            await message.answer(
                _("Which client? Or send /client and a name."),
                reply_markup=client_pick_keyboard(recent, "card"),
            )
            return
        found = await clients.match(user.id, name)
        if len(found) == 1:
            await send_card(message, found[0], tasks, user, clock, notes)
        elif found:
            await message.answer(
                _("Several clients start with {name}. Which one?").format(name=quoted(name)),
                reply_markup=client_pick_keyboard(found, "card"),
            )
        else:
            name = name[:NAME_LIMIT]
            await remember_name(state, "card", name)
            await message.answer(
                _("No client {name}. Create it?").format(name=quoted(name)),
                reply_markup=single_button(
                    _("➕ Create {name}").format(name=quoted(shorten(name, 40))),
                    ClientAction(op="create", id=0).pack(),
                ),
            )

    @router.callback_query(ClientAction.filter(F.op == "create"))
    async def create_from_button(
        query: CallbackQuery,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        name = await recall_name(state, "card")
        if name is None or not isinstance(query.message, Message):
            await stale_button(query)
            return
        await query.answer()
        client = await create_client(query.message, name, clients, user, clock)
        if client is not None:
            await send_card(query, client, tasks, user, clock, notes)

    @router.callback_query(PickClient.filter(F.purpose == "card"))
    async def open_picked(
        query: CallbackQuery,
        callback_data: PickClient,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        client = await clients.get(user.id, callback_data.id)
        if client is None:
            await stale_button(query)
            return
        await query.answer()
        await send_card(query, client, tasks, user, clock, notes)

    @router.callback_query(ClientAction.filter(F.op.in_({"open", "edit", "channel", "setchannel",
                                                         "segment", "former", "active",
                                                         "delete", "delete_yes"})))
    async def card_action(
        query: CallbackQuery,
        callback_data: ClientAction,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        client = await clients.get(user.id, callback_data.id)
        if client is None:
            await stale_button(query)
            return
        op, now = callback_data.op, clock.now()
        updated: Client | None = client
        if op == "edit":
            if callback_data.arg not in {
                "name", "contact_person", "phone", "email", "report_cadence", "emergency_contact",
                "contact_telegram",
            }:
                await stale_button(query)
                return
            await state.set_state(ClientForm.field)
            await state.update_data(client_id=client.id, field=callback_data.arg)
            await query.answer()
            if query.message is not None and query.bot is not None:
                await query.bot.send_message(
                    user.id,
                    html.bold(html.quote(client.name)) + "\n" + field_prompt(callback_data.arg),
                )
            return
        if op == "channel":
            await query.answer()
            await edit_or_send(query, client_card(client, [], user.tz, user.locale, now),
                               channel_keyboard(client))
            return
        if op == "setchannel":
            if callback_data.arg not in {channel.value for channel in Channel}:
                await stale_button(query)
                return
            updated = await clients.set_field(user.id, client.id, "channel", callback_data.arg,
                                              now)
        elif op == "segment":
            segment = Segment.B2C if client.segment is Segment.B2B else Segment.B2B
            updated = await clients.set_field(user.id, client.id, "segment", segment.value, now)
        elif op in {"former", "active"}:
            status = ClientStatus.FORMER if op == "former" else ClientStatus.ACTIVE
            updated = await clients.set_status(user.id, client.id, status, now)
        elif op == "delete":
            count = await tasks.count_open_for_client(user.id, client.id)
            await query.answer()
            await edit_or_send(
                query,
                _("Delete {name} and its open tasks ({count})? You can undo it right after.")
                .format(name=quoted(client.name), count=count),
                InlineKeyboardMarkup(
                    inline_keyboard=[
                        [
                            InlineKeyboardButton(
                                text=_("🗑 Yes, delete"),
                                callback_data=ClientAction(op="delete_yes", id=client.id).pack(),
                            ),
                            InlineKeyboardButton(
                                text=_("« Back"),
                                callback_data=ClientAction(op="open", id=client.id).pack(),
                            ),
                        ]
                    ]
                ),
            )
            return
        elif op == "delete_yes":
            deleted = await clients.delete(user.id, client.id, now)
            if deleted is None:
                await stale_button(query)
                return
            await query.answer()
            await edit_or_send(
                query,
                _("🗑 Client {name} deleted with its tasks.").format(name=quoted(client.name)),
                single_button(_("↩️ Undo"), ClientAction(op="restore", id=client.id).pack()),
            )
            return
        if updated is None:
            await stale_button(query)
            return
        await query.answer()
        await send_card(query, updated, tasks, user, clock, notes)

    @router.callback_query(ClientAction.filter(F.op == "restore"))
    async def restore_client(
        query: CallbackQuery,
        callback_data: ClientAction,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        try:
            client = await clients.restore(user.id, callback_data.id, clock.now())
        except DuplicateClientError:
            await query.answer(
                _("A client with this name exists again; rename it first."), show_alert=True
            )
            return
        if client is None:
            await stale_button(query)
            return
        await query.answer(_("Restored."))
        await send_card(query, client, tasks, user, clock, notes)

    @router.message(StateFilter(ClientForm.field), F.text, ~F.text.startswith("/"))
    async def field_value(
        message: Message,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        series: SeriesService,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        data = await state.get_data()
        client_id, field = data.get("client_id"), data.get("field")
        if not isinstance(client_id, int) or not isinstance(field, str):
            await state.set_state(None)
            await message.answer(_("That edit has expired. Open the card again."))
            return
        value: str | None = clean_line(message.text or "")
        limit = NAME_LIMIT if field == "name" else FIELD_LIMIT
        if value in _CLEAR:
            if field == "name":
                await message.answer(_("A client needs a name. Send a new name or /cancel."))
                return
            value = None
        elif not value:
            await message.answer(field_prompt(field))
            return
        elif len(value) > limit:
            await message.answer(
                _("Too long ({length} characters); the limit is {limit}. Try again.").format(
                    length=len(value), limit=limit
                )
            )
            return
        elif field == "email" and not is_email(value):
            await message.answer(
                _("That does not look like an email: {value}. Try again or /cancel.").format(
                    value=quoted(value)
                )
            )
            return
        elif field == "contact_telegram" and not _TELEGRAM.match(value):
            await message.answer(
                _("That is not a Telegram account: {value}. Send @username or a numeric id, "
                  "or /cancel.").format(value=quoted(value))
            )
            return
        elif field == "phone" and not is_phone(value):
            await message.answer(
                _("That does not look like a phone number: {value}. It needs at least 5 "
                  "digits; spaces, + - ( ), “доб. 12” and several numbers are fine. "
                  "Try again or /cancel.").format(value=quoted(value))
            )
            return
        try:
            client = await clients.set_field(user.id, client_id, field, value, clock.now())
        except DuplicateClientError:
            await message.answer(
                _("You already have a client {name}. Send another name or /cancel.").format(
                    name=quoted(value or "")
                )
            )
            return
        await state.set_state(None)
        if client is None:
            await message.answer(_("That client no longer exists."))
            return
        await message.answer(_("Saved."))
        if field == "report_cadence":
            await message.answer(await cadence_note(client, value, series, user, clock))
        await send_card(message, client, tasks, user, clock, notes)

    return router

