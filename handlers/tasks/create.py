"""A new task: the one-line /task [client:] text when, or the guided dialog (client, then
text with or without a time). Recurring lines start a series."""

from __future__ import annotations

from datetime import datetime

from aiogram import html
from aiogram.filters import CommandObject
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.domain.dates import DateParser
from bot.domain.kinds import detect_kind
from bot.domain.task_input import TaskDraft, parse_task_line
from bot.domain.text import NAME_LIMIT, TASK_TEXT_LIMIT, clean_line
from bot.services.catalog import Services
from bot.services.series import SeriesService
from bot.views.keyboards import client_pick_keyboard
from bot.views.recurrence import describe
from bot.views.render import KIND_ICONS, format_moment, held_notes, kind_label, quoted
from bot.views.replies import edit_or_send
from bot.views.tasks import TaskForm, save_task
from handlers.tasks.keyboards import dialog_without_client
from storage.interfaces import ClientRepo, Storage
from storage.models import Client

# A line longer than a task's text plus a client's name and a time is not read at all.
LINE_LIMIT = TASK_TEXT_LIMIT + NAME_LIMIT + 100


def too_long(length: int) -> str:
    return _("The text is too long ({length} characters); the limit is {limit}.").format(
        length=length, limit=TASK_TEXT_LIMIT
    )


async def no_arguments(message: Message, command: CommandObject) -> bool:
    """Filter: a bare /task (the dialog starts)."""
    del message  # aiogram hands a filter the event first
    return not (command.args or "").strip()


# ---- one line: /task [client:] text when ------------------------------------------------


