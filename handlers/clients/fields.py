"""The value typed after a card's field button (Contact, Phone, Cadence, Rename…)."""

from __future__ import annotations

import re

from aiogram.fsm.context import FSMContext
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.contacts import is_email, is_phone
from bot.domain.text import FIELD_LIMIT, NAME_LIMIT, clean_line
from bot.services.catalog import Services
from bot.services.series import SeriesService
from bot.views.recurrence import describe
from bot.views.render import format_moment, quoted
from handlers.clients.views import field_prompt, send_card
from storage.errors import DuplicateClientError
from storage.interfaces import Storage
from storage.models import Client

_CLEAR = {"-", "—", "–"}
_TELEGRAM = re.compile(r"^(@?[A-Za-z][A-Za-z0-9_]{4,31}|\d{5,15})$")


def value_problem(field: str, value: str) -> str | None:
    """Why a typed value cannot go into the field (None: it can). Send it back to the user."""
    if not value:
        return field_prompt(field)
    limit = NAME_LIMIT if field == "name" else FIELD_LIMIT
    if len(value) > limit:
        return _("Too long ({length} characters); the limit is {limit}. Try again.").format(
            length=len(value), limit=limit
        )
    if field == "email" and not is_email(value):
        return _("That does not look like an email: {value}. Try again or /cancel.").format(
            value=quoted(value)
        )
    if field == "contact_telegram" and not _TELEGRAM.match(value):
        return _("That is not a Telegram account: {value}. Send @username or a numeric id, "
                 "or /cancel.").format(value=quoted(value))
    if field == "phone" and not is_phone(value):
        return _("That does not look like a phone number: {value}. It needs at least 5 "
                 "digits; spaces, + - ( ), “доб. 12” and several numbers are fine. "
                 "Try again or /cancel.").format(value=quoted(value))
    return None


async def cadence_note(
    client: Client, cadence: str | None, series: SeriesService, user: UserContext, clock: Clock
) -> str:
    """Keep the cadence's recurring task in step with the card, and say what happened."""
    synced = await series.sync_cadence(
        client, cadence, tz=user.tz, morning_hour=user.morning_hour, default_text=_("report")
    )
    if synced is None:
        if not cadence:
            return _("No cadence: its recurring task is stopped.")
        return "ℹ️ " + _(
            "Kept as text. For reminders, write it as a schedule, e.g. "
            "«отчёт 1 числа каждого месяца», «созвон каждый понедельник в 11», "
            "“report every month on the 1st”."
        )
    created, first = synced
    text = "🔁 " + _("Cadence → recurring task: {text} — {rule}.").format(
        text=quoted(created.text), rule=describe(created.rule, user.locale)
    )
    if first is not None and first.due_at is not None:
        text += "\n" + _("Next: {moment}, task #{number}.").format(
            moment=format_moment(first.due_at, user.tz, user.locale, clock.now()),
            number=first.number,
        )
    return text


async def field_value(
    message: Message,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    """Check and save the value ("-" clears it), then show the card; a bad value asks again."""
    data = await state.get_data()
    client_id, field = data.get("client_id"), data.get("field")
    if not isinstance(client_id, int) or not isinstance(field, str):
        await state.set_state(None)
        await message.answer(_("That edit has expired. Open the card again."))
        return
    value: str | None = clean_line(message.text or "")
    if value in _CLEAR:
        if field == "name":
            await message.answer(_("A client needs a name. Send a new name or /cancel."))
            return
        value = None
    elif (problem := value_problem(field, value or "")) is not None:
        await message.answer(problem)
        return
    try:
        client = await repos.clients.set_field(user.id, client_id, field, value, clock.now())
    except DuplicateClientError:
        await message.answer(
            _("You already have a client {name}. Send another name or /cancel.").format(
                name=quoted(value or "")
            )
        )
        return
    await state.set_state(None)
    if client is None:
        await message.answer(_("That client no longer exists."))
        return
    await message.answer(_("Saved."))
    if field == "report_cadence":
        await message.answer(await cadence_note(client, value, services.series, user, clock))
    await send_card(message, client, services.tasks, repos.notes, user, clock)
