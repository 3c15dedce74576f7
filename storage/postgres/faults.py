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


class PostgresError(StorageError):
    """Any other PostgreSQL failure (a bug, a constraint a repository did not expect): the
    write did not happen. `detail` names the kind, never a value."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


# SQLSTATE classes whose messages speak of the server, the connection or locks, never of a
# row: their text is kept for the log. Others (22 data exception, 23 integrity...) may quote
# a value ('invalid input syntax for type integer: "abc"'): only their kind is kept.
_MESSAGE_WITHOUT_VALUES = frozenset({"08", "25", "40", "53", "55", "57", "58", "XX"})


def translate(exc: BaseException) -> StorageError:
    """The project's error for an asyncpg or socket exception, with a one-line `detail`
    for the log that holds no row values."""
    if isinstance(exc, asyncpg.PostgresError):
        state = str(getattr(exc, "sqlstate", "") or "")
        kind = _BY_STATE.get(state) or _BY_CLASS.get(state[:2])
        detail = f"{type(exc).__name__} [{state}]"
        constraint = getattr(exc, "constraint_name", None)
        if constraint:
            detail += f" on {constraint}"
        if state[:2] in _MESSAGE_WITHOUT_VALUES:
            detail += ": " + " ".join(str(getattr(exc, "message", "") or exc).split())
        return kind(detail) if kind is not None else PostgresError(detail)
    if isinstance(exc, ValueError):
        # asyncpg's client-side DataError (an argument it cannot encode) quotes the
        # argument: its type only.
        return PostgresError(type(exc).__name__)
    # A closed pool, a lost connection, a refused socket, a protocol left mid-operation.
    return StorageUnavailableError(f"{type(exc).__name__}: {' '.join(str(exc).split())}")
