"""SQLite backend (aiosqlite): the embedded default."""

from __future__ import annotations

from pathlib import Path

from storage.interfaces import Storage
from storage.local_coordination import LocalCoordination
from storage.sqlite.alerts import SqliteAlertRepo
from storage.sqlite.clients import SqliteClientRepo
from storage.sqlite.database import Database
from storage.sqlite.dialogs import SqliteDialogStateRepo
from storage.sqlite.invoices import SqliteInvoiceRepo
from storage.sqlite.notes import SqliteNoteRepo
from storage.sqlite.reminders import SqliteReminderRepo
from storage.sqlite.series import SqliteSeriesRepo
from storage.sqlite.tasks import SqliteTaskRepo
from storage.sqlite.teams import SqliteTeamRepo
from storage.sqlite.updates import SqliteAppliedUpdateRepo
from storage.sqlite.user_data import SqliteUserDataRepo
from storage.sqlite.users import SqliteUserRepo


async def open_sqlite_storage(path: Path, *, exclusive: bool = False) -> Storage:
    """Open (creating folders and schema as needed) and return the repositories.

    Raises DatabaseUnusableError, having written nothing, for a damaged database or one from
    newer code; exclusive (the running bot): also when another process holds it.
    """
    database = await Database.open(path, exclusive=exclusive)
    return Storage(
        users=SqliteUserRepo(database),
        clients=SqliteClientRepo(database),
        tasks=SqliteTaskRepo(database),
        dialogs=SqliteDialogStateRepo(database),
        reminders=SqliteReminderRepo(database),
        series=SqliteSeriesRepo(database),
        invoices=SqliteInvoiceRepo(database),
        notes=SqliteNoteRepo(database),
        user_data=SqliteUserDataRepo(database),
        backend=database,
        teams=SqliteTeamRepo(database),
        alerts=SqliteAlertRepo(database),
        updates=SqliteAppliedUpdateRepo(database),
        coordination=LocalCoordination(),
    )


__all__ = ["Database", "open_sqlite_storage"]
