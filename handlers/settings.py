"""/settings: one card with buttons for language, remind-ahead defaults, working hours and
the digest.

The card's language buttons are /lang's (handlers/common.py). Each kind of button here has a
filter that reads the press against the user's stored settings into the value to store; a
press it cannot read (forged, or the user's row gone) gets "no longer valid" from
``button_expired``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from aiogram import F, Router, html
from aiogram.filters import Command, Filter
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.callback_answer import CallbackAnswer
from aiogram.utils.i18n import gettext as _

from bot.callbacks import Setting, SettingKey
from bot.clock import Clock
from bot.context import UserContext
from bot.domain.reminder_plan import AHEAD_CHOICES, DEFAULT_AHEAD_MINUTES
from bot.domain.timezones import zone_label
from bot.services.catalog import Services
from bot.views.hours import hours_text
from bot.views.render import KIND_ICONS
from bot.views.replies import edit_or_send
from handlers.buttons import answer_presses, button_expired
from storage.interfaces import Storage, UserRepo
from storage.models import TaskKind, UserProfile, WorkingHours

# Presets offered as buttons; anything else: /hours 10:30-18:00, /digest 8:15.
HOUR_PRESETS = {"8-17": (8, 17), "9-18": (9, 18), "9-19": (9, 19), "10-19": (10, 19)}
DIGEST_PRESETS = (8 * 60, 9 * 60, 10 * 60)  # minutes: callback data cannot hold a colon
ANY_TIME = WorkingHours(0, 24 * 60, tuple(range(7)))
WORKING_WEEK = (0, 1, 2, 3, 4)


@dataclass(frozen=True, slots=True)
class AheadChoice:
    """How long before a task of this kind its reminder comes, by default."""

    kind: TaskKind
    minutes: int


@dataclass(frozen=True, slots=True)
class DigestChoice:
    enabled: bool
    minute: int


def ahead_short(minutes: int) -> str:
    if minutes == 0:
        return "—"
    if minutes % (24 * 60) == 0:
        return _("{count} d").format(count=minutes // (24 * 60))
    if minutes % 60 == 0:
        return _("{count} h").format(count=minutes // 60)
    return _("{count} min").format(count=minutes)


def ahead_table(profile: UserProfile) -> list[tuple[TaskKind, int]]:
    own = dict(profile.ahead_defaults)
    return [(kind, own.get(kind, DEFAULT_AHEAD_MINUTES[kind])) for kind in TaskKind]


def is_any_time(hours: WorkingHours) -> bool:
    return hours.start_minute == 0 and hours.end_minute == 24 * 60


def settings_card(profile: UserProfile, user: UserContext, now_label: str) -> str:
    minute = profile.digest_minute
    digest = (
        _("every working day at {time}").format(time=f"{minute // 60:02}:{minute % 60:02}")
        if profile.digest_enabled
        else _("off")
    )
    return "\n".join(
        [
            html.bold(_("⚙️ Settings")),
            _("Language: {language}").format(language="Русский" if user.locale == "ru"
                                              else "English"),
            _("Timezone: {tz}").format(tz=html.quote(now_label)),
            hours_text(profile.hours),
            _("Daily digest: {digest}").format(digest=digest),
            _("Remind ahead: {defaults}").format(defaults=" · ".join(
                f"{KIND_ICONS[kind]} {ahead_short(minutes)}"
                for kind, minutes in ahead_table(profile)
            )),
            "",
            _("Also: /tz city · /hours 10:30-18:00 · /digest 8:15"),
        ]
    )


def settings_keyboard(profile: UserProfile) -> InlineKeyboardMarkup:
    def button(text: str, key: SettingKey, value: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=Setting(key=key, value=value).pack()
        )

    current = (profile.hours.start_minute // 60, profile.hours.end_minute // 60)
    hours_row = [
        button(("• " if current == span else "") + label.replace("-", "–"), SettingKey.HOURS,
               label)
        for label, span in HOUR_PRESETS.items()
    ]
    always = is_any_time(profile.hours)
    digest_row = [
        button(
            ("• " if profile.digest_enabled and profile.digest_minute == minute else "")
            + f"{minute // 60}:{minute % 60:02}",
            SettingKey.DIGEST,
            str(minute),
        )
        for minute in DIGEST_PRESETS
    ]
    digest_row.append(
        button(_("Digest off") if profile.digest_enabled else _("Digest on"), SettingKey.DIGEST,
               "off" if profile.digest_enabled else "on")
    )
    ahead_buttons = [
        button(f"{KIND_ICONS[kind]} {ahead_short(minutes)}", SettingKey.AHEAD, kind.value)
        for kind, minutes in ahead_table(profile)
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button("Русский", SettingKey.LANG, "ru"), button("English", SettingKey.LANG, "en")],
            ahead_buttons[:3],
            ahead_buttons[3:],
            hours_row,
            [button(("• " if always else "") + _("Reminders any time"), SettingKey.HOURS, "off")],
            digest_row,
        ]
    )


# ---------------------------------------------------------------- reading a press


def ahead_from_button(value: str, profile: UserProfile) -> AheadChoice | None:
    """A kind's button steps its default to the next choice (after the last: the first)."""
    if value not in TaskKind._value2member_map_:
        return None
    kind = TaskKind(value)
    current = dict(ahead_table(profile))[kind]
    choices = AHEAD_CHOICES
    following = (
        choices[(choices.index(current) + 1) % len(choices)] if current in choices
        else choices[0]
    )
    return AheadChoice(kind, following)


