"""End-to-end alerts: the real process, its HTTP intake, repeats until acknowledged.

An outside system POSTs to the user's intake address (read from the bot's /intake reply);
the bot pages the user, repeats ALERT_REPEAT_SECONDS later, and stops once the user presses
✅ Acknowledge.
"""

from __future__ import annotations

import asyncio
import re
import socket
import time

import aiohttp

from tests.e2e.conftest import Launcher
from tests.e2e.test_bot_process import USER_ID, WAIT, ask, plain_text, stop, wait_polling
from tests.fakes.fake_bot_api import JSON, FakeBotAPI

REPEAT_SECONDS = 5  # the smallest ALERT_REPEAT_SECONDS allowed
ALERT_TEXT = "checkout is down"
_URL = re.compile(r"(http://127\.0\.0\.1:\d+/alerts/)(u\d+-[\w-]+)")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def is_page(params: JSON) -> bool:
    """A message to the user about the alert (first page or a repeat)."""
    return params.get("chat_id") == USER_ID and ALERT_TEXT in plain_text(params)


def ack_data(params: JSON) -> str | None:
    markup = params.get("reply_markup")
    if not isinstance(markup, dict):
        return None
    for row in markup.get("inline_keyboard", []):
        for button in row:
            data = str(button.get("callback_data", ""))
            if data.startswith("a:ack:"):
                return data
    return None


async def test_alert_repeats_until_acknowledged(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher
) -> None:
    api = fake_api
    port = free_port()
    env = {
        **bot_env,
        "ALERT_REPEAT_SECONDS": str(REPEAT_SECONDS),
        "INTAKE_HOST": "127.0.0.1",
        "INTAKE_PORT": str(port),
    }
    bot = await launch_bot(env)
    await wait_polling(api, bot, after=0)
    reply = await ask(api, bot, "/intake", "yours:")
    found = _URL.search(reply)
    assert found is not None, reply
    url = found.group(1) + found.group(2)
    secret = found.group(2).partition("-")[2]
    assert url.startswith(f"http://127.0.0.1:{port}/alerts/u{USER_ID}-")

    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/health") as response:
            assert response.status == 200
        async with http.post(url.replace(secret, "wrong"), json={"text": "x"}) as response:
            assert response.status == 403
        mark = api.mark()
        posted_at = time.time()
        async with http.post(
            url, json={"text": ALERT_TEXT, "severity": "urgent", "dedup_key": "shop"}
        ) as response:
            assert response.status == 201
            answer = await response.json()
    assert answer["created"] is True and answer["count"] == 1

    # The first page, with buttons, at once.
    first = await bot.race(
        api.wait_for("sendMessage", lambda p: is_page(p) and ack_data(p) is not None,
                     after=mark, timeout=WAIT)
    )
    first_index = api.calls.index(("sendMessage", first), mark)
    data = ack_data(first)
    assert data == f"a:ack:{answer['alert']}"
    # (Up to a second late: the bot has just answered /intake in this chat, 1 message/s.)
    assert api.call_times[first_index] - posted_at < 2.0

    # A repeat one interval after the alert was paged.
    repeat = await bot.race(
        api.wait_for("sendMessage", lambda p: is_page(p) and "Repeat 1" in plain_text(p),
                     after=first_index + 1, timeout=WAIT)
    )
    repeat_index = api.calls.index(("sendMessage", repeat), first_index + 1)
    gap = api.call_times[repeat_index] - posted_at
    assert REPEAT_SECONDS - 0.1 <= gap <= REPEAT_SECONDS + 3, gap

    # Press ✅ Acknowledge on the latest page.
    page = next(
        message for message in reversed(api.messages_in(USER_ID))
        if ALERT_TEXT in str(message.get("text", "")) and "reply_markup" in message
    )
    pressed = api.mark()
    acked_at = time.monotonic()
    api.push_callback(data, page["message_id"], user_id=USER_ID)
    shown = await bot.race(api.wait_for("answerCallbackQuery", after=pressed, timeout=WAIT))
    assert "Acknowledged" in str(shown.get("text", ""))
    # The pages are edited to show who took it.
    await bot.race(
        api.wait_for("editMessageText", lambda p: p.get("chat_id") == USER_ID,
                     after=pressed, timeout=WAIT)
    )

    # No further repeat for more than two intervals.
    await asyncio.sleep(2 * REPEAT_SECONDS + 1.5 - (time.monotonic() - acked_at))
    late = [plain_text(p) for p in api.calls_of("sendMessage", after=pressed) if is_page(p)]
    assert late == []

    await stop(bot)
    for output in (bot.stdout, bot.stderr):
        assert secret not in output, "the intake secret must never be logged"
        assert ALERT_TEXT not in output
    assert "intake POST /alerts/u" in bot.stderr + bot.stdout
