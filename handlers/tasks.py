"""Tasks: one-line /task, the guided dialog, the task card and its buttons, /done, /undo, /edit."""

from __future__ import annotations

import re
from datetime import datetime

from aiogram import F, Router, html
from aiogram.filters import Command, CommandObject, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import gettext as _

from bot.callbacks import ClientAction, Dialog, PickClient, TaskAction
from bot.clock import Clock
from bot.context import UserContext
from bot.keyboards import (
    change_time_keyboard,
    client_pick_keyboard,
    created_task_keyboard,
    kind_keyboard,
    single_button,
    task_edit_keyboard,
)
from bot.pending import recall_name, remember_name
from bot.services.dates import DateParser
from bot.services.kinds import detect_kind
from bot.services.quick_picks import quick_picks, resolve_quick_pick
from bot.services.render import quoted, shorten, task_card
from bot.services.task_input import parse_task_line
from bot.services.text import NAME_LIMIT, TASK_TEXT_LIMIT, clean_line, clean_text
from handlers.clients import create_client
from handlers.replies import edit_or_send, stale_button
from storage.errors import DuplicateClientError
from storage.interfaces import ClientRepo, TaskRepo
from storage.models import Client, Task, TaskKind

_TASK_NUMBERS = re.compile(r"#?(\d{1,9})")


class TaskForm(StatesGroup):
    client = State()
    text = State()
    when = State()
    edit_text = State()
    edit_when = State()
    edit_client = State()


def when_examples() -> str:
    return _("For example: “tomorrow 10am”, “fri 15:00”, “in 2 hours”, «завтра в 10».")


def too_long(length: int) -> str:
    return _("The text is too long ({length} characters); the limit is {limit}.").format(
        length=length, limit=TASK_TEXT_LIMIT
    )


def dialog_when_keyboard(user: UserContext, clock: Clock) -> InlineKeyboardMarkup:
    picks = [
        InlineKeyboardButton(
            text=pick.label, callback_data=Dialog(op="when", arg=pick.code).pack()
        )
        for pick in quick_picks(user.tz, clock.now(), user.morning_hour, user.locale)
    ]
    picks.append(
        InlineKeyboardButton(text=_("No time"), callback_data=Dialog(op="nowhen").pack())
    )
    return InlineKeyboardMarkup(inline_keyboard=[picks[:3], picks[3:]])


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
) -> None:
    """The task as understood, with the buttons that fit its state.

    With `state`, a client name still waiting to be created keeps its button.
    """
    now = clock.now()
    if unknown_client is None and task.client_id is None and state is not None:
        unknown_client = await recall_name(state, f"task:{task.id}")
    text = task_card(task, user.tz, user.locale, now, created=created)
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
    )
    await edit_or_send(target, text, keyboard)


async def send_edit_card(
    target: Message | CallbackQuery, task: Task, user: UserContext, clock: Clock
) -> None:
    text = task_card(task, user.tz, user.locale, clock.now(), created=False)
    await edit_or_send(target, text, task_edit_keyboard(task))


async def create_and_show(
    target: Message | CallbackQuery,
    *,
    tasks: TaskRepo,
    user: UserContext,
    clock: Clock,
    client_id: int | None,
    text: str,
    kind: TaskKind | None = None,
    due: datetime | None = None,
) -> Task:
    task = await tasks.create(
        user.id,
        client_id=client_id,
        text=text,
        kind=kind or detect_kind(text),
        due_at=due,
        now=clock.now(),
    )
    await send_task_card(target, task, user, clock)
    return task


