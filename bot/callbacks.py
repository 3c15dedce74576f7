"""Typed callback data (each well under Telegram's 64 bytes). Treated as untrusted input:
handlers re-check every id against the pressing user's own rows."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A number SQLite can store: a forged button with a bigger one fails the filter (the press is
# answered as a stale button) instead of overflowing in the database.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class TaskOp(StrEnum):
    """A task card's buttons; the values are what buttons already sent carry."""

    WHEN = "when"  # arg: a quick-pick code, or "pick" to type the time
    UNDUE = "undue"  # arg: the previous due time (epoch seconds), empty: it had none
    TIME = "time"
    SHOW = "show"
    EDIT = "edit"
    KIND = "kind"
    SET_KIND = "setkind"  # arg: the kind
    AHEAD = "ahead"
    SET_AHEAD = "setahead"  # arg: minutes
    TEXT = "text"
    CLIENT = "client"
    NO_CLIENT = "noclient"
    NEW_CLIENT = "newclient"  # the name waits in the dialog state
    DONE = "done"
    REOPEN = "reopen"
    UNDO = "undo"  # on a new task's card: take its creation back (delete it)
    DELETE = "delete"
    RESTORE = "restore"


class TaskAction(CallbackData, prefix="t"):
    op: TaskOp
    id: Int64
    arg: str = ""


class ListPage(CallbackData, prefix="l"):
    view: str
    page: Int64


class ListDone(CallbackData, prefix="ld"):
    view: str
    page: Int64
    id: Int64


class ClientOp(StrEnum):
    """A client card's buttons; the values are what buttons already sent carry."""

    OPEN = "open"
    CREATE = "create"  # id 0: the name waits in the dialog state
    TASK = "task"  # handled by the tasks feature: a new task for this client
    EDIT = "edit"  # arg: the field
    CHANNEL = "channel"
    SET_CHANNEL = "setchannel"  # arg: the channel
    SEGMENT = "segment"
    FORMER = "former"
    ACTIVE = "active"
    DELETE = "delete"
    DELETE_YES = "delete_yes"
    RESTORE = "restore"


class ClientAction(CallbackData, prefix="c"):
    op: ClientOp
    id: Int64
    arg: str = ""


class PickClient(CallbackData, prefix="pc"):
    """A choice among clients: for a task (task id), for a card, or for a new-task dialog."""

    purpose: str
    id: Int64
    target: Int64 = 0


class SettingKey(StrEnum):
    """What a settings button changes; its value names the choice (a preset, a zone...)."""

    LANG = "lang"
    TZ = "tz"
    HOURS = "hours"
    DIGEST = "digest"
    AHEAD = "ahead"


class Setting(CallbackData, prefix="s"):
    """A choice on the /settings card, the /start and /tz zone list or the /lang question."""

    key: SettingKey
    value: str


class ForgetOp(StrEnum):
    YES = "yes"
    NO = "no"


class ForgetAction(CallbackData, prefix="fg"):
    """yes / no on the /forget_me question; uid and nonce tie it to that one question."""

    op: ForgetOp
    uid: int
    nonce: str


class DialogOp(StrEnum):
    """Buttons of the guided new-task dialog."""

    NO_CLIENT = "noclient"


class Dialog(CallbackData, prefix="d"):
    op: DialogOp
    arg: str = ""


class RemindOp(StrEnum):
    """A reminder's buttons (its ✏️ Reschedule is the task's own); the values are what
    buttons already sent carry."""

    DONE = "done"
    SNOOZE = "snooze"  # arg: a Snooze


class Snooze(StrEnum):
    """How long a snooze button puts a reminder off."""

    MINUTES_15 = "15"
    HOUR = "60"
    TOMORROW = "tm"  # the user's next morning
    PICK = "pick"  # ask when


class RemindAction(CallbackData, prefix="r"):
    """Buttons on a reminder (sent by the background delivery too): done, snooze."""

    op: RemindOp
    id: Int64
    arg: str = ""  # a Snooze for op snooze; plain text so a forged one is answered as stale


class SeriesOp(StrEnum):
    """A recurring series' buttons; the values are what buttons already sent carry."""

    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    RULE = "rule"  # change the schedule


class SeriesAction(CallbackData, prefix="sr"):
    op: SeriesOp
    id: Int64


class InvoiceOp(StrEnum):
    """An invoice's buttons; the values are what buttons already sent carry."""

    PAID = "paid"
    PART = "part"  # partly paid: ask how much came
    PROMISE = "promise"  # the client promised to pay on a date: ask when
    UNPAID = "unpaid"  # undo paid
    AMOUNT = "amount"
    DUE = "due"
    NOTE = "note"
    DELETE = "delete"  # ask first
    DELETE_YES = "delete_yes"
    KEEP = "keep"  # "Keep it" on the delete question
    CARD = "card"  # show it


class InvoiceAction(CallbackData, prefix="i"):
    op: InvoiceOp
    id: Int64


class InvoicesPage(CallbackData, prefix="ip"):
    client: Int64  # 0: all clients
    page: Int64


class NoteOp(StrEnum):
    """A note's buttons; the values are what buttons already sent carry."""

    CLIENT = "client"  # attach to the client arg
    OTHER = "other"  # ask for a client by name
    TASK = "task"
    SEND = "send"  # send a media note back
    DELETE = "delete"
    RESTORE = "restore"


class NoteAction(CallbackData, prefix="n"):
    op: NoteOp
    id: Int64
    arg: Int64 = 0


class NotesPage(CallbackData, prefix="np"):
    client: Int64  # 0: all clients
    page: Int64


class AlertOp(StrEnum):
    """An alert's buttons (rendered by the alert engine on pages); the values are what
    buttons already sent carry."""

    ACK = "ack"
    RESOLVE = "resolve"
    SNOOZE = "snooze"
    LOG = "log"


class AlertAction(CallbackData, prefix="a"):
    """Any teammate may press them (a personal alert: its owner and their backup)."""

    op: AlertOp
    id: Int64


class TeamOp(StrEnum):
    """A teammate's buttons; the values are what buttons already sent carry."""

    REMOVE = "rm"  # the lead removes the member
    LEAD = "lead"  # the lead hands the lead over
    BACKUP = "backup"  # the presser names the member their backup


class TeamAction(CallbackData, prefix="tm"):
    op: TeamOp
    id: Int64 = 0
