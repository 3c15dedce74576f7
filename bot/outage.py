"""A storage outage (disk full, read-only, unreachable) waited out by a background job: logged
once when it starts and once when it ends, not once per try.

Background jobs retry on their own (the next sweep, the next engine turn), so a disk that
stays full for an hour must not write thousands of identical error lines; a bug (anything
that is not a storage fault) is still logged with its traceback every time.
"""

from __future__ import annotations

import logging

from storage.faults import StorageFault, describe, storage_fault


class OutageLog:
    """The outage one job is waiting out. ``what`` names what resumes at the end ("reminders");
    ``retrying`` says when the job tries again ("every 30s", "shortly")."""

    def __init__(self, logger: logging.Logger, *, what: str, retrying: str) -> None:
        self._logger = logger
        self._what = what
        self._retrying = retrying
        self.fault: StorageFault | None = None

    def failed(self, exc: Exception, message: str, *args: object) -> bool:
        """Log a failed step: a storage fault once per outage, in one line without a
        traceback; anything else with its traceback. True if it was a storage fault."""
        fault = storage_fault(exc)
        if fault is None:
            self._logger.exception(message, *args)
            return False
        if fault == self.fault:
            self._logger.debug("%s: storage still unavailable (%s)", message % args, fault)
        else:
            self.fault = fault
            self._logger.error(
                "%s: storage unavailable (%s): %s; retrying %s",
                message % args, fault, describe(exc), self._retrying,
            )
        return True

    def recovered(self) -> None:
        """A step went through: the outage, if any, is over."""
        if self.fault is not None:
            self._logger.warning(
                "storage accepts writes again (was %s): %s resume", self.fault, self._what
            )
            self.fault = None
