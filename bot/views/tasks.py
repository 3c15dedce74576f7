"""A task as the user sees it: its card, its edit card, and saving a new task then showing it.

Shared by the tasks feature and the features that create or show tasks elsewhere (a note
turned into a task, ✅ on a reminder), so none of them imports another's handlers.
"""

from __future__ import annotations

from datetime import datetime

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.text import NAME_LIMIT
from bot.pending import recall_name, remember_name
from bot.views.keyboards import created_task_keyboard, task_edit_keyboard
from bot.views.render import quoted, task_card
from bot.views.replies import edit_or_send
from storage.interfaces import ClientRepo, TaskRepo
from storage.models import Client, Task, TaskKind


class TaskForm(StatesGroup):
    """The tasks feature's dialog states. Here because saving a task without a time (from any
    feature) leaves the user in ``edit_when``: their next text is the task's time."""

    client = State()
    text = State()
    edit_text = State()
    edit_when = State()
    edit_client = State()


def when_examples() -> str:
    return _("For example: “tomorrow 10am”, “fri 15:00”, “in 2 hours”, «завтра в 10».")


async def send_task_card(
    target: Message | CallbackQuery,
    task: Task,
    user: UserContext,
    clock: Clock,
    *,
    created: bool = True,
    client_choices: list[Client] | None = None,
    unknown_client: str | None = None,
    note: str | None = None,
    state: FSMContext | None = None,
    undo: str | None = None,
) -> None:
    """The task as understood, with the buttons that fit its state.

    With `state`, a client name still waiting to be created keeps its button. `undo`: what
    ↩️ Undo does on this card (after a change of time: put the old time back).
    """
    now = clock.now()
    if unknown_client is None and task.client_id is None and state is not None:
        unknown_client = await recall_name(state, f"task:{task.id}")
    text = task_card(
        task, user.tz, user.locale, now, created=created,
        ahead_defaults=user.ahead_defaults, hours=user.hours,
    )
    if note:
        text += "\n" + note
    keyboard = created_task_keyboard(
        task,
        user.tz,
        now,
        user.morning_hour,
        user.locale,
        client_choices=client_choices or (),
        offer_new_client=unknown_client,
        undo=undo,
    )
    await edit_or_send(target, text, keyboard)


async def send_edit_card(
    target: Message | CallbackQuery, task: Task, user: UserContext, clock: Clock
) -> None:
    text = task_card(
        task, user.tz, user.locale, clock.now(), created=False,
        ahead_defaults=user.ahead_defaults, hours=user.hours,
    )
    await edit_or_send(target, text, task_edit_keyboard(task))


async def save_task(
    target: Message,
    *,
    tasks: TaskRepo,
    clients: ClientRepo,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
    client_id: int | None,
    client_query: str | None,
    text: str,
    kind: TaskKind,
    due: datetime | None,
    note: str | None = None,
) -> Task:
    """Save at once (nothing is lost if the user walks away), then show what was understood.

    A client name that matches several clients, or none, leaves the task without a client
    and offers buttons to pick one or to add the new client.
    """
    choices: list[Client] = []
    unknown: str | None = None
    notes = [note] if note else []
    if client_id is None and client_query:
        found = await clients.match(user.id, client_query)
        if len(found) == 1:
            client_id = found[0].id
        elif found:
            choices = found
            notes.append("👤 " + _("Which client did you mean by {name}?").format(
                name=quoted(client_query)
            ))
        else:
            unknown = client_query[:NAME_LIMIT]
            notes.append("👤 " + _(
                "No client {name} yet: create it with the button, or ✏️ Edit to pick another."
            ).format(name=quoted(unknown)))
    task = await tasks.create(
        user.id, client_id=client_id, text=text, kind=kind, due_at=due, now=clock.now()
    )
    if unknown is not None:
        await remember_name(state, f"task:{task.id}", unknown)
    if task.due_at is None:
        # The card asks "when?": a typed answer is taken as the time of this task.
        await state.set_state(TaskForm.edit_when)
        await state.update_data(task_id=task.id, when_auto=True)
    await send_task_card(
        target, task, user, clock, client_choices=choices, unknown_client=unknown,
        note="\n".join(notes) or None,
    )
    return task
