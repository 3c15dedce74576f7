"""Typed callback data (each well under Telegram's 64 bytes). Treated as untrusted input:
handlers re-check every id against the pressing user's own rows."""

from __future__ import annotations

from typing import Annotated

from aiogram.filters.callback_data import CallbackData
from pydantic import Field

# A number SQLite can store: a forged button with a bigger one fails the filter (the press is
# answered as a stale button) instead of overflowing in the database.
Int64 = Annotated[int, Field(ge=-(2**63), le=2**63 - 1)]


class TaskAction(CallbackData, prefix="t"):
    op: str
    id: Int64
    arg: str = ""


class ListPage(CallbackData, prefix="l"):
    view: str
    page: Int64


class ListDone(CallbackData, prefix="ld"):
    view: str
    page: Int64
    id: Int64


class ClientAction(CallbackData, prefix="c"):
    op: str
    id: Int64
    arg: str = ""


class PickClient(CallbackData, prefix="pc"):
    """A choice among clients: for a task (task id), for a card, or for a new-task dialog."""

    purpose: str
    id: Int64
    target: Int64 = 0


class Setting(CallbackData, prefix="s"):
    key: str
    value: str


class Dialog(CallbackData, prefix="d"):
    op: str
    arg: str = ""


class RemindAction(CallbackData, prefix="r"):
    """Buttons on a reminder: done, snooze by minutes (or "tm" tomorrow, "pick"), reschedule."""

    op: str
    id: Int64
    arg: str = ""


class SeriesAction(CallbackData, prefix="sr"):
    """pause / resume / stop / rule (change the schedule) for a recurring series."""

    op: str
    id: Int64


class InvoiceAction(CallbackData, prefix="i"):
    """paid / part (partially paid) / promise (client promised to pay on a date) / unpaid
    (undo paid) / amount, due, note (edit) / delete, delete_yes, keep / card (show it)."""

    op: str
    id: Int64


class InvoicesPage(CallbackData, prefix="ip"):
    client: Int64  # 0: all clients
    page: Int64


class NoteAction(CallbackData, prefix="n"):
    """client (attach to arg), other (ask for a client), task, delete, restore."""

    op: str
    id: Int64
    arg: Int64 = 0


class NotesPage(CallbackData, prefix="np"):
    client: Int64  # 0: all clients
    page: Int64


class AlertAction(CallbackData, prefix="a"):
    """ack, resolve, snooze or log on an alert; any teammate may press them."""

    op: str
    id: Int64


class TeamAction(CallbackData, prefix="tm"):
    """remove, lead or backup for a member (id), or the /team settings (op only)."""

    op: str
    id: Int64 = 0
