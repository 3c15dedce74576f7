"""Tasks: one-line /task, the guided dialog, the task card and its buttons, /done, /undo, /edit."""

from __future__ import annotations

import re
from datetime import UTC, datetime

from aiogram import F, Router, html
from aiogram.dispatcher.event.bases import SkipHandler
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ClientAction, Dialog, PickClient, TaskAction
from bot.clock import Clock
from bot.context import UserContext
from bot.keyboards import (
    ahead_keyboard,
    change_time_keyboard,
    client_pick_keyboard,
    created_task_keyboard,
    kind_keyboard,
    single_button,
    task_edit_keyboard,
    undo_reschedule,
)
from bot.pending import recall_name, remember_name
from bot.services.dates import DateParser
from bot.services.kinds import detect_kind
from bot.services.quick_picks import resolve_quick_pick
from bot.services.recurrence import describe
from bot.services.reminder_plan import AHEAD_CHOICES, ahead_minutes
from bot.services.render import (
    KIND_ICONS,
    format_moment,
    held_notes,
    kind_label,
    plain_quoted,
    quoted,
    shorten,
    task_card,
)
from bot.services.series import SeriesService
from bot.services.task_input import parse_task_line
from bot.services.text import NAME_LIMIT, TASK_TEXT_LIMIT, clean_line, clean_text
from handlers.replies import edit_or_send, stale_button
from storage.errors import DuplicateClientError
from storage.interfaces import ClientRepo, TaskRepo
from storage.models import Client, Task, TaskKind

_TASK_NUMBER = re.compile(r"^#?(\d{1,9})$")


class TaskForm(StatesGroup):
    client = State()
    text = State()
    edit_text = State()
    edit_when = State()
    edit_client = State()


def when_examples() -> str:
    return _("For example: “tomorrow 10am”, “fri 15:00”, “in 2 hours”, «завтра в 10».")


def too_long(length: int) -> str:
    return _("The text is too long ({length} characters); the limit is {limit}.").format(
        length=length, limit=TASK_TEXT_LIMIT
    )


async def send_task_card(
    target: Message | CallbackQuery,
    task: Task,
    user: UserContext,
    clock: Clock,
    *,
    created: bool = True,
    client_choices: list[Client] | None = None,
    unknown_client: str | None = None,
    note: str | None = None,
    state: FSMContext | None = None,
    undo: str | None = None,
) -> None:
    """The task as understood, with the buttons that fit its state.

    With `state`, a client name still waiting to be created keeps its button. `undo`: what
    ↩️ Undo does on this card (after a change of time: put the old time back).
    """
    now = clock.now()
    if unknown_client is None and task.client_id is None and state is not None:
        unknown_client = await recall_name(state, f"task:{task.id}")
    text = task_card(
        task, user.tz, user.locale, now, created=created,
        ahead_defaults=user.ahead_defaults, hours=user.hours,
    )
    if note:
        text += "\n" + note
    keyboard = created_task_keyboard(
        task,
        user.tz,
        now,
        user.morning_hour,
        user.locale,
        client_choices=client_choices or (),
        offer_new_client=unknown_client,
        undo=undo,
    )
    await edit_or_send(target, text, keyboard)


async def send_edit_card(
    target: Message | CallbackQuery, task: Task, user: UserContext, clock: Clock
) -> None:
    text = task_card(
        task, user.tz, user.locale, clock.now(), created=False,
        ahead_defaults=user.ahead_defaults, hours=user.hours,
    )
    await edit_or_send(target, text, task_edit_keyboard(task))


