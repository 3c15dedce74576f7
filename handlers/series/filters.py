"""The series a button is about."""

from __future__ import annotations

from typing import Any

from aiogram.filters import Filter
from aiogram.types import CallbackQuery

from bot.callbacks import SeriesAction
from bot.context import UserContext
from storage.interfaces import Storage
from storage.models import SeriesStatus


class OwnSeries(Filter):
    """The user's own series, paused or active (a stopped one has no buttons left), as
    ``item``."""

    async def __call__(
        self,
        query: CallbackQuery,
        callback_data: SeriesAction,
        repos: Storage,
        user: UserContext,
    ) -> dict[str, Any] | bool:
        item = await repos.series.get(user.id, callback_data.id)
        if item is None or item.status is SeriesStatus.STOPPED:
            return False
        return {"item": item}
