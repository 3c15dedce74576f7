"""asyncpg's exceptions as the project's storage errors (storage/errors.py).

By SQLSTATE class (https://www.postgresql.org/docs/current/errcodes-appendix.html): the
machine's incidents become StorageFaultError subclasses; anything else is a plain
StorageError (the write did not happen), never asyncpg's own type.
"""

from __future__ import annotations

import asyncpg

from storage.errors import (
    StorageConflictError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
    StorageUnavailableError,
)

_BY_STATE: dict[str, type[StorageError]] = {
    "53100": StorageFullError,  # disk_full
    "53200": StorageFullError,  # out_of_memory
    "53300": StorageUnavailableError,  # too_many_connections
    "25006": StorageReadOnlyError,  # read_only_sql_transaction (a standby, default_read_only)
    "40001": StorageConflictError,  # serialization_failure
    "40P01": StorageConflictError,  # deadlock_detected
    "55P03": StorageConflictError,  # lock_not_available
    "57014": StorageUnavailableError,  # query_canceled (statement_timeout)
    "23505": StorageConflictError,  # unique_violation that a repository did not expect
}
_BY_CLASS: dict[str, type[StorageError]] = {
    "08": StorageUnavailableError,  # connection exception
    "57": StorageUnavailableError,  # operator intervention: admin/crash shutdown
    "58": StorageUnavailableError,  # system error (I/O)
    "XX": StorageUnavailableError,  # internal error (data corrupted)
    "53": StorageUnavailableError,  # insufficient resources
    "40": StorageConflictError,  # transaction rollback
}


def translate(exc: BaseException) -> StorageError:
    """The project's error for an asyncpg or socket exception (its message, no row values:
    PostgreSQL's messages name constraints, and `detail` with values is left out)."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        kind = _BY_STATE.get(state) or _BY_CLASS.get(state[:2], StorageError)
        message = " ".join(str(getattr(exc, "message", "") or exc).split())
        return kind(f"{type(exc).__name__} [{state}]: {message}")
    # A closed pool, a lost connection, a refused socket.
    return StorageUnavailableError(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
