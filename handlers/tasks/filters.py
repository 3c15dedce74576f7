"""Loading filters: the pressing (or typing) user's own task or client, handed to the handler.

A filter that finds nothing returns False; the press then falls through to
``handlers.buttons.button_expired``, registered last, and no handler checks ownership itself.
"""

from __future__ import annotations

from aiogram.filters import Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message

from bot.callbacks import ClientAction, PickClient, TaskAction
from bot.context import UserContext
from bot.services.catalog import Services
from storage.interfaces import Storage
from storage.models import Client, Task


class OwnTask(Filter):
    """The task a task card's button names, if it is still the user's (not deleted)."""

    async def __call__(
        self, query: CallbackQuery, callback_data: TaskAction, services: Services,
        user: UserContext,
    ) -> dict[str, Task] | bool:
        task = await services.tasks.get(user.id, callback_data.id)
        return {"task": task} if task is not None else False


class OwnClient(Filter):
    """The client a client button names (a pick in the new-task dialog, ➕ Add task on a card)."""

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: PickClient | ClientAction,
        repos: Storage,
        user: UserContext,
    ) -> dict[str, Client] | bool:
        client = await repos.clients.get(user.id, callback_data.id)
        return {"client": client} if client is not None else False


class EditingTask(Filter):
    """The task an answer to "new text / new time / which client" is for: the dialog state
    keeps its id; False if it is gone since the question was asked."""

    async def __call__(
        self, message: Message, state: FSMContext, services: Services, user: UserContext
    ) -> dict[str, Task] | bool:
        task_id = (await state.get_data()).get("task_id")
        if not isinstance(task_id, int):
            return False
        task = await services.tasks.get(user.id, task_id)
        return {"task": task} if task is not None else False


async def card_message(query: CallbackQuery) -> dict[str, Message] | bool:
    """The message a button is on, if the bot can still see it (not an inaccessible one)."""
    return {"card": query.message} if isinstance(query.message, Message) else False
