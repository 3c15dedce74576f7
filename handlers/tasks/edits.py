"""Answers to the card's questions (new text, new time, which client) and a client picked for
a task. ``EditingTask`` hands each the task the question was about; ``task_gone`` answers
when that task no longer exists."""

from __future__ import annotations

from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import PickClient, TaskAction, TaskOp
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.dates import DateParser
from bot.domain.text import NAME_LIMIT, TASK_TEXT_LIMIT, clean_line, clean_text
from bot.pending import remember_name
from bot.services.catalog import Services
from bot.views.keyboards import client_pick_keyboard, single_button
from bot.views.render import quoted, shorten
from bot.views.tasks import TaskForm, send_edit_card, send_task_card, when_examples
from handlers.buttons import button_expired
from handlers.tasks.create import too_long
from handlers.tasks.keyboards import change_time_keyboard, undo_reschedule
from storage.interfaces import Storage
from storage.models import Task


async def client_picked(
    query: CallbackQuery,
    callback_data: PickClient,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
    callback_answer: CallbackAnswer,
) -> None:
    """A client button under "Client for task #…" or "Which client did you mean?"."""
    updated = await services.tasks.set_client(
        user.id, callback_data.target, callback_data.id, clock.now()
    )
    if updated is None:
        await button_expired(query, callback_answer)
        return
    if await state.get_state() == TaskForm.edit_client.state:
        await state.set_state(None)
    await send_task_card(query, updated, user, clock, created=False)


async def task_gone(message: Message, state: FSMContext) -> None:
    """An answer about a task deleted since the question was asked."""
    await state.set_state(None)
    await message.answer(_("That task no longer exists."))


async def edit_text(
    message: Message,
    task: Task,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    text = clean_text(message.text or "")
    if not text:
        await message.answer(_("Send the new text, or /cancel."))
        return
    if len(text) > TASK_TEXT_LIMIT:
        await message.answer(too_long(len(text)))
        return
    updated = await services.tasks.set_text(user.id, task.id, text, clock.now())
    await state.set_state(None)
    if updated is not None:
        await send_edit_card(message, updated, user, clock)


async def edit_when(
    message: Message,
    task: Task,
    services: Services,
    dates: DateParser,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    phrase = clean_line(message.text or "")[:200]
    now = clock.now()
    due = dates.parse(
        phrase, tz=user.tz, now=now, morning_hour=user.morning_hour, locale=user.locale
    )
    if due is None:
        if (await state.get_data()).get("when_auto"):
            # Nobody pressed "Pick…": this text is not an answer but a new thought.
            await state.set_state(None)
            raise SkipHandler
        await message.answer(
            _("I could not understand the time {phrase}.").format(phrase=quoted(phrase))
            + " " + when_examples(),
            reply_markup=change_time_keyboard(task, user.tz, now, user.morning_hour,
                                              user.locale),
        )
        return
    updated = await services.tasks.set_due(user.id, task.id, due, now)
    await state.set_state(None)
    if updated is not None:
        await send_task_card(
            message, updated, user, clock, created=False, state=state,
            undo=undo_reschedule(task.id, task.due_at),
        )


async def edit_client(
    message: Message,
    task: Task,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    name = clean_line(message.text or "")[:NAME_LIMIT]
    found = await repos.clients.match(user.id, name) if name else []
    if len(found) == 1:
        updated = await services.tasks.set_client(user.id, task.id, found[0].id, clock.now())
        await state.set_state(None)
        if updated is not None:
            await send_task_card(message, updated, user, clock, created=False)
        return
    if found:
        await message.answer(
            _("Several clients start with {name}. Which one?").format(name=quoted(name)),
            reply_markup=client_pick_keyboard(found, "task", target=task.id),
        )
        return
    await remember_name(state, f"task:{task.id}", name)
    await message.answer(
        _("No client {name}. Create it?").format(name=quoted(name)),
        reply_markup=single_button(
            _("➕ Create {name}").format(name=quoted(shorten(name, 40))),
            TaskAction(op=TaskOp.NEW_CLIENT, id=task.id).pack(),
        ),
    )
