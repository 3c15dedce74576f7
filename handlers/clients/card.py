"""The client card's buttons, one handler each. ``OwnClient`` has loaded ``client``.

A press answers through ``callback_answer`` (handlers.buttons): empty unless said otherwise.
"""

from __future__ import annotations

from aiogram import html
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ClientAction, ClientOp
from bot.clock import Clock
from bot.context import UserContext
from bot.services.catalog import Services
from bot.views.keyboards import single_button
from bot.views.render import client_card, quoted
from bot.views.replies import edit_or_send
from handlers.buttons import button_expired
from handlers.clients.keyboards import channel_keyboard, delete_keyboard
from handlers.clients.states import ClientForm
from handlers.clients.views import field_prompt, send_card
from storage.errors import DuplicateClientError
from storage.interfaces import NoteRepo, Storage, TaskRepo
from storage.models import Channel, Client, ClientStatus, Segment


async def open_card(
    query: CallbackQuery,
    client: Client,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
) -> None:
    """« Back, Open the card."""
    await send_card(query, client, services.tasks, repos.notes, user, clock)


async def ask_field(
    query: CallbackQuery,
    callback_data: ClientAction,
    client: Client,
    user: UserContext,
    state: FSMContext,
) -> None:
    """Contact, Phone, Rename…: the next text is the field's value (handlers.clients.fields)."""
    await state.set_state(ClientForm.field)
    await state.update_data(client_id=client.id, field=callback_data.arg)
    if query.message is not None and query.bot is not None:
        await query.bot.send_message(
            user.id, html.bold(html.quote(client.name)) + "\n" + field_prompt(callback_data.arg)
        )


async def choose_channel(
    query: CallbackQuery, client: Client, user: UserContext, clock: Clock
) -> None:
    """Channel: the card's text with the channels as buttons."""
    await edit_or_send(
        query, client_card(client, [], user.tz, user.locale, clock.now()), channel_keyboard(client)
    )


async def show_changed(
    query: CallbackQuery,
    changed: Client | None,
    callback_answer: CallbackAnswer,
    tasks: TaskRepo,
    notes: NoteRepo,
    user: UserContext,
    clock: Clock,
) -> None:
    """The card after a change; None: the client went away in between."""
    if changed is None:
        await button_expired(query, callback_answer)
        return
    await send_card(query, changed, tasks, notes, user, clock)


async def set_channel(
    query: CallbackQuery,
    callback_data: ClientAction,
    client: Client,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """A channel picked (the filter let only a known one through)."""
    channel = Channel(callback_data.arg)
    changed = await repos.clients.set_field(
        user.id, client.id, "channel", channel.value, clock.now()
    )
    await show_changed(query, changed, callback_answer, services.tasks, repos.notes, user, clock)


async def toggle_segment(
    query: CallbackQuery,
    client: Client,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """B2B / B2C."""
    segment = Segment.B2C if client.segment is Segment.B2B else Segment.B2B
    changed = await repos.clients.set_field(
        user.id, client.id, "segment", segment.value, clock.now()
    )
    await show_changed(query, changed, callback_answer, services.tasks, repos.notes, user, clock)


async def mark_former(
    query: CallbackQuery,
    client: Client,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """🗄 Mark former."""
    changed = await repos.clients.set_status(
        user.id, client.id, ClientStatus.FORMER, clock.now()
    )
    await show_changed(query, changed, callback_answer, services.tasks, repos.notes, user, clock)


async def mark_active(
    query: CallbackQuery,
    client: Client,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """♻️ Mark active."""
    changed = await repos.clients.set_status(
        user.id, client.id, ClientStatus.ACTIVE, clock.now()
    )
    await show_changed(query, changed, callback_answer, services.tasks, repos.notes, user, clock)


async def ask_delete(
    query: CallbackQuery, client: Client, services: Services, user: UserContext
) -> None:
    """🗑 Delete: asks first, saying how many open tasks go with it."""
    count = await services.tasks.count_open_for_client(user.id, client.id)
    await edit_or_send(
        query,
        _("Delete {name} and its open tasks ({count})? You can undo it right after.")
        .format(name=quoted(client.name), count=count),
        delete_keyboard(client),
    )


async def delete(
    query: CallbackQuery,
    client: Client,
    repos: Storage,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """🗑 Yes, delete: gone with its tasks, ↩️ Undo offered."""
    if await repos.clients.delete(user.id, client.id, clock.now()) is None:
        await button_expired(query, callback_answer)
        return
    await edit_or_send(
        query,
        _("🗑 Client {name} deleted with its tasks.").format(name=quoted(client.name)),
        single_button(_("↩️ Undo"), ClientAction(op=ClientOp.RESTORE, id=client.id).pack()),
    )


async def restore(
    query: CallbackQuery,
    callback_data: ClientAction,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    """↩️ Undo after a delete (no OwnClient: the client is deleted until this brings it back)."""
    try:
        client = await repos.clients.restore(user.id, callback_data.id, clock.now())
    except DuplicateClientError:
        callback_answer.text = _("A client with this name exists again; rename it first.")
        callback_answer.show_alert = True
        return
    if client is None:
        await button_expired(query, callback_answer)
        return
    callback_answer.text = _("Restored.")
    await send_card(query, client, services.tasks, repos.notes, user, clock)
