"""End-to-end: webhook mode of the real ``python -m bot`` process, over HTTP on 127.0.0.1.

The fake Bot API records setWebhook/deleteWebhook (and, like Telegram, refuses getUpdates
with 409 while a webhook is set); the test plays Telegram by POSTing updates to the bot.
"""

from __future__ import annotations

import asyncio
import itertools
import socket
import time

import aiohttp

from tests.e2e.conftest import Launcher
from tests.e2e.test_bot_process import USER_ID, WAIT, plain_text, stop, wait_polling
from tests.fakes.fake_bot_api import JSON, FakeBotAPI

WEBHOOK_URL = "https://bot.example.test/telegram/hook"
WEBHOOK_PATH = "/telegram/hook"
SECRET = "e2e_Webhook-Secret_0123456789"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
STRANGER_ID = 6001
HTTP_TIMEOUT = aiohttp.ClientTimeout(total=WAIT)

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def webhook_env(bot_env: dict[str, str], port: int) -> dict[str, str]:
    env = dict(bot_env)
    env.update(
        {
            "WEBHOOK_URL": WEBHOOK_URL,
            "WEBHOOK_SECRET": SECRET,
            "WEBHOOK_HOST": "127.0.0.1",
            "WEBHOOK_PORT": str(port),
        }
    )
    return env


def message_update(text: str, user_id: int = USER_ID) -> JSON:
    """An Update as Telegram would POST it: a private text message (a command if /...)."""
    message: JSON = {
        "message_id": next(_message_ids),
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Marina"},
        "from": {"id": user_id, "is_bot": False, "first_name": "Marina", "language_code": "en"},
        "text": text,
    }
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
    return {"update_id": next(_update_ids), "message": message}


async def post_update(
    http: aiohttp.ClientSession, url: str, update: JSON, secret: str | None
) -> int:
    headers = {} if secret is None else {SECRET_HEADER: secret}
    async with http.post(url, json=update, headers=headers) as response:
        await response.read()
        return response.status


async def test_webhook_mode_serves_telegram_and_refuses_strangers(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher
) -> None:
    api = fake_api
    port = free_port()
    bot = await launch_bot(webhook_env(bot_env, port))

    # Start-up: the webhook is set with the secret once the server listens.
    params = await bot.race(api.wait_for("setWebhook", timeout=WAIT))
    assert params["url"] == WEBHOOK_URL
    assert params["secret_token"] == SECRET
    assert {"message", "callback_query"} <= set(params["allowed_updates"])
    assert params.get("drop_pending_updates") in (None, False)
    assert api.calls_of("getMe"), "the token is checked first, as when polling"

    base = f"http://127.0.0.1:{port}"
    endpoint = base + WEBHOOK_PATH
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        async with http.get(base + "/health") as response:
            assert response.status == 200
            assert await response.json() == {"ok": True, "mode": "webhook"}

        # Without the secret, or with a wrong one: 401 and nothing handled.
        mark = api.mark()
        stranger = message_update("/start", user_id=STRANGER_ID)
        assert await bot.race(post_update(http, endpoint, stranger, None)) == 401
        assert await bot.race(post_update(http, endpoint, stranger, SECRET[:-1] + "x")) == 401
        assert await bot.race(post_update(http, endpoint, stranger, "")) == 401

        # With the secret: 200 once handled, and the reply went out through the Bot API.
        assert await bot.race(post_update(http, endpoint, message_update("/start"), SECRET)) == 200
        reply = await bot.race(
            api.wait_for("sendMessage", lambda p: p.get("chat_id") == USER_ID, after=mark,
                         timeout=WAIT)
        )
        assert plain_text(reply).strip()

        # State goes through the database as when polling.
        assert await bot.race(
            post_update(http, endpoint, message_update("/newclient Acme"), SECRET)
        ) == 200
        assert await bot.race(
            post_update(http, endpoint, message_update("/task Acme: call the CFO today 23:59"),
                        SECRET)
        ) == 200
        mark = api.mark()
        assert await bot.race(post_update(http, endpoint, message_update("/today"), SECRET)) == 200
        today = await bot.race(
            api.wait_for("sendMessage", lambda p: p.get("chat_id") == USER_ID, after=mark,
                         timeout=WAIT)
        )
        assert "call the CFO" in plain_text(today)

    assert api.sent_texts(STRANGER_ID) == [], "a refused update must not be handled"
    assert not api.calls_of("getUpdates"), "webhook mode must not poll"
    assert api.calls_of("setMyCommands"), "the same start-up hooks as when polling"

    await stop(bot)
    # Left in place: Telegram keeps updates for the webhook while the bot restarts.
    assert not api.calls_of("deleteWebhook")
    assert api.webhook_url == WEBHOOK_URL
    assert "refused a request" in bot.stderr
    assert "webhook mode: Telegram calls " + WEBHOOK_URL in bot.stderr
    for output in (bot.stdout, bot.stderr):
        assert SECRET not in output
        assert "Traceback" not in output


