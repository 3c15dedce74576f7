"""Telling the other side of handovers that ended (a member left, was removed, or deleted
their data): in each person's own language, and never failing what was already done."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from aiogram import Bot, html
from aiogram.exceptions import TelegramAPIError
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.i18n import pick_language
from bot.settings import Settings
from storage.interfaces import UserRepo
from storage.models import Handover, UserProfile

logger = logging.getLogger(__name__)


def partner_lines(name: str, *, was_owner: bool, was_cover: bool) -> str:
    """What the other side of a leaver's handovers is told (name already escaped)."""
    lines = []
    if was_owner:
        lines.append(
            _("{name} is no longer in the team: your handover to them has ended, "
              "your reminders and alerts come to you again.").format(name=name)
        )
    if was_cover:
        lines.append(
            _("{name} is no longer in the team: you no longer cover their "
              "clients.").format(name=name)
        )
    return "\n".join(lines)


async def tell(
    bot: Bot, i18n: I18n, settings: Settings, person: UserProfile, render: Callable[[], str]
) -> None:
    """A message to someone other than the one who acted, in their own language. It is a
    courtesy: a blocked bot must not undo (or fail) what was already done."""
    locale = pick_language(person.language, person.telegram_language, settings.default_language)
    with i18n.use_locale(locale):
        text = render()
    try:
        await bot.send_message(person.id, text)
    except TelegramAPIError as exc:
        logger.warning("could not tell user %s about a team change: %s", person.id, exc)


async def tell_handover_partners(
    bot: Bot, i18n: I18n, settings: Settings, users: UserRepo, ended: Iterable[Handover],
    leaver: UserProfile,
) -> None:
    """The other side of each ended handover learns it at once, in their language."""
    ended = list(ended)
    name = html.quote(leaver.display_name)
    owners = {h.owner_id for h in ended if h.to_user_id == leaver.id}
    covers = {h.to_user_id for h in ended if h.owner_id == leaver.id}
    for other_id in sorted(owners | covers):
        other = await users.get(other_id)
        if other is None:
            continue

        def render(other_id: int = other_id) -> str:
            return partner_lines(name, was_owner=other_id in owners, was_cover=other_id in covers)

        await tell(bot, i18n, settings, other, render)
