"""A consistent copy of a SQLite database file, for backups and restores (blocking)."""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from storage.errors import StorageError


class SnapshotError(StorageError):
    """The source could not be read as a database, or the copy failed its check."""


@contextlib.contextmanager
def _connect(path: Path, *, read_only: bool = False) -> Iterator[sqlite3.Connection]:
    if read_only:
        connection = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    else:
        connection = sqlite3.connect(path)
    try:
        yield connection
    finally:
        connection.close()


def snapshot(source: Path, target: Path, *, read_only: bool = False) -> int:
    """Copy the database at ``source`` into a new single file at ``target`` with SQLite's
    online backup API (one consistent snapshot, even while the bot writes in WAL mode), check
    it with integrity_check, sync it to disk, and return its schema version."""
    target.unlink(missing_ok=True)
    try:
        with _connect(source, read_only=read_only) as origin, _connect(target) as copy:
            origin.backup(copy)  # every page in one step
            # The pages say WAL (as the source); a backup is one self-contained file.
            copy.execute("PRAGMA journal_mode=DELETE")
            problems = [str(row[0]) for row in copy.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise SnapshotError(f"integrity_check failed: {'; '.join(problems[:3])}")
            version = int(copy.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as exc:
        raise SnapshotError(f"not a usable SQLite database ({exc})") from None
    with target.open("rb") as file:
        os.fsync(file.fileno())
    return version
