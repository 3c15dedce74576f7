"""`python -m bot shell`: the real input loop, typed lines in, the bot's replies out."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pydantic import SecretStr

from bot.settings import Settings
from bot.shell import run_shell
from tests.fakes.clock import FakeClock

ROOT = Path(__file__).resolve().parents[1]


async def test_shell_loop_sends_messages_and_presses_buttons(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {
            "bot_token": SecretStr("1:unused"),
            "database_url": f"sqlite:///{tmp_path}/shell.sqlite3",
            "default_timezone": "Europe/Moscow",
        }
    )
    typed = "\n".join(
        [
            "/newclient Acme",
            "/task Acme: call about the budget sometime",
            "99",  # no such button
            "3",  # [1] In 1 hour [2] Today 18:00 [3] Tomorrow 10:00 ...
            "/week",
            "\\10",  # a number sent as text, not a button press
            ".quit",
            "/today",  # never read: the shell has quit
        ]
    )
    out = io.StringIO()
    clock = FakeClock(datetime(2026, 11, 26, 11, 37, tzinfo=UTC))
    code = await run_shell(settings, io.StringIO(typed + "\n"), out, clock)
    text = out.getvalue()
    assert code == 0
    assert "Client “Acme” added." in text
    assert "No due time yet" in text
    assert "[3] Tomorrow 10:00" in text
    assert "(no such button)" in text
    assert "bot (edited) ▸ Task #1" in text
    assert "10:00 📞 Acme — call about the budget sometime  #1" in text  # tags stripped
    assert "📝 Note saved." in text  # "10" went as text (and became a note)
    assert text.rstrip().endswith("bye")
    assert "Today," not in text


async def test_a_pasted_script_is_not_slowed_as_a_flood(tmp_path: Path) -> None:
    settings = Settings.model_validate(
        {"database_url": f"sqlite:///{tmp_path}/shell.sqlite3", "throttle_burst": 3}
    )
    typed = "\n".join(f"note number {n}" for n in range(15))
    out = io.StringIO()
    clock = FakeClock(datetime(2026, 11, 26, 11, 37, tzinfo=UTC))
    assert await run_shell(settings, io.StringIO(typed + "\n"), out, clock) == 0
    assert out.getvalue().count("📝 Note saved.") == 15
    assert "very fast" not in out.getvalue()


@pytest.mark.slow  # real `python -m bot` processes: the slow suite
def test_python_m_bot_shell_runs_without_a_token(tmp_path: Path) -> None:
    env = {
        key: value for key, value in os.environ.items()
        if key.upper() not in {"BOT_TOKEN", "DATABASE_URL", "ALLOWED_USER_IDS"}
    }
    env["PYTHONPATH"] = str(ROOT)
    result = subprocess.run(
        [sys.executable, "-m", "bot", "shell"],
        input="/start\n/task позвонить Ивану завтра в 10\n/week\n",
        capture_output=True, text=True, cwd=tmp_path, env=env, timeout=60, check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Hi, You!" in result.stdout
    assert "позвонить Ивану" in result.stdout
    assert "Traceback" not in result.stderr
    assert (tmp_path / "data" / "assistant.sqlite3").exists()


async def test_a_second_session_is_not_taken_for_a_redelivery_of_the_first(
    tmp_path: Path,
) -> None:
    # The database remembers applied update ids; the shell's own ids go on after them.
    settings = Settings.model_validate({"database_url": f"sqlite:///{tmp_path}/shell.sqlite3"})
    clock = FakeClock(datetime(2026, 11, 26, 11, 37, tzinfo=UTC))
    for session in ("first", "second"):
        out = io.StringIO()
        typed = f"{session} session note\n/notes\n"
        assert await run_shell(settings, io.StringIO(typed), out, clock) == 0
        assert "📝 Note saved." in out.getvalue(), session
    assert "first session note" in out.getvalue()
    assert "second session note" in out.getvalue()
