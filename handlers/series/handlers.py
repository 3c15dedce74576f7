"""/recurring and its buttons: pause, resume, stop, and a new schedule by text. The series
comes from the ``OwnSeries`` filter."""

from __future__ import annotations

from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.recurrence import split_recurrence
from bot.domain.text import clean_line
from bot.services.catalog import Services
from bot.services.series import SeriesService
from bot.views.render import quoted, shorten
from bot.views.replies import edit_or_send
from handlers.series.views import render_series_list, rule_examples
from storage.interfaces import SeriesRepo, Storage
from storage.models import Series, SeriesStatus


class SeriesForm(StatesGroup):
    rule = State()


async def list_series(
    message: Message, user: UserContext, repos: Storage, services: Services, clock: Clock
) -> None:
    text, markup = await render_series_list(user, repos.series, services.series, clock)
    await message.answer(text, reply_markup=markup)


async def set_status(
    query: CallbackQuery,
    item: Series,
    status: SeriesStatus,
    user: UserContext,
    service: SeriesService,
    repo: SeriesRepo,
    clock: Clock,
) -> None:
    """Change the status, then show the list again in place."""
    await service.set_status(user.id, item.id, status)
    text, markup = await render_series_list(user, repo, service, clock)
    await edit_or_send(query, text, markup)


async def pause(
    query: CallbackQuery, item: Series, user: UserContext, repos: Storage,
    services: Services, clock: Clock, callback_answer: CallbackAnswer,
) -> None:
    callback_answer.text = _("Paused.")
    await set_status(
        query, item, SeriesStatus.PAUSED, user, services.series, repos.series, clock
    )


async def resume(
    query: CallbackQuery, item: Series, user: UserContext, repos: Storage,
    services: Services, clock: Clock, callback_answer: CallbackAnswer,
) -> None:
    callback_answer.text = _("Resumed.")
    await set_status(
        query, item, SeriesStatus.ACTIVE, user, services.series, repos.series, clock
    )


async def stop(
    query: CallbackQuery, item: Series, user: UserContext, repos: Storage,
    services: Services, clock: Clock, callback_answer: CallbackAnswer,
) -> None:
    callback_answer.text = _("Stopped; its upcoming task is removed.")
    await set_status(
        query, item, SeriesStatus.STOPPED, user, services.series, repos.series, clock
    )


async def ask_rule(
    query: CallbackQuery, item: Series, user: UserContext, state: FSMContext
) -> None:
    """✏️: the user's next text is the new schedule."""
    await state.set_state(SeriesForm.rule)
    await state.update_data(series_id=item.id)
    if query.bot is not None:
        await query.bot.send_message(
            user.id,
            _("New schedule for {text}?").format(text=quoted(shorten(item.text, 80)))
            + "\n" + rule_examples() + "\n" + _("/cancel to stop."),
        )


async def new_rule(
    message: Message,
    user: UserContext,
    repos: Storage,
    services: Services,
    clock: Clock,
    state: FSMContext,
) -> None:
    data = await state.get_data()
    series_id = data.get("series_id")
    phrase = clean_line(message.text or "")[:200]
    parsed = split_recurrence(
        phrase, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour
    )
    if parsed is None or parsed.text:
        await message.answer(
            _("I could not understand the schedule {phrase}.").format(phrase=quoted(phrase))
            + "\n" + rule_examples()
        )
        return
    changed = (
        await services.series.change_rule(user.id, series_id, parsed.rule, user.tz.key)
        if isinstance(series_id, int)
        else None
    )
    await state.set_state(None)
    if changed is None:
        await message.answer(_("That recurring task no longer exists."))
        return
    text, markup = await render_series_list(user, repos.series, services.series, clock)
    await message.answer(_("Saved.") + "\n\n" + text, reply_markup=markup)
