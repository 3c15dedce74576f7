"""The real ``python -m bot`` against a Bot API that misbehaves (tests/fakes/fake_bot_api.py
``fail_next``): timeouts, HTTP 500 and 502 (Telegram's JSON and a proxy's HTML page), 429 with
``retry_after``, reset connections and truncated JSON.

For every kind of fault, in one run of the bot:

- polling: two ``getUpdates`` calls in a row fail (one for a timeout, which costs
  ``TELEGRAM_TIMEOUT`` + 20 s of long polling); a message sent afterwards is answered;
- a reply (``Note saved``) whose first ``sendMessage`` fails is retried and arrives once;
- a reminder whose first two ``sendMessage`` calls fail is retried and arrives once;
- the log has no traceback, every line of it is one log record, and there are at most two
  warning/error lines per failed call.

Run with ``pytest -m slow tests/e2e/test_bot_api_faults.py -v`` (about a minute).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.e2e.conftest import BotProcess, Launcher
from tests.e2e.test_bot_process import USER_ID, WAIT, plain_text, stop, wait_polling
from tests.fakes.fake_bot_api import JSON, FakeBotAPI, Fault, FaultKind

CLIENT_TIMEOUT = 3  # TELEGRAM_TIMEOUT for this run: a held call fails after 3 s
POLL_TIMEOUT = 20  # the bot's long-polling timeout (bot/__main__.py)
SAVED = "Note saved"
# One log record per line, in either format: "2026-11-27 10:00:00,000 WARNING name: ..." or
# logfmt "time=... level=warning logger=... msg=...".
_LOG_RECORD = re.compile(
    r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (?P<level>[A-Z]+) "
    r"|time=\S+ level=(?P<lf_level>[a-z]+) )"
)


@dataclass(frozen=True)
class Case:
    name: str  # letters only: also the word a reminder is recognised by
    kind: FaultKind
    options: dict[str, Any] = field(default_factory=dict)


CASES = [
    Case("servererror", FaultKind.SERVER_ERROR, {"status": 500}),
    Case("badgatewayjson", FaultKind.SERVER_ERROR, {"status": 502}),
    Case("badgatewayhtml", FaultKind.BAD_GATEWAY),
    Case("floodwait", FaultKind.RETRY_AFTER, {"retry_after": 1}),
    Case("connreset", FaultKind.RESET),
    Case("truncatedjson", FaultKind.MALFORMED),
    Case("heldcall", FaultKind.TIMEOUT),  # last: polling stalls for 23 s
]


REMINDER_USERS = {case.name: 5401 + index for index, case in enumerate(CASES)}


def saved_replies(api: FakeBotAPI) -> int:
    return sum(1 for text in api.sent_texts(USER_ID) if SAVED in text)


def is_reminder(word: str) -> Callable[[JSON], bool]:
    def matches(params: JSON) -> bool:
        shown = plain_text(params)
        return (
            params.get("chat_id") == REMINDER_USERS[word]
            and shown.startswith("🔔")
            and word in shown
        )

    return matches


def is_saved_reply(params: JSON) -> bool:
    return params.get("chat_id") == USER_ID and SAVED in plain_text(params)


async def say(api: FakeBotAPI, bot: BotProcess, user_id: int, text: str, needle: str) -> None:
    """Send ``text`` as ``user_id`` and wait for a reply containing ``needle``."""
    mark = api.mark()
    api.push_message(text, user_id=user_id, chat_id=user_id, language_code="en")

    def matches(params: JSON) -> bool:
        return params.get("chat_id") == user_id and needle in plain_text(params)

    await bot.race(api.wait_for("sendMessage", matches, after=mark, timeout=WAIT))


async def note(api: FakeBotAPI, bot: BotProcess, text: str, within: float = WAIT) -> None:
    """Send a note and wait for its "Note saved"."""
    mark = api.mark()
    api.push_message(text, user_id=USER_ID, chat_id=USER_ID, language_code="en")
    await bot.race(api.wait_for("sendMessage", is_saved_reply, after=mark, timeout=within))


async def hit(api: FakeBotAPI, bot: BotProcess, fault: Fault) -> None:
    """Wait until every planned call of ``fault`` has misbehaved."""
    await bot.race(api.wait_until(lambda: fault.hits >= fault.times, timeout=WAIT))


def log_records(stderr: str) -> tuple[list[tuple[str, str]], list[str]]:
    """(level, line) of each log record, and the lines that are not one record each."""
    records, strays = [], []
    for line in stderr.splitlines():
        if not line.strip():
            continue
        match = _LOG_RECORD.match(line)
        if match is None:
            strays.append(line)
        else:
            records.append(((match["level"] or match["lf_level"]).lower(), line))
    return records, strays


async def test_bot_rides_out_bot_api_faults(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher
) -> None:
    api = fake_api
    bot = await launch_bot({**bot_env, "TELEGRAM_TIMEOUT": str(CLIENT_TIMEOUT)})
    await wait_polling(api, bot, after=0)

    # Reminders, one per kind of fault (each to its own user, so they go out together), all
    # due at the next minute; each one's first two sendMessage calls misbehave.
    if 60 - time.time() % 60 < 12:
        await asyncio.sleep(60 - time.time() % 60 + 0.5)
    due = (time.time() // 60 + 1) * 60
    reminder_faults = []
    for case in CASES:
        user_id = REMINDER_USERS[case.name]
        reminder_faults.append(
            api.fail_next(
                "sendMessage", case.kind, times=2, when=is_reminder(case.name), **case.options
            )
        )
        await say(api, bot, user_id, "/hours off", "off")  # reminders at any hour
        await say(api, bot, user_id, f"/task {case.name} check stuff in 1 minute", case.name)
    notes = 0

    # Polling: the next getUpdates calls after a message misbehave; the bot keeps polling.
    for case in CASES:
        times = 1 if case.kind is FaultKind.TIMEOUT else 2
        fault = api.fail_next("getUpdates", case.kind, times=times, **case.options)
        await note(api, bot, f"before {case.name}")  # returned by the poll in flight
        await hit(api, bot, fault)
        after = CLIENT_TIMEOUT + POLL_TIMEOUT + 2 * WAIT
        await note(api, bot, f"after {case.name}", within=after)
        notes += 2

    # Replies: the first "Note saved" misbehaves; it is retried and arrives once.
    for case in CASES:
        fault = api.fail_next("sendMessage", case.kind, when=is_saved_reply, **case.options)
        await note(api, bot, f"reply {case.name}")
        assert fault.hits == 1
        notes += 1

    # Every reminder arrives, after its two faults.
    for case, fault in zip(CASES, reminder_faults, strict=True):
        within = max(due + 2 * WAIT - time.time(), WAIT)
        await bot.race(api.wait_for("sendMessage", is_reminder(case.name), timeout=within))
        assert fault.hits == 2, case
    await asyncio.sleep(1.0)  # a duplicate would come now
    await stop(bot)

    report = bot.describe()
    for case in CASES:
        arrived = [p for n, p in api.calls if n == "sendMessage" and is_reminder(case.name)(p)]
        assert len(arrived) == 1, (case, report)
    assert saved_replies(api) == notes, report
    assert not any("went wrong" in text for text in api.sent_texts(USER_ID)), report

    failed_calls = len(api.fault_hits)
    polls_failed = sum(1 if case.kind is FaultKind.TIMEOUT else 2 for case in CASES)
    assert failed_calls == polls_failed + len(CASES) * (1 + 2)
    records, strays = log_records(bot.stderr)
    assert "Traceback" not in bot.stderr, report
    assert not strays, f"lines that are not one log record each: {strays[:5]}"
    assert not [line for _, line in records if ' exc="' in line], report  # logged exceptions
    incidents = [
        line
        for level, line in records
        if level in ("warning", "error") and "Received SIGTERM" not in line  # the stop
    ]
    # aiogram's polling loop logs two lines per failed getUpdates, the retries one each.
    assert failed_calls <= len(incidents) <= failed_calls + polls_failed, "\n".join(incidents)
