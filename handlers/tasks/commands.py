"""Commands on existing tasks by number: /done 41 44, /undo, /edit 41."""

from __future__ import annotations

import re

from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.services.catalog import Services
from bot.views.render import quoted, shorten
from bot.views.tasks import send_edit_card
from storage.interfaces import TaskRepo

_TASK_NUMBER = re.compile(r"^#?(\d{1,9})$")
DONE_AT_ONCE = 20  # numbers /done takes in one message


async def done_command(
    message: Message, command: CommandObject, services: Services, user: UserContext,
    clock: Clock,
) -> None:
    words = (command.args or "").replace(",", " ").split()
    matches = [_TASK_NUMBER.match(word) for word in words]
    if not words or not all(matches):
        await message.answer(_("Which task? Give its number: /done 41 or /done 41 44"))
        return
    numbers = [int(match.group(1)) for match in matches if match][:DONE_AT_ONCE]
    lines = [await _complete(number, services.tasks, user, clock) for number in numbers]
    if any(line.startswith("✅") for line in lines):
        lines.append(_("/undo reopens the last one."))
    await message.answer("\n".join(lines))


async def _complete(number: int, tasks: TaskRepo, user: UserContext, clock: Clock) -> str:
    """One number of /done: completed, already done, or no such task."""
    task = await tasks.get_by_number(user.id, number)
    if task is None:
        return _("There is no task #{number}.").format(number=number)
    completed = await tasks.complete(user.id, task.id, clock.now())
    if completed is None:
        return _("#{number} is already done.").format(number=number)
    return _("✅ Done: #{number} {text}").format(
        number=number, text=quoted(shorten(completed.text))
    )


async def undo_command(
    message: Message, services: Services, user: UserContext, clock: Clock
) -> None:
    task = await services.tasks.reopen_last_completed(user.id, clock.now())
    if task is None:
        await message.answer(_("Nothing to undo: no completed tasks."))
        return
    await message.answer(
        _("↩️ Task #{number} is open again: {text}").format(
            number=task.number, text=quoted(shorten(task.text))
        )
    )


async def edit_command(
    message: Message, command: CommandObject, services: Services, user: UserContext,
    clock: Clock,
) -> None:
    match = _TASK_NUMBER.match((command.args or "").strip())
    if match is None:
        await message.answer(_("Which task? Example: /edit 41"))
        return
    task = await services.tasks.get_by_number(user.id, int(match.group(1)))
    if task is None:
        await message.answer(_("There is no task #{number}.").format(number=int(match.group(1))))
        return
    await send_edit_card(message, task, user, clock)
