"""Logs: one line per event, no bot token, no user text (notes, tasks, client names)."""

from __future__ import annotations

import ast
import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.app import create_bot, create_dispatcher
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from bot.logs import configure_logging
from storage.interfaces import Storage
from tests.fakes.clock import FakeClock
from tests.fault_injection import read_only
from tests.handlers.conftest import make_settings
from tests.handlers.harness import USER_ID, ChatHarness

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "987654321:AAH-very-secret-token-value"
MARKERS = ("qx7-client-marker", "qx7-note-marker", "qx7-task-marker", "qx7-stranger-marker")
VALUE = r'"(?:[^"\\]|\\.)*"'
LINE = re.compile(rf"^time=\S+Z level=[a-z]+ logger=\S+ msg={VALUE}( \w+={VALUE})*$")


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def logs() -> Iterator[tuple[io.StringIO, Collect]]:
    """The app's logging set up as in production (INFO), written to a buffer."""
    root = logging.getLogger()
    quiet = ("aiogram.event", "apscheduler")
    saved = root.handlers[:], root.level, [logging.getLogger(name).level for name in quiet]
    stream = io.StringIO()
    configure_logging("INFO", [TOKEN, TOKEN.partition(":")[2]], stream=stream)
    collect = Collect()
    root.addHandler(collect)
    yield stream, collect
    root.handlers[:], root.level = saved[0], saved[1]
    for name, level in zip(quiet, saved[2], strict=True):
        logging.getLogger(name).setLevel(level)


async def test_a_day_of_updates_logs_no_user_text_and_no_token(
    logs: tuple[io.StringIO, Collect],
    storage: Storage,
    clock: FakeClock,
    dates: DateParser,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stream, collect = logs
    settings = make_settings(bot_token=TOKEN, allowed_user_ids=str(USER_ID))
    session = LocalSession()
    dispatcher = create_dispatcher(
        settings=settings, storage=storage, clock=clock, dates=dates,
        i18n=create_i18n(settings.default_language),
    )
    chat = ChatHarness(dispatcher, create_bot(settings, session=session), session)

    await chat.send(f"/newclient {MARKERS[0]}")
    await chat.send(f"{MARKERS[0]}: {MARKERS[1]} budget for January")
    await chat.send(f"/task {MARKERS[0]}: call about {MARKERS[2]} tomorrow 10am")
    await chat.send(f"/find {MARKERS[1]}")
    await chat.send(MARKERS[3], user_id=USER_ID + 1)  # not on the list: refused, logged
    # A read-only database while saving a note: logged as one line.
    await read_only(storage, True)
    await chat.send(f"{MARKERS[1]} again")
    await read_only(storage, False)

    # A bug in a handler: the last-resort handler logs it, still in one line at INFO.
    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr(storage.notes, "search", broken)
    await chat.send("/find budget")
    # Something that quotes the token (a URL of the Bot API, an exception) is redacted.
    logger = logging.getLogger("tests.logging")
    logger.warning("GET https://api.telegram.org/bot%s/getMe failed", TOKEN)
    try:
        raise ConnectionError(f"cannot reach /bot{TOKEN}/getUpdates")
    except ConnectionError:
        logger.exception("polling failed")

    output = stream.getvalue()
    lines = output.splitlines()
    assert len(lines) == len(collect.records) >= 5, output
    for line in lines:
        assert LINE.match(line), line
    for secret in (TOKEN, TOKEN.partition(":")[2], *MARKERS):
        assert secret not in output
    messages = "\n".join(lines)
    assert "refused update" in messages
    assert 'msg="storage unavailable (read-only) in update' in messages
    assert 'exc="RuntimeError: boom second line"' in messages
    assert "bot***/getMe" in messages
    assert "Traceback" not in output


def test_tracebacks_are_printed_when_debugging() -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    stream = io.StringIO()
    try:
        configure_logging("DEBUG", [TOKEN], stream=stream)
        try:
            raise ValueError(f"bad {TOKEN}")
        except ValueError:
            logging.getLogger("tests.logging").exception("failed")
    finally:
        root.handlers[:], root.level = saved
        for name in ("aiogram.event", "apscheduler"):
            logging.getLogger(name).setLevel(logging.NOTSET)
    output = stream.getvalue()
    assert output.startswith("time=")
    assert "Traceback (most recent call last)" in output
    assert TOKEN not in output


# Attributes that hold what users typed: their notes, tasks, clients, names.
USER_TEXT = {"text", "caption", "client_name", "full_name", "first_name", "last_name", "body"}
PEOPLE = {"client", "person", "colleague", "member", "user", "event_user", "from_user", "team"}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}


def _user_text_in(node: ast.AST) -> list[str]:
    found = []
    for inner in ast.walk(node):
        if not isinstance(inner, ast.Attribute):
            continue
        owner = inner.value
        owner_name = owner.id if isinstance(owner, ast.Name) else getattr(owner, "attr", "")
        if inner.attr in USER_TEXT or (inner.attr == "name" and owner_name in PEOPLE):
            found.append(ast.unparse(inner))
    return found


def test_no_logger_call_passes_user_text() -> None:
    """Static guard: a log line may name ids, counts and kinds, never typed text."""
    offenders = []
    sources = [*ROOT.joinpath("bot").rglob("*.py"), *ROOT.joinpath("handlers").rglob("*.py")]
    for path in sorted(sources):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in LOG_METHODS
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in {"logger", "logging", "log"}
            ):
                for argument in node.args[1:]:
                    offenders += [
                        f"{path.relative_to(ROOT)}:{node.lineno}: {text}"
                        for text in _user_text_in(argument)
                    ]
    assert not offenders, offenders
