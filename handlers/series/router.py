"""The recurring-series feature's router: which press or message goes to which handler."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command

from bot.callbacks import SeriesAction, SeriesOp
from handlers.buttons import answer_presses, button_expired
from handlers.series.filters import OwnSeries
from handlers.series.handlers import (
    SeriesForm,
    ask_rule,
    list_series,
    new_rule,
    pause,
    resume,
    stop,
)


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(list_series, Command("recurring"))
    press = router.callback_query.register
    press(pause, SeriesAction.filter(F.op == SeriesOp.PAUSE), OwnSeries())
    press(resume, SeriesAction.filter(F.op == SeriesOp.RESUME), OwnSeries())
    press(stop, SeriesAction.filter(F.op == SeriesOp.STOP), OwnSeries())
    press(ask_rule, SeriesAction.filter(F.op == SeriesOp.RULE), OwnSeries())
    press(button_expired, SeriesAction.filter())
    answer_presses(router)
    router.message.register(new_rule, SeriesForm.rule, F.text, ~F.text.startswith("/"))
    return router