async def task_command(
    message: Message,
    command: CommandObject,
    repos: Storage,
    services: Services,
    dates: DateParser,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    args = (command.args or "").strip()
    if len(args) > LINE_LIMIT:
        await message.answer(too_long(len(args)))
        return
    draft = parse_task_line(
        args, dates=dates, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour,
        locale=user.locale,
    )
    if len(draft.text) > TASK_TEXT_LIMIT:
        await message.answer(too_long(len(draft.text)))
    elif not draft.text:
        await ask_for_text(message, draft, user, clock, state)
    elif draft.rule is not None:
        await start_series(
            message, draft, draft.rule, clients=repos.clients, series=services.series,
            user=user, clock=clock,
        )
    else:
        impossible = dates.impossible_moment(args) if draft.due is None else None
        note = None
        if impossible is not None:
            note = "⚠️ " + _("{value} is not a real date or time.").format(
                value=quoted(impossible)
            )
        await save_task(
            message, tasks=services.tasks, clients=repos.clients, user=user, clock=clock,
            state=state, client_id=None, client_query=draft.client_query, text=draft.text,
            kind=draft.kind, due=draft.due, note=note,
        )


async def ask_for_text(
    message: Message, draft: TaskDraft, user: UserContext, clock: Clock, state: FSMContext
) -> None:
    """A client or a time but nothing to do: ask for the text, keeping what was given."""
    await state.set_state(TaskForm.text)
    await state.update_data(
        draft_client_id=None,
        draft_client_query=draft.client_query,
        draft_due=draft.due.isoformat() if draft.due else None,
    )
    known = [quoted(draft.client_query)] if draft.client_query else []
    if draft.due is not None:
        known.append(format_moment(draft.due, user.tz, user.locale, clock.now()))
    await message.answer(
        (" · ".join(known) + "\n" if known else "")
        + _("What needs doing? Send the task text.") + "\n" + _("/cancel to stop.")
    )


async def start_series(
    message: Message,
    draft: TaskDraft,
    rule: str,
    *,
    clients: ClientRepo,
    series: SeriesService,
    user: UserContext,
    clock: Clock,
) -> None:
    """A recurring task: the series and its first occurrence, confirmed in one message."""
    client: Client | None = None
    if draft.client_query:
        found = await clients.match(user.id, draft.client_query)
        if len(found) != 1:
            await message.answer(
                _("For a recurring task the client must be known: {name} is not one of "
                  "yours (or matches several). Add it with /newclient or write the full name.")
                .format(name=quoted(draft.client_query))
            )
            return
        client = found[0]
    _series, first = await series.start(
        user.id, client_id=client.id if client else None, text=draft.text, kind=draft.kind,
        rule=rule, timezone=user.tz.key,
    )
    lines = [
        html.bold(_("🔁 Recurring task"))
        + (f" · {html.quote(client.name)}" if client else "")
        + f" · {KIND_ICONS[draft.kind]} {kind_label(draft.kind)}",
        f"{quoted(draft.text)} — {describe(rule, user.locale)}",
    ]
    if first is not None and first.due_at is not None:
        lines.append(
            _("Next: {moment}, task #{number}.").format(
                moment=format_moment(first.due_at, user.tz, user.locale, clock.now()),
                number=first.number,
            )
        )
        if user.hours is not None:
            lines += held_notes(
                first, user.tz, user.locale, clock.now(), user.hours, user.ahead_defaults
            )
    lines.append(_("All series: /recurring"))
    await message.answer("\n".join(lines))


# ---- guided dialog: client, then text (with or without a time) ---------------------------


async def start_dialog(
    message: Message, repos: Storage, user: UserContext, state: FSMContext
) -> None:
    """A bare /task: which client (the recent ones as buttons), then what to do."""
    recent = await repos.clients.recent(user.id, 6)
    if not recent:
        await ask_text(message, state, client=None)
        return
    await state.set_state(TaskForm.client)
    await message.answer(
        _("Which client? Pick one or type a name. /cancel to stop."),
        reply_markup=client_pick_keyboard(recent, "new", extra=[dialog_without_client()]),
    )


async def ask_text(
    target: Message | CallbackQuery,
    state: FSMContext,
    *,
    client: Client | None,
    new_client: str | None = None,
) -> None:
    await state.set_state(TaskForm.text)
    await state.update_data(
        draft_client_id=client.id if client else None,
        draft_client_query=new_client,
        draft_due=None,
    )
    prefix = ""
    if client is not None:
        prefix = f"👤 {html.quote(client.name)}\n"
    elif new_client is not None:
        prefix = "👤 " + _("{name} is a new client: I will offer to add it.").format(
            name=quoted(new_client)
        ) + "\n"
    await edit_or_send(
        target,
        prefix
        + _("What needs doing? You can add the time: “call Ivan tomorrow 10am”.")
        + "\n"
        + _("/cancel to stop."),
    )


async def dialog_client_picked(query: CallbackQuery, client: Client, state: FSMContext) -> None:
    await ask_text(query, state, client=client)


async def dialog_no_client(query: CallbackQuery, state: FSMContext) -> None:
    await ask_text(query, state, client=None)


async def task_from_card(
    query: CallbackQuery, card: Message, client: Client, state: FSMContext
) -> None:
    """➕ Add task on a client's card: the dialog, client already chosen, in a new message."""
    del query  # aiogram passes the press first; `card` (the filter's) is what is answered
    await ask_text(card, state, client=client)


async def dialog_client_typed(
    message: Message, repos: Storage, user: UserContext, state: FSMContext
) -> None:
    name = clean_line(message.text or "")[:NAME_LIMIT]
    found = await repos.clients.match(user.id, name) if name else []
    if len(found) == 1:
        await ask_text(message, state, client=found[0])
    elif found:
        await message.answer(
            _("Several clients start with {name}. Which one?").format(name=quoted(name)),
            reply_markup=client_pick_keyboard(found, "new", extra=[dialog_without_client()]),
        )
    elif name:
        # Typing on is faster than a tap: the task card will offer to add the client.
        await ask_text(message, state, client=None, new_client=name)
    else:
        await message.answer(_("Which client? Pick one or type a name. /cancel to stop."))


async def dialog_text(
    message: Message,
    repos: Storage,
    services: Services,
    dates: DateParser,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    raw = clean_line(message.text or "")
    if len(raw) > TASK_TEXT_LIMIT:
        await message.answer(too_long(len(raw)))
        return
    data = await state.get_data()
    when = dates.split(
        raw, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour, locale=user.locale
    )
    due: datetime | None
    if when is not None:
        text, due = when.text, when.due
    else:
        stored_due = data.get("draft_due")
        text = raw
        due = datetime.fromisoformat(stored_due) if isinstance(stored_due, str) else None
    if not text:
        await message.answer(_("What needs doing? Send the task text."))
        return
    client_id = data.get("draft_client_id")
    client_query = data.get("draft_client_query")
    await state.set_state(None)
    await state.update_data(draft_client_id=None, draft_client_query=None, draft_due=None)
    await save_task(
        message, tasks=services.tasks, clients=repos.clients, user=user, clock=clock, state=state,
        client_id=client_id if isinstance(client_id, int) else None,
        client_query=client_query if isinstance(client_query, str) else None,
        text=text, kind=detect_kind(text), due=due,
    )
