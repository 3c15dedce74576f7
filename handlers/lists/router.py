"""/today, /overdue, /week, /nodate and their ✅ and page buttons."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ListDone, ListPage
from bot.clock import Clock
from bot.context import UserContext
from bot.services.catalog import Services
from bot.settings import Settings
from bot.views.agenda import VIEWS, AgendaPage
from bot.views.board_button import AGENDA, with_board_button
from bot.views.keyboards import list_keyboard
from bot.views.replies import edit_or_send, send_long
from handlers.buttons import answer_presses, button_expired
from storage.interfaces import TaskRepo


def agenda_keyboard(
    view: str, agenda: AgendaPage, settings: Settings
) -> InlineKeyboardMarkup | None:
    return with_board_button(
        list_keyboard(view, agenda.page, agenda.pages, agenda.tasks),
        settings.public_origin, AGENDA,
    )


async def render_view(
    view: str, tasks: TaskRepo, user: UserContext, clock: Clock, page: int
) -> AgendaPage:
    return await VIEWS[view](tasks, user.id, user.tz, user.locale, clock.now(), page)


async def show_view(
    message: Message, command: CommandObject, services: Services, user: UserContext,
    clock: Clock, settings: Settings,
) -> None:
    """The view the command names (/today shows "today"), first page."""
    view = command.command
    agenda = await render_view(view, services.tasks, user, clock, 0)
    await send_long(message, agenda.text, agenda_keyboard(view, agenda, settings))


async def turn_page(
    query: CallbackQuery, callback_data: ListPage, services: Services, user: UserContext,
    clock: Clock, settings: Settings,
) -> None:
    agenda = await render_view(
        callback_data.view, services.tasks, user, clock, callback_data.page
    )
    await edit_or_send(query, agenda.text, agenda_keyboard(callback_data.view, agenda, settings))


async def done_from_list(
    query: CallbackQuery,
    callback_data: ListDone,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
    settings: Settings,
) -> None:
    """✅ #n under a list: the task done, the list redrawn. No loading filter: completing is
    the owner-checked action, and a stale ✅ still redraws the list so it is current again."""
    completed = await services.tasks.complete(user.id, callback_data.id, clock.now())
    if completed is None:
        await button_expired(query, callback_answer)
    else:
        callback_answer.text = _("✅ Done: #{number}").format(number=completed.number)
    agenda = await render_view(
        callback_data.view, services.tasks, user, clock, callback_data.page
    )
    await edit_or_send(query, agenda.text, agenda_keyboard(callback_data.view, agenda, settings))


def create_router() -> Router:
    router = answer_presses(Router(name=__name__))
    router.message.register(show_view, Command(*VIEWS))
    # ListPage is shared with /clients' pages: only the agenda views are taken here.
    router.callback_query.register(turn_page, ListPage.filter(F.view.in_(set(VIEWS))))
    router.callback_query.register(done_from_list, ListDone.filter(F.view.in_(set(VIEWS))))
    router.callback_query.register(button_expired, ListDone.filter())
    return router
