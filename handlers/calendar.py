"""/calendar: the private address of the user's calendar feed (tasks with a time, recurring
tasks, invoice due dates) for Google Calendar, Apple Calendar or Outlook to subscribe to;
/calendar rotate replaces it (the old address answers 404 from then on)."""

from __future__ import annotations

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject, Filter
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.calendar_feed.address import feed_url, new_calendar_secret
from bot.context import UserContext
from bot.settings import Settings
from storage.interfaces import Storage

_ROTATE = frozenset({"rotate", "new", "reset", "сменить", "новый", "новая", "заменить"})


class RotateArgument(Filter):
    """/calendar rotate (or «/calendar сменить»)."""

    async def __call__(self, message: Message, command: CommandObject) -> bool:
        return (command.args or "").strip().casefold() in _ROTATE


def no_origin_text() -> str:
    return _(
        "The calendar feed needs the bot's public address, and none is set. Whoever runs "
        "the bot should set PUBLIC_URL (the https address the bot is reached at, e.g. "
        "https://bot.example.com) and restart it; then /calendar gives your link."
    )


def how_to_text(url: str) -> str:
    return _(
        "📅 <b>Your calendar feed</b>\n"
        "<code>{url}</code>\n\n"
        "Open tasks with a time, recurring tasks and invoice due dates, in your timezone. "
        "Subscribe to the address (do not import a file), so changes in the bot reach your "
        "calendar:\n"
        "• <b>Google Calendar</b> (on a computer): Other calendars → + → From URL → paste "
        "the address → Add calendar.\n"
        "• <b>Apple Calendar</b>: File → New Calendar Subscription; on iPhone: Settings → "
        "Calendar → Accounts → Add Account → Other → Add Subscribed Calendar.\n"
        "• <b>Outlook</b>: Add calendar → Subscribe from web → paste the address.\n\n"
        "Calendars refresh subscriptions on their own schedule (Google: every few hours).\n"
        "The address is private: whoever has it sees your tasks. If it leaked: "
        "/calendar rotate (the old one stops working)."
    ).format(url=html.quote(url))


async def show_calendar(
    message: Message, user: UserContext, repos: Storage, settings: Settings
) -> None:
    origin = settings.public_origin
    if origin is None:
        await message.answer(no_origin_text())
        return
    secret = await repos.users.calendar_secret(user.id, new_calendar_secret())
    await message.answer(how_to_text(feed_url(origin, user.id, secret)))


async def rotate_calendar(
    message: Message, user: UserContext, repos: Storage, settings: Settings
) -> None:
    secret = await repos.users.rotate_calendar_secret(user.id, new_calendar_secret())
    done = _("🔑 A new address: the old one no longer works. Subscribe to this one instead.")
    origin = settings.public_origin
    if origin is None:
        await message.answer(done + "\n\n" + no_origin_text())
        return
    await message.answer(done + "\n\n" + how_to_text(feed_url(origin, user.id, secret)))


async def calendar_help(message: Message) -> None:
    await message.answer(
        _("/calendar shows your calendar feed's address; /calendar rotate replaces it.")
    )


def create_router() -> Router:
    router = Router(name=__name__)
    router.message.register(show_calendar, Command("calendar", magic=F.args.is_(None)))
    router.message.register(rotate_calendar, Command("calendar"), RotateArgument())
    router.message.register(calendar_help, Command("calendar"))
    return router
