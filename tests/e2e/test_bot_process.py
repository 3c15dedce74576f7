"""End-to-end: the real ``python -m bot`` process against a local fake Bot API server.

Run with ``pytest -m slow tests/e2e -v`` from the repository root.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
import re
import sys
from pathlib import Path

from tests.e2e.conftest import (
    BOT_TOKEN,
    STOP_TIMEOUT,
    BotProcess,
    Launcher,
    base_env,
)
from tests.fakes.fake_bot_api import JSON, FakeBotAPI

USER_ID = 5001
WAIT = 15.0  # seconds for any single expected reaction of the bot (must stay <= 20)
_TAG = re.compile(r"<[^>]+>")


def plain_text(params: JSON) -> str:
    """The text a user would see: HTML tags/entities or MarkdownV2 escapes removed."""
    text = str(params.get("text", ""))
    mode = str(params.get("parse_mode") or "").lower()
    if mode == "html":
        return html.unescape(_TAG.sub("", text))
    if mode == "markdownv2":
        return re.sub(r"\\(.)", r"\1", text)
    return text


async def wait_polling(api: FakeBotAPI, bot: BotProcess, after: int) -> None:
    """Wait until the bot has identified itself (getMe) and started long polling."""
    await bot.race(api.wait_for("getMe", after=after, timeout=WAIT))
    await bot.race(api.wait_for("getUpdates", after=after, timeout=WAIT))


async def ask(api: FakeBotAPI, bot: BotProcess, text: str, *needles: str) -> str:
    """Send ``text`` as user 5001; return the first reply to that chat containing ``needles``."""
    mark = api.mark()
    api.push_message(text, user_id=USER_ID, chat_id=USER_ID, language_code="en")

    def matches(params: JSON) -> bool:
        shown = plain_text(params)
        return (
            params.get("chat_id") == USER_ID
            and bool(shown.strip())
            and (all(needle in shown for needle in needles))
        )

    params = await bot.race(api.wait_for("sendMessage", matches, after=mark, timeout=WAIT))
    return plain_text(params)


async def stop(bot: BotProcess) -> None:
    code, elapsed = await bot.terminate(STOP_TIMEOUT)
    assert code is not None, f"the bot did not exit within {STOP_TIMEOUT}s of SIGTERM"
    assert code == 0, f"exit code {code} after SIGTERM\n{bot.describe()}"
    assert elapsed < STOP_TIMEOUT


def assert_token_kept_secret(api: FakeBotAPI, bots: list[BotProcess]) -> None:
    assert api.tokens == {BOT_TOKEN}, "the bot must use the configured token"
    secret = BOT_TOKEN.split(":", 1)[1]
    for request in api.raw_requests:
        assert request.path.startswith(f"/bot{BOT_TOKEN}/")
        for where in (
            request.query,
            request.body.decode(errors="replace"),
            *request.headers.values(),
        ):
            assert BOT_TOKEN not in where
            assert secret not in where
    for bot in bots:
        for output in (bot.stdout, bot.stderr):
            assert BOT_TOKEN not in output
            assert secret not in output


async def test_commands_persist_across_restart(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher, tmp_path: Path
) -> None:
    api = fake_api
    db_file = tmp_path / "db" / "assistant.sqlite3"
    assert not db_file.parent.exists()

    # 1. Start-up: getMe, commands menu for default/en and ru, then long polling.
    first = await launch_bot(bot_env)
    await wait_polling(api, first, after=0)
    await first.race(
        api.wait_for(
            "setMyCommands",
            lambda p: p.get("language_code") in (None, "", "en"),
            timeout=WAIT,
        )
    )
    await first.race(
        api.wait_for("setMyCommands", lambda p: p.get("language_code") == "ru", timeout=WAIT)
    )
    assert len(api.calls_of("setMyCommands")) >= 2

    # 2-5. A conversation.
    assert await ask(api, first, "/start")
    await ask(api, first, "/newclient Acme", "Acme")
    await ask(
        api,
        first,
        "/task Acme: call about the budget today 00:05",
        "Acme",
        "call about the budget",
    )
    await ask(api, first, "/today", "call about the budget")

    # 6. Graceful shutdown.
    await stop(first)
    assert db_file.exists(), "the bot must create the database folder and file"

    # 7. Same environment again: the task survived.
    mark = api.mark()
    second = await launch_bot(bot_env)
    await wait_polling(api, second, after=mark)
    await ask(api, second, "/today", "call about the budget")
    await stop(second)

    assert_token_kept_secret(api, [first, second])


async def test_missing_bot_token_exits_with_code_2(tmp_path: Path) -> None:
    env = base_env(tmp_path)  # no BOT_TOKEN, no TELEGRAM_API_URL
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        cwd=tmp_path,
        env=env,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 20)
    finally:
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.communicate()
    stderr = err.decode(errors="replace")
    report = f"stdout:\n{out.decode(errors='replace')}\nstderr:\n{stderr}"
    assert proc.returncode == 2, report
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, report
    assert "BOT_TOKEN" in lines[0], report
    assert "Traceback" not in stderr, report


async def test_unreachable_bot_api_fails_fast_in_one_line(
    tmp_path: Path, launch_bot: Launcher
) -> None:
    env = base_env(tmp_path)
    # Nothing listens on port 9 (discard) of the loopback: connections are refused at once.
    env.update({"BOT_TOKEN": "123456:TEST-TOKEN", "TELEGRAM_API_URL": "http://127.0.0.1:9"})
    process = await launch_bot(env)
    await asyncio.wait_for(process.proc.wait(), 20)
    await process.kill()
    assert process.proc.returncode == 1, process.describe()
    assert "could not reach the Bot API at http://127.0.0.1:9" in process.stderr
    assert "Traceback" not in process.stderr
    assert "TEST-TOKEN" not in process.stderr
