"""/export: the user's data as a zip of CSV tables, and their tasks with a time as an .ics."""

from __future__ import annotations

from aiogram import html
from aiogram.types import BufferedInputFile, Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.services.export import export_archive, tasks_calendar
from storage.interfaces import Storage


async def export(message: Message, repos: Storage, user: UserContext, clock: Clock) -> None:
    now = clock.now()
    data = await repos.user_data.snapshot(user.id)
    day = now.astimezone(user.tz).strftime("%Y-%m-%d")
    caption = _(
        "Your data: clients {clients}, tasks {tasks}, notes {notes}, invoices {invoices}. "
        "CSV tables in UTF-8; times in UTC and in your timezone ({tz})."
    ).format(
        clients=len(data.clients), tasks=len(data.tasks), notes=len(data.notes),
        invoices=len(data.invoices), tz=html.quote(user.tz.key),
    )
    await message.answer_document(
        BufferedInputFile(export_archive(data, user.tz, user.locale), f"am-assistant-{day}.zip"),
        caption=caption,
    )
    await message.answer_document(
        BufferedInputFile(tasks_calendar(data.tasks, now), f"am-assistant-tasks-{day}.ics"),
        caption=_("Tasks with a time, as a calendar: open it or import it into yours."),
    )
