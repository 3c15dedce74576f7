"""Inline keyboards. Labels go through i18n; callback data is typed (bot.callbacks)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.callbacks import (
    InvoiceAction,
    InvoiceOp,
    ListDone,
    ListPage,
    PickClient,
    RemindAction,
    RemindOp,
    Snooze,
    TaskAction,
    TaskOp,
)
from bot.views.quick_picks import quick_picks
from bot.views.render import shorten
from storage.models import Client, Task, TaskStatus

BUTTON_TEXT_LIMIT = 40


def _button(text: str, data: str) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data)


def when_rows(
    task_id: int, tz: ZoneInfo, now: datetime, morning_hour: int, locale: str
) -> list[list[InlineKeyboardButton]]:
    picks = [
        _button(pick.label, TaskAction(op=TaskOp.WHEN, id=task_id, arg=pick.code).pack())
        for pick in quick_picks(tz, now, morning_hour, locale)
    ]
    picks.append(_button(_("Pick…"), TaskAction(op=TaskOp.WHEN, id=task_id, arg="pick").pack()))
    return [picks[:3], picks[3:]]


def created_task_keyboard(
    task: Task,
    tz: ZoneInfo,
    now: datetime,
    morning_hour: int,
    locale: str,
    *,
    client_choices: Sequence[Client] = (),
    offer_new_client: str | None = None,
    undo: str | None = None,
) -> InlineKeyboardMarkup:
    """`undo`: packed callback data of what ↩️ Undo does here; by default it takes back the
    task's creation (deletes it)."""
    rows: list[list[InlineKeyboardButton]] = []
    for client in client_choices:
        rows.append(
            [
                _button(
                    "👤 " + shorten(client.name, BUTTON_TEXT_LIMIT),
                    PickClient(purpose="task", id=client.id, target=task.id).pack(),
                )
            ]
        )
    if offer_new_client is not None:
        rows.append(
            [
                _button(
                    _("➕ New client “{name}”").format(
                        name=shorten(offer_new_client, BUTTON_TEXT_LIMIT)
                    ),
                    TaskAction(op=TaskOp.NEW_CLIENT, id=task.id).pack(),
                )
            ]
        )
    if task.due_at is None:
        rows += when_rows(task.id, tz, now, morning_hour, locale)
    else:
        rows.append(
            [_button(_("🕓 Change time"), TaskAction(op=TaskOp.TIME, id=task.id).pack())]
        )
    rows.append(
        [
            _button(_("✏️ Edit"), TaskAction(op=TaskOp.EDIT, id=task.id).pack()),
            _button(_("↩️ Undo"), undo or TaskAction(op=TaskOp.UNDO, id=task.id).pack()),
        ]
    )
    return InlineKeyboardMarkup(inline_keyboard=rows)


def task_edit_keyboard(task: Task) -> InlineKeyboardMarkup:
    if task.status is TaskStatus.DONE:
        return InlineKeyboardMarkup(
            inline_keyboard=[
                [_button(_("↩️ Reopen"), TaskAction(op=TaskOp.REOPEN, id=task.id).pack())]
            ]
        )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                _button(_("✏️ Text"), TaskAction(op=TaskOp.TEXT, id=task.id).pack()),
                _button(_("🕓 Time"), TaskAction(op=TaskOp.TIME, id=task.id).pack()),
            ],
            [
                _button(_("👤 Client"), TaskAction(op=TaskOp.CLIENT, id=task.id).pack()),
                _button(_("🏷 Kind"), TaskAction(op=TaskOp.KIND, id=task.id).pack()),
                _button(_("🔔 Ahead"), TaskAction(op=TaskOp.AHEAD, id=task.id).pack()),
            ],
            [
                _button(_("✅ Done"), TaskAction(op=TaskOp.DONE, id=task.id).pack()),
                _button(_("🗑 Delete"), TaskAction(op=TaskOp.DELETE, id=task.id).pack()),
            ],
        ]
    )


def single_button(text: str, data: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(text, data)]])


def client_pick_keyboard(
    clients: Sequence[Client], purpose: str, target: int = 0,
    extra: Sequence[InlineKeyboardButton] = (),
) -> InlineKeyboardMarkup:
    rows = [
        [
            _button(
                "👤 " + shorten(client.name, BUTTON_TEXT_LIMIT),
                PickClient(purpose=purpose, id=client.id, target=target).pack(),
            )
        ]
        for client in clients
    ]
    rows += [[button] for button in extra]
    return InlineKeyboardMarkup(inline_keyboard=rows)


def list_keyboard(
    view: str, page: int, pages: int, tasks: Sequence[Task]
) -> InlineKeyboardMarkup | None:
    """✅ buttons four to a row, then page navigation.

    Built as plain rows: aiogram's builder copies the whole keyboard on every add.
    """
    done = [
        _button(f"✅ #{task.number}", ListDone(view=view, page=page, id=task.id).pack())
        for task in tasks
    ]
    rows = [done[start : start + 4] for start in range(0, len(done), 4)]
    nav: list[InlineKeyboardButton] = []
    if page > 0:
        nav.append(_button("◀️", ListPage(view=view, page=page - 1).pack()))
    if pages > 1:
        nav.append(_button(f"{page + 1}/{pages}", ListPage(view=view, page=page).pack()))
    if page + 1 < pages:
        nav.append(_button("▶️", ListPage(view=view, page=page + 1).pack()))
    if nav:
        rows.append(nav)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def invoice_buttons(invoice_id: int) -> list[InlineKeyboardButton]:
    return [
        _button(_("✅ Paid"), InvoiceAction(op=InvoiceOp.PAID, id=invoice_id).pack()),
        _button(_("½ Partly"), InvoiceAction(op=InvoiceOp.PART, id=invoice_id).pack()),
        _button(_("🤝 Promised…"), InvoiceAction(op=InvoiceOp.PROMISE, id=invoice_id).pack()),
    ]


def reminder_keyboard(task: Task) -> InlineKeyboardMarkup:
    def snooze(label: str, arg: Snooze) -> InlineKeyboardButton:
        return _button(label, RemindAction(op=RemindOp.SNOOZE, id=task.id, arg=arg).pack())

    first_row = (
        invoice_buttons(task.invoice_id)
        if task.invoice_id is not None
        else [
            _button(_("✅ Done"), RemindAction(op=RemindOp.DONE, id=task.id).pack()),
            _button(_("✏️ Reschedule"), TaskAction(op=TaskOp.TIME, id=task.id).pack()),
        ]
    )
    return InlineKeyboardMarkup(
        inline_keyboard=[
            first_row,
            [
                snooze(_("⏰ 15 min"), Snooze.MINUTES_15),
                snooze(_("⏰ 1 h"), Snooze.HOUR),
                snooze(_("⏰ Tomorrow"), Snooze.TOMORROW),
                snooze(_("⏰ Pick…"), Snooze.PICK),
            ],
        ]
    )
