from __future__ import annotations

from storage.postgres.database import PgDatabase


class PgDialogStateRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database
