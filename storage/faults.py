"""Storage faults: the database cannot take the request (disk full, read-only, unreachable,
a conflicting writer).

Not bugs but incidents of the machine: the user is told to try again, the log gets one
line, and nothing half-written stays behind (every write is a transaction that rolls back).
Each backend translates its own exceptions into storage/errors.py's StorageFaultError
subclasses, so this module knows no database: it only reads those.
"""

from __future__ import annotations

from enum import StrEnum

from storage.errors import StorageError, StorageFaultError


class StorageFault(StrEnum):
    """The ``fault`` of each StorageFaultError subclass (storage/errors.py)."""

    UNAVAILABLE = "unavailable"
    DISK_FULL = "disk full"
    READ_ONLY = "read-only"
    CONFLICT = "conflict"
    OTHER = "storage fault"


def _chain(exc: BaseException | None) -> list[BaseException]:
    """exc and what it wraps (__cause__, else __context__), each once."""
    found: list[BaseException] = []
    while exc is not None and all(exc is not seen for seen in found):
        found.append(exc)
        exc = exc.__cause__ or exc.__context__
    return found


def storage_fault(exc: BaseException | None) -> StorageFault | None:
    """The fault of the StorageFaultError in exc or behind it; None for anything else."""
    for link in _chain(exc):
        if isinstance(link, StorageFaultError):
            try:
                return StorageFault(link.fault)
            except ValueError:  # a subclass newer than this list
                return StorageFault.OTHER
    return None


def describe(exc: BaseException) -> str:
    """One line for a log: the database's own message (``detail``, which holds no row
    values) of the storage error in exc or behind it, else exc's type only.

    A domain error may carry user text (a client's name): only its type is logged.
    """
    for link in _chain(exc):
        detail = getattr(link, "detail", None)
        if isinstance(link, StorageError) and isinstance(detail, str) and detail:
            return " ".join(detail.split())
    return type(exc).__name__
