from __future__ import annotations

from storage.postgres.database import PgDatabase


class PgAlertRepo:
    def __init__(self, database: PgDatabase) -> None:
        self._db = database
