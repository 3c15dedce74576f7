"""A user's data as files, and client rows read from a CSV file.

Export: one CSV per table in a zip (UTF-8 with a BOM, so Excel shows Cyrillic; every moment
in ISO 8601 UTC and again in the user's timezone) and the tasks with a time as an
iCalendar file. Import: a CSV of clients in UTF-8 (with or without a BOM) or Windows-1251,
comma- or semicolon-separated, with English or Russian column names.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import gettext as _
from babel.numbers import get_currency_precision
from icalendar import Calendar, Event

from bot.views.render import kind_label
from storage.models import (
    Channel,
    Client,
    ClientStatus,
    ExportTable,
    Invoice,
    Note,
    Segment,
    Task,
    TaskStatus,
    UserData,
)

CSV_ENCODING = "utf-8-sig"  # the BOM tells Excel the file is UTF-8
MAX_IMPORT_BYTES = 1024 * 1024
MAX_IMPORT_ROWS = 5000
CALENDAR_EVENT_LENGTH = timedelta(minutes=30)

Cell = str | int | float | None

# A spreadsheet reads a cell starting with one of these as a formula (or, for tab and CR,
# trims it into one): OWASP's "CSV injection". Such a cell is written with a leading
# apostrophe, which spreadsheets take as "this is text", and /import takes it off again.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
TEXT_MARK = "'"


def _needs_mark(text: str) -> bool:
    # Cells that already start with apostrophes before a formula character get one more,
    # so that taking one off on import gives back exactly what was written.
    return text.lstrip(TEXT_MARK).startswith(FORMULA_STARTS)


def safe_cell(cell: Cell) -> Cell:
    """A cell as a spreadsheet shows it: text that looks like a formula stays text."""
    if isinstance(cell, str) and _needs_mark(cell):
        return TEXT_MARK + cell
    return cell


def unmark_cell(text: str) -> str:
    """The inverse of safe_cell: the one apostrophe the export added, taken off."""
    if text.startswith(TEXT_MARK) and _needs_mark(text[1:]):
        return text[1:]
    return text


# ---------------------------------------------------------------- export


def utc_text(moment: datetime | None) -> str:
    return "" if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def local_text(moment: datetime | None, tz: ZoneInfo) -> str:
    return "" if moment is None else moment.astimezone(tz).isoformat(timespec="seconds")


def csv_bytes(header: Sequence[str], rows: Iterable[Sequence[Cell]], delimiter: str) -> bytes:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow([safe_cell(title) for title in header])
    writer.writerows(["" if cell is None else safe_cell(cell) for cell in row] for row in rows)
    return buffer.getvalue().encode(CSV_ENCODING)


def _moment(name: str) -> list[str]:
    return [f"{name}_utc", f"{name}_local"]


def _both(moment: datetime | None, tz: ZoneInfo) -> list[Cell]:
    return [utc_text(moment), local_text(moment, tz)]


def clients_table(clients: Sequence[Client], tz: ZoneInfo) -> tuple[list[str], list[list[Cell]]]:
    # /import reads every column but the times back, so the file goes back in as it is.
    header = [
        "name", "contact", "phone", "email", "channel", "cadence", "emergency_contact",
        "telegram", "segment", "status", "aliases", *_moment("created_at"),
        *_moment("updated_at"),
    ]
    rows = [
        [
            client.name, client.contact_person, client.phone, client.email,
            client.channel.value if client.channel else None, client.report_cadence,
            client.emergency_contact, client.contact_telegram, client.segment.value,
            client.status.value, "\n".join(client.aliases), *_both(client.created_at, tz),
            *_both(client.updated_at, tz),
        ]
        for client in clients
    ]
    return header, rows


def tasks_table(tasks: Sequence[Task], tz: ZoneInfo) -> tuple[list[str], list[list[Cell]]]:
    header = [
        "number", "client", "text", "kind", "status", *_moment("due_at"),
        *_moment("created_at"), *_moment("done_at"), "remind_ahead_minutes", "series_id",
    ]
    rows = [
        [
            task.number, task.client_name, task.text, task.kind.value, task.status.value,
            *_both(task.due_at, tz), *_both(task.created_at, tz), *_both(task.done_at, tz),
            task.remind_ahead_minutes, task.series_id,
        ]
        for task in tasks
    ]
    return header, rows


def notes_table(
    notes: Sequence[Note], task_numbers: dict[int, int], tz: ZoneInfo
) -> tuple[list[str], list[list[Cell]]]:
    header = [
        "id", *_moment("created_at"), "client", "text", "task_number", "media_type",
        "duration", "file_size", "forward_from", *_moment("forward_date"),
    ]
    rows = [
        [
            note.id, *_both(note.created_at, tz), note.client_name, note.text,
            task_numbers.get(note.task_id) if note.task_id is not None else None,
            note.media_type, note.duration, note.file_size, note.forward_from,
            *_both(note.forward_date, tz),
        ]
        for note in notes
    ]
    return header, rows


def decimal_amount(minor: int, currency: str) -> str:
    """Minor units as a plain decimal: 12000000 RUB -> 120000.00."""
    digits = get_currency_precision(currency)
    return str(Decimal(minor).scaleb(-digits).quantize(Decimal(1).scaleb(-digits)))


def invoices_table(
    invoices: Sequence[Invoice], tz: ZoneInfo
) -> tuple[list[str], list[list[Cell]]]:
    header = [
        "number", "client", "amount", "paid", "currency", "status", *_moment("due_at"),
        *_moment("promised_at"), *_moment("paid_at"), "note",
    ]
    rows = [
        [
            invoice.number, invoice.client_name,
            decimal_amount(invoice.amount_minor, invoice.currency),
            decimal_amount(invoice.paid_minor, invoice.currency), invoice.currency,
            invoice.status.value, *_both(invoice.due_at, tz), *_both(invoice.promised_at, tz),
            *_both(invoice.paid_at, tz), invoice.note,
        ]
        for invoice in invoices
    ]
    return header, rows


def _parse_stored_time(value: Cell) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def generic_table(table: ExportTable, tz: ZoneInfo) -> tuple[list[str], list[list[Cell]]]:
    """A table known only by its columns (a newer feature's): each "..._at" column is
    followed by the same moment in the user's timezone."""
    timed = [column.endswith("_at") for column in table.columns]
    header: list[str] = []
    for column, is_time in zip(table.columns, timed, strict=True):
        header += [column, f"{column}_local"] if is_time else [column]
    rows: list[list[Cell]] = []
    for values in table.rows:
        row: list[Cell] = []
        for value, is_time in zip(values, timed, strict=True):
            row.append(value)
            if is_time:
                row.append(local_text(_parse_stored_time(value), tz))
        rows.append(row)
    return header, rows


def csv_delimiter(locale: str) -> str:
    """Excel splits on the list separator of the system's locale: a semicolon in Russian."""
    return ";" if locale == "ru" else ","


def export_archive(data: UserData, tz: ZoneInfo, locale: str) -> bytes:
    """clients.csv, tasks.csv, notes.csv, invoices.csv (and one per newer table) in a zip."""
    delimiter = csv_delimiter(locale)
    task_numbers = {task.id: task.number for task in data.tasks}
    tables: list[tuple[str, tuple[list[str], list[list[Cell]]]]] = [
        ("clients", clients_table(data.clients, tz)),
        ("tasks", tasks_table(data.tasks, tz)),
        ("notes", notes_table(data.notes, task_numbers, tz)),
        ("invoices", invoices_table(data.invoices, tz)),
        *((table.name, generic_table(table, tz)) for table in data.extra),
    ]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, (header, rows) in tables:
            archive.writestr(f"{name}.csv", csv_bytes(header, rows, delimiter))
    return buffer.getvalue()


def task_summary(task: Task) -> str:
    text = f"{task.client_name}: {task.text}" if task.client_name else task.text
    return f"✅ {text}" if task.status is TaskStatus.DONE else text


def tasks_calendar(tasks: Sequence[Task], now: datetime) -> bytes:
    """Each task with a time as an event at its due moment (UTC); recurring series appear
    as their current occurrences."""
    calendar = Calendar()
    calendar.add("prodid", "-//am-assistant//export//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", _("Tasks"))
    stamp = now.astimezone(UTC)
    for task in tasks:
        if task.due_at is None:
            continue
        start = task.due_at.astimezone(UTC)
        event = Event()
        event.add("uid", f"task-{task.id}@am-assistant")
        event.add("dtstamp", stamp)
        event.add("dtstart", start)
        event.add("dtend", start + CALENDAR_EVENT_LENGTH)
        event.add("summary", task_summary(task))
        event.add("status", "CONFIRMED")
        event.add("categories", [task.kind.value])
        done = _("done") if task.status is TaskStatus.DONE else _("open")
        event.add("description", f"#{task.number} · {kind_label(task.kind)} · {done}")
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()
    return ical


# ---------------------------------------------------------------- import

IMPORT_FIELDS = (
    "name", "contact", "phone", "email", "channel", "cadence", "emergency_contact", "telegram",
    "segment", "status", "aliases",
)
# Columns of our own export that a card does not take (the times are the bot's): skipped
# without a word, so an exported file goes back in without complaints.
EXPORT_ONLY_COLUMNS = frozenset(
    f"{name}_{zone}" for name in ("created_at", "updated_at") for zone in ("utc", "local")
)


def header_key(text: str) -> str:
    """Column and channel names compared without case, ё, spaces and punctuation."""
    return "".join(ch for ch in text.casefold().replace("ё", "е") if ch.isalnum())


_HEADERS: dict[str, str] = {
    header_key(alias): field
    for field, aliases in {
        "name": ("name", "client", "client name", "company", "название", "имя", "клиент",
                 "компания", "наименование", "название клиента", "имя клиента"),
        "contact": ("contact", "contact person", "contact_person", "контакт",
                    "контактное лицо", "контактное лицо клиента"),
        "phone": ("phone", "telephone", "tel", "phone number", "телефон", "тел",
                  "номер телефона"),
        "email": ("email", "e-mail", "mail", "почта", "эл. почта", "электронная почта",
                  "емейл", "имейл"),
        "channel": ("channel", "preferred channel", "канал", "канал связи",
                    "предпочтительный канал"),
        "cadence": ("cadence", "report cadence", "report_cadence", "периодичность",
                    "периодичность отчётов", "отчётность", "регулярность", "частота отчётов"),
        "emergency_contact": ("emergency contact", "emergency_contact", "emergency",
                              "экстренный контакт", "контакт для экстренных случаев"),
        "telegram": ("telegram", "contact telegram", "contact_telegram", "телеграм",
                     "телеграм контакта", "tg"),
        "segment": ("segment", "сегмент"),
        "status": ("status", "статус"),
        "aliases": ("aliases", "also known as", "другие названия", "псевдонимы", "алиасы"),
    }.items()
    for alias in aliases
}

_CHANNELS: dict[str, Channel] = {
    header_key(word): channel
    for channel, words in {
        Channel.PHONE: ("phone", "call", "телефон", "звонок", "звонки"),
        Channel.MESSENGER: ("messenger", "telegram", "whatsapp", "мессенджер", "телеграм",
                            "телеграмм"),
        Channel.EMAIL: ("email", "e-mail", "mail", "почта", "эл. почта", "емейл"),
        Channel.TASK_MANAGER: ("task_manager", "task manager", "tracker", "таск-трекер",
                               "таск-менеджер", "трекер", "менеджер задач"),
    }.items()
    for word in words
}


def channel_from_text(text: str) -> Channel | None:
    return _CHANNELS.get(header_key(text))


_SEGMENTS = {"b2b": Segment.B2B, "b2c": Segment.B2C}
_STATUSES: dict[str, ClientStatus] = {
    header_key(word): status
    for status, words in {
        ClientStatus.ACTIVE: ("active", "активный", "активен", "действующий"),
        ClientStatus.FORMER: ("former", "бывший", "архив", "archived"),
    }.items()
    for word in words
}


def segment_from_text(text: str) -> Segment | None:
    return _SEGMENTS.get(header_key(text))


def status_from_text(text: str) -> ClientStatus | None:
    return _STATUSES.get(header_key(text))


class CsvError(Exception):
    """Not a CSV of clients we can read; the message is a reason key."""


@dataclass(frozen=True, slots=True)
class CsvRow:
    number: int  # as a spreadsheet shows it: the header is row 1
    values: dict[str, str]


@dataclass(frozen=True, slots=True)
class ClientCsv:
    rows: tuple[CsvRow, ...]
    # Our field -> the column name as written in the file.
    columns: dict[str, str]
    ignored: tuple[str, ...]


def looks_binary(data: bytes) -> bool:
    """A spreadsheet, archive, PDF or image rather than text."""
    return b"\x00" in data[:4096] or data.startswith((b"PK\x03\x04", b"%PDF", b"\xd0\xcf\x11\xe0"))


def decode_csv(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise CsvError("encoding") from exc
    if looks_binary(data):
        raise CsvError("binary")
    for encoding in (CSV_ENCODING, "cp1251"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CsvError("encoding")


def guess_delimiter(line: str) -> str:
    counts = {delimiter: line.count(delimiter) for delimiter in (";", ",", "\t")}
    best = max(counts, key=lambda delimiter: counts[delimiter])
    return best if counts[best] else ","


def _records(text: str, delimiter: str) -> list[list[str]]:
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as exc:
        # The csv module's only error for a decoded text: a cell over its size limit
        # (csv.field_size_limit(), 131,072 characters), far beyond any card field.
        raise CsvError("cell_too_long") from exc
    return [[unmark_cell(cell) for cell in record] for record in records]


def read_clients_csv(data: bytes) -> ClientCsv:
    """Rows of a client CSV by our field names; raises CsvError with a reason key."""
    text = decode_csv(data)
    lines = text.splitlines()
    first = next((line for line in lines if line.strip()), None)
    if first is None:
        raise CsvError("empty")
    records = _records(text, guess_delimiter(first))
    start = next(
        (index for index, record in enumerate(records) if any(c.strip() for c in record)), None
    )
    if start is None:
        raise CsvError("blank")  # quotes and separators, no text: `"` or `;;;`
    header = records[start]
    positions: dict[str, int] = {}
    columns: dict[str, str] = {}
    ignored: list[str] = []
    for position, title in enumerate(header):
        field = _HEADERS.get(header_key(title))
        if field is None or field in positions:
            if title.strip() and title.strip() not in EXPORT_ONLY_COLUMNS:
                ignored.append(title.strip())
            continue
        positions[field] = position
        columns[field] = title.strip()
    if "name" not in positions:
        raise CsvError("no_name")
    rows = []
    for index in range(start + 1, len(records)):
        record = records[index]
        if not any(cell.strip() for cell in record):
            continue
        rows.append(
            CsvRow(
                number=index + 1,
                values={
                    field: record[position].strip() if position < len(record) else ""
                    for field, position in positions.items()
                },
            )
        )
    if not rows:
        raise CsvError("no_rows")
    if len(rows) > MAX_IMPORT_ROWS:
        raise CsvError("too_many_rows")
    return ClientCsv(rows=tuple(rows), columns=columns, ignored=tuple(ignored))

