"""Teams: create, invite by deep link, members, backups, handovers, and the lead's views."""

from __future__ import annotations

import logging
import re
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta

from aiogram import Bot, F, Router, html
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import TeamAction
from bot.clock import Clock
from bot.context import UserContext
from bot.i18n import pick_language
from bot.services.dates import DateParser
from bot.services.intake_address import new_intake_secret, team_address
from bot.services.reminder_plan import next_working_start
from bot.services.render import (
    MESSAGE_LIMIT,
    client_card,
    format_day,
    format_moment,
    shorten,
    split_message,
    task_line,
)
from bot.services.task_input import split_client_prefix
from bot.services.text import clean_line
from bot.services.timezones import user_zone
from bot.settings import Settings
from handlers.replies import edit_or_send, send_long, stale_button, unresolved_client
from storage.errors import AlreadyInTeamError
from storage.interfaces import ClientRepo, NoteRepo, TaskRepo, TeamRepo, UserRepo
from storage.models import Client, Departure, Team, UserProfile

logger = logging.getLogger(__name__)

INVITE_LIFETIME = timedelta(hours=48)
NAME_LIMIT = 64
PACK_CLIENTS = 30
PACK_TASKS = 10
OVERDUE_PER_PERSON = 10
_USERNAME = re.compile(r"@?([A-Za-z][A-Za-z0-9_]{3,31})")


def new_secret() -> str:
    """The secret part of an intake path; the path is 't<team id>-<secret>'."""
    return new_intake_secret()


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


def partners(departure: Departure) -> set[int | None]:
    """Everyone on either side of the handovers that ended."""
    found: set[int | None] = set()
    for item in departure.ended:
        found.update((item.owner_id, item.to_user_id))
    return found


def ended_for_leaver(departure: Departure, leaver_id: int, people: dict[int, str]) -> list[str]:
    """What the person who left (or was removed) is told about their handovers."""
    lines = []
    for other in sorted({h.owner_id for h in departure.ended if h.to_user_id == leaver_id}):
        lines.append(
            _("Your cover for {name} has ended: their reminders and alerts go back to "
              "them.").format(name=html.quote(people.get(other, "?")))
        )
    for other in sorted({h.to_user_id for h in departure.ended if h.owner_id == leaver_id}):
        lines.append(
            _("Your handover to {name} has ended: your reminders come to you again.").format(
                name=html.quote(people.get(other, "?"))
            )
        )
    return lines


async def tell_handover_partners(
    bot: Bot, i18n: I18n, settings: Settings, users: UserRepo, departure: Departure,
    leaver: UserProfile,
) -> None:
    """The other side of each ended handover learns it at once, in their language."""
    name = html.quote(leaver.display_name)
    owners = {h.owner_id for h in departure.ended if h.to_user_id == leaver.id}
    covers = {h.to_user_id for h in departure.ended if h.owner_id == leaver.id}
    for other_id in sorted(owners | covers):
        other = await users.get(other_id)
        if other is None:
            continue

        def render(other_id: int = other_id) -> str:
            lines = []
            if other_id in owners:
                lines.append(
                    _("{name} is no longer in the team: your handover to them has ended, "
                      "your reminders and alerts come to you again.").format(name=name)
                )
            if other_id in covers:
                lines.append(
                    _("{name} is no longer in the team: you no longer cover their "
                      "clients.").format(name=name)
                )
            return "\n".join(lines)

        await tell(bot, i18n, settings, other, render)


def usage() -> str:
    return _(
        "Teams: <code>/team new Agency</code> creates one (you lead it), "
        "<code>/team invite</code> gives a link for a colleague, "
        "<code>/backup @colleague</code> names who gets your unanswered alerts, "
        "<code>/handover Acme: @colleague until 15.12</code> hands clients over for a while."
    )


def reachable(person: UserProfile, now: datetime, settings: Settings) -> bool:
    zone = user_zone(person.timezone, settings.timezone)
    return person.active and next_working_start(now, zone, person.hours) is None


def hours_text(person: UserProfile) -> str:
    hours = person.hours
    if not hours.days or hours.start_minute >= hours.end_minute:
        return _("any time")
    return (
        f"{hours.start_minute // 60:02d}:{hours.start_minute % 60:02d}–"
        f"{hours.end_minute // 60:02d}:{hours.end_minute % 60:02d}"
    )


