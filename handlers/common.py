"""/start, /help, /lang, /tz, /cancel, and the language and timezone buttons (also on the
/settings card)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router, html
from aiogram.filters import Command, CommandObject, CommandStart, Filter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.callbacks import Setting, SettingKey
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.timezones import resolve_timezone, zone_label
from bot.services.catalog import Services
from handlers.buttons import answer_presses, button_expired
from storage.interfaces import Storage, UserRepo

LANGUAGES = ("ru", "en")
# Offered at /start and /tz: where most of our users are, then a few abroad; labels in the
# user's language.
_SUGGESTED_ZONES = (
    ("Москва", "Moscow", "Europe/Moscow"),
    ("Калининград", "Kaliningrad", "Europe/Kaliningrad"),
    ("Самара", "Samara", "Europe/Samara"),
    ("Екатеринбург", "Yekaterinburg", "Asia/Yekaterinburg"),
    ("Новосибирск", "Novosibirsk", "Asia/Novosibirsk"),
    ("Владивосток", "Vladivostok", "Asia/Vladivostok"),
    ("Лондон", "London", "Europe/London"),
    ("Берлин", "Berlin", "Europe/Berlin"),
    ("Нью-Йорк", "New York", "America/New_York"),
)


def timezone_keyboard(locale: str) -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    for russian, english, zone in _SUGGESTED_ZONES:
        label = russian if locale == "ru" else english
        builder.button(text=label, callback_data=Setting(key=SettingKey.TZ, value=zone))
    builder.adjust(3)
    return builder.as_markup()


def language_keyboard() -> InlineKeyboardMarkup:
    builder = InlineKeyboardBuilder()
    builder.button(text="Русский", callback_data=Setting(key=SettingKey.LANG, value="ru"))
    builder.button(text="English", callback_data=Setting(key=SettingKey.LANG, value="en"))
    return builder.as_markup()


def help_text() -> str:
    lines = [
        html.bold(_("What I can do")),
        "",
        html.bold(_("Clients")),
        _("/newclient Acme — add a client"),
        _("/clients — all clients with open tasks"),
        _("/client Acme — client card (a unique start of the name is enough)"),
        "",
        html.bold(_("Tasks")),
        _("/task Acme: call about the budget tomorrow at 10 — a task in one line"),
        _("/task — the same, step by step"),
        _("/today — due today · /overdue — past due · /week — next 7 days"),
        _("/done 41 — complete task #41 · /undo — reopen the last completed task"),
        _("/edit 41 — change or delete task #41"),
        _("/nodate — tasks without a time"),
        _("/task Acme: report every month on the 1st at 10:00 — a recurring task; "
          "/recurring — all of them"),
        "",
        html.bold(_("Reminders")),
        _("Every task with a time reminds you at that time, and calls, reports and invoices "
          "also ahead of it. Buttons on a reminder: done, snooze, reschedule."),
        _("/hours 9-19 — working hours: reminders outside them wait for the morning; "
          "/hours off — any time"),
        _("/digest — today, overdue and clients not heard from; it also comes every working "
          "morning (/digest 8:30, /digest off)"),
        "",
        html.bold(_("Invoices")),
        _("/invoice Acme 120000 due 01.12 — an invoice with payment reminders; "
          "/invoices — unpaid ones"),
        _("/currency EUR — the currency of your new invoices (from your timezone until set)"),
        "",
        html.bold(_("Urgent alerts and your team")),
        _("/urgent Acme: site is down — pages the client's manager until someone "
          "acknowledges; /alerts — open and recent ones"),
        _("/team new Agency · /team invite · /team — your team; /backup @colleague — who gets "
          "your unanswered alerts"),
        _("/handover Acme: @colleague until 15.12 — hand clients over while you are away; "
          "/intake — addresses for monitors and forms"),
        "",
        html.bold(_("Notes")),
        _("Any text you send is saved as a note; “Acme: …” or #acme attaches it to the client"),
        _("/notes Acme — a client's notes · /find budget — search clients, tasks and notes"),
        "",
        html.bold(_("Settings")),
        _("/tz Moscow — your timezone (a city or a name like Europe/Moscow)"),
        _("/lang ru — language: ru or en"),
        _("/cancel — stop the current dialog"),
        _("/export — all your data as files · /import — clients from a CSV file · "
          "/forget_me — delete everything"),
        _("/calendar — your tasks and invoices in Google, Apple or Outlook calendar"),
        "",
        _(
            "Dates: “tomorrow 10am”, “fri 15:00”, “in 2 hours”, “next monday”, “10.12 12:00”, "
            "“1 dec”; in Russian: «завтра в 10», «в пятницу 15:00», «через 2 часа», "
            "«1 декабря». A day without a time means {hour}:00."
        ),
    ]
    return "\n".join(lines)


async def change_timezone(
    zone: str,
    user: UserContext,
    users: UserRepo,
    services: Services,
    clock: Clock,
) -> str:
    """Switch the user's zone. A task keeps its exact moment (shown in the new zone's
    time); a recurring task keeps its wall-clock time in the new zone. So /tz A, B, A
    puts every moment back where it was, and no task slips into the past.

    Working hours are local: pending reminders are re-planned for the new zone.
    """
    now = clock.now()
    await users.set_timezone(user.id, zone)
    text = _("Timezone: {tz}.").format(tz=html.quote(zone_label(zone, now)))
    if zone == user.tz.key:
        return text
    moved = await services.series.follow_zone(user.id, ZoneInfo(zone))
    await services.planner.replan_owner(user.id, services.tasks)
    text += "\n" + _("Tasks keep their moments, now shown in this zone's time.")
    if moved:
        text += "\n" + ngettext(
            "{count} recurring task keeps its local time.",
            "{count} recurring tasks keep their local time.",
            moved,
        ).format(count=moved)
    return text


# ---------------------------------------------------------------- reading a command or a press


class LanguageArgument(Filter):
    """/lang ru: the language the command names, if we speak it."""

    async def __call__(self, message: Message, command: CommandObject) -> dict[str, Any] | bool:
        choice = (command.args or "").strip().lower()
        return {"language": choice} if choice in LANGUAGES else False


class ZoneArgument(Filter):
    """/tz Moscow: the zone the command names (a city, an IANA name, an offset), if known."""

    async def __call__(self, message: Message, command: CommandObject) -> dict[str, Any] | bool:
        zone = resolve_timezone((command.args or "").strip())
        return {"zone": zone} if zone is not None else False


class ZoneButton(Filter):
    """A zone button: the zone it names, if it is still a zone we know."""

    async def __call__(
        self, query: CallbackQuery, callback_data: Setting
    ) -> dict[str, Any] | bool:
        zone = resolve_timezone(callback_data.value)
        return {"zone": zone} if zone is not None else False


# ---------------------------------------------------------------- handlers


async def start(message: Message, user: UserContext, state: FSMContext, clock: Clock) -> None:
    await state.clear()
    name = message.from_user.first_name if message.from_user else ""
    text = _(
        "Hi, {name}! I keep your clients and tasks and tell you what is due.\n\n"
        "Try: <code>/newclient Acme</code>, then "
        "<code>/task Acme: call about the budget tomorrow at 10</code>, then /today.\n"
        "/help lists everything."
    ).format(name=html.quote(name))
    if user.timezone_chosen:
        await message.answer(text)
        return
    text += "\n\n" + _(
        "Your timezone is {tz} for now. Pick yours below or send /tz and a city."
    ).format(tz=html.quote(zone_label(user.tz.key, clock.now())))
    await message.answer(text, reply_markup=timezone_keyboard(user.locale))


async def show_help(message: Message, user: UserContext) -> None:
    await message.answer(help_text().replace("{hour}", str(user.morning_hour)))


async def cancel(message: Message, state: FSMContext) -> None:
    if await state.get_state() is None:
        await message.answer(_("Nothing to cancel."))
        return
    await state.clear()
    await message.answer(_("Cancelled."))


async def ask_language(message: Message) -> None:
    await message.answer(_("Choose a language:"), reply_markup=language_keyboard())


async def set_language(
    message: Message, language: str, user: UserContext, repos: Storage, i18n: I18n
) -> None:
    await repos.users.set_language(user.id, language)
    with i18n.use_locale(language):
        await message.answer(_("Language: English."))


async def unknown_language(message: Message) -> None:
    await message.answer(_("I speak ru and en. Example: /lang ru"))


async def pick_language(
    query: CallbackQuery,
    callback_data: Setting,
    user: UserContext,
    repos: Storage,
    i18n: I18n,
    bot: Bot,
    callback_answer: CallbackAnswer,
) -> None:
    await repos.users.set_language(user.id, callback_data.value)
    with i18n.use_locale(callback_data.value):
        callback_answer.text = _("Language: English.")
        await bot.send_message(user.id, _("Language: English."))


async def ask_timezone(message: Message, user: UserContext, clock: Clock) -> None:
    await message.answer(
        _("Your timezone: {tz}. Send /tz and a city, or pick:").format(
            tz=html.quote(zone_label(user.tz.key, clock.now()))
        ),
        reply_markup=timezone_keyboard(user.locale),
    )


async def set_timezone(
    message: Message,
    zone: str,
    user: UserContext,
    repos: Storage,
    services: Services,
    clock: Clock,
) -> None:
    await message.answer(await change_timezone(zone, user, repos.users, services, clock))


async def unknown_timezone(message: Message, command: CommandObject) -> None:
    await message.answer(
        _(
            "I don't know the timezone “{query}”. Try a city (Moscow, London), "
            "an IANA name (Europe/Moscow) or an offset (UTC+3)."
        ).format(query=html.quote((command.args or "").strip()[:64]))
    )


async def pick_timezone(
    query: CallbackQuery,
    zone: str,
    user: UserContext,
    repos: Storage,
    services: Services,
    clock: Clock,
    bot: Bot,
) -> None:
    del query  # answered by answer_presses; the news goes to the chat as a message
    await bot.send_message(
        user.id, await change_timezone(zone, user, repos.users, services, clock)
    )


def create_router() -> Router:
    router = answer_presses(Router(name=__name__))
    router.message.register(start, CommandStart())
    router.message.register(show_help, Command("help"))
    router.message.register(cancel, Command("cancel"))
    router.message.register(ask_language, Command("lang", magic=F.args.is_(None)))
    router.message.register(set_language, Command("lang"), LanguageArgument())
    router.message.register(unknown_language, Command("lang"))
    router.message.register(ask_timezone, Command("tz", magic=F.args.is_(None)))
    router.message.register(set_timezone, Command("tz"), ZoneArgument())
    router.message.register(unknown_timezone, Command("tz"))
    router.callback_query.register(
        pick_language,
        Setting.filter((F.key == SettingKey.LANG) & F.value.in_(LANGUAGES)),
    )
    router.callback_query.register(
        pick_timezone, Setting.filter(F.key == SettingKey.TZ), ZoneButton()
    )
    # Only the keys handled here: the other settings buttons are the /settings router's.
    router.callback_query.register(
        button_expired, Setting.filter(F.key.in_({SettingKey.LANG, SettingKey.TZ}))
    )
    return router
