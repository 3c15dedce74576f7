"""Who owns the database file: an exclusive lock on ``<db>.lock`` beside it (blocking, fast).

The running bot holds it from start to exit; `restore` takes it before it replaces the file,
so a restore under a running bot is refused instead of being overwritten by the bot's next
writes (its open connection and -wal belong to the old file). A second bot on the same file
is refused too. flock: the kernel drops the lock when the process ends, even by kill -9, so
a crash never leaves a stale lock behind. The file itself stays (removing it would race with
a process about to lock it); it holds the owner's pid for the refusal message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from storage.errors import DatabaseInUseError


def lock_path(database: Path) -> Path:
    return database.with_name(database.name + ".lock")


class DatabaseLock:
    def __init__(self, descriptor: int) -> None:
        self._descriptor: int | None = descriptor

    @classmethod
    def acquire(cls, database: Path) -> DatabaseLock:
        """Take the lock or raise DatabaseInUseError at once (never waits)."""
        path = lock_path(database)
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            owner = _read_owner(descriptor)
            os.close(descriptor)
            by = f"process {owner}" if owner else "another process"
            raise DatabaseInUseError(
                f"database {database} is in use by {by} (a running bot or a restore)"
            ) from None
        except BaseException:
            os.close(descriptor)
            raise
        with contextlib.suppress(OSError):  # the pid is a courtesy for the message
            os.ftruncate(descriptor, 0)
            os.pwrite(descriptor, f"{os.getpid()}\n".encode(), 0)
        return cls(descriptor)

    def release(self) -> None:
        if self._descriptor is None:
            return
        descriptor, self._descriptor = self._descriptor, None
        # Truncated first, so the next refusal never names a process that has ended.
        with contextlib.suppress(OSError):
            os.ftruncate(descriptor, 0)
        os.close(descriptor)  # closing the last descriptor releases the flock


def _read_owner(descriptor: int) -> str:
    with contextlib.suppress(OSError):
        text = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip()
        if text.isdigit():
            return text
    return ""
