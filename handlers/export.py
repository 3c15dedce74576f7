"""Your data: /export (CSV tables in a zip and an .ics of tasks), /import (clients from a
CSV file), /forget_me (delete everything, after a confirmation)."""

from __future__ import annotations

import csv
import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta

from aiogram import Bot, F, Router, html
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, StateFilter
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    Document,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.services.contacts import is_email, is_phone, is_telegram
from bot.services.export import (
    MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS,
    ClientCsv,
    CsvError,
    CsvRow,
    channel_from_text,
    export_archive,
    read_clients_csv,
    segment_from_text,
    status_from_text,
    tasks_calendar,
)
from bot.services.recurrence import split_recurrence
from bot.services.render import quoted, shorten
from bot.services.series import SeriesService
from bot.services.text import FIELD_LIMIT, NAME_LIMIT, clean_line
from handlers.replies import edit_or_send, send_long, stale_button
from storage.errors import StorageError
from storage.interfaces import UserDataRepo
from storage.models import ClientDraft, ClientStatus, Segment

logger = logging.getLogger(__name__)

SHOWN_PROBLEMS = 30
SHOWN_COLUMNS = 20
# A column's title in a reply: enough to recognise it (titles are the file's, any length).
COLUMN_SHOWN = 40
FORGET_KEY = "forget_me"
FORGET_VALID = timedelta(minutes=10)
_CSV_NAMES = (".csv", ".txt", ".tsv")
_CSV_TYPES = ("text/", "application/csv", "application/vnd.ms-excel")
_EMPTY = {"", "-", "—", "–"}


class ImportForm(StatesGroup):
    document = State()


class ForgetAction(CallbackData, prefix="fg"):
    """yes / no on the /forget_me question; uid and nonce tie it to that one question."""

    op: str
    uid: int
    nonce: str


# ---------------------------------------------------------------- import


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


def check_row(
    row: CsvRow, table: ClientCsv, user: UserContext, now: datetime
) -> tuple[ClientDraft | None, list[str]]:
    """The row as a client to create, by the rules of a card's fields, or what is wrong."""
    values = {field: clean_line(value) for field, value in row.values.items()}
    problems: list[str] = []
    name = values.get("name", "")
    if name in _EMPTY:
        problems.append(_("no name"))
    elif len(name) > NAME_LIMIT:
        problems.append(too_long(table.columns["name"], name, NAME_LIMIT))
    fields: dict[str, str | None] = {}
    for field in (
        "contact", "phone", "email", "channel", "cadence", "emergency_contact", "telegram",
        "segment", "status",
    ):
        value = values.get(field, "")
        if value in _EMPTY:
            fields[field] = None
        elif len(value) > FIELD_LIMIT:
            problems.append(too_long(table.columns[field], value, FIELD_LIMIT))
        else:
            fields[field] = value
    aliases = split_aliases(row.values.get("aliases", ""))
    for alias in aliases:
        if len(alias) > NAME_LIMIT:
            problems.append(too_long(table.columns["aliases"], alias, NAME_LIMIT))
    telegram = fields.get("telegram")
    if telegram and not is_telegram(telegram):
        problems.append(_("not a Telegram account: {value}").format(value=quoted(telegram)))
    segment_text, status_text = fields.get("segment"), fields.get("status")
    segment = segment_from_text(segment_text) if segment_text else Segment.B2B
    if segment is None:
        problems.append(_("unknown segment {value} (B2B or B2C)").format(
            value=quoted(segment_text or "")))
    status = status_from_text(status_text) if status_text else ClientStatus.ACTIVE
    if status is None:
        problems.append(_("unknown status {value} (active or former)").format(
            value=quoted(status_text or "")))
    email, phone = fields.get("email"), fields.get("phone")
    if email and not is_email(email):
        problems.append(_("not an email: {value}").format(value=quoted(email)))
    if phone and not is_phone(phone):
        problems.append(_("not a phone number: {value}").format(value=quoted(phone)))
    channel_text = fields.get("channel")
    channel = channel_from_text(channel_text) if channel_text else None
    if channel_text and channel is None:
        problems.append(
            _("unknown channel {value} (phone, messenger, email or task manager)").format(
                value=quoted(channel_text)
            )
        )
    cadence = fields.get("cadence")
    if cadence and split_recurrence(
        cadence, tz=user.tz, now=now, morning_hour=user.morning_hour
    ) is None:
        problems.append(
            _("the cadence is not a schedule: {value} (e.g. “report every month on the "
              "1st”, «отчёт каждый понедельник в 10»)").format(value=quoted(cadence))
        )
    if problems or segment is None or status is None:
        return None, problems
    return ClientDraft(
        name=name, contact_person=fields.get("contact"), phone=phone, email=email,
        channel=channel, report_cadence=cadence, emergency_contact=fields.get("emergency_contact"),
        contact_telegram=telegram, segment=segment, status=status, aliases=tuple(aliases),
    ), []


