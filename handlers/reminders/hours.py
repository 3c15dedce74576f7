"""/hours: the working hours reminders the bot times itself wait for."""

from __future__ import annotations

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.context import UserContext
from bot.domain.reminder_plan import parse_working_hours
from bot.services.catalog import Services
from bot.views.hours import hours_text
from bot.views.render import quoted
from storage.interfaces import Storage
from storage.models import WorkingHours


async def working_hours(
    message: Message,
    command: CommandObject,
    repos: Storage,
    services: Services,
    user: UserContext,
) -> None:
    args = (command.args or "").strip().lower()
    profile = await repos.users.get(user.id)
    current = profile.hours if profile is not None else WorkingHours()
    if not args:
        await message.answer(
            hours_text(current) + "\n" + _(
                "Reminders the bot times itself (ahead of a task, invoice steps, "
                "recurring tasks) wait for the next working morning; a time you give a "
                "task is kept. Change: /hours 9-19 · /hours 10:30-18:00 пн-сб · "
                "/hours off"
            )
        )
        return
    hours = parse_working_hours(args, current)
    if hours is None:
        await message.answer(
            _("I did not understand {value}. Example: /hours 9-19 · /hours 9-19 mon-sat")
            .format(value=quoted(args[:40]))
        )
        return
    await repos.users.set_hours(user.id, hours)
    # Pending reminders follow the new hours; one held for the old ones is released.
    await services.planner.replan_owner(user.id, services.tasks)
    await message.answer(html.quote(hours_text(hours)))
