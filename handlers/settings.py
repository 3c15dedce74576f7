"""/settings: one card with buttons for language, timezone, working hours and the digest."""

from __future__ import annotations

from aiogram import F, Router, html
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _

from bot.callbacks import Setting
from bot.clock import Clock
from bot.context import UserContext
from bot.services.reminder_plan import AHEAD_CHOICES, DEFAULT_AHEAD_MINUTES
from bot.services.reminders import ReminderPlanner
from bot.services.render import KIND_ICONS
from bot.services.timezones import zone_label
from handlers.reminders import hours_text
from handlers.replies import edit_or_send, stale_button
from storage.interfaces import TaskRepo, UserRepo
from storage.models import TaskKind, UserProfile, WorkingHours

# Presets offered as buttons; anything else: /hours 10:30-18:00, /digest 8:15.
HOUR_PRESETS = {"8-17": (8, 17), "9-18": (9, 18), "9-19": (9, 19), "10-19": (10, 19)}
DIGEST_PRESETS = (8 * 60, 9 * 60, 10 * 60)  # minutes: callback data cannot hold a colon


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
    def button(text: str, key: str, value: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=Setting(key=key, value=value).pack()
        )

    current = (profile.hours.start_minute // 60, profile.hours.end_minute // 60)
    hours_row = [
        button(("• " if current == span else "") + label.replace("-", "–"), "hours", label)
        for label, span in HOUR_PRESETS.items()
    ]
    always = profile.hours.start_minute == 0 and profile.hours.end_minute == 24 * 60
    digest_row = [
        button(
            ("• " if profile.digest_enabled and profile.digest_minute == minute else "")
            + f"{minute // 60}:{minute % 60:02}",
            "digest",
            str(minute),
        )
        for minute in DIGEST_PRESETS
    ]
    digest_row.append(
        button(_("Digest off") if profile.digest_enabled else _("Digest on"), "digest",
               "off" if profile.digest_enabled else "on")
    )
    ahead_buttons = [
        button(f"{KIND_ICONS[kind]} {ahead_short(minutes)}", "ahead", kind.value)
        for kind, minutes in ahead_table(profile)
    ]
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [button("Русский", "lang", "ru"), button("English", "lang", "en")],
            ahead_buttons[:3],
            ahead_buttons[3:],
            hours_row,
            [button(("• " if always else "") + _("Reminders any time"), "hours", "off")],
            digest_row,
        ]
    )


def create_router() -> Router:
    router = Router(name=__name__)

    async def show(target: Message | CallbackQuery, users: UserRepo, user: UserContext,
                   clock: Clock) -> None:
        profile = await users.get(user.id)
        if profile is None:
            return
        text = settings_card(profile, user, zone_label(user.tz.key, clock.now()))
        await edit_or_send(target, text, settings_keyboard(profile))

    @router.message(Command("settings"))
    async def settings(message: Message, users: UserRepo, user: UserContext, clock: Clock) -> (
        None
    ):
        await show(message, users, user, clock)

    @router.callback_query(Setting.filter(F.key.in_({"hours", "digest", "ahead"})))
    async def change(
        query: CallbackQuery,
        callback_data: Setting,
        users: UserRepo,
        tasks: TaskRepo,
        planner: ReminderPlanner,
        user: UserContext,
        clock: Clock,
        i18n: I18n,
    ) -> None:
        profile = await users.get(user.id)
        if profile is None:
            await stale_button(query)
            return
        value = callback_data.value
        if callback_data.key == "ahead":
            if value not in TaskKind._value2member_map_:
                await stale_button(query)
                return
            kind = TaskKind(value)
            current = dict(ahead_table(profile))[kind]
            choices = AHEAD_CHOICES
            following = choices[(choices.index(current) + 1) % len(choices)] if (
                current in choices) else choices[0]
            await users.set_ahead_default(user.id, kind, following)
            # Upcoming tasks of that kind follow the new default (unless set per task).
            for task in await tasks.open_with_due_after(user.id, clock.now()):
                if task.kind is kind and task.remind_ahead_minutes is None:
                    await planner.plan(task, keep_snoozes=True)
        elif callback_data.key == "hours":
            if value == "off":
                hours = WorkingHours(0, 24 * 60, tuple(range(7)))
            elif value in HOUR_PRESETS:
                start, end = HOUR_PRESETS[value]
                # After "any time" a span of hours means the working week again; days the
                # user chose (Mon–Sat, every day) stay.
                always = profile.hours.start_minute == 0 and profile.hours.end_minute == 24 * 60
                days = (0, 1, 2, 3, 4) if always else profile.hours.days
                hours = WorkingHours(start * 60, end * 60, days)
            else:
                await stale_button(query)
                return
            await users.set_hours(user.id, hours)
            # Pending reminders follow the new hours; one held for the old ones is released.
            await planner.replan_owner(user.id, tasks)
        elif value in ("on", "off"):
            await users.set_digest(user.id, enabled=value == "on", minute=profile.digest_minute)
        elif value.isdigit() and int(value) in DIGEST_PRESETS:
            await users.set_digest(user.id, enabled=True, minute=int(value))
        else:
            await stale_button(query)
            return
        await query.answer(_("Saved."))
        await show(query, users, user, clock)

    return router
