"""/recurring: the user's recurring series, with buttons to pause, resume, change or stop."""

from __future__ import annotations

from aiogram import F, Router, html
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SeriesAction
from bot.clock import Clock
from bot.context import UserContext
from bot.services.recurrence import describe, split_recurrence
from bot.services.render import KIND_ICONS, format_moment, quoted, shorten
from bot.services.series import SeriesService
from bot.services.text import clean_line
from handlers.replies import edit_or_send, stale_button
from storage.interfaces import SeriesRepo
from storage.models import SeriesStatus

SHOWN_SERIES = 30


class SeriesForm(StatesGroup):
    rule = State()


def rule_examples() -> str:
    return _("For example: «каждый понедельник в 9», “every month on the 1st at 10:00”, "
             "«по будням в 18:00», «раз в 2 недели по четвергам», “quarterly on the 15th”, "
             "“every year on March 15”, “last working day of the month”.")


async def render_series_list(
    user: UserContext, repo: SeriesRepo, service: SeriesService, clock: Clock
) -> tuple[str, InlineKeyboardMarkup | None]:
    live = (await repo.list_live(user.id))[:SHOWN_SERIES]
    if not live:
        return (
            _("No recurring tasks yet. Add one: <code>/task Acme: send the report every "
              "month on the 1st at 10:00</code>"),
            None,
        )
    lines = [html.bold(_("🔁 Recurring tasks: {count}").format(count=len(live)))]
    rows: list[list[InlineKeyboardButton]] = []
    for item in live:
        head = f"<code>S{item.id}</code> {KIND_ICONS[item.kind]} "
        if item.client_name:
            head += f"{html.quote(item.client_name)} — "
        head += html.quote(shorten(item.text, 80))
        lines += ["", head, describe(item.rule, user.locale)]
        if item.status is SeriesStatus.PAUSED:
            lines.append("⏸ " + _("paused"))
        else:
            upcoming = await service.next_due(item)
            if upcoming is not None:
                lines.append(
                    _("Next: {moment}").format(
                        moment=format_moment(upcoming, user.tz, user.locale, clock.now())
                    )
                )
        toggle = (
            InlineKeyboardButton(
                text=f"▶️ S{item.id}",
                callback_data=SeriesAction(op="resume", id=item.id).pack(),
            )
            if item.status is SeriesStatus.PAUSED
            else InlineKeyboardButton(
                text=f"⏸ S{item.id}", callback_data=SeriesAction(op="pause", id=item.id).pack()
            )
        )
        rows.append(
            [
                toggle,
                InlineKeyboardButton(
                    text=f"✏️ S{item.id}", callback_data=SeriesAction(op="rule", id=item.id).pack()
                ),
                InlineKeyboardButton(
                    text=f"⏹ S{item.id}", callback_data=SeriesAction(op="stop", id=item.id).pack()
                ),
            ]
        )
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)


def create_router() -> Router:
    router = Router(name=__name__)

    @router.message(Command("recurring"))
    async def list_series(
        message: Message,
        user: UserContext,
        series: SeriesService,
        clock: Clock,
        series_repo: SeriesRepo,
    ) -> None:
        text, markup = await render_series_list(user, series_repo, series, clock)
        await message.answer(text, reply_markup=markup)

    @router.callback_query(SeriesAction.filter())
    async def series_button(
        query: CallbackQuery,
        callback_data: SeriesAction,
        user: UserContext,
        series: SeriesService,
        series_repo: SeriesRepo,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        item = await series_repo.get(user.id, callback_data.id)
        if item is None or item.status is SeriesStatus.STOPPED:
            await stale_button(query)
            return
        op = callback_data.op
        if op == "rule":
            await state.set_state(SeriesForm.rule)
            await state.update_data(series_id=item.id)
            await query.answer()
            if query.bot is not None:
                await query.bot.send_message(
                    user.id,
                    _("New schedule for {text}?").format(text=quoted(shorten(item.text, 80)))
                    + "\n" + rule_examples() + "\n" + _("/cancel to stop."),
                )
            return
        statuses = {
            "pause": SeriesStatus.PAUSED,
            "resume": SeriesStatus.ACTIVE,
            "stop": SeriesStatus.STOPPED,
        }
        if op not in statuses:
            await stale_button(query)
            return
        await series.set_status(user.id, item.id, statuses[op])
        answers = {
            "pause": _("Paused."),
            "resume": _("Resumed."),
            "stop": _("Stopped; its upcoming task is removed."),
        }
        await query.answer(answers[op])
        text, markup = await render_series_list(user, series_repo, series, clock)
        await edit_or_send(query, text, markup)

    @router.message(StateFilter(SeriesForm.rule), F.text, ~F.text.startswith("/"))
    async def new_rule(
        message: Message,
        user: UserContext,
        series: SeriesService,
        series_repo: SeriesRepo,
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
            await series.change_rule(user.id, series_id, parsed.rule, user.tz.key)
            if isinstance(series_id, int)
            else None
        )
        await state.set_state(None)
        if changed is None:
            await message.answer(_("That recurring task no longer exists."))
            return
        text, markup = await render_series_list(user, series_repo, series, clock)
        await message.answer(_("Saved.") + "\n\n" + text, reply_markup=markup)

    return router