async def save_task(
    target: Message,
    *,
    tasks: TaskRepo,
    clients: ClientRepo,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
    client_id: int | None,
    client_query: str | None,
    text: str,
    kind: TaskKind,
    due: datetime | None,
    note: str | None = None,
) -> Task:
    """Save at once (nothing is lost if the user walks away), then show what was understood.

    A client name that matches several clients, or none, leaves the task without a client
    and offers buttons to pick one or to add the new client.
    """
    choices: list[Client] = []
    unknown: str | None = None
    notes = [note] if note else []
    if client_id is None and client_query:
        found = await clients.match(user.id, client_query)
        if len(found) == 1:
            client_id = found[0].id
        elif found:
            choices = found
            notes.append("👤 " + _("Which client did you mean by {name}?").format(
                name=quoted(client_query)
            ))
        else:
            unknown = client_query[:NAME_LIMIT]
            notes.append("👤 " + _(
                "No client {name} yet: create it with the button, or ✏️ Edit to pick another."
            ).format(name=quoted(unknown)))
    task = await tasks.create(
        user.id, client_id=client_id, text=text, kind=kind, due_at=due, now=clock.now()
    )
    if unknown is not None:
        await remember_name(state, f"task:{task.id}", unknown)
    if task.due_at is None:
        # The card asks "when?": a typed answer is taken as the time of this task.
        await state.set_state(TaskForm.edit_when)
        await state.update_data(task_id=task.id, when_auto=True)
    await send_task_card(
        target, task, user, clock, client_choices=choices, unknown_client=unknown,
        note="\n".join(notes) or None,
    )
    return task


