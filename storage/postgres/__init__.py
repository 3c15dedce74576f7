"""PostgreSQL backend (asyncpg): for teams that run several workers on one database."""

from __future__ import annotations

from storage.interfaces import Storage
from storage.postgres.alerts import PgAlertRepo
from storage.postgres.clients import PgClientRepo
from storage.postgres.coordination import PgCoordination, PgSharedLimits
from storage.postgres.database import PgDatabase
from storage.postgres.dialogs import PgDialogStateRepo
from storage.postgres.invoices import PgInvoiceRepo
from storage.postgres.notes import PgNoteRepo
from storage.postgres.reminders import PgReminderRepo
from storage.postgres.series import PgSeriesRepo
from storage.postgres.tasks import PgTaskRepo
from storage.postgres.teams import PgTeamRepo
from storage.postgres.updates import PgAppliedUpdateRepo
from storage.postgres.user_data import PgUserDataRepo
from storage.postgres.users import PgUserRepo


async def open_postgres_storage(
    dsn: str, *, min_size: int = 1, max_size: int = 10, migrate: bool = True
) -> Storage:
    """Connect (a pool of up to max_size connections), migrate, return the repositories.

    Raises DatabaseUnusableError, having written nothing, when the server cannot be reached
    or its schema is newer than this code.
    """
    database = await PgDatabase.open(dsn, min_size=min_size, max_size=max_size, migrate=migrate)
    return Storage(
        users=PgUserRepo(database),
        clients=PgClientRepo(database),
        tasks=PgTaskRepo(database),
        dialogs=PgDialogStateRepo(database),
        reminders=PgReminderRepo(database),
        series=PgSeriesRepo(database),
        invoices=PgInvoiceRepo(database),
        notes=PgNoteRepo(database),
        user_data=PgUserDataRepo(database),
        backend=database,
        teams=PgTeamRepo(database),
        alerts=PgAlertRepo(database),
        updates=PgAppliedUpdateRepo(database),
        coordination=PgCoordination(database),
        shared_limits=PgSharedLimits(database),
    )


__all__ = ["PgDatabase", "open_postgres_storage"]