def create_router() -> Router:
    router = Router(name=__name__)

    # ---- one line: /task [client:] text when -------------------------------------------

    @router.message(Command("task"), F.text)
    async def task_command(
        message: Message,
        command: CommandObject,
        tasks: TaskRepo,
        clients: ClientRepo,
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
            args, dates=dates, tz=user.tz, now=now, morning_hour=user.morning_hour
        )
        if not draft.text:
            await message.answer(
                _("What needs doing? Write the task with its time, e.g. "
                  "<code>/task Acme: call about the budget tomorrow 10am</code>")
            )
            return
        if len(draft.text) > TASK_TEXT_LIMIT:
            await message.answer(too_long(len(draft.text)))
            return
        client: Client | None = None
        choices: list[Client] = []
        unknown: str | None = None
        note: str | None = None
        if draft.client_query:
            found = await clients.match(user.id, draft.client_query)
            if len(found) == 1:
                client = found[0]
            elif found:
                choices = found
                note = "👤 " + _("Which client did you mean by {name}?").format(
                    name=quoted(draft.client_query)
                )
            else:
                unknown = draft.client_query[:NAME_LIMIT]
                note = "👤 " + _(
                    "No client {name} yet: create it with the button, or ✏️ Edit to pick another."
                ).format(name=quoted(unknown))
        task = await tasks.create(
            user.id,
            client_id=client.id if client else None,
            text=draft.text,
            kind=draft.kind,
            due_at=draft.due,
            now=now,
        )
        if unknown is not None:
            await remember_name(state, f"task:{task.id}", unknown)
        await send_task_card(
            message, task, user, clock, client_choices=choices, unknown_client=unknown, note=note
        )

    # ---- guided dialog ------------------------------------------------------------------

    async def start_dialog(
        message: Message, clients: ClientRepo, user: UserContext, state: FSMContext
    ) -> None:
        recent = await clients.recent(user.id, 6)
        if not recent:
            await state.set_state(TaskForm.text)
            await state.update_data(draft_client_id=None)
            await message.answer(
                _("What needs doing? You can add the time: “call Ivan tomorrow 10am”.")
                + "\n"
                + _("/cancel to stop.")
            )
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
        target: Message | CallbackQuery, client: Client | None, state: FSMContext
    ) -> None:
        await state.set_state(TaskForm.text)
        await state.update_data(draft_client_id=client.id if client else None)
        prefix = f"👤 {html.quote(client.name)}\n" if client else ""
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
        await ask_text(query, client, state)

    @router.callback_query(Dialog.filter(F.op == "noclient"))
    async def dialog_no_client(query: CallbackQuery, state: FSMContext) -> None:
        await query.answer()
        await ask_text(query, None, state)

    @router.callback_query(ClientAction.filter(F.op == "task"))
    async def task_from_card(
        query: CallbackQuery,
        callback_data: ClientAction,
        clients: ClientRepo,
        user: UserContext,
        state: FSMContext,
    ) -> None:
        client = await clients.get(user.id, callback_data.id)
        if client is None:
            await stale_button(query)
            return
        await query.answer()
        if query.message is not None and query.bot is not None:
            await state.set_state(TaskForm.text)
            await state.update_data(draft_client_id=client.id)
            await query.bot.send_message(
                user.id,
                f"👤 {html.quote(client.name)}\n"
                + _("What needs doing? You can add the time: “call Ivan tomorrow 10am”.")
                + "\n"
                + _("/cancel to stop."),
            )

    @router.message(StateFilter(TaskForm.client), F.text, ~F.text.startswith("/"))
    async def dialog_client_typed(
        message: Message, clients: ClientRepo, user: UserContext, state: FSMContext
    ) -> None:
        name = clean_line(message.text or "")[:NAME_LIMIT]
        found = await clients.match(user.id, name) if name else []
        if len(found) == 1:
            await ask_text(message, found[0], state)
            return
        without = InlineKeyboardButton(
            text=_("Without a client"), callback_data=Dialog(op="noclient").pack()
        )
        if found:
            await message.answer(
                _("Several clients start with {name}. Which one?").format(name=quoted(name)),
                reply_markup=client_pick_keyboard(found, "new", extra=[without]),
            )
            return
        await remember_name(state, "dialog", name)
        await message.answer(
            _("No client {name}. Create it?").format(name=quoted(name)),
            reply_markup=InlineKeyboardMarkup(
                inline_keyboard=[
                    [
                        InlineKeyboardButton(
                            text=_("➕ Create {name}").format(name=quoted(shorten(name, 40))),
                            callback_data=Dialog(op="create").pack(),
                        )
                    ],
                    [without],
                ]
            ),
        )

    @router.callback_query(Dialog.filter(F.op == "create"))
    async def dialog_create_client(
        query: CallbackQuery,
        clients: ClientRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        name = await recall_name(state, "dialog")
        if name is None or not isinstance(query.message, Message):
            await stale_button(query)
            return
        await query.answer()
        client = await create_client(query.message, name, clients, user, clock)
        if client is not None:
            await ask_text(query, client, state)

    @router.message(StateFilter(TaskForm.text), F.text, ~F.text.startswith("/"))
    async def dialog_text(
        message: Message,
        tasks: TaskRepo,
        dates: DateParser,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        raw = clean_line(message.text or "")
        if len(raw) > TASK_TEXT_LIMIT:
            await message.answer(too_long(len(raw)))
            return
        when = dates.split(raw, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour)
        data = await state.get_data()
        client_id = data.get("draft_client_id")
        client_id = client_id if isinstance(client_id, int) else None
        if when is not None and when.text:
            await state.set_state(None)
            await create_and_show(
                message, tasks=tasks, user=user, clock=clock, client_id=client_id,
                text=when.text, due=when.due,
            )
            return
        if not raw:
            await message.answer(_("What needs doing? Send the task text."))
            return
        await state.set_state(TaskForm.when)
        await state.update_data(draft_text=raw)
        await message.answer(
            _("When? Pick or type it.") + " " + when_examples(),
            reply_markup=dialog_when_keyboard(user, clock),
        )

    async def finish_dialog(
        target: Message | CallbackQuery,
        tasks: TaskRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
        due: datetime | None,
    ) -> None:
        data = await state.get_data()
        text, client_id = data.get("draft_text"), data.get("draft_client_id")
        if not isinstance(text, str) or not text:
            if isinstance(target, CallbackQuery):
                await stale_button(target)
            return
        await state.set_state(None)
        await state.update_data(draft_text=None, draft_client_id=None)
        if isinstance(target, CallbackQuery):
            await target.answer()
        await create_and_show(
            target, tasks=tasks, user=user, clock=clock,
            client_id=client_id if isinstance(client_id, int) else None, text=text, due=due,
        )

    @router.message(StateFilter(TaskForm.when), F.text, ~F.text.startswith("/"))
    async def dialog_when(
        message: Message,
        tasks: TaskRepo,
        dates: DateParser,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        phrase = clean_line(message.text or "")[:200]
        due = dates.parse(phrase, tz=user.tz, now=clock.now(), morning_hour=user.morning_hour)
        if due is None:
            await message.answer(
                _("I could not understand the time {phrase}.").format(phrase=quoted(phrase))
                + " " + when_examples(),
                reply_markup=dialog_when_keyboard(user, clock),
            )
            return
        await finish_dialog(message, tasks, user, clock, state, due)

    @router.callback_query(Dialog.filter(F.op.in_({"when", "nowhen"})))
    async def dialog_when_picked(
        query: CallbackQuery,
        callback_data: Dialog,
        tasks: TaskRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        due = None
        if callback_data.op == "when":
            due = resolve_quick_pick(callback_data.arg, user.tz, clock.now(), user.morning_hour)
            if due is None:
                await stale_button(query)
                return
        if await state.get_state() != TaskForm.when.state:
            await stale_button(query)
            return
        await finish_dialog(query, tasks, user, clock, state, due)

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
                await state.update_data(task_id=task.id)
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
            await send_task_card(query, updated, user, clock, created=False, state=state)
            return
        if op == "time":
            await query.answer()
            await edit_or_send(
                query,
                task_card(task, user.tz, user.locale, now, created=False),
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
                query, task_card(task, user.tz, user.locale, now, created=False),
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
            await query.answer(_("Client {name} added.").format(name=shorten(client.name, 60)))
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
        due = dates.parse(phrase, tz=user.tz, now=now, morning_hour=user.morning_hour)
        if due is None:
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
            await send_task_card(message, updated, user, clock, created=False, state=state)

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
        numbers = [int(n) for n in _TASK_NUMBERS.findall(command.args or "")][:20]
        if not numbers:
            await message.answer(_("Which task? Example: /done 41"))
            return
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
        await message.answer("\n".join(lines) + "\n" + _("/undo reopens the last one."))

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
        match = _TASK_NUMBERS.search(command.args or "")
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
