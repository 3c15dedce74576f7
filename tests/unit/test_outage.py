"""A background job waiting out a storage outage logs it once, and its end once; a bug is
logged with its traceback every time."""

from __future__ import annotations

import logging

import pytest

from bot.outage import OutageLog
from storage.errors import StorageReadOnlyError

logger = logging.getLogger("tests.outage")


def read_only() -> StorageReadOnlyError:
    # As a backend raises it: its own message (no row values) as the detail.
    return StorageReadOnlyError(
        "OperationalError [SQLITE_READONLY]: attempt to write a readonly database"
    )


def test_an_outage_is_one_error_line_and_its_end_one_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = OutageLog(logger, what="reminders", retrying="every 30s")
    with caplog.at_level(logging.DEBUG, logger="tests.outage"):
        for attempt in range(3):
            assert outage.failed(read_only(), "delivery %s failed", attempt)
        outage.recovered()
        outage.recovered()  # nothing was wrong any more: nothing to say
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert [r.getMessage() for r in errors] == [
        "delivery 0 failed: storage unavailable (read-only): OperationalError "
        "[SQLITE_READONLY]: attempt to write a readonly database; retrying every 30s"
    ]
    assert errors[0].exc_info is None
    assert [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING] == [
        "storage accepts writes again (was read-only): reminders resume"
    ]
    assert len([r for r in caplog.records if r.levelno == logging.DEBUG]) == 2


def test_a_bug_is_logged_with_its_traceback_each_time(caplog: pytest.LogCaptureFixture) -> None:
    outage = OutageLog(logger, what="alerts", retrying="shortly")
    with caplog.at_level(logging.INFO, logger="tests.outage"):
        for _ in range(2):
            faults = []
            try:
                raise KeyError("a bug")
            except KeyError as exc:
                faults.append(outage.failed(exc, "alert engine step failed"))
            assert faults == [False]
    assert [(r.getMessage(), r.exc_info is not None) for r in caplog.records] == [
        ("alert engine step failed", True), ("alert engine step failed", True)
    ]