async def start_series(
    message: Message,
    client_query: str | None,
    text: str,
    kind: TaskKind,
    rule: str,
    *,
    clients: ClientRepo,
    series: SeriesService,
    user: UserContext,
    clock: Clock,
) -> None:
    """A recurring task: the series and its first occurrence, confirmed in one message."""
    client: Client | None = None
    if client_query:
        found = await clients.match(user.id, client_query)
        if len(found) != 1:
            await message.answer(
                _("For a recurring task the client must be known: {name} is not one of "
                  "yours (or matches several). Add it with /newclient or write the full name.")
                .format(name=quoted(client_query))
            )
            return
        client = found[0]
    _series, first = await series.start(
        user.id, client_id=client.id if client else None, text=text, kind=kind, rule=rule,
        timezone=user.tz.key,
    )
    lines = [
        html.bold(_("🔁 Recurring task"))
        + (f" · {html.quote(client.name)}" if client else "")
        + f" · {KIND_ICONS[kind]} {kind_label(kind)}",
        f"{quoted(text)} — {describe(rule, user.locale)}",
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


def create_router() -> Router:
    router = Router(name=__name__)

    # ---- one line: /task [client:] text when -------------------------------------------

    @router.message(Command("task"), F.text)
    async def task_command(
        message: Message,
        command: CommandObject,
        tasks: TaskRepo,
        clients: ClientRepo,
        series: SeriesService,
        dates: DateParser,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        args = (command.args or "").strip()
        if not args:
            await start_dialog(message, clients, user, state)
            return
        if len(args) > TASK_TEXT_LIMIT + NAME_LIMIT + 100:
            await message.answer(too_long(len(args)))
            return
        now = clock.now()
        draft = parse_task_line(
            args, dates=dates, tz=user.tz, now=now, morning_hour=user.morning_hour,
            locale=user.locale,
        )
        if len(draft.text) > TASK_TEXT_LIMIT:
            await message.answer(too_long(len(draft.text)))
            return
        if not draft.text:
            # A client or a time but nothing to do: ask for the text, keeping what was given.
            await state.set_state(TaskForm.text)
            await state.update_data(
                draft_client_id=None,
                draft_client_query=draft.client_query,
                draft_due=draft.due.isoformat() if draft.due else None,
            )
            known = [quoted(draft.client_query)] if draft.client_query else []
            if draft.due is not None:
                known.append(format_moment(draft.due, user.tz, user.locale, now))
            await message.answer(
                (" · ".join(known) + "\n" if known else "")
                + _("What needs doing? Send the task text.") + "\n" + _("/cancel to stop.")
            )
            return
        if draft.rule is not None:
            await start_series(
                message, draft.client_query, draft.text, draft.kind, draft.rule,
                clients=clients, series=series, user=user, clock=clock,
            )
            return
        note = None
        if draft.due is None:
            impossible = dates.impossible_moment(args)
            if impossible is not None:
                note = "⚠️ " + _("{value} is not a real date or time.").format(
                    value=quoted(impossible)
                )
        await save_task(
            message, tasks=tasks, clients=clients, user=user, clock=clock, state=state,
            client_id=None, client_query=draft.client_query, text=draft.text,
            kind=draft.kind, due=draft.due, note=note,
        )

    # ---- guided dialog: client, then text (with or without a time) -----------------------

    async def start_dialog(
        message: Message, clients: ClientRepo, user: UserContext, state: FSMContext
    ) -> None:
        recent = await clients.recent(user.id, 6)
        if not recent:
            await ask_text(message, state, client=None)
            return
        await state.set_state(TaskForm.client)
        await message.answer(
            _("Which client? Pick one or type a name. /cancel to stop."),
            reply_markup=client_pick_keyboard(
                recent,
                "new",
                extra=[
                    InlineKeyboardButton(
                        text=_("Without a client"), callback_data=Dialog(op="noclient").pack()
                    )
                ],
            ),
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

    @router.callback_query(PickClient.filter(F.purpose == "new"))
    async def dialog_client_picked(
        query: CallbackQuery,
        callback_data: PickClient,
        clients: ClientRepo,
        user: UserContext,
        state: FSMContext,
    ) -> None:
        client = await clients.get(user.id, callback_data.id)
        if client is None:
            await stale_button(query)
            return
        await query.answer()
        await ask_text(query, state, client=client)

    @router.callback_query(Dialog.filter(F.op == "noclient"))
    async def dialog_no_client(query: CallbackQuery, state: FSMContext) -> None:
        await query.answer()
        await ask_text(query, state, client=None)

    @router.callback_query(ClientAction.filter(F.op == "task"))
    async def task_from_card(
        query: CallbackQuery,
        callback_data: ClientAction,
        clients: ClientRepo,
        user: UserContext,
        state: FSMContext,
    ) -> None:
        client = await clients.get(user.id, callback_data.id)
        if client is None or not isinstance(query.message, Message):
            await stale_button(query)
            return
        await query.answer()
        await ask_text(query.message, state, client=client)

    @router.message(StateFilter(TaskForm.client), F.text, ~F.text.startswith("/"))
    async def dialog_client_typed(
        message: Message, clients: ClientRepo, user: UserContext, state: FSMContext
    ) -> None:
        name = clean_line(message.text or "")[:NAME_LIMIT]
        found = await clients.match(user.id, name) if name else []
        if len(found) == 1:
            await ask_text(message, state, client=found[0])
        elif found:
            without = InlineKeyboardButton(
                text=_("Without a client"), callback_data=Dialog(op="noclient").pack()
            )
            await message.answer(
                _("Several clients start with {name}. Which one?").format(name=quoted(name)),
                reply_markup=client_pick_keyboard(found, "new", extra=[without]),
            )
        elif name:
            # Typing on is faster than a tap: the task card will offer to add the client.
            await ask_text(message, state, client=None, new_client=name)
        else:
            await message.answer(_("Which client? Pick one or type a name. /cancel to stop."))

    @router.message(StateFilter(TaskForm.text), F.text, ~F.text.startswith("/"))
    async def dialog_text(
        message: Message,
        tasks: TaskRepo,
        clients: ClientRepo,
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
            message, tasks=tasks, clients=clients, user=user, clock=clock, state=state,
            client_id=client_id if isinstance(client_id, int) else None,
            client_query=client_query if isinstance(client_query, str) else None,
            text=text, kind=detect_kind(text), due=due,
        )

    # ---- the task card's buttons --------------------------------------------------------

    @router.callback_query(TaskAction.filter())
    async def task_action(
        query: CallbackQuery,
        callback_data: TaskAction,
        tasks: TaskRepo,
        clients: ClientRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        op, now = callback_data.op, clock.now()
        if op == "restore":
            restored = await tasks.restore(user.id, callback_data.id, now)
            if restored is None:
                await stale_button(query)
                return
            await query.answer(_("Restored."))
            await send_task_card(query, restored, user, clock, created=False)
            return
        task = await tasks.get(user.id, callback_data.id)
        if task is None:
            await stale_button(query)
            return
        if op in {"undo", "delete"}:
            await tasks.delete(user.id, task.id, now)
            await query.answer()
            await edit_or_send(
                query,
                _("🗑 Task #{number} deleted: {text}").format(
                    number=task.number, text=quoted(shorten(task.text))
                ),
                single_button(_("↩️ Restore"), TaskAction(op="restore", id=task.id).pack()),
            )
            return
        if op == "when":
            if callback_data.arg == "pick":
                await state.set_state(TaskForm.edit_when)
                await state.update_data(task_id=task.id, when_auto=False)
                await query.answer()
                if query.bot is not None:
                    await query.bot.send_message(
                        user.id,
                        _("When should task #{number} be done?").format(number=task.number)
                        + " " + when_examples() + "\n" + _("/cancel to stop."),
                    )
                return
            due = resolve_quick_pick(callback_data.arg, user.tz, now, user.morning_hour)
            updated = await tasks.set_due(user.id, task.id, due, now) if due else None
            if updated is None:
                await stale_button(query)
                return
            await query.answer()
            await send_task_card(
                query, updated, user, clock, created=False, state=state,
                undo=undo_reschedule(task.id, task.due_at),
            )
            return
        if op == "undue":
            # ↩️ Undo on a card after a change of time: the old time back, not a deletion.
            previous = (
                datetime.fromtimestamp(int(callback_data.arg), UTC)
                if callback_data.arg.isdigit() else None
            )
            updated = await tasks.set_due(user.id, task.id, previous, now)
            if updated is None:
                await stale_button(query)
                return
            await query.answer(_("The previous time is back."))
            await send_task_card(query, updated, user, clock, created=False, state=state)
            return
        if op == "time":
            await query.answer()
            await edit_or_send(
                query,
                task_card(task, user.tz, user.locale, now, created=False,
                          ahead_defaults=user.ahead_defaults),
                change_time_keyboard(task, user.tz, now, user.morning_hour, user.locale),
            )
            return
        if op == "show":
            await query.answer()
            await send_task_card(query, task, user, clock, created=False, state=state)
            return
        if op == "edit":
            await query.answer()
            await send_edit_card(query, task, user, clock)
            return
        if op == "kind":
            await query.answer()
            await edit_or_send(
                query, task_card(task, user.tz, user.locale, now, created=False,
                          ahead_defaults=user.ahead_defaults),
                kind_keyboard(task),
            )
            return
        if op == "setkind":
            if callback_data.arg not in {kind.value for kind in TaskKind}:
                await stale_button(query)
                return
            updated = await tasks.set_kind(user.id, task.id, TaskKind(callback_data.arg), now)
            if updated is None:
                await stale_button(query)
                return
            await query.answer()
            await send_edit_card(query, updated, user, clock)
            return
        if op == "ahead":
            await query.answer()
            await edit_or_send(
                query, task_card(task, user.tz, user.locale, now, created=False,
                          ahead_defaults=user.ahead_defaults),
                ahead_keyboard(task, ahead_minutes(task, user.ahead_defaults)),
            )
            return
        if op == "setahead":
            if not callback_data.arg.isdigit() or int(callback_data.arg) not in AHEAD_CHOICES:
                await stale_button(query)
                return
            updated = await tasks.set_remind_ahead(user.id, task.id, int(callback_data.arg), now)
            if updated is None:
                await stale_button(query)
                return
            await query.answer()
            await send_edit_card(query, updated, user, clock)
            return
        if op == "text":
            await state.set_state(TaskForm.edit_text)
            await state.update_data(task_id=task.id)
            await query.answer()
            if query.bot is not None:
                await query.bot.send_message(
                    user.id,
                    _("New text for task #{number}:").format(number=task.number)
                    + "\n" + _("/cancel to stop."),
                )
            return
        if op == "client":
            await state.set_state(TaskForm.edit_client)
            await state.update_data(task_id=task.id)
            recent = await clients.recent(user.id, 6)
            await query.answer()
            await edit_or_send(
                query,
                _("Client for task #{number}: pick one or type a name.").format(
                    number=task.number
                ),
                client_pick_keyboard(
                    recent,
                    "task",
                    target=task.id,
                    extra=[
                        InlineKeyboardButton(
                            text=_("Without a client"),
                            callback_data=TaskAction(op="noclient", id=task.id).pack(),
                        )
                    ],
                ),
            )
            return
        if op == "noclient":
            updated = await tasks.set_client(user.id, task.id, None, now)
            await state.set_state(None)
            await query.answer()
            if updated is not None:
                await send_task_card(query, updated, user, clock, created=False)
            return
        if op == "newclient":
            name = await recall_name(state, f"task:{task.id}")
            if name is None:
                await stale_button(query)
                return
            try:
                client = await clients.create(user.id, name, now)
            except DuplicateClientError:
                existing = await clients.match(user.id, name)
                if not existing:
                    await stale_button(query)
                    return
                client = existing[0]
            updated = await tasks.set_client(user.id, task.id, client.id, now)
            await query.answer(
                _("Client {name} added.").format(name=plain_quoted(shorten(client.name, 60)))
            )
            if updated is not None:
                await send_task_card(query, updated, user, clock)
            return
        if op == "done":
            completed = await tasks.complete(user.id, task.id, now)
            if completed is None:
                await query.answer(_("Already done."), show_alert=True)
                return
            await query.answer(_("Done: #{number}").format(number=task.number))
            await send_edit_card(query, completed, user, clock)
            return
        if op == "reopen":
            reopened = await tasks.reopen(user.id, task.id, now)
            if reopened is None:
                await stale_button(query)
                return
            await query.answer()
            await send_edit_card(query, reopened, user, clock)
            return
        await stale_button(query)

    @router.callback_query(PickClient.filter(F.purpose == "task"))
    async def task_client_picked(
        query: CallbackQuery,
        callback_data: PickClient,
        tasks: TaskRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        updated = await tasks.set_client(
            user.id, callback_data.target, callback_data.id, clock.now()
        )
        if updated is None:
            await stale_button(query)
            return
        if await state.get_state() == TaskForm.edit_client.state:
            await state.set_state(None)
        await query.answer()
        await send_task_card(query, updated, user, clock, created=False)

    # ---- answers to "new text / new time / which client" --------------------------------

    async def editing_task(state: FSMContext, tasks: TaskRepo, user: UserContext) -> Task | None:
        data = await state.get_data()
        task_id = data.get("task_id")
        if not isinstance(task_id, int):
            return None
        return await tasks.get(user.id, task_id)

    @router.message(StateFilter(TaskForm.edit_text), F.text, ~F.text.startswith("/"))
    async def edit_text(
        message: Message, tasks: TaskRepo, user: UserContext, clock: Clock, state: FSMContext
    ) -> None:
        task = await editing_task(state, tasks, user)
        if task is None:
            await state.set_state(None)
            await message.answer(_("That task no longer exists."))
            return
        text = clean_text(message.text or "")
        if not text:
            await message.answer(_("Send the new text, or /cancel."))
            return
        if len(text) > TASK_TEXT_LIMIT:
            await message.answer(too_long(len(text)))
            return
        updated = await tasks.set_text(user.id, task.id, text, clock.now())
        await state.set_state(None)
        if updated is not None:
            await send_edit_card(message, updated, user, clock)

    @router.message(StateFilter(TaskForm.edit_when), F.text, ~F.text.startswith("/"))
    async def edit_when(
        message: Message,
        tasks: TaskRepo,
        dates: DateParser,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        task = await editing_task(state, tasks, user)
        if task is None:
            await state.set_state(None)
            await message.answer(_("That task no longer exists."))
            return
        phrase = clean_line(message.text or "")[:200]
        now = clock.now()
        due = dates.parse(
            phrase, tz=user.tz, now=now, morning_hour=user.morning_hour, locale=user.locale
        )
        if due is None:
            if (await state.get_data()).get("when_auto"):
                # Nobody pressed "Pick…": this text is not an answer but a new thought.
                await state.set_state(None)
                raise SkipHandler
            await message.answer(
                _("I could not understand the time {phrase}.").format(phrase=quoted(phrase))
                + " " + when_examples(),
                reply_markup=change_time_keyboard(task, user.tz, now, user.morning_hour,
                                                  user.locale),
            )
            return
        updated = await tasks.set_due(user.id, task.id, due, now)
        await state.set_state(None)
        if updated is not None:
            await send_task_card(
                message, updated, user, clock, created=False, state=state,
                undo=undo_reschedule(task.id, task.due_at),
            )

    @router.message(StateFilter(TaskForm.edit_client), F.text, ~F.text.startswith("/"))
    async def edit_client(
        message: Message,
        tasks: TaskRepo,
        clients: ClientRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        task = await editing_task(state, tasks, user)
        if task is None:
            await state.set_state(None)
            await message.answer(_("That task no longer exists."))
            return
        name = clean_line(message.text or "")[:NAME_LIMIT]
        found = await clients.match(user.id, name) if name else []
        if len(found) == 1:
            updated = await tasks.set_client(user.id, task.id, found[0].id, clock.now())
            await state.set_state(None)
            if updated is not None:
                await send_task_card(message, updated, user, clock, created=False)
            return
        if found:
            await message.answer(
                _("Several clients start with {name}. Which one?").format(name=quoted(name)),
                reply_markup=client_pick_keyboard(found, "task", target=task.id),
            )
            return
        await remember_name(state, f"task:{task.id}", name)
        await message.answer(
            _("No client {name}. Create it?").format(name=quoted(name)),
            reply_markup=single_button(
                _("➕ Create {name}").format(name=quoted(shorten(name, 40))),
                TaskAction(op="newclient", id=task.id).pack(),
            ),
        )

    # ---- commands on existing tasks -----------------------------------------------------

    @router.message(Command("done"))
    async def done_command(
        message: Message, command: CommandObject, tasks: TaskRepo, user: UserContext,
        clock: Clock,
    ) -> None:
        words = (command.args or "").replace(",", " ").split()
        matches = [_TASK_NUMBER.match(word) for word in words]
        if not words or not all(matches):
            await message.answer(_("Which task? Give its number: /done 41 or /done 41 44"))
            return
        numbers = [int(match.group(1)) for match in matches if match][:20]
        lines: list[str] = []
        for number in numbers:
            task = await tasks.get_by_number(user.id, number)
            completed = (
                await tasks.complete(user.id, task.id, clock.now()) if task is not None else None
            )
            if completed is not None:
                lines.append(
                    _("✅ Done: #{number} {text}").format(
                        number=number, text=quoted(shorten(completed.text))
                    )
                )
            elif task is not None:
                lines.append(_("#{number} is already done.").format(number=number))
            else:
                lines.append(_("There is no task #{number}.").format(number=number))
        if any(line.startswith("✅") for line in lines):
            lines.append(_("/undo reopens the last one."))
        await message.answer("\n".join(lines))

    @router.message(Command("undo"))
    async def undo_command(message: Message, tasks: TaskRepo, user: UserContext,
                           clock: Clock) -> None:
        task = await tasks.reopen_last_completed(user.id, clock.now())
        if task is None:
            await message.answer(_("Nothing to undo: no completed tasks."))
            return
        await message.answer(
            _("↩️ Task #{number} is open again: {text}").format(
                number=task.number, text=quoted(shorten(task.text))
            )
        )

    @router.message(Command("edit"))
    async def edit_command(
        message: Message, command: CommandObject, tasks: TaskRepo, user: UserContext,
        clock: Clock,
    ) -> None:
        match = _TASK_NUMBER.match((command.args or "").strip())
        if match is None:
            await message.answer(_("Which task? Example: /edit 41"))
            return
        task = await tasks.get_by_number(user.id, int(match.group(1)))
        if task is None:
            await message.answer(
                _("There is no task #{number}.").format(number=int(match.group(1)))
            )
            return
        await send_edit_card(message, task, user, clock)

    return router
