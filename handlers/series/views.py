"""/recurring's list: each live series, its schedule and next occurrence, with its buttons."""

from __future__ import annotations

from aiogram import html
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import SeriesAction, SeriesOp
from bot.clock import Clock
from bot.context import UserContext
from bot.services.series import SeriesService
from bot.views.recurrence import describe
from bot.views.render import KIND_ICONS, format_moment, shorten
from storage.interfaces import SeriesRepo
from storage.models import Series, SeriesStatus

SHOWN_SERIES = 30


def rule_examples() -> str:
    return _("For example: «каждый понедельник в 9», “every month on the 1st at 10:00”, "
             "«по будням в 18:00», «раз в 2 недели по четвергам», “quarterly on the 15th”, "
             "“every year on March 15”, “last working day of the month”.")


def series_buttons(item: Series) -> list[InlineKeyboardButton]:
    def button(label: str, op: SeriesOp) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=f"{label} S{item.id}", callback_data=SeriesAction(op=op, id=item.id).pack()
        )

    paused = item.status is SeriesStatus.PAUSED
    return [
        button("▶️", SeriesOp.RESUME) if paused else button("⏸", SeriesOp.PAUSE),
        button("✏️", SeriesOp.RULE),
        button("⏹", SeriesOp.STOP),
    ]


async def series_lines(
    item: Series, user: UserContext, service: SeriesService, clock: Clock
) -> list[str]:
    head = f"<code>S{item.id}</code> {KIND_ICONS[item.kind]} "
    if item.client_name:
        head += f"{html.quote(item.client_name)} — "
    head += html.quote(shorten(item.text, 80))
    lines = ["", head, describe(item.rule, user.locale)]
    if item.status is SeriesStatus.PAUSED:
        lines.append("⏸ " + _("paused"))
        return lines
    upcoming = await service.next_due(item)
    if upcoming is not None:
        lines.append(
            _("Next: {moment}").format(
                moment=format_moment(upcoming, user.tz, user.locale, clock.now())
            )
        )
    return lines


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
    for item in live:
        lines += await series_lines(item, user, service, clock)
    rows = [series_buttons(item) for item in live]
    return "\n".join(lines), InlineKeyboardMarkup(inline_keyboard=rows)
