"""Storage faults: the database cannot take writes (disk full, read-only, I/O error).

Not bugs but incidents of the machine: the user is told to try again, the log gets one
line, and nothing half-written stays behind (every write is a transaction that rolls back).
"""

from __future__ import annotations

import sqlite3
from enum import StrEnum

# SQLite primary result codes (the low byte of an extended code).
_SQLITE_IOERR = 10
_SQLITE_FULL = 13
_SQLITE_READONLY = 8


class StorageFault(StrEnum):
    DISK_FULL = "disk full"
    READ_ONLY = "read-only"
    IO_ERROR = "I/O error"


_BY_CODE = {
    _SQLITE_FULL: StorageFault.DISK_FULL,
    _SQLITE_READONLY: StorageFault.READ_ONLY,
    _SQLITE_IOERR: StorageFault.IO_ERROR,
}
_BY_TEXT = (
    ("database or disk is full", StorageFault.DISK_FULL),
    ("readonly database", StorageFault.READ_ONLY),
    ("read-only", StorageFault.READ_ONLY),
    ("disk i/o error", StorageFault.IO_ERROR),
)


def _own_fault(exc: BaseException) -> StorageFault | None:
    if not isinstance(exc, sqlite3.Error):
        return None
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in _BY_CODE:
        return _BY_CODE[code & 0xFF]
    # Raised by hand, or by a wrapper that kept only the text.
    text = str(exc).lower()
    return next((fault for needle, fault in _BY_TEXT if needle in text), None)


def storage_fault(exc: BaseException | None) -> StorageFault | None:
    """The fault behind exc, looking through wrappers (__cause__, __context__)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        fault = _own_fault(exc)
        if fault is not None:
            return fault
        exc = exc.__cause__ or exc.__context__
    return None


def describe(exc: BaseException) -> str:
    """One line for a log: the type, and SQLite's own message (which holds no row values).

    Other exceptions give their type only: a domain error may carry user text (a client's
    name), and that never goes to the log.
    """
    text = " ".join(str(exc).split()) if isinstance(exc, sqlite3.Error) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
