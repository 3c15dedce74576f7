"""The task card's buttons, one handler per TaskOp. ``OwnTask`` hands each its task; a press
it refuses, or an action the task no longer allows, is answered by ``button_expired``."""

from __future__ import annotations

from datetime import UTC, datetime

from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TaskAction, TaskOp
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.reminder_plan import ahead_minutes
from bot.pending import recall_name
from bot.services.catalog import Services
from bot.views.keyboards import client_pick_keyboard, single_button
from bot.views.quick_picks import resolve_quick_pick
from bot.views.render import plain_quoted, quoted, shorten, task_card
from bot.views.replies import edit_or_send
from bot.views.tasks import TaskForm, send_edit_card, send_task_card, when_examples
from handlers.buttons import button_expired
from handlers.tasks.keyboards import (
    ahead_keyboard,
    change_time_keyboard,
    kind_keyboard,
    task_without_client,
    undo_reschedule,
)
from storage.errors import DuplicateClientError
from storage.interfaces import ClientRepo, Storage
from storage.models import Client, Task, TaskKind


def _card_text(task: Task, user: UserContext, clock: Clock) -> str:
    """The card above a choice (time, kind, reminder ahead)."""
    return task_card(
        task, user.tz, user.locale, clock.now(), created=False,
        ahead_defaults=user.ahead_defaults,
    )


async def delete(
    query: CallbackQuery, task: Task, services: Services, user: UserContext, clock: Clock
) -> None:
    """🗑 Delete on the edit card, ↩️ Undo on a new task's card: deleted, with ↩️ Restore."""
    await services.tasks.delete(user.id, task.id, clock.now())
    await edit_or_send(
        query,
        _("🗑 Task #{number} deleted: {text}").format(
            number=task.number, text=quoted(shorten(task.text))
        ),
        single_button(_("↩️ Restore"), TaskAction(op=TaskOp.RESTORE, id=task.id).pack()),
    )


