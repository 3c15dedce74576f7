"""/import's reading of a table: each row checked by the rules of a client card's fields, and
the report of what was imported and what was not (by row number, as a spreadsheet shows it)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from datetime import datetime

from aiogram import html
from aiogram.types import Document
from aiogram.utils.i18n import gettext as _

from bot.context import UserContext
from bot.domain.contacts import is_email, is_phone, is_telegram
from bot.domain.recurrence import split_recurrence
from bot.domain.text import FIELD_LIMIT, NAME_LIMIT, clean_line
from bot.services.export import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    ClientCsv,
    CsvRow,
    channel_from_text,
    segment_from_text,
    status_from_text,
)
from bot.views.render import quoted, shorten
from storage.models import Channel, ClientDraft, ClientStatus, Segment

SHOWN_PROBLEMS = 30
SHOWN_COLUMNS = 20
# A column's title in a reply: enough to recognise it (titles are the file's, any length).
COLUMN_SHOWN = 40
_CSV_NAMES = (".csv", ".txt", ".tsv")
_CSV_TYPES = ("text/", "application/csv", "application/vnd.ms-excel")
_EMPTY = {"", "-", "—", "–"}
# A card's fields besides the name and the aliases, as read_clients_csv names them.
_FIELDS = (
    "contact", "phone", "email", "channel", "cadence", "emergency_contact", "telegram",
    "segment", "status",
)


def import_help() -> str:
    return _(
        "Send me a CSV file of clients as a document. The first row names the columns: "
        "name, contact, phone, email, channel, cadence (or in Russian: название, контакт, "
        "телефон, почта, канал, периодичность); only the name is required. Commas or "
        "semicolons, UTF-8 or Windows-1251, up to {limit} KB. /cancel to stop."
    ).format(limit=MAX_IMPORT_BYTES // 1024) + "\n" + _(
        "clients.csv from /export goes back in as it is, with every field of the card."
    )


def not_csv() -> str:
    return _(
        "This is not a CSV file. Save the table as CSV (in Excel: File → Save As → "
        "“CSV UTF-8”) and send it again."
    )


def csv_problem(reason: str) -> str:
    problems = {
        "binary": not_csv(),
        "encoding": _("I could not read the text of the file. Save it as “CSV UTF-8” and "
                      "send it again."),
        "empty": _("The file is empty."),
        "blank": _("There is no table in the file: only quotes or separators, no text. "
                   "Save the table as “CSV UTF-8” and send it again."),
        "cell_too_long": _(
            "A cell in the file is far too long (over {limit} characters). A client's name "
            "holds up to {name} characters and its other fields up to {field}: check the file "
            "and send it again."
        ).format(limit=csv.field_size_limit(), name=NAME_LIMIT, field=FIELD_LIMIT),
        "no_rows": _("The file has no rows under its header."),
        "too_many_rows": _("The file has more than {limit} rows. Split it into smaller "
                           "files.").format(limit=MAX_IMPORT_ROWS),
        "no_name": _(
            "I could not find the name column. The first row must name the columns: name, "
            "contact, phone, email, channel, cadence (or название, контакт, телефон, почта, "
            "канал, периодичность)."
        ),
    }
    return problems.get(reason, not_csv())


def is_csv_document(document: Document) -> bool:
    name = (document.file_name or "").lower()
    if name:
        return name.endswith(_CSV_NAMES)
    return (document.mime_type or "").startswith(_CSV_TYPES)


def column_name(column: str) -> str:
    """A column's title as the file has it, quoted and short (a title can be any length)."""
    return quoted(shorten(column, COLUMN_SHOWN))


def too_long(column: str, value: str, limit: int) -> str:
    return _("{column} is too long ({length} characters; the limit is {limit})").format(
        column=column_name(column), length=len(value), limit=limit
    )


def split_aliases(text: str) -> list[str]:
    """Aliases one per line in a cell (as /export writes them)."""
    return [
        alias for alias in (clean_line(line) for line in text.splitlines()) if alias not in _EMPTY
    ]


# ---------------------------------------------------------------- one row


def _name_problems(name: str, table: ClientCsv) -> list[str]:
    if name in _EMPTY:
        return [_("no name")]
    if len(name) > NAME_LIMIT:
        return [too_long(table.columns["name"], name, NAME_LIMIT)]
    return []


def _fields(
    values: dict[str, str], table: ClientCsv
) -> tuple[dict[str, str | None], list[str]]:
    """The card's other fields (an empty or dash cell is no value), and the too long ones."""
    fields: dict[str, str | None] = {}
    problems: list[str] = []
    for field in _FIELDS:
        value = values.get(field, "")
        if value in _EMPTY:
            fields[field] = None
        elif len(value) > FIELD_LIMIT:
            problems.append(too_long(table.columns[field], value, FIELD_LIMIT))
        else:
            fields[field] = value
    return fields, problems


def _telegram_problems(telegram: str | None) -> list[str]:
    if telegram and not is_telegram(telegram):
        return [_("not a Telegram account: {value}").format(value=quoted(telegram))]
    return []


