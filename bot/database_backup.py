"""Backups of the SQLite database, made while the bot runs, and restoring one. (A teammate
who is someone's "backup" for alerts is another thing: bot/services/alert_routing.py.)

A backup is taken with SQLite's online backup API from a connection of its own, in a worker
thread: the database is in WAL mode, so the copy is a consistent snapshot and the bot keeps
reading and writing meanwhile. The copy is written under a temporary name, checked with
``PRAGMA integrity_check``, switched to a self-contained single file (no -wal beside it) and
only then renamed to ``am-assistant-<UTC stamp>.sqlite3``: a file with that name is always
complete. The newest ``BACKUP_KEEP`` are kept.

``python -m bot backup`` makes one now; ``python -m bot restore FILE`` puts one in place,
keeping the current database aside first. The bot must be stopped: a running bot holds a
lock beside the database (storage/sqlite/lock.py) and restore refuses while it is held,
since the bot's open connection would go on writing to the replaced file.

A PostgreSQL database (DATABASE_URL=postgresql://...) is backed up by PostgreSQL's own tools
(pg_dump, the host's snapshots): there both commands print the pg_dump / pg_restore
commands for the configured database (password left out) and exit 2, and the bot schedules
no backups (Settings.backups_scheduled).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import shlex
import shutil
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TextIO

from bot.clock import Clock, SystemClock
from bot.settings import Settings, public_database_url
from storage.errors import DatabaseInUseError
from storage.sqlite.lock import DatabaseLock
from storage.sqlite.migrations import MIGRATIONS
from storage.sqlite.snapshot import SnapshotError, snapshot

logger = logging.getLogger(__name__)

PREFIX = "am-assistant-"
SUFFIX = ".sqlite3"
STAMP = "%Y%m%dT%H%M%SZ"
_NAME = re.compile(r"am-assistant-(\d{8}T\d{6}Z)(?:-(\d+))?\.sqlite3")
_SQLITE_MAGIC = b"SQLite format 3\x00"
# After a failed backup the job tries again after this long (or the interval, if shorter).
RETRY_AFTER = timedelta(hours=1)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_IN_USE = 2  # restore: a bot holds the database; stop it first
EXIT_NOT_SQLITE = 2  # backup/restore of a PostgreSQL database: its own tools do it
STOP_THE_BOT = (
    "stop the bot first (`sudo systemctl stop am-assistant`, or Ctrl-C where it runs), "
    "then run restore again"
)


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why in one line."""


@dataclass(frozen=True, slots=True)
class BackupFile:
    path: Path
    taken_at: datetime
    seq: int  # 1, or 2, 3, … for a second backup within the same second


@dataclass(frozen=True, slots=True)
class Restored:
    source: Path
    database: Path
    schema_version: int
    previous: Path | None  # where the database that was replaced now lies


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(STAMP)


def list_backups(folder: Path) -> list[BackupFile]:
    """The complete backups in ``folder``, oldest first (temporary files are not listed)."""
    found: list[BackupFile] = []
    with contextlib.suppress(FileNotFoundError):
        for entry in folder.iterdir():
            match = _NAME.fullmatch(entry.name)
            if match is None or not entry.is_file():
                continue
            taken_at = datetime.strptime(match[1], STAMP).replace(tzinfo=UTC)
            found.append(BackupFile(entry, taken_at, int(match[2] or 1)))
    found.sort(key=lambda backup: (backup.taken_at, backup.seq))
    return found


def newest_backup_at(folder: Path, now: datetime) -> datetime | None:
    """When the newest backup was taken; a name from the future (clock went back) is ignored."""
    times = [backup.taken_at for backup in list_backups(folder) if backup.taken_at <= now]
    return max(times, default=None)


def create_backup(database: Path, folder: Path, now: datetime, keep: int) -> Path:
    """Back up ``database`` into ``folder`` (blocking: call it in a thread); keep the newest."""
    if not database.is_file():
        raise BackupError(f"no database at {database}")
    folder.mkdir(parents=True, exist_ok=True)
    target = _free_name(folder, stamp(now))
    partial = target.with_name(f"{target.name}.{os.getpid()}.partial")
    try:
        try:
            snapshot(database, partial)
        except SnapshotError as exc:
            raise BackupError(f"could not back up {database}: {exc}") from None
        os.replace(partial, target)
        _fsync_dir(folder)
    finally:
        partial.unlink(missing_ok=True)
    prune(folder, keep)
    return target


