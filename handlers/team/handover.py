"""/handover: hand clients to a teammate for a while, list handovers, end them."""

from __future__ import annotations

from datetime import datetime

from aiogram import Bot, html
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.timezones import user_zone
from bot.services.catalog import Services
from bot.views.names import unresolved_client
from bot.views.render import (
    MESSAGE_LIMIT,
    client_card,
    format_day,
    format_moment,
    split_message,
)
from handlers.team.filters import HandoverRequest
from handlers.team.views import usage
from storage.interfaces import ClientRepo, NoteRepo, Storage, TaskRepo, UserRepo
from storage.models import Client, Handover, UserProfile

PACK_CLIENTS = 30
PACK_TASKS = 10


async def end_handovers(
    message: Message, user: UserContext, repos: Storage, clock: Clock
) -> None:
    """/handover off"""
    ended = await repos.teams.end_handovers(user.id, clock.now())
    await message.answer(
        _("Handovers ended: your clients are yours again ({count}).").format(count=ended)
    )


async def list_handovers(
    message: Message, user: UserContext, repos: Storage, clock: Clock
) -> None:
    """/handover alone: what you handed over and what you cover."""
    now = clock.now()
    users, clients = repos.users, repos.clients
    lines = [
        "→ " + await _handover_line(item, user, users, clients, outgoing=True)
        for item in await repos.teams.handed_over_by(user.id, now)
    ]
    lines += [
        "← " + await _handover_line(item, user, users, clients, outgoing=False)
        for item in await repos.teams.handed_to(user.id, now)
    ]
    if not lines:
        await message.answer(_("No handovers now.") + "\n" + usage())
        return
    await message.answer("\n".join(lines))


async def _handover_line(
    item: Handover, user: UserContext, users: UserRepo, clients: ClientRepo, *, outgoing: bool
) -> str:
    other = await users.get(item.to_user_id if outgoing else item.owner_id)
    client = await clients.get(item.owner_id, item.client_id) if item.client_id else None
    fields = {
        "scope": html.quote(client.name) if client else _("all clients"),
        "name": html.quote(other.display_name if other else "?"),
        "until": format_day(item.ends_at.astimezone(user.tz).date(), user.locale),
    }
    if outgoing:
        return _("{scope} to {name} until {until}").format(**fields)
    return _("{scope} from {name} until {until}").format(**fields)


async def needs_team(message: Message) -> None:
    await message.answer(
        _("Handing over needs a team: create or join one first.") + "\n" + usage()
    )


async def whom_to(message: Message) -> None:
    """/handover with no teammate (of yours, other than you) where the @name goes."""
    await message.answer(
        _("Whom to? <code>/handover Acme: @colleague until 15.12</code> (a teammate "
          "who has written to me once), or <code>/handover off</code>.")
    )


async def until_when(message: Message) -> None:
    """/handover to a teammate without an end, or with one that is not in the future."""
    await message.answer(
        _("Until when? For example: <code>until 15.12</code> or "
          "<code>until monday</code>.")
    )


async def hand_over(
    message: Message,
    request: HandoverRequest,
    user: UserContext,
    repos: Storage,
    services: Services,
    clock: Clock,
    bot: Bot,
) -> None:
    """/handover Acme: @colleague until 15.12 (without "Acme:", all your clients); the
    filters have found the teammate and the end."""
    now = clock.now()
    clients = repos.clients
    handed: list[Client]
    if request.client_query is not None:
        handed = await clients.match(user.id, request.client_query)
        if len(handed) != 1:
            await message.answer(unresolved_client(request.client_query, handed))
            return
        scope = html.quote(handed[0].name)
    else:
        handed = [
            c for s in await clients.list_summaries(user.id, offset=0, limit=PACK_CLIENTS)
            if (c := await clients.get(user.id, s.client.id)) is not None
        ]
        scope = _("all your clients")
    mate, ends = request.mate, request.ends
    one_client = handed[0].id if request.client_query is not None else None
    await repos.teams.create_handover(user.id, one_client, mate.id, now, ends, now)
    await message.answer(
        _("Handed over to {name} until {until}: {scope}. Their alerts go to them; "
          "I sent them a handover pack.").format(
            name=html.quote(mate.display_name),
            until=format_moment(ends, user.tz, user.locale, now),
            scope=scope,
        )
    )
    blocks = await pack_blocks(mate, user, handed, services.tasks, repos.notes, ends, now)
    for part in split_message("\n\n".join(blocks).split("\n"), MESSAGE_LIMIT):
        await bot.send_message(mate.id, part)


async def pack_blocks(
    mate: UserProfile,
    owner: UserContext,
    handed: list[Client],
    tasks: TaskRepo,
    notes: NoteRepo,
    ends: datetime,
    now: datetime,
) -> list[str]:
    """The handover pack: a card per client with its open tasks and latest notes."""
    # The pack is in the owner's language (it is their data and their words).
    zone = user_zone(mate.timezone, owner.tz)
    blocks = [
        "📦 " + html.bold(_("Handover pack until {until}").format(
            until=format_moment(ends, zone, owner.locale, now)
        ))
    ]
    for client in handed[:PACK_CLIENTS]:
        open_tasks = await tasks.open_for_client(owner.id, client.id, PACK_TASKS)
        last = await notes.latest(owner.id, client.id, offset=0, limit=3)
        blocks.append(client_card(client, open_tasks, zone, owner.locale, now, notes=last))
    return blocks
