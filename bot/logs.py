"""Logging: one line per event, and the bot token never reaches a log.

Each line is logfmt (key=value): time, level, logger, msg, and for an exception its type,
message and the line that raised it (`exc=`, `at=`). Tracebacks are printed only when
LOG_LEVEL=DEBUG. What is logged: ids, counts, kinds and outcomes (update 5, user 1001,
reminder 42 sent); never the text of notes, tasks or client names at INFO or above.
"""

from __future__ import annotations

import logging
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

# An exception's own message in a log line stops here: enough to recognise it.
EXC_MESSAGE_LIMIT = 300


class RedactSecrets(logging.Filter):
    def __init__(self, secrets: list[str]) -> None:
        super().__init__()
        self._secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self._secrets:
            redacted = redacted.replace(secret, "***")
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def quote(value: str) -> str:
    """A logfmt value: always quoted, one line (newlines and quotes escaped)."""
    escaped = (
        value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("\r", "\\r")
    )
    return '"' + "".join(
        char if char.isprintable() else f"\\x{ord(char):02x}" for char in escaped
    ) + '"'


class OneLineFormatter(logging.Formatter):
    """`time=… level=… logger=… msg="…" [exc="…" at="…"]`, secrets replaced by ***."""

    def __init__(self, secrets: Sequence[str] = (), *, tracebacks: bool = False) -> None:
        super().__init__()
        # Longest first: a secret that contains another is redacted whole.
        self._secrets = sorted({secret for secret in secrets if secret}, key=len, reverse=True)
        self._tracebacks = tracebacks

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def format(self, record: logging.LogRecord) -> str:
        moment = datetime.fromtimestamp(record.created, UTC)
        parts = [
            f"time={moment.strftime('%Y-%m-%dT%H:%M:%S')}.{moment.microsecond // 1000:03d}Z",
            f"level={record.levelname.lower()}",
            f"logger={record.name}",
            f"msg={quote(self._redact(record.getMessage()))}",
        ]
        trace = ""
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            text = " ".join(str(exc).split())
            if len(text) > EXC_MESSAGE_LIMIT:
                text = text[:EXC_MESSAGE_LIMIT] + "…"
            summary = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
            parts.append(f"exc={quote(self._redact(summary))}")
            frames = traceback.extract_tb(exc.__traceback__)
            if frames:
                last = frames[-1]
                parts.append(f"at={quote(f'{last.filename}:{last.lineno} in {last.name}')}")
            if self._tracebacks:
                trace = "\n" + self._redact(self.formatException(record.exc_info))
        if record.stack_info and self._tracebacks:
            trace += "\n" + self._redact(self.formatStack(record.stack_info))
        return " ".join(parts) + trace


def configure_logging(level: str, secrets: list[str], stream: TextIO | None = None) -> None:
    handler = logging.StreamHandler(stream or sys.stderr)
    # Tracebacks only when debugging: an expected incident (disk full, network) is one line.
    handler.setFormatter(OneLineFormatter(secrets, tracebacks=level.upper() == "DEBUG"))
    handler.addFilter(RedactSecrets(secrets))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram logs every handled update at INFO; that is noise, not events.
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
    # APScheduler logs every job run at INFO; our own lines say what matters.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
