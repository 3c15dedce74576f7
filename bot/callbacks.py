"""Typed callback data (each well under Telegram's 64 bytes). Treated as untrusted input:
handlers re-check every id against the pressing user's own rows."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData


class TaskAction(CallbackData, prefix="t"):
    op: str
    id: int
    arg: str = ""


class ListPage(CallbackData, prefix="l"):
    view: str
    page: int


class ListDone(CallbackData, prefix="ld"):
    view: str
    page: int
    id: int


class ClientAction(CallbackData, prefix="c"):
    op: str
    id: int
    arg: str = ""


class PickClient(CallbackData, prefix="pc"):
    """A choice among clients: for a task (task id), for a card, or for a new-task dialog."""

    purpose: str
    id: int
    target: int = 0


class Setting(CallbackData, prefix="s"):
    key: str
    value: str


class Dialog(CallbackData, prefix="d"):
    op: str
    arg: str = ""


class RemindAction(CallbackData, prefix="r"):
    """Buttons on a reminder: done, snooze by minutes (or "tm" tomorrow, "pick"), reschedule."""

    op: str
    id: int
    arg: str = ""


class SeriesAction(CallbackData, prefix="sr"):
    """pause / resume / stop / rule (change the schedule) for a recurring series."""

    op: str
    id: int


class InvoiceAction(CallbackData, prefix="i"):
    """paid / part (partially paid) / promise (client promised to pay on a date)."""

    op: str
    id: int


class NoteAction(CallbackData, prefix="n"):
    """client (attach to arg), other (ask for a client), task, delete, restore."""

    op: str
    id: int
    arg: int = 0


class NotesPage(CallbackData, prefix="np"):
    client: int  # 0: all clients
    page: int