def hours_from_button(value: str, profile: UserProfile) -> WorkingHours | None:
    if value == "off":
        return ANY_TIME
    if value not in HOUR_PRESETS:
        return None
    start, end = HOUR_PRESETS[value]
    # After "any time" a span of hours means the working week again; days the user chose
    # (Mon–Sat, every day) stay.
    days = WORKING_WEEK if is_any_time(profile.hours) else profile.hours.days
    return WorkingHours(start * 60, end * 60, days)


def digest_from_button(value: str, profile: UserProfile) -> DigestChoice | None:
    if value in ("on", "off"):
        return DigestChoice(enabled=value == "on", minute=profile.digest_minute)
    if value.isdigit() and int(value) in DIGEST_PRESETS:
        return DigestChoice(enabled=True, minute=int(value))
    return None


class SettingChoice(Filter):
    """The press read against the user's stored settings, handed over as ``{name: value}``."""

    def __init__(self, name: str, read: Callable[[str, UserProfile], object | None]) -> None:
        self.name = name
        self.read = read

    async def __call__(
        self, query: CallbackQuery, callback_data: Setting, repos: Storage, user: UserContext
    ) -> dict[str, Any] | bool:
        profile = await repos.users.get(user.id)
        if profile is None:
            return False
        choice = self.read(callback_data.value, profile)
        return False if choice is None else {self.name: choice}


# ---------------------------------------------------------------- handlers


async def show(
    target: Message | CallbackQuery, users: UserRepo, user: UserContext, clock: Clock
) -> None:
    profile = await users.get(user.id)
    if profile is None:
        return
    text = settings_card(profile, user, zone_label(user.tz.key, clock.now()))
    await edit_or_send(target, text, settings_keyboard(profile))


async def show_settings(
    message: Message, repos: Storage, user: UserContext, clock: Clock
) -> None:
    await show(message, repos.users, user, clock)


async def set_ahead(
    query: CallbackQuery,
    ahead: AheadChoice,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    await repos.users.set_ahead_default(user.id, ahead.kind, ahead.minutes)
    # Upcoming tasks of that kind follow the new default (unless set per task).
    for task in await services.tasks.open_with_due_after(user.id, clock.now()):
        if task.kind is ahead.kind and task.remind_ahead_minutes is None:
            await services.planner.plan(task, keep_snoozes=True)
    callback_answer.text = _("Saved.")
    await show(query, repos.users, user, clock)


async def set_hours(
    query: CallbackQuery,
    hours: WorkingHours,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    await repos.users.set_hours(user.id, hours)
    # Pending reminders follow the new hours; one held for the old ones is released.
    await services.planner.replan_owner(user.id, services.tasks)
    callback_answer.text = _("Saved.")
    await show(query, repos.users, user, clock)


async def set_digest(
    query: CallbackQuery,
    digest: DigestChoice,
    repos: Storage,
    user: UserContext,
    clock: Clock,
    callback_answer: CallbackAnswer,
) -> None:
    await repos.users.set_digest(user.id, enabled=digest.enabled, minute=digest.minute)
    callback_answer.text = _("Saved.")
    await show(query, repos.users, user, clock)


def create_router() -> Router:
    router = answer_presses(Router(name=__name__))
    router.message.register(show_settings, Command("settings"))
    router.callback_query.register(
        set_ahead, Setting.filter(F.key == SettingKey.AHEAD),
        SettingChoice("ahead", ahead_from_button),
    )
    router.callback_query.register(
        set_hours, Setting.filter(F.key == SettingKey.HOURS),
        SettingChoice("hours", hours_from_button),
    )
    router.callback_query.register(
        set_digest, Setting.filter(F.key == SettingKey.DIGEST),
        SettingChoice("digest", digest_from_button),
    )
    # Language and timezone buttons are handled by /lang's and /tz's router (handlers/common.py,
    # included before this one); any other settings press left over is expired.
    router.callback_query.register(button_expired, Setting.filter())
    return router
