"""Logging: one line per event, and the bot token never reaches a log.

Each line is logfmt (key=value): time, level, logger, msg, and for an exception its type,
message and the line that raised it (`exc=`, `at=`). Tracebacks are printed only when
LOG_LEVEL=DEBUG. What is logged: ids, counts, kinds and outcomes (update 5, user 1001,
reminder 42 sent); never the text of notes, tasks or client names at INFO or above.
"""

from __future__ import annotations

import functools
import logging
import re
import sys
import traceback
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

# An exception's own message in a log line stops here: enough to recognise it.
EXC_MESSAGE_LIMIT = 300
# Paths that carry a secret: an intake's (/alerts/t12-<secret>) and a calendar feed's
# (/cal/12-<secret>.ics); only whose address it is stays in a log line.
_SECRET_PATHS = (
    ("/alerts/", re.compile(r"(/alerts/)([^\s\"'<>\\]*)"), re.compile(r"[tu][0-9]{1,18}")),
    ("/cal/", re.compile(r"(/cal/)([^\s\"'<>\\]*)"), re.compile(r"[0-9]{1,18}")),
)
# Loggers that may write a request's path: aiohttp's access and error lines, and the servers
# those paths are served by.
_PATH_LOGGERS = (
    "aiohttp.access", "aiohttp.server", "aiohttp.web", "aiohttp.internal", "bot.intake",
    "bot.webhook", "bot.webapp",
)


def redact_secret_paths(text: str) -> str:
    """`/alerts/t12-s3cr3t` → `/alerts/t12-…`, `/cal/12-s3cr3t.ics` → `/cal/12-…`; anything
    else after /alerts/ or /cal/ → `…`."""
    for marker, pattern, owner in _SECRET_PATHS:
        if marker not in text:
            continue

        def keep_owner(found: re.Match[str], owner: re.Pattern[str] = owner) -> str:
            rest = found.group(2)
            if not rest:
                return found.group(0)
            head = rest.partition("-")[0]
            return found.group(1) + (f"{head}-…" if owner.fullmatch(head) else "…")

        text = pattern.sub(keep_owner, text)
    return text


class RedactSecretPaths(logging.Filter):
    """On a logger: its records (message and exception text) lose path secrets before any
    handler, a test's capture included, sees them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact_secret_paths(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and record.exc_info[1] is not None:
            # Formatters use exc_text when it is set (ours redacts the exception itself).
            text = record.exc_text or "".join(
                traceback.format_exception(*record.exc_info)
            ).rstrip("\n")
            record.exc_text = redact_secret_paths(text)
        return True


class HideSqlParameters(logging.Filter):
    """aiosqlite logs each call at DEBUG with its parameters (secrets, people's notes): keep
    the SQL, drop the values."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_describe_call(arg) for arg in record.args)
        return True


def _describe_call(arg: object) -> object:
    if not isinstance(arg, functools.partial):
        return arg
    name = getattr(arg.func, "__name__", "call")
    sql = next((part for part in arg.args if isinstance(part, str)), None)
    hidden = len(arg.args) - (sql is not None) + len(arg.keywords)
    shown = f"{name}({sql!r}" if sql is not None else f"{name}("
    return shown + (f", <{hidden} argument(s) hidden>)" if hidden else ")")


def protect_loggers() -> None:
    """Install the filters above on the loggers that need them (idempotent)."""
    for name in _PATH_LOGGERS:
        _add_once(logging.getLogger(name), RedactSecretPaths)
    _add_once(logging.getLogger("aiosqlite"), HideSqlParameters)


def _add_once(target: logging.Logger, kind: type[logging.Filter]) -> None:
    if not any(isinstance(existing, kind) for existing in target.filters):
        target.addFilter(kind())


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
        return redact_secret_paths(text)

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
    protect_loggers()
    # aiogram logs every handled update at INFO; that is noise, not events.
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
    # APScheduler logs every job run at INFO; our own lines say what matters.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
