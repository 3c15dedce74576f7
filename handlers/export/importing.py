"""/import: clients from a CSV file, sent with /import as its caption or after the question."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import Document, Message
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.context import UserContext
from bot.services.catalog import Services
from bot.services.export import MAX_IMPORT_BYTES, ClientCsv, CsvError, read_clients_csv
from bot.services.series import SeriesService
from bot.views.render import quoted
from bot.views.replies import send_long
from handlers.export.rows import (
    check_row,
    csv_problem,
    import_help,
    import_report,
    is_csv_document,
    not_csv,
)
from storage.interfaces import Storage
from storage.models import Client, ClientDraft, ClientImport

logger = logging.getLogger(__name__)


class ImportForm(StatesGroup):
    document = State()


async def download(bot: Bot, document: Document) -> bytes | None:
    try:
        stream = await bot.download(document)
    except TelegramBadRequest as exc:
        logger.info("could not download an import file: %s", exc.message)
        return None
    return stream.read() if stream is not None else None


async def read_table(message: Message, document: Document, bot: Bot) -> ClientCsv | None:
    """The file as a table of clients, or None once the user is told what is wrong with it."""
    if not is_csv_document(document):
        await message.answer(not_csv())
        return None
    too_big = _("The file is too large ({size} KB); the limit is {limit} KB. Split it into "
                "smaller files.")
    limit_kb = MAX_IMPORT_BYTES // 1024
    if document.file_size is not None and document.file_size > MAX_IMPORT_BYTES:
        await message.answer(too_big.format(size=-(-document.file_size // 1024), limit=limit_kb))
        return None
    data = await download(bot, document)
    if data is None:
        await message.answer(_("I could not download the file. Please send it again."))
        return None
    if len(data) > MAX_IMPORT_BYTES:
        await message.answer(too_big.format(size=-(-len(data) // 1024), limit=limit_kb))
        return None
    try:
        return read_clients_csv(data)
    except CsvError as exc:
        await message.answer(csv_problem(str(exc)))
        return None


class CheckedRows:
    """The table's rows as clients to create (with their row numbers), and the rows not."""

    def __init__(self, table: ClientCsv, user: UserContext, now: datetime) -> None:
        self.drafts: list[ClientDraft] = []
        self.rows: list[int] = []
        self.problems: list[tuple[int, str]] = []
        for row in table.rows:
            draft, wrong = check_row(row, table, user, now)
            if draft is None:
                self.problems.append((row.number, "; ".join(wrong)))
            else:
                self.drafts.append(draft)
                self.rows.append(row.number)

    def duplicates(self, result: ClientImport) -> list[tuple[int, str]]:
        return [
            (self.rows[index], _("{name}: a client with this name already exists").format(
                name=quoted(self.drafts[index].name)))
            for index in result.duplicates
        ]

    def taken_aliases(self, result: ClientImport) -> list[tuple[int, str]]:
        return [
            (self.rows[index], _("imported without the alias {alias}: another client goes "
                                 "by it").format(alias=quoted(alias)))
            for index, alias in result.taken_aliases
        ]


async def sync_cadences(
    clients: Sequence[Client], series: SeriesService, user: UserContext
) -> int:
    """A recurring report task for each new client with a cadence; how many were made."""
    made = 0
    for client in clients:
        if client.report_cadence:
            synced = await series.sync_cadence(
                client, client.report_cadence, tz=user.tz, morning_hour=user.morning_hour,
                default_text=_("report"),
            )
            made += synced is not None
    return made


async def ask_for_file(message: Message, state: FSMContext) -> None:
    await state.set_state(ImportForm.document)
    await message.answer(import_help())


async def import_file(
    message: Message,
    bot: Bot,
    repos: Storage,
    services: Services,
    user: UserContext,
    clock: Clock,
    state: FSMContext,
) -> None:
    await state.set_state(None)
    assert message.document is not None  # registered with F.document
    table = await read_table(message, message.document, bot)
    if table is None:
        return
    now = clock.now()
    checked = CheckedRows(table, user, now)
    result = await repos.user_data.import_clients(user.id, checked.drafts, now)
    cadences = await sync_cadences(result.created, services.series, user)
    report = import_report(
        table, len(result.created), cadences, checked.problems + checked.duplicates(result),
        checked.taken_aliases(result),
    )
    await send_long(message, report, None)


async def not_a_file(message: Message) -> None:
    await message.answer(_("I am waiting for a CSV file, sent as a document. /cancel to stop."))
