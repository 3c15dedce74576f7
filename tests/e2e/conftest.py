"""Fixtures for end-to-end tests: a fake Bot API server and the real ``python -m bot`` process."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Generator, Mapping
from pathlib import Path
from typing import TypeVar

import pytest

from tests.fakes.fake_bot_api import FakeBotAPI

T = TypeVar("T")

BOT_TOKEN = "123456:TEST-TOKEN"
REPO_ROOT = Path(__file__).resolve().parents[2]
STOP_TIMEOUT = 5.0  # seconds the bot may take to exit after SIGTERM
KILL_TIMEOUT = 10.0
_BOT_SETTINGS = frozenset(
    {
        "BOT_TOKEN",
        "TELEGRAM_API_URL",
        "DATABASE_URL",
        "ALLOWED_USER_IDS",
        "DEFAULT_TIMEZONE",
        "DEFAULT_LANGUAGE",
        "LOG_LEVEL",
    }
)

_REPORTS = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report so fixtures can tell whether the test failed."""
    report = yield
    item.stash.setdefault(_REPORTS, {})[report.when] = report
    return report


def base_env(tmp_path: Path) -> dict[str, str]:
    """os.environ plus the settings shared by every run (everything but the Bot API part)."""
    # Settings are read case-insensitively: drop any the developer's shell may carry.
    env = {key: value for key, value in os.environ.items() if key.upper() not in _BOT_SETTINGS}
    pythonpath = [str(REPO_ROOT), *filter(None, [env.get("PYTHONPATH")])]
    env.update(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path}/db/assistant.sqlite3",
            "DEFAULT_TIMEZONE": "Europe/Moscow",
            "DEFAULT_LANGUAGE": "en",
            "LOG_LEVEL": "INFO",
            "PYTHONUNBUFFERED": "1",
            "PYTHONPATH": os.pathsep.join(pythonpath),
        }
    )
    return env


class BotProcess:
    """A running ``python -m bot`` whose stdout/stderr are drained in the background."""

    def __init__(self, proc: asyncio.subprocess.Process, label: str) -> None:
        self.proc = proc
        self.label = label
        self._stdout = bytearray()
        self._stderr = bytearray()
        assert proc.stdout is not None
        assert proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._drain(proc.stdout, self._stdout)),
            asyncio.create_task(self._drain(proc.stderr, self._stderr)),
        ]

    @classmethod
    async def start(cls, env: Mapping[str, str], cwd: Path, label: str) -> BotProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=cwd,
            env=dict(env),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        return cls(proc, label)

    @staticmethod
    async def _drain(stream: asyncio.StreamReader, sink: bytearray) -> None:
        while chunk := await stream.read(65536):
            sink.extend(chunk)

    @property
    def stdout(self) -> str:
        return self._stdout.decode(errors="replace")

    @property
    def stderr(self) -> str:
        return self._stderr.decode(errors="replace")

    def describe(self) -> str:
        return (
            f"===== {self.label}: exit code {self.proc.returncode} =====\n"
            f"----- stdout -----\n{self.stdout}\n----- stderr -----\n{self.stderr}\n"
        )

    async def race(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable`` (which must be time-bounded), failing fast if the bot dies."""
        waiting = asyncio.ensure_future(awaitable)
        exited = asyncio.ensure_future(self.proc.wait())
        try:
            await asyncio.wait({waiting, exited}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            exited.cancel()
            if not waiting.done():
                waiting.cancel()
            await asyncio.gather(waiting, exited, return_exceptions=True)
        if waiting.cancelled():
            await self._finish_reading()
            pytest.fail(f"the bot exited unexpectedly\n{self.describe()}")
        try:
            return waiting.result()
        except TimeoutError as exc:
            pytest.fail(f"{exc}\n{self.describe()}")

    async def terminate(self, grace: float = STOP_TIMEOUT) -> tuple[int | None, float]:
        """SIGTERM the bot; return (exit code or None if still running, seconds taken)."""
        started = time.monotonic()
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), grace)
        elapsed = time.monotonic() - started
        code = self.proc.returncode
        if code is not None:
            await self._finish_reading()
        return code, elapsed

    async def kill(self) -> None:
        """Make sure the process is gone and its pipes are closed (idempotent)."""
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.proc.wait(), KILL_TIMEOUT)
        await self._finish_reading()

    async def _finish_reading(self) -> None:
        _done, pending = await asyncio.wait(self._readers, timeout=KILL_TIMEOUT)
        for task in pending:  # a grandchild may hold the pipe open: stop listening
            task.cancel()
        await asyncio.gather(*self._readers, return_exceptions=True)


Launcher = Callable[[Mapping[str, str]], Awaitable[BotProcess]]


@pytest.fixture
async def fake_api() -> AsyncIterator[FakeBotAPI]:
    async with FakeBotAPI() as api:
        yield api


@pytest.fixture
def bot_env(tmp_path: Path, fake_api: FakeBotAPI) -> dict[str, str]:
    env = base_env(tmp_path)
    env.update({"BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": fake_api.base_url})
    return env


@pytest.fixture
async def launch_bot(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Launcher]:
    """Start ``python -m bot`` (cwd = tmp_path); every process is killed at teardown."""
    processes: list[BotProcess] = []

    async def launch(env: Mapping[str, str]) -> BotProcess:
        process = await BotProcess.start(env, tmp_path, label=f"bot run #{len(processes) + 1}")
        processes.append(process)
        return process

    try:
        yield launch
    finally:
        for process in processes:
            await process.kill()
        reports = request.node.stash.get(_REPORTS, {})
        if any(report.failed for report in reports.values()):
            for process in processes:
                sys.stderr.write(process.describe())