def member_line(
    person: UserProfile, team: Team, people: dict[int, UserProfile], now: datetime,
    settings: Settings,
) -> str:
    role = _("lead") if person.id == team.lead_id else _("member")
    zone = person.timezone or settings.default_timezone
    state = "🟢 " + _("reachable now") if reachable(person, now, settings) else "🌙 " + _(
        "off hours"
    )
    line = (
        f"• {html.bold(html.quote(person.display_name))} · {role} · {html.quote(zone)}"
        f" · {hours_text(person)} · {state}"
    )
    backup = people.get(person.backup_id or 0)
    if backup is not None:
        line += " · " + _("backup: {name}").format(name=html.quote(backup.display_name))
    return line


def people_keyboard(people: list[UserProfile], op: str) -> InlineKeyboardMarkup:
    """One button per teammate; the handler re-checks the id against the team."""
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(
                text=shorten(person.display_name, 40),
                callback_data=TeamAction(op=op, id=person.id).pack(),
            )]
            for person in people
        ]
    )


async def find_teammate(
    users: UserRepo, teams: TeamRepo, team: Team, handle: str
) -> UserProfile | None:
    match = _USERNAME.fullmatch(handle.strip())
    if match is None:
        return None
    person = await users.by_username(match.group(1))
    if person is None:
        return None
    members = {m.id for m in await teams.members(team.id)}
    return person if person.id in members else None