def prune(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups; return what was deleted."""
    found = [backup.path for backup in list_backups(folder)]
    old = found[: max(0, len(found) - keep)]
    for path in old:
        path.unlink(missing_ok=True)
    if old:
        logger.info("backups: deleted %d old backup(s), kept the newest %d", len(old), keep)
    return old


def restore_backup(candidate: Path, database: Path, now: datetime) -> Restored:
    """Replace ``database`` by the backup ``candidate`` (blocking; the bot must be stopped:
    DatabaseInUseError, and nothing done, while a process holds the database's lock).

    The candidate is copied next to the database and the copy is checked (a SQLite file,
    integrity_check ok, a schema this code knows); any problem raises BackupError and leaves
    the database untouched. Then the current database is copied aside as
    ``<db>.before-restore-<UTC stamp>``, its -wal/-shm are removed (they belong to the old
    file and would corrupt the new one) and the copy is renamed into place.
    """
    if not candidate.is_file():
        raise BackupError(f"{candidate} is not a file")
    # Held to the end: a bot starting meanwhile is refused rather than opening a half-done swap.
    lock = DatabaseLock.acquire(database)
    try:
        return _restore_locked(candidate, database, now)
    finally:
        lock.release()


def _restore_locked(candidate: Path, database: Path, now: datetime) -> Restored:
    with candidate.open("rb") as file:
        if file.read(len(_SQLITE_MAGIC)) != _SQLITE_MAGIC:
            raise BackupError(f"{candidate} is not a SQLite database")
    database.parent.mkdir(parents=True, exist_ok=True)
    partial = database.with_name(f"{database.name}.restore.{os.getpid()}.partial")
    try:
        try:
            version = snapshot(candidate, partial, read_only=True)
        except SnapshotError as exc:
            raise BackupError(f"{candidate}: {exc}") from None
        if version == 0:
            raise BackupError(f"{candidate} is not an am-assistant database (schema version 0)")
        if version > len(MIGRATIONS):
            raise BackupError(
                f"{candidate} has schema version {version}, newer than this code knows "
                f"({len(MIGRATIONS)}): upgrade the code first"
            )
        previous = _set_aside(database, now) if database.exists() else None
        for stale in (_sidecar(database, "-wal"), _sidecar(database, "-shm")):
            stale.unlink(missing_ok=True)
        os.replace(partial, database)
        _fsync_dir(database.parent)
    finally:
        partial.unlink(missing_ok=True)
    logger.info("restored %s (schema %d) into %s", candidate, version, database)
    return Restored(candidate, database, version, previous)


class ScheduledBackups:
    """The periodic job: a backup when the newest one is at least ``every`` old.

    The runtime's backups job (bot/runtime.py) runs it every 30 s; it returns at once until
    a backup is due. The time of the last backup comes from the newest file name at first,
    so a restart does not back up again straight away.
    """

    def __init__(
        self, database: Path | None, folder: Path, every: timedelta, keep: int, clock: Clock
    ) -> None:
        # None: a PostgreSQL database, which the bot does not back up (run does nothing).
        self._database = database
        self._folder = folder
        self._every = every
        self._keep = keep
        self._clock = clock
        self._last: datetime | None = None
        self._looked = False
        self._failed_at: datetime | None = None

    @classmethod
    def from_settings(cls, settings: Settings, clock: Clock) -> ScheduledBackups:
        database = settings.database_path if settings.database_backend == "sqlite" else None
        return cls(
            database, settings.backup_path,
            timedelta(hours=settings.backup_every_hours), settings.backup_keep, clock,
        )

    async def run(self) -> Path | None:
        """Back up if one is due; return the new file, or None."""
        if self._database is None:
            return None
        now = self._clock.now()
        if not self._looked:
            self._last = await asyncio.to_thread(newest_backup_at, self._folder, now)
            self._looked = True
        if self._last is not None and self._last <= now < self._last + self._every:
            return None
        retry = min(self._every, RETRY_AFTER)
        if self._failed_at is not None and self._failed_at <= now < self._failed_at + retry:
            return None
        try:
            path = await asyncio.to_thread(
                create_backup, self._database, self._folder, now, self._keep
            )
        except (BackupError, OSError) as exc:
            self._failed_at = now
            minutes = retry.total_seconds() / 60
            logger.error("backup failed, next try in %.0f min: %s", minutes, exc)
            return None
        self._last, self._failed_at = now, None
        logger.info("backup written: %s", path)
        return path


def backup_command(
    settings: Settings, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """`python -m bot backup`: one backup now; prints its path."""
    if settings.database_backend != "sqlite":
        return _not_sqlite(settings, "backup", err)
    try:
        path = create_backup(
            settings.database_path, settings.backup_path, SystemClock().now(),
            settings.backup_keep,
        )
    except (BackupError, OSError) as exc:
        err.write(f"error: backup failed: {exc}\n")
        return EXIT_FAILED
    logger.info("backup written: %s", path)
    out.write(f"{path}\n")
    return EXIT_OK


def restore_command(
    settings: Settings, candidate: Path, out: TextIO = sys.stdout, err: TextIO = sys.stderr
) -> int:
    """`python -m bot restore FILE`: put a backup in place (stop the bot first)."""
    if settings.database_backend != "sqlite":
        return _not_sqlite(settings, "restore", err, candidate)
    try:
        restored = restore_backup(candidate, settings.database_path, SystemClock().now())
    except DatabaseInUseError as exc:
        err.write(f"error: restore refused, the database is unchanged: {exc}: {STOP_THE_BOT}\n")
        return EXIT_IN_USE
    except (BackupError, OSError) as exc:
        err.write(f"error: restore refused, the database is unchanged: {exc}\n")
        return EXIT_FAILED
    kept = (
        f"the previous database is kept as {restored.previous}"
        if restored.previous is not None else "there was no database before"
    )
    out.write(
        f"restored {restored.source} (schema {restored.schema_version}) into "
        f"{restored.database}; {kept}\n"
    )
    if restored.schema_version < len(MIGRATIONS):
        out.write(
            f"the next start migrates it from schema {restored.schema_version} "
            f"to {len(MIGRATIONS)}\n"
        )
    return EXIT_OK


def pg_dump_command(settings: Settings, now: datetime | None = None) -> str:
    """The pg_dump command that backs up the configured PostgreSQL database (custom
    format, into BACKUP_DIR), without its password."""
    moment = stamp(now or SystemClock().now())
    target = settings.backup_path / f"{PREFIX}{moment}.dump"
    url = public_database_url(settings.database_url)
    return f"pg_dump -Fc -d {shlex.quote(url)} -f {shlex.quote(str(target))}"


def _not_sqlite(
    settings: Settings, command: str, err: TextIO, candidate: Path | None = None
) -> int:
    """backup/restore on PostgreSQL: what to run instead, and exit 2 (nothing was done)."""
    url = public_database_url(settings.database_url)
    archive = shlex.quote(str(candidate)) if candidate is not None else "FILE.dump"
    if command == "backup":
        lines = [
            f"error: `python -m bot backup` copies a SQLite file; DATABASE_URL is the "
            f"PostgreSQL database {url}: nothing was done",
            "back it up with PostgreSQL's own tools (or your host's managed backups), e.g.:",
            f"  {pg_dump_command(settings)}",
        ]
    else:
        lines = [
            f"error: `python -m bot restore` puts a SQLite backup in place; DATABASE_URL is "
            f"the PostgreSQL database {url}: nothing was done",
            "stop every worker of the bot, then restore a pg_dump archive with PostgreSQL's "
            "own tools, e.g.:",
            f"  pg_restore --clean --if-exists --no-owner -d {shlex.quote(url)} {archive}",
        ]
    lines.append(
        "the password is not shown: give it as PGPASSWORD or in ~/.pgpass "
        "(https://www.postgresql.org/docs/current/libpq-pgpass.html)"
    )
    err.writelines(f"{line}\n" for line in lines)
    return EXIT_NOT_SQLITE


# --- helpers (blocking) -------------------------------------------------------------------


def _set_aside(database: Path, now: datetime) -> Path:
    """Copy the current database to ``<db>.before-restore-<stamp>`` before it is replaced."""
    aside = database.with_name(f"{database.name}.before-restore-{stamp(now)}")
    number = 2
    while aside.exists():
        aside = database.with_name(f"{database.name}.before-restore-{stamp(now)}-{number}")
        number += 1
    try:
        try:
            snapshot(database, aside)
        except SnapshotError:
            # A damaged database (perhaps why it is being replaced): keep its files as is.
            aside.unlink(missing_ok=True)
            shutil.copy2(database, aside)
            _fsync(aside)
            wal = _sidecar(database, "-wal")
            if wal.exists():
                shutil.copy2(wal, _sidecar(aside, "-wal"))
                _fsync(_sidecar(aside, "-wal"))
    except BaseException:
        aside.unlink(missing_ok=True)
        _sidecar(aside, "-wal").unlink(missing_ok=True)
        raise
    _fsync_dir(database.parent)
    return aside


def _free_name(folder: Path, moment: str) -> Path:
    path = folder / f"{PREFIX}{moment}{SUFFIX}"
    number = 2
    while path.exists():
        path = folder / f"{PREFIX}{moment}-{number}{SUFFIX}"
        number += 1
    return path


def _sidecar(database: Path, suffix: str) -> Path:
    return database.with_name(database.name + suffix)


def _fsync(path: Path) -> None:
    with path.open("rb") as file:
        os.fsync(file.fileno())


def _fsync_dir(folder: Path) -> None:
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
