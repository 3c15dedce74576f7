"""/digest: the daily summary now, and its settings (time, on/off)."""

from __future__ import annotations

import re
from typing import Any

from aiogram import F, Router
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.services.catalog import Services
from bot.services.digest import build_digest
from bot.views.render import quoted
from bot.views.replies import send_long
from storage.interfaces import Storage

_TIME = re.compile(r"^(\d{1,2})(?:[:.](\d{2}))?$")
_OFF = {"off", "выкл", "нет", "no", "stop"}
_ON = {"on", "вкл", "да", "yes"}


def clock_time(minute: int) -> str:
    return f"{minute // 60:02}:{minute % 60:02}"


def argument(command: CommandObject) -> str:
    return (command.args or "").strip().lower()


class ArgumentIn(Filter):
    """/digest off: the command's argument is one of these words."""

    def __init__(self, words: set[str]) -> None:
        self.words = words

    async def __call__(self, message: Message, command: CommandObject) -> bool:
        return argument(command) in self.words


class DigestTime(Filter):
    """/digest 8:30: the time of day the command names, as minutes after midnight."""

    async def __call__(self, message: Message, command: CommandObject) -> dict[str, Any] | bool:
        match = _TIME.match(argument(command))
        if match is None or int(match.group(1)) > 23 or int(match.group(2) or 0) > 59:
            return False
        return {"minute": int(match.group(1)) * 60 + int(match.group(2) or 0)}


async def show_digest(
    message: Message, repos: Storage, services: Services, user: UserContext, clock: Clock
) -> None:
    profile = await repos.users.get(user.id)
    if profile is None:
        return
    text, markup = await build_digest(
        owner_id=user.id, tz=user.tz, locale=user.locale, now=clock.now(),
        tasks=services.tasks, clients=repos.clients, morning=False, invoices=repos.invoices,
        series=repos.series,
    )
    setting = (
        _("Every working day at {time}. Change: /digest 8:30 · /digest off").format(
            time=clock_time(profile.digest_minute)
        )
        if profile.digest_enabled
        else _("The daily digest is off. Turn it on: /digest on")
    )
    await send_long(message, text + "\n\n" + setting, markup)


async def digest_off(message: Message, repos: Storage, user: UserContext) -> None:
    profile = await repos.users.get(user.id)
    if profile is None:
        return
    await repos.users.set_digest(user.id, enabled=False, minute=profile.digest_minute)
    await message.answer(_("The daily digest is off. Turn it on: /digest on"))


async def digest_at(message: Message, minute: int, repos: Storage, user: UserContext) -> None:
    await repos.users.set_digest(user.id, enabled=True, minute=minute)
    await message.answer(
        _("The daily digest comes every working day at {time}.").format(time=clock_time(minute))
    )


async def digest_on(message: Message, repos: Storage, user: UserContext) -> None:
    """On again at the time it had."""
    profile = await repos.users.get(user.id)
    if profile is None:
        return
    await digest_at(message, profile.digest_minute, repos, user)


async def not_understood(message: Message, command: CommandObject) -> None:
    await message.answer(
        _("I did not understand {value}. Example: /digest 8:30").format(
            value=quoted(argument(command)[:40])
        )
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_digest, Command("digest", magic=F.args.is_(None)))
    router.message.register(digest_off, Command("digest"), ArgumentIn(_OFF))
    router.message.register(digest_on, Command("digest"), ArgumentIn(_ON))
    router.message.register(digest_at, Command("digest"), DigestTime())
    router.message.register(not_understood, Command("digest"))
    return router
