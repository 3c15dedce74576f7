"""End-to-end: many people at once, through a fake Bot API that enforces Telegram's limits
(30 sending calls a second, 1 a second per chat, 429 with a pause beyond them). Every reply
arrives, once, and the bot never meets a 429: replies go through the same paced stream as
reminders (bot/outbound.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.e2e.conftest import BOT_TOKEN, Launcher, base_env
from tests.e2e.test_bot_process import wait_polling
from tests.fakes.fake_bot_api import FakeBotAPI, Limits

PEOPLE = 40
FIRST_USER = 7000


async def test_a_crowd_gets_every_reply_without_a_429(
    tmp_path: Path, launch_bot: Launcher
) -> None:
    async with FakeBotAPI(limits=Limits(per_second=30, chat_interval=1.0, retry_after=1)) as api:
        env = base_env(tmp_path)
        env.update({"BOT_TOKEN": BOT_TOKEN, "TELEGRAM_API_URL": api.base_url})
        bot = await launch_bot(env)
        await wait_polling(api, bot, after=0)
        mark = api.mark()
        people = range(FIRST_USER, FIRST_USER + PEOPLE)
        for user_id in people:  # all at once: one getUpdates hands them over together
            api.push_message(f"/newclient Client {user_id}", user_id=user_id)
        # Each /newclient answers twice: "added" and the client's card.
        expected = 2 * PEOPLE

        def replies() -> Counter[int]:
            return Counter(
                int(params["chat_id"])
                for params in api.calls_of("sendMessage", after=mark)
                if params.get("chat_id") in people
            )

        await bot.race(api.wait_until(lambda: sum(replies().values()) >= expected, timeout=30))
        assert replies() == Counter(dict.fromkeys(people, 2))
        assert api.too_many == []
        for user_id in people:
            texts = api.sent_texts(user_id, after=mark)
            assert any(f"Client {user_id}" in text and "added" in text for text in texts)