async def test_polling_removes_a_webhook_and_keeps_its_updates(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher
) -> None:
    api = fake_api
    # As after a webhook run: the webhook is set, and Telegram kept an update meanwhile.
    api.webhook_url = WEBHOOK_URL
    api.push_message("/start", user_id=USER_ID)

    bot = await launch_bot(bot_env)
    await wait_polling(api, bot, after=0)
    reply = await bot.race(
        api.wait_for("sendMessage", lambda p: p.get("chat_id") == USER_ID, timeout=WAIT)
    )
    assert plain_text(reply).strip()

    names = [name for name, _ in api.calls]
    assert names.index("deleteWebhook") < names.index("getUpdates")
    assert api.calls_of("deleteWebhook")[0].get("drop_pending_updates") in (None, False)
    assert api.webhook_url == ""
    await stop(bot)
    assert "Conflict" not in bot.stderr


async def test_a_busy_port_fails_start_up_in_one_line(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher
) -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        bot = await launch_bot(webhook_env(bot_env, port))
        await asyncio.wait_for(bot.proc.wait(), 20)
    await bot.kill()
    assert bot.proc.returncode == 1, bot.describe()
    errors = [line for line in bot.stderr.splitlines() if " level=error " in line]
    assert len(errors) == 1, bot.describe()
    assert f"could not listen for the webhook on 127.0.0.1:{port}" in errors[0]
    assert "WEBHOOK_PORT" in errors[0]
    assert "Traceback" not in bot.stderr
    assert not fake_api.calls_of("setWebhook")
    assert "stopped: database closed" in bot.stderr, "start-up failure must close the database"


async def test_a_redelivered_update_makes_one_task_even_after_a_kill(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher
) -> None:
    """Telegram POSTs an update again when it did not get the 200 (a crash after the commit,
    a dropped connection): the task is made once, and the repeat gets no second reply."""
    api = fake_api
    port = free_port()
    env = webhook_env(bot_env, port)
    endpoint = f"http://127.0.0.1:{port}{WEBHOOK_PATH}"
    task = message_update("/task call the CFO today 23:59")

    bot = await launch_bot(env)
    await bot.race(api.wait_for("setWebhook", timeout=WAIT))
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        mark = api.mark()
        assert await bot.race(post_update(http, endpoint, task, SECRET)) == 200
        await bot.race(api.wait_for("sendMessage", after=mark, timeout=WAIT))
        assert await bot.race(post_update(http, endpoint, task, SECRET)) == 200
    await bot.kill()  # kill -9: then Telegram delivers it once more, to the next process

    mark = api.mark()
    bot = await launch_bot(env)
    await bot.race(api.wait_for("setWebhook", after=mark, timeout=WAIT))
    async with aiohttp.ClientSession(timeout=HTTP_TIMEOUT) as http:
        mark = api.mark()
        assert await bot.race(post_update(http, endpoint, task, SECRET)) == 200
        assert await bot.race(post_update(http, endpoint, message_update("/today"), SECRET)) == 200
        today = await bot.race(
            api.wait_for(
                "sendMessage",
                lambda p: "call the CFO" in plain_text(p) and "Task #" not in plain_text(p),
                after=mark, timeout=WAIT,
            )
        )
    assert plain_text(today).count("call the CFO") == 1, plain_text(today)
    # The only reply since the restart is the answer to /today: the repeat was skipped.
    assert len(api.sent_texts(USER_ID, after=mark)) == 1
    await stop(bot)
    assert "was applied before (delivered again): skipped" in bot.stderr
