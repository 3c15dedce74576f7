"""The tasks feature's router: which update goes to which handler, in order.

Every task card button is ``TaskAction.filter(F.op == TaskOp.X)`` plus ``OwnTask()`` (the
user's own task, handed to the handler as ``task``); a press no filter accepted (a deleted or
foreign task, a forged argument) reaches ``button_expired``, registered last for TaskAction.
"""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackQueryFilter

from bot.callbacks import ClientAction, ClientOp, Dialog, DialogOp, PickClient, TaskAction, TaskOp
from bot.domain.reminder_plan import AHEAD_CHOICES
from bot.views.tasks import TaskForm
from handlers.buttons import answer_presses, button_expired
from handlers.tasks import card, commands, create, edits
from handlers.tasks.filters import EditingTask, OwnClient, OwnTask, card_message
from storage.models import TaskKind

_KINDS = {kind.value for kind in TaskKind}
# Answers typed to the dialog's questions (a command instead ends the question).
_ANSWER = (F.text, ~F.text.startswith("/"))


def _is_ahead_choice(arg: str) -> bool:
    return arg.isdigit() and int(arg) in AHEAD_CHOICES


def _register_card(router: Router) -> None:
    """The task card's buttons."""
    on_task = router.callback_query.register
    own = OwnTask()

    def op(value: TaskOp) -> CallbackQueryFilter:
        return TaskAction.filter(F.op == value)

    on_task(card.restore, op(TaskOp.RESTORE))
    on_task(card.delete, TaskAction.filter(F.op.in_({TaskOp.UNDO, TaskOp.DELETE})), own)
    on_task(card.ask_when, TaskAction.filter((F.op == TaskOp.WHEN) & (F.arg == "pick")), own)
    on_task(card.when_picked, op(TaskOp.WHEN), own)
    on_task(card.undo_when, op(TaskOp.UNDUE), own)
    on_task(card.change_time, op(TaskOp.TIME), own)
    on_task(card.show, op(TaskOp.SHOW), own)
    on_task(card.edit, op(TaskOp.EDIT), own)
    on_task(card.choose_kind, op(TaskOp.KIND), own)
    on_task(card.set_kind, TaskAction.filter((F.op == TaskOp.SET_KIND) & F.arg.in_(_KINDS)), own)
    on_task(card.choose_ahead, op(TaskOp.AHEAD), own)
    on_task(
        card.set_ahead,
        TaskAction.filter((F.op == TaskOp.SET_AHEAD) & F.arg.func(_is_ahead_choice)),
        own,
    )
    on_task(card.ask_text, op(TaskOp.TEXT), own)
    on_task(card.ask_client, op(TaskOp.CLIENT), own)
    on_task(card.drop_client, op(TaskOp.NO_CLIENT), own)
    on_task(card.add_client, op(TaskOp.NEW_CLIENT), own)
    on_task(card.done, op(TaskOp.DONE), own)
    on_task(card.reopen, op(TaskOp.REOPEN), own)


def create_router() -> Router:
    router = answer_presses(Router(name=__name__))
    message, press = router.message.register, router.callback_query.register

    # A new task: one line, or the guided dialog (client, then text).
    message(create.start_dialog, Command("task"), F.text, create.no_arguments)
    message(create.task_command, Command("task"), F.text)
    press(create.dialog_client_picked, PickClient.filter(F.purpose == "new"), OwnClient())
    press(create.dialog_no_client, Dialog.filter(F.op == DialogOp.NO_CLIENT))
    # ➕ Add task on a client's card (the clients feature's button, this feature's dialog).
    from_card = ClientAction.filter(F.op == ClientOp.TASK)
    press(create.task_from_card, from_card, OwnClient(), card_message)
    message(create.dialog_client_typed, StateFilter(TaskForm.client), *_ANSWER)
    message(create.dialog_text, StateFilter(TaskForm.text), *_ANSWER)

    _register_card(router)
    press(edits.client_picked, PickClient.filter(F.purpose == "task"))

    # Answers to the card's questions, about a task that still exists, else task_gone.
    message(edits.edit_text, StateFilter(TaskForm.edit_text), *_ANSWER, EditingTask())
    message(edits.edit_when, StateFilter(TaskForm.edit_when), *_ANSWER, EditingTask())
    message(edits.edit_client, StateFilter(TaskForm.edit_client), *_ANSWER, EditingTask())
    message(
        edits.task_gone,
        StateFilter(TaskForm.edit_text, TaskForm.edit_when, TaskForm.edit_client),
        *_ANSWER,
        ~EditingTask(),  # not after edit_when passed a text on (SkipHandler)
    )

    message(commands.done_command, Command("done"))
    message(commands.undo_command, Command("undo"))
    message(commands.edit_command, Command("edit"))

    # Last: a press of this feature's buttons that no handler above accepted.
    press(button_expired, TaskAction.filter())
    press(button_expired, PickClient.filter(F.purpose.in_({"new", "task"})))
    press(button_expired, from_card)
    return router