async def restore(
    query: CallbackQuery,
    callback_data: TaskAction,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    # No OwnTask: a deleted task is not loaded; restoring it is the owner-checked action.
    restored = await services.tasks.restore(user.id, callback_data.id, clock.now())
    if restored is None:
        await button_expired(query, callback_answer)
        return
    callback_answer.text = _("Restored.")
    await send_task_card(query, restored, user, clock, created=False)


async def ask_when(query: CallbackQuery, task: Task, user: UserContext, state: FSMContext) -> None:
    """Pick… among the quick times: the next text is this task's time."""
    await state.set_state(TaskForm.edit_when)
    await state.update_data(task_id=task.id, when_auto=False)
    if query.bot is not None:
        await query.bot.send_message(
            user.id,
            _("When should task #{number} be done?").format(number=task.number)
            + " " + when_examples() + "\n" + _("/cancel to stop."),
        )


async def when_picked(
    query: CallbackQuery,
    callback_data: TaskAction,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """A quick time (today evening, tomorrow morning…); ↩️ Undo then puts the old one back."""
    now = clock.now()
    due = resolve_quick_pick(callback_data.arg, user.tz, now, user.morning_hour)
    updated = await services.tasks.set_due(user.id, task.id, due, now) if due else None
    if updated is None:
        await button_expired(query, callback_answer)
        return
    await send_task_card(
        query, updated, user, clock, created=False, state=state,
        undo=undo_reschedule(task.id, task.due_at),
    )


async def undo_when(
    query: CallbackQuery,
    callback_data: TaskAction,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """↩️ Undo on a card after a change of time: the old time back, not a deletion."""
    arg = callback_data.arg
    previous = datetime.fromtimestamp(int(arg), UTC) if arg.isdigit() else None
    updated = await services.tasks.set_due(user.id, task.id, previous, clock.now())
    if updated is None:
        await button_expired(query, callback_answer)
        return
    callback_answer.text = _("The previous time is back.")
    await send_task_card(query, updated, user, clock, created=False, state=state)


async def change_time(query: CallbackQuery, task: Task, user: UserContext, clock: Clock) -> None:
    await edit_or_send(
        query,
        _card_text(task, user, clock),
        change_time_keyboard(task, user.tz, clock.now(), user.morning_hour, user.locale),
    )


async def show(
    query: CallbackQuery, task: Task, user: UserContext, clock: Clock, state: FSMContext
) -> None:
    """« Back from a choice: the card as after creation."""
    await send_task_card(query, task, user, clock, created=False, state=state)


async def edit(query: CallbackQuery, task: Task, user: UserContext, clock: Clock) -> None:
    await send_edit_card(query, task, user, clock)


async def choose_kind(query: CallbackQuery, task: Task, user: UserContext, clock: Clock) -> None:
    await edit_or_send(query, _card_text(task, user, clock), kind_keyboard(task))


async def set_kind(
    query: CallbackQuery,
    callback_data: TaskAction,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    # The router's filter lets only a known kind through.
    kind = TaskKind(callback_data.arg)
    updated = await services.tasks.set_kind(user.id, task.id, kind, clock.now())
    if updated is None:
        await button_expired(query, callback_answer)
        return
    await send_edit_card(query, updated, user, clock)


async def choose_ahead(query: CallbackQuery, task: Task, user: UserContext, clock: Clock) -> None:
    await edit_or_send(
        query,
        _card_text(task, user, clock),
        ahead_keyboard(task, ahead_minutes(task, user.ahead_defaults)),
    )


async def set_ahead(
    query: CallbackQuery,
    callback_data: TaskAction,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    # The router's filter lets only one of AHEAD_CHOICES through.
    minutes = int(callback_data.arg)
    updated = await services.tasks.set_remind_ahead(user.id, task.id, minutes, clock.now())
    if updated is None:
        await button_expired(query, callback_answer)
        return
    await send_edit_card(query, updated, user, clock)


async def ask_text(query: CallbackQuery, task: Task, user: UserContext, state: FSMContext) -> None:
    await state.set_state(TaskForm.edit_text)
    await state.update_data(task_id=task.id)
    if query.bot is not None:
        await query.bot.send_message(
            user.id,
            _("New text for task #{number}:").format(number=task.number)
            + "\n" + _("/cancel to stop."),
        )


async def ask_client(
    query: CallbackQuery, task: Task, repos: Storage, user: UserContext, state: FSMContext
) -> None:
    await state.set_state(TaskForm.edit_client)
    await state.update_data(task_id=task.id)
    recent = await repos.clients.recent(user.id, 6)
    await edit_or_send(
        query,
        _("Client for task #{number}: pick one or type a name.").format(number=task.number),
        client_pick_keyboard(recent, "task", target=task.id, extra=[task_without_client(task.id)]),
    )


async def drop_client(
    query: CallbackQuery,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    updated = await services.tasks.set_client(user.id, task.id, None, clock.now())
    await state.set_state(None)
    if updated is not None:
        await send_task_card(query, updated, user, clock, created=False)


async def _new_client(
    state: FSMContext, clients: ClientRepo, user: UserContext, task: Task, clock: Clock
) -> Client | None:
    """The client named when the task was written, created now (or found, if it was created
    meanwhile); None once the name is forgotten."""
    name = await recall_name(state, f"task:{task.id}")
    if name is None:
        return None
    try:
        return await clients.create(user.id, name, clock.now())
    except DuplicateClientError:
        existing = await clients.match(user.id, name)
        return existing[0] if existing else None


async def add_client(
    query: CallbackQuery,
    task: Task,
    services: Services,
    repos: Storage,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """➕ New client "…" on a task's card: the client created and set on the task."""
    client = await _new_client(state, repos.clients, user, task, clock)
    if client is None:
        await button_expired(query, callback_answer)
        return
    updated = await services.tasks.set_client(user.id, task.id, client.id, clock.now())
    callback_answer.text = _("Client {name} added.").format(
        name=plain_quoted(shorten(client.name, 60))
    )
    if updated is not None:
        await send_task_card(query, updated, user, clock)


async def done(
    query: CallbackQuery,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    completed = await services.tasks.complete(user.id, task.id, clock.now())
    if completed is None:
        callback_answer.text = _("Already done.")
        callback_answer.show_alert = True
        return
    callback_answer.text = _("Done: #{number}").format(number=task.number)
    await send_edit_card(query, completed, user, clock)


async def reopen(
    query: CallbackQuery,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    reopened = await services.tasks.reopen(user.id, task.id, clock.now())
    if reopened is None:
        await button_expired(query, callback_answer)
        return
    await send_edit_card(query, reopened, user, clock)
