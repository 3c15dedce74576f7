"""`python -m bot migrate-to URL`: move the SQLite database DATABASE_URL names into the empty
PostgreSQL database at URL (postgresql://user:password@host:5432/name).

The bot must be stopped: its lock beside the SQLite file (storage/sqlite/lock.py) is taken
and held for the whole copy, so a running bot refuses it and a bot started meanwhile
refuses to start. The SQLite file is only read and stays as it was, a fallback until the
workers run on PostgreSQL. The copy is one PostgreSQL transaction (storage/transfer.py): it
lands whole or not at all, and a target that already holds data is refused, never merged.

Exit codes: 0 copied (a summary and the next step printed); 2 refused, one line why,
nothing written (the bot runs, the source is damaged or at another schema, the target is
not empty or unreachable, the arguments are wrong); 1 the copy failed midway (rolled back:
the target is as it was).
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TextIO

from bot.settings import SQLITE_PREFIX, Settings
from storage.errors import DatabaseInUseError, DatabaseUnusableError, StorageError
from storage.sqlite.lock import DatabaseLock
from storage.transfer import TransferReport, copy_sqlite_to_postgres, public_url

logger = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_REFUSED = 2
TARGET_SCHEMES = ("postgresql://", "postgres://")
STOP_THE_BOT = (
    "stop the bot first (`sudo systemctl stop am-assistant`, or Ctrl-C where it runs), "
    "then run migrate-to again"
)


async def run(
    settings: Settings,
    target_url: str,
    *,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Copy the SQLite database of DATABASE_URL into the PostgreSQL one at target_url.

    Prints the tables, rows and seconds and the next step; returns the exit code (0 copied,
    2 refused with nothing written, 1 failed and rolled back).
    """
    problem = _argument_problem(settings, target_url)
    if problem is not None:
        return _refuse(err, problem)
    source = settings.database_path
    try:
        # Held for the whole copy: the bot neither runs now nor starts meanwhile.
        lock = await asyncio.to_thread(DatabaseLock.acquire, source)
    except DatabaseInUseError as exc:
        return _refuse(err, f"{exc}: {STOP_THE_BOT}")
    try:
        report = await copy_sqlite_to_postgres(source, target_url)
    except DatabaseUnusableError as exc:
        return _refuse(err, str(exc))
    except StorageError as exc:
        err.write(
            f"error: migrate-to failed, rolled back (the PostgreSQL database is as it was): "
            f"{exc}\n"
        )
        return EXIT_FAILED
    finally:
        lock.release()
    logger.info(
        "migrate-to: %s rows from %s to %s in %.1f s",
        report.rows, report.source, report.target, report.seconds,
    )
    out.write(summary(report))
    return EXIT_OK


def _argument_problem(settings: Settings, target_url: str) -> str | None:
    if not target_url.startswith(TARGET_SCHEMES):
        return "the target must be a postgresql://user:password@host/name URL"
    if not settings.database_url.startswith(SQLITE_PREFIX):
        return (
            f"DATABASE_URL is {public_url(settings.database_url)}, not the sqlite:/// file "
            "to move: set it to the SQLite database the bot has used so far"
        )
    source = settings.database_path
    if not source.is_file() or source.stat().st_size == 0:
        return f"no SQLite database at {source} (DATABASE_URL)"
    return None


def _refuse(err: TextIO, reason: str) -> int:
    err.write(f"error: migrate-to refused, nothing written: {reason}\n")
    return EXIT_REFUSED


def summary(report: TransferReport) -> str:
    width = max(len(table.table) for table in report.tables)
    lines = [
        f"copied {report.source} (SQLite schema {report.source_schema}) into {report.target} "
        f"(PostgreSQL schema {report.target_schema}): {len(report.tables)} tables, "
        f"{report.rows} rows, {report.seconds:.1f} s",
    ]
    lines += [
        f"  {table.table:<{width}}  {table.rows:>9}  {table.seconds:6.2f} s"
        for table in report.tables
    ]
    lines.append(
        f"next: set DATABASE_URL={report.target} (with its password) and start the workers; "
        f"keep {report.source} as it is until they run"
    )
    return "\n".join(lines) + "\n"