def _segment(text: str | None) -> tuple[Segment | None, list[str]]:
    segment = segment_from_text(text) if text else Segment.B2B
    if segment is None:
        return None, [_("unknown segment {value} (B2B or B2C)").format(value=quoted(text or ""))]
    return segment, []


def _status(text: str | None) -> tuple[ClientStatus | None, list[str]]:
    status = status_from_text(text) if text else ClientStatus.ACTIVE
    if status is None:
        return None, [
            _("unknown status {value} (active or former)").format(value=quoted(text or ""))
        ]
    return status, []


def _email_and_phone_problems(email: str | None, phone: str | None) -> list[str]:
    problems = []
    if email and not is_email(email):
        problems.append(_("not an email: {value}").format(value=quoted(email)))
    if phone and not is_phone(phone):
        problems.append(_("not a phone number: {value}").format(value=quoted(phone)))
    return problems


def _channel(text: str | None) -> tuple[Channel | None, list[str]]:
    channel = channel_from_text(text) if text else None
    if text and channel is None:
        return None, [
            _("unknown channel {value} (phone, messenger, email or task manager)").format(
                value=quoted(text)
            )
        ]
    return channel, []


def _cadence_problems(cadence: str | None, user: UserContext, now: datetime) -> list[str]:
    if cadence and split_recurrence(
        cadence, tz=user.tz, now=now, morning_hour=user.morning_hour
    ) is None:
        return [
            _("the cadence is not a schedule: {value} (e.g. “report every month on the "
              "1st”, «отчёт каждый понедельник в 10»)").format(value=quoted(cadence))
        ]
    return []


def check_row(
    row: CsvRow, table: ClientCsv, user: UserContext, now: datetime
) -> tuple[ClientDraft | None, list[str]]:
    """The row as a client to create, by the rules of a card's fields, or what is wrong."""
    values = {field: clean_line(value) for field, value in row.values.items()}
    name = values.get("name", "")
    problems = _name_problems(name, table)
    fields, wrong = _fields(values, table)
    problems += wrong
    aliases = split_aliases(row.values.get("aliases", ""))
    problems += [
        too_long(table.columns["aliases"], alias, NAME_LIMIT)
        for alias in aliases
        if len(alias) > NAME_LIMIT
    ]
    telegram, email, phone = fields.get("telegram"), fields.get("email"), fields.get("phone")
    problems += _telegram_problems(telegram)
    segment, wrong = _segment(fields.get("segment"))
    problems += wrong
    status, wrong = _status(fields.get("status"))
    problems += wrong
    problems += _email_and_phone_problems(email, phone)
    channel, wrong = _channel(fields.get("channel"))
    problems += wrong
    cadence = fields.get("cadence")
    problems += _cadence_problems(cadence, user, now)
    if problems or segment is None or status is None:
        return None, problems
    return ClientDraft(
        name=name, contact_person=fields.get("contact"), phone=phone, email=email,
        channel=channel, report_cadence=cadence, emergency_contact=fields.get("emergency_contact"),
        contact_telegram=telegram, segment=segment, status=status, aliases=tuple(aliases),
    ), []


# ---------------------------------------------------------------- the report


def _numbered(lines: Sequence[tuple[int, str]]) -> list[str]:
    """Row-numbered lines in row order, the first SHOWN_PROBLEMS of them and a count."""
    shown = [
        _("row {row}: {problem}").format(row=row, problem=problem)
        for row, problem in sorted(lines)[:SHOWN_PROBLEMS]
    ]
    if len(lines) > SHOWN_PROBLEMS:
        shown.append(_("…and {count} more.").format(count=len(lines) - SHOWN_PROBLEMS))
    return shown


def _ignored_columns(ignored: Sequence[str]) -> str:
    shown = ", ".join(column_name(column) for column in ignored[:SHOWN_COLUMNS])
    if len(ignored) > SHOWN_COLUMNS:
        shown += " " + _("…and {count} more.").format(count=len(ignored) - SHOWN_COLUMNS)
    return _("Columns I do not know, skipped: {columns}").format(columns=shown)


def import_report(
    table: ClientCsv,
    created: int,
    cadences: int,
    problems: list[tuple[int, str]],
    notes: Sequence[tuple[int, str]] = (),
) -> str:
    if created:
        lines = ["📥 " + _("Clients imported: {count}.").format(count=created)]
    else:
        lines = [_("No clients were imported.")]
    if cadences:
        lines.append("🔁 " + _("Recurring tasks from the cadence: {count}.").format(
            count=cadences))
    if problems:
        lines += ["", html.bold(_("Rows not imported: {count}").format(count=len(problems)))]
        lines += _numbered(problems)
    if notes:
        lines += ["", *_numbered(notes)]
    if table.ignored:
        lines += ["", _ignored_columns(table.ignored)]
    if created:
        lines += ["", _("All clients: /clients")]
    return "\n".join(lines)