def create_router() -> Router:
    router = Router(name=__name__)

    # ------------------------------------------------------------------ joining

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith("join-")))
    async def join(
        message: Message,
        command: CommandObject,
        user: UserContext,
        teams: TeamRepo,
        users: UserRepo,
        clock: Clock,
        bot: Bot,
    ) -> None:
        code = (command.args or "").removeprefix("join-")
        try:
            team = await teams.join_by_invite(code, user.id, clock.now())
        except AlreadyInTeamError:
            current = await teams.team_of(user.id)
            await message.answer(
                _("You are already in the team {name}.").format(
                    name=html.quote(current.name if current else "?")
                )
            )
            return
        if team is None:
            await message.answer(
                _("This invite link is used up or has expired. Ask your lead for a new one.")
            )
            return
        await message.answer(
            _("Welcome to the team {name}! Alerts about your clients now escalate to your "
              "backup and the lead if you miss them. /team shows everyone.").format(
                name=html.quote(team.name)
            )
        )
        profile = await users.get(user.id)
        lead = await users.get(team.lead_id)
        if lead is not None and profile is not None:
            await bot.send_message(
                lead.id,
                _("{name} joined the team {team}.").format(
                    name=html.quote(profile.display_name), team=html.quote(team.name)
                ),
            )

    # ------------------------------------------------------------------ /team

    @router.message(Command("team"))
    async def team_command(
        message: Message,
        command: CommandObject,
        user: UserContext,
        teams: TeamRepo,
        users: UserRepo,
        tasks: TaskRepo,
        clock: Clock,
        settings: Settings,
        bot: Bot,
        i18n: I18n,
    ) -> None:
        args = clean_line(command.args or "")
        verb, _sep, rest = args.partition(" ")
        verb = verb.lower()
        team = await teams.team_of(user.id)
        if verb == "new":
            await create_team(message, rest, user, teams, clock)
            return
        if team is None:
            await message.answer(_("You are not in a team yet.") + "\n" + usage())
            return
        is_lead = team.lead_id == user.id
        if verb == "invite":
            if not is_lead:
                await message.answer(_("Only the team lead can invite."))
                return
            code = secrets.token_urlsafe(12)
            await teams.create_invite(code, team.id, user.id, clock.now() + INVITE_LIFETIME)
            me = await bot.me()
            link = f"https://t.me/{me.username}?start=join-{code}"
            await message.answer(
                _("Send this link to a colleague. It adds one person and works for 48 hours:"
                  "\n{link}").format(link=html.quote(link))
            )
            return
        if verb == "overdue":
            await team_overdue(message, user, team, teams, tasks, clock)
            return
        if verb in ("remove", "lead"):
            if not is_lead:
                await message.answer(_("Only the team lead can do that."))
                return
            members = [m for m in await teams.members(team.id) if m.id != user.id]
            if not members:
                await message.answer(_("There is nobody else in the team yet: /team invite"))
                return
            op = "rm" if verb == "remove" else "lead"
            prompt = (
                _("Whom to remove from the team?") if op == "rm" else _("Who becomes the lead?")
            )
            await message.answer(prompt, reply_markup=people_keyboard(members, op))
            return
        if verb == "all":
            if not is_lead:
                await message.answer(_("Only the team lead can do that."))
                return
            enabled = rest.strip().lower() not in ("off", "выкл", "нет", "no")
            await teams.set_escalate_to_all(team.id, enabled)
            await message.answer(
                _("Unanswered alerts finally go to the whole team.")
                if enabled
                else _("Unanswered alerts stop at the lead.")
            )
            return
        if verb == "leave":
            if is_lead:
                await message.answer(
                    _("You lead the team: make someone else lead first (/team lead).")
                )
                return
            departure = await teams.remove_member(
                team.id, user.id, now=clock.now(), new_secret=None
            )
            lines = [_("You left the team {name}.").format(name=html.quote(team.name))]
            leaver = await users.get(user.id)
            if departure is not None and leaver is not None:
                people = await users.display_names(partners(departure))
                lines += ended_for_leaver(departure, user.id, people)
                await message.answer("\n".join(lines))
                await tell_handover_partners(bot, i18n, settings, users, departure, leaver)
                return
            await message.answer("\n".join(lines))
            return
        if verb:
            await message.answer(usage())
            return
        await message.answer(
            await team_listing(team, teams, user, clock.now(), settings),
        )

    async def create_team(
        message: Message, name: str, user: UserContext, teams: TeamRepo, clock: Clock
    ) -> None:
        name = name.strip()
        if not name:
            await message.answer(_("Name the team: <code>/team new Agency</code>"))
            return
        if len(name) > NAME_LIMIT:
            await message.answer(
                _("A team name is at most {limit} characters.").format(limit=NAME_LIMIT)
            )
            return
        try:
            team = await teams.create(user.id, name, new_secret(), clock.now())
        except AlreadyInTeamError:
            await message.answer(_("You are in a team already: /team"))
            return
        await message.answer(
            _("Team {name} is created and you lead it. Invite colleagues: /team invite").format(
                name=html.quote(team.name)
            )
        )

    async def team_listing(
        team: Team, teams: TeamRepo, user: UserContext, now: datetime, settings: Settings
    ) -> str:
        members = await teams.members(team.id)
        people = {m.id: m for m in members}
        lines = [
            "👥 " + html.bold(html.quote(team.name))
            + " · " + _("{count} people").format(count=len(members))
        ]
        lines += [member_line(m, team, people, now, settings) for m in members]
        lines.append(
            _("Unanswered alerts finally go to the whole team.")
            if team.escalate_to_all
            else _("Unanswered alerts stop at the lead.")
        )
        if team.lead_id == user.id:
            lines.append(
                _("Lead: /team invite · /team remove · /team lead · /team overdue · "
                  "/team all on|off · /intake")
            )
        else:
            lines.append(_("/backup @colleague · /handover · /team leave"))
        return "\n".join(lines)

    async def team_overdue(
        message: Message,
        user: UserContext,
        team: Team,
        teams: TeamRepo,
        tasks: TaskRepo,
        clock: Clock,
    ) -> None:
        if team.lead_id != user.id:
            await message.answer(_("Only the team lead sees everyone's overdue tasks."))
            return
        now = clock.now()
        lines = ["⏰ " + html.bold(_("Overdue in the team {name}").format(
            name=html.quote(team.name)))]
        total = 0
        for member in await teams.members(team.id):
            count = await tasks.count_overdue(member.id, now)
            total += count
            lines.append("")
            lines.append(
                html.bold(html.quote(member.display_name)) + " · "
                + _("{count} overdue").format(count=count)
            )
            for task in await tasks.overdue(member.id, now, limit=OVERDUE_PER_PERSON):
                lines.append(task_line(task, user.tz, user.locale, now, with_day=True))
            if count > OVERDUE_PER_PERSON:
                lines.append(_("… and {count} more").format(count=count - OVERDUE_PER_PERSON))
        if total == 0:
            lines.append(_("Nothing overdue in the team. 👌"))
        await send_long(message, "\n".join(lines), None)

    @router.callback_query(TeamAction.filter(F.op.in_({"rm", "lead"})))
    async def member_action(
        query: CallbackQuery,
        callback_data: TeamAction,
        user: UserContext,
        teams: TeamRepo,
        users: UserRepo,
        clock: Clock,
        settings: Settings,
        bot: Bot,
        i18n: I18n,
    ) -> None:
        team = await teams.team_of(user.id)
        if team is None or team.lead_id != user.id:
            await stale_button(query)
            return
        target = await users.get(callback_data.id)
        members = {m.id for m in await teams.members(team.id)}
        if target is None or target.id not in members or target.id == user.id:
            await stale_button(query)
            return
        me = await users.get(user.id)
        my_name = html.quote(me.display_name if me is not None else "?")
        team_name = html.quote(team.name)
        if callback_data.op == "rm":
            # The team's address is replaced with the removal: whatever they knew stops.
            departure = await teams.remove_member(
                team.id, target.id, now=clock.now(), new_secret=new_intake_secret()
            )
            if departure is None:
                await stale_button(query)
                return
            updated = departure.team
            address = html.code(html.quote(team_address(settings, updated)))
            done = "\n".join([
                _("{name} is no longer in the team.").format(
                    name=html.quote(target.display_name)
                ),
                _("The team's intake address is replaced (the old one answers 403): "
                  "{url}").format(url=address),
            ])
            people = await users.display_names(partners(departure))

            def removed_text() -> str:
                removed = _("{lead} removed you from the team {team}.").format(
                    lead=my_name, team=team_name
                )
                return "\n".join([removed, *ended_for_leaver(departure, target.id, people)])

            await tell(bot, i18n, settings, target, removed_text)
            await tell_handover_partners(bot, i18n, settings, users, departure, target)
        else:
            if not await teams.set_lead(team.id, target.id, new_intake_secret()):
                await stale_button(query)
                return
            fresh = await teams.get(team.id)
            assert fresh is not None
            updated = fresh
            done = "\n".join([
                _("{name} now leads the team.").format(name=html.quote(target.display_name)),
                _("The team's intake address is replaced (the old one answers 403); {name} "
                  "has the new one: /intake.").format(name=html.quote(target.display_name)),
            ])
            address = html.code(html.quote(team_address(settings, updated)))

            def lead_text() -> str:
                return _("{lead} made you the lead of the team {team}. The team's intake "
                         "address is new, put it into the team's monitoring: {url} "
                         "(/intake shows it again).").format(
                    lead=my_name, team=team_name, url=address
                )

            await tell(bot, i18n, settings, target, lead_text)
        await query.answer()
        await edit_or_send(
            query, done + "\n\n" + await team_listing(updated, teams, user, clock.now(), settings)
        )

    # ------------------------------------------------------------------ /backup

    @router.message(Command("backup"))
    async def backup(
        message: Message,
        command: CommandObject,
        user: UserContext,
        teams: TeamRepo,
        users: UserRepo,
    ) -> None:
        arg = clean_line(command.args or "")
        team = await teams.team_of(user.id)
        if arg.lower() in ("off", "нет", "выкл"):
            await users.set_backup(user.id, None)
            await message.answer(_("No backup now: unanswered alerts go to the lead."))
            return
        if not arg and team is None:
            await message.answer(
                _("Name your backup: <code>/backup @colleague</code> (they must have written "
                  "to me once). <code>/backup off</code> removes it.")
            )
            return
        if not arg:
            assert team is not None
            members = [m for m in await teams.members(team.id) if m.id != user.id]
            if not members:
                await message.answer(_("There is nobody else in the team yet: /team invite"))
                return
            await message.answer(
                _("Who gets your alerts when you do not answer?"),
                reply_markup=people_keyboard(members, "backup"),
            )
            return
        if team is not None:
            mate = await find_teammate(users, teams, team, arg)
        else:
            # Without a team, anyone who has written to the bot can be the backup.
            match = _USERNAME.fullmatch(arg)
            mate = await users.by_username(match.group(1)) if match else None
        if mate is None or mate.id == user.id:
            # Echoed shortened: the argument can be a whole message long (4,096 characters).
            shown = html.quote(shorten(arg, NAME_LIMIT))
            await message.answer(
                _("{name} is not a teammate I know. They must be in your team and have "
                  "written to me once.").format(name=shown)
                if team is not None
                else _("I do not know {name}: they must write to me once first.").format(
                    name=shown
                )
            )
            return
        await users.set_backup(user.id, mate.id)
        await message.answer(
            _("{name} is your backup: your unanswered alerts go to them.").format(
                name=html.quote(mate.display_name)
            )
        )

    @router.callback_query(TeamAction.filter(F.op == "backup"))
    async def backup_button(
        query: CallbackQuery,
        callback_data: TeamAction,
        user: UserContext,
        teams: TeamRepo,
        users: UserRepo,
    ) -> None:
        team = await teams.team_of(user.id)
        mate = await users.get(callback_data.id)
        members = {m.id for m in await teams.members(team.id)} if team else set()
        if team is None or mate is None or mate.id not in members or mate.id == user.id:
            await stale_button(query)
            return
        await users.set_backup(user.id, mate.id)
        await query.answer()
        await edit_or_send(
            query,
            _("{name} is your backup: your unanswered alerts go to them.").format(
                name=html.quote(mate.display_name)
            ),
        )

    # ------------------------------------------------------------------ /handover

    @router.message(Command("handover"))
    async def handover(
        message: Message,
        command: CommandObject,
        user: UserContext,
        teams: TeamRepo,
        users: UserRepo,
        clients: ClientRepo,
        tasks: TaskRepo,
        notes: NoteRepo,
        dates: DateParser,
        clock: Clock,
        bot: Bot,
    ) -> None:
        now = clock.now()
        raw = clean_line(command.args or "")
        if raw.lower() in ("off", "stop", "выкл", "стоп"):
            ended = await teams.end_handovers(user.id, now)
            await message.answer(
                _("Handovers ended: your clients are yours again ({count}).").format(
                    count=ended
                )
            )
            return
        team = await teams.team_of(user.id)
        if not raw:
            await message.answer(await handover_listing(user, teams, users, clients, now))
            return
        if team is None:
            await message.answer(
                _("Handing over needs a team: create or join one first.") + "\n" + usage()
            )
            return
        client_query, rest = split_client_prefix(raw)
        handle, _sep, when = rest.partition(" ")
        when = re.sub(r"^(until|till|до|по)\s+", "", when.strip(), flags=re.IGNORECASE)
        mate = await find_teammate(users, teams, team, handle)
        if mate is None or mate.id == user.id:
            await message.answer(
                _("Whom to? <code>/handover Acme: @colleague until 15.12</code> (a teammate "
                  "who has written to me once), or <code>/handover off</code>.")
            )
            return
        ends = (
            dates.parse(
                when, tz=user.tz, now=now, morning_hour=user.morning_hour, locale=user.locale
            )
            if when
            else None
        )
        if ends is None or ends <= now:
            await message.answer(
                _("Until when? For example: <code>until 15.12</code> or "
                  "<code>until monday</code>.")
            )
            return
        handed: list[Client]
        if client_query is not None:
            found = await clients.match(user.id, client_query)
            if len(found) != 1:
                await message.answer(unresolved_client(client_query, found))
                return
            handed = found
        else:
            handed = [
                c for s in await clients.list_summaries(user.id, offset=0, limit=PACK_CLIENTS)
                if (c := await clients.get(user.id, s.client.id)) is not None
            ]
        await teams.create_handover(
            user.id, handed[0].id if client_query is not None else None, mate.id, now, ends, now
        )
        scope = (
            html.quote(handed[0].name) if client_query is not None else _("all your clients")
        )
        until = format_moment(ends, user.tz, user.locale, now)
        await message.answer(
            _("Handed over to {name} until {until}: {scope}. Their alerts go to them; "
              "I sent them a handover pack.").format(
                name=html.quote(mate.display_name), until=until, scope=scope
            )
        )
        await send_pack(bot, mate, user, handed, tasks, notes, ends, now)

    async def handover_listing(
        user: UserContext, teams: TeamRepo, users: UserRepo, clients: ClientRepo, now: datetime
    ) -> str:
        lines = []
        for item in await teams.handed_over_by(user.id, now):
            mate = await users.get(item.to_user_id)
            client = await clients.get(user.id, item.client_id) if item.client_id else None
            lines.append(
                "→ " + _("{scope} to {name} until {until}").format(
                    scope=html.quote(client.name) if client else _("all clients"),
                    name=html.quote(mate.display_name if mate else "?"),
                    until=format_day(item.ends_at.astimezone(user.tz).date(), user.locale),
                )
            )
        for item in await teams.handed_to(user.id, now):
            owner = await users.get(item.owner_id)
            client = await clients.get(item.owner_id, item.client_id) if item.client_id else None
            lines.append(
                "← " + _("{scope} from {name} until {until}").format(
                    scope=html.quote(client.name) if client else _("all clients"),
                    name=html.quote(owner.display_name if owner else "?"),
                    until=format_day(item.ends_at.astimezone(user.tz).date(), user.locale),
                )
            )
        if not lines:
            return _("No handovers now.") + "\n" + usage()
        return "\n".join(lines)

    async def send_pack(
        bot: Bot,
        mate: UserProfile,
        owner: UserContext,
        handed: list[Client],
        tasks: TaskRepo,
        notes: NoteRepo,
        ends: datetime,
        now: datetime,
    ) -> None:
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
            blocks.append(
                client_card(client, open_tasks, zone, owner.locale, now, notes=last)
            )
        text = "\n\n".join(blocks)
        for part in split_message(text.split("\n"), MESSAGE_LIMIT):
            await bot.send_message(mate.id, part)

    return router