async def download(bot: Bot, document: Document) -> bytes | None:
    try:
        stream = await bot.download(document)
    except TelegramBadRequest as exc:
        logger.info("could not download an import file: %s", exc.message)
        return None
    return stream.read() if stream is not None else None


async def import_document(
    message: Message,
    document: Document,
    bot: Bot,
    user_data: UserDataRepo,
    series: SeriesService,
    user: UserContext,
    clock: Clock,
) -> None:
    if not is_csv_document(document):
        await message.answer(not_csv())
        return
    too_big = _("The file is too large ({size} KB); the limit is {limit} KB. Split it into "
                "smaller files.")
    limit_kb = MAX_IMPORT_BYTES // 1024
    if document.file_size is not None and document.file_size > MAX_IMPORT_BYTES:
        await message.answer(too_big.format(size=-(-document.file_size // 1024), limit=limit_kb))
        return
    data = await download(bot, document)
    if data is None:
        await message.answer(_("I could not download the file. Please send it again."))
        return
    if len(data) > MAX_IMPORT_BYTES:
        await message.answer(too_big.format(size=-(-len(data) // 1024), limit=limit_kb))
        return
    try:
        table = read_clients_csv(data)
    except CsvError as exc:
        await message.answer(csv_problem(str(exc)))
        return
    now = clock.now()
    drafts: list[ClientDraft] = []
    draft_rows: list[int] = []
    problems: list[tuple[int, str]] = []
    for row in table.rows:
        draft, wrong = check_row(row, table, user, now)
        if draft is None:
            problems.append((row.number, "; ".join(wrong)))
        else:
            drafts.append(draft)
            draft_rows.append(row.number)
    result = await user_data.import_clients(user.id, drafts, now)
    for index in result.duplicates:
        problems.append(
            (draft_rows[index], _("{name}: a client with this name already exists").format(
                name=quoted(drafts[index].name)))
        )
    notes = [
        (draft_rows[index], _("imported without the alias {alias}: another client goes by it")
         .format(alias=quoted(alias)))
        for index, alias in result.taken_aliases
    ]
    cadences = 0
    for client in result.created:
        if client.report_cadence:
            synced = await series.sync_cadence(
                client, client.report_cadence, tz=user.tz, morning_hour=user.morning_hour,
                default_text=_("report"),
            )
            cadences += synced is not None
    await send_long(
        message, import_report(table, len(result.created), cadences, problems, notes), None
    )


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
        problems.sort()
        lines += ["", html.bold(_("Rows not imported: {count}").format(count=len(problems)))]
        lines += [
            _("row {row}: {problem}").format(row=row, problem=problem)
            for row, problem in problems[:SHOWN_PROBLEMS]
        ]
        if len(problems) > SHOWN_PROBLEMS:
            lines.append(_("…and {count} more.").format(count=len(problems) - SHOWN_PROBLEMS))
    if notes:
        lines.append("")
        lines += [
            _("row {row}: {problem}").format(row=row, problem=note)
            for row, note in sorted(notes)[:SHOWN_PROBLEMS]
        ]
        if len(notes) > SHOWN_PROBLEMS:
            lines.append(_("…and {count} more.").format(count=len(notes) - SHOWN_PROBLEMS))
    if table.ignored:
        shown = ", ".join(column_name(column) for column in table.ignored[:SHOWN_COLUMNS])
        if len(table.ignored) > SHOWN_COLUMNS:
            shown += " " + _("…and {count} more.").format(
                count=len(table.ignored) - SHOWN_COLUMNS)
        lines += ["", _("Columns I do not know, skipped: {columns}").format(columns=shown)]
    if created:
        lines += ["", _("All clients: /clients")]
    return "\n".join(lines)


# ---------------------------------------------------------------- forget me


def forget_keyboard(user_id: int, nonce: str) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("🗑 Delete everything"),
                    callback_data=ForgetAction(op="yes", uid=user_id, nonce=nonce).pack(),
                ),
                InlineKeyboardButton(
                    text=_("Keep my data"),
                    callback_data=ForgetAction(op="no", uid=user_id, nonce=nonce).pack(),
                ),
            ]
        ]
    )


async def question_is_current(
    callback_data: ForgetAction, user: UserContext, state: FSMContext, clock: Clock
) -> bool:
    """The button is the latest /forget_me question's, asked of this user, not long ago."""
    if callback_data.uid != user.id:
        return False
    pending = (await state.get_data()).get(FORGET_KEY)
    if not isinstance(pending, dict) or pending.get("nonce") != callback_data.nonce:
        return False
    try:
        asked = datetime.fromisoformat(str(pending.get("at")))
    except ValueError:
        return False
    return timedelta(0) <= clock.now() - asked <= FORGET_VALID


def create_router() -> Router:
    router = Router(name=__name__)

    @router.message(Command("export"))
    async def export(
        message: Message, user_data: UserDataRepo, user: UserContext, clock: Clock
    ) -> None:
        now = clock.now()
        data = await user_data.snapshot(user.id)
        day = now.astimezone(user.tz).strftime("%Y-%m-%d")
        caption = _(
            "Your data: clients {clients}, tasks {tasks}, notes {notes}, invoices {invoices}. "
            "CSV tables in UTF-8; times in UTC and in your timezone ({tz})."
        ).format(
            clients=len(data.clients), tasks=len(data.tasks), notes=len(data.notes),
            invoices=len(data.invoices), tz=html.quote(user.tz.key),
        )
        await message.answer_document(
            BufferedInputFile(
                export_archive(data, user.tz, user.locale), f"am-assistant-{day}.zip"
            ),
            caption=caption,
        )
        await message.answer_document(
            BufferedInputFile(tasks_calendar(data.tasks, now), f"am-assistant-tasks-{day}.ics"),
            caption=_("Tasks with a time, as a calendar: open it or import it into yours."),
        )

    @router.message(Command("import"), F.document)
    async def import_with_caption(
        message: Message,
        bot: Bot,
        user_data: UserDataRepo,
        series: SeriesService,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        await state.set_state(None)
        assert message.document is not None
        await import_document(message, message.document, bot, user_data, series, user, clock)

    @router.message(Command("import"))
    async def ask_for_file(message: Message, state: FSMContext) -> None:
        await state.set_state(ImportForm.document)
        await message.answer(import_help())

    @router.message(StateFilter(ImportForm.document), F.document)
    async def import_file(
        message: Message,
        bot: Bot,
        user_data: UserDataRepo,
        series: SeriesService,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        await state.set_state(None)
        assert message.document is not None
        await import_document(message, message.document, bot, user_data, series, user, clock)

    @router.message(StateFilter(ImportForm.document), ~F.text.startswith("/"))
    async def not_a_file(message: Message) -> None:
        await message.answer(_("I am waiting for a CSV file, sent as a document. /cancel to "
                               "stop."))

    @router.message(Command("forget_me"))
    async def forget_me(
        message: Message, user_data: UserDataRepo, user: UserContext, clock: Clock,
        state: FSMContext,
    ) -> None:
        counts = await user_data.counts(user.id)
        nonce = secrets.token_hex(4)
        await state.update_data({FORGET_KEY: {"nonce": nonce, "at": clock.now().isoformat()}})
        await message.answer(
            _(
                "This deletes everything you keep here, for good: clients {clients}, tasks "
                "{tasks}, notes {notes}, invoices {invoices}, with their reminders, recurring "
                "tasks and your settings. It cannot be undone. To keep a copy, send /export "
                "first."
            ).format(
                clients=counts.clients, tasks=counts.tasks, notes=counts.notes,
                invoices=counts.invoices,
            ),
            reply_markup=forget_keyboard(user.id, nonce),
        )

    @router.callback_query(ForgetAction.filter())
    async def forget_answer(
        query: CallbackQuery,
        callback_data: ForgetAction,
        user_data: UserDataRepo,
        user: UserContext,
        clock: Clock,
        state: FSMContext,
    ) -> None:
        if not await question_is_current(callback_data, user, state, clock):
            await stale_button(query)
            return
        if callback_data.op != "yes":
            data = await state.get_data()
            data.pop(FORGET_KEY, None)
            await state.set_data(data)
            await query.answer()
            await edit_or_send(query, _("Nothing was deleted."))
            return
        try:
            await user_data.forget(user.id)
        except StorageError:
            logger.exception("forget_me failed for a user")
            await query.answer()
            await edit_or_send(
                query,
                _("Nothing was deleted: some of your data is shared with others. Please "
                  "tell the bot's administrator."),
            )
            return
        logger.info("a user's data was deleted on their request")
        await query.answer()
        await edit_or_send(
            query,
            "🗑 " + _("Done: everything you kept here is deleted. If you write again, I start "
                      "from scratch."),
        )

    return router
