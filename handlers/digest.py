"""/digest: the daily summary now, and its settings (time, on/off)."""

from __future__ import annotations

import re

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.services.digest import build_digest
from bot.services.render import quoted
from handlers.replies import send_long
from storage.interfaces import ClientRepo, InvoiceRepo, SeriesRepo, TaskRepo, UserRepo

_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$")
_OFF = {"off", "выкл", "нет", "no", "stop"}
_ON = {"on", "вкл", "да", "yes"}


def create_router() -> Router:
    router = Router(name=__name__)

    @router.message(Command("digest"))
    async def digest(
        message: Message,
        command: CommandObject,
        users: UserRepo,
        tasks: TaskRepo,
        clients: ClientRepo,
        invoices: InvoiceRepo,
        series_repo: SeriesRepo,
        user: UserContext,
        clock: Clock,
    ) -> None:
        args = (command.args or "").strip().lower()
        profile = await users.get(user.id)
        if profile is None:
            return
        if not args:
            text, markup = await build_digest(
                owner_id=user.id, tz=user.tz, locale=user.locale, now=clock.now(),
                tasks=tasks, clients=clients, morning=False, invoices=invoices,
                series=series_repo,
            )
            minute = profile.digest_minute
            setting = (
                _("Every working day at {time}. Change: /digest 8:30 · /digest off").format(
                    time=f"{minute // 60:02}:{minute % 60:02}"
                )
                if profile.digest_enabled
                else _("The daily digest is off. Turn it on: /digest on")
            )
            await send_long(message, text + "\n\n" + setting, markup)
            return
        if args in _OFF:
            await users.set_digest(user.id, enabled=False, minute=profile.digest_minute)
            await message.answer(_("The daily digest is off. Turn it on: /digest on"))
            return
        minute = profile.digest_minute
        if args not in _ON:
            match = _TIME.match(args)
            if (
                match is None
                or int(match.group(1)) > 23
                or int(match.group(2) or 0) > 59
            ):
                await message.answer(
                    _("I did not understand {value}. Example: /digest 8:30").format(
                        value=quoted(args[:40])
                    )
                )
                return
            minute = int(match.group(1)) * 60 + int(match.group(2) or 0)
        await users.set_digest(user.id, enabled=True, minute=minute)
        await message.answer(
            _("The daily digest comes every working day at {time}.").format(
                time=f"{minute // 60:02}:{minute % 60:02}"
            )
        )

    return router
