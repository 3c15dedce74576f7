"""/today, /overdue, /week and their ✅ and page buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ListDone, ListPage
from bot.clock import Clock
from bot.context import UserContext
from bot.keyboards import list_keyboard
from bot.services.agenda import VIEWS, AgendaPage
from handlers.replies import edit_or_send, send_long, stale_button
from storage.interfaces import TaskRepo


async def render_view(
    view: str, tasks: TaskRepo, user: UserContext, clock: Clock, page: int
) -> AgendaPage:
    return await VIEWS[view](tasks, user.id, user.tz, user.locale, clock.now(), page)


def create_router() -> Router:
    router = Router(name=__name__)

    for view in VIEWS:

        async def show_view(
            message: Message, tasks: TaskRepo, user: UserContext, clock: Clock,
            view: str = view,
        ) -> None:
            agenda = await render_view(view, tasks, user, clock, 0)
            await send_long(
                message, agenda.text, list_keyboard(view, agenda.page, agenda.pages, agenda.tasks)
            )

        router.message.register(show_view, Command(view))

    @router.callback_query(ListPage.filter(F.view.in_(set(VIEWS))))
    async def turn_page(
        query: CallbackQuery, callback_data: ListPage, tasks: TaskRepo, user: UserContext,
        clock: Clock,
    ) -> None:
        agenda = await render_view(callback_data.view, tasks, user, clock, callback_data.page)
        await query.answer()
        await edit_or_send(
            query, agenda.text,
            list_keyboard(callback_data.view, agenda.page, agenda.pages, agenda.tasks),
        )

    @router.callback_query(ListDone.filter(F.view.in_(set(VIEWS))))
    async def done_from_list(
        query: CallbackQuery, callback_data: ListDone, tasks: TaskRepo, user: UserContext,
        clock: Clock,
    ) -> None:
        completed = await tasks.complete(user.id, callback_data.id, clock.now())
        if completed is None:
            await stale_button(query)
        else:
            await query.answer(_("✅ Done: #{number}").format(number=completed.number))
        agenda = await render_view(callback_data.view, tasks, user, clock, callback_data.page)
        await edit_or_send(
            query, agenda.text,
            list_keyboard(callback_data.view, agenda.page, agenda.pages, agenda.tasks),
        )

    return router
