"""`python -m bot shell`: the real dispatcher, handlers and storage, driven from a terminal.

Type messages and commands as in Telegram. Buttons of the latest message that has them are
listed as [1], [2]...; type a number to press one. To send a number as text, start the line
with a backslash (\\10). `.quit` or Ctrl-D leaves.
"""

from __future__ import annotations

import asyncio
import html
import itertools
import re
from datetime import UTC, datetime
from typing import Any, TextIO

from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage, TelegramMethod
from aiogram.types import (
    CallbackQuery,
    Chat,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    Update,
    User,
)
from pydantic import SecretStr

from bot.app import create_bot, create_dispatcher, create_sender, create_services
from bot.clock import Clock, SystemClock
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from bot.runtime import Runtime, user_blocked
from bot.settings import Settings
from storage.open import open_storage

SHELL_TOKEN = "42:local-shell"
_TAG = re.compile(r"<[^>]+>")

BANNER = """Account manager's assistant — local shell (no Telegram needed).
Type messages and commands as in Telegram, e.g. /help or /newclient Acme.
Buttons are shown as [1] [2]...: type the number to press one; \\10 sends "10" as text.
.quit or Ctrl-D to leave. Data: {path}
"""


def plain(text: str) -> str:
    """The bot's HTML as a terminal shows it."""
    return html.unescape(_TAG.sub("", text))


class ShellView:
    """Prints what the bot sends and remembers the buttons of the latest keyboard."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self.buttons: list[InlineKeyboardButton] = []
        self.keyboard_message_id: int | None = None

    def show(self, method: TelegramMethod[Any], result: object) -> None:
        if isinstance(method, SendMessage):
            message_id = result.message_id if isinstance(result, Message) else None
            self._print_message(method.text, method.reply_markup, edited=False,
                                message_id=message_id)
        elif isinstance(method, EditMessageText):
            self._print_message(method.text or "", method.reply_markup, edited=True,
                                message_id=method.message_id)
        elif isinstance(method, AnswerCallbackQuery) and method.text:
            self._out.write(f"bot (popup) ▸ {method.text}\n")
        self._out.flush()

    def _print_message(
        self, text: str, markup: Any, *, edited: bool, message_id: int | None = None
    ) -> None:
        label = "bot (edited) ▸ " if edited else "bot ▸ "
        body = plain(text).replace("\n", "\n" + " " * 6)
        self._out.write(f"{label}{body}\n")
        if isinstance(markup, InlineKeyboardMarkup) and markup.inline_keyboard:
            self.buttons = []
            for row in markup.inline_keyboard:
                cells = []
                for button in row:
                    self.buttons.append(button)
                    cells.append(f"[{len(self.buttons)}] {button.text}")
                self._out.write(" " * 6 + "  ".join(cells) + "\n")
            if message_id is not None:
                self.keyboard_message_id = message_id
        self._out.write("\n")


async def run_shell(
    settings: Settings, stdin: TextIO, stdout: TextIO, clock: Clock | None = None
) -> int:
    # One person at a keyboard: a pasted script must not be slowed down as a flood.
    settings = settings.model_copy(update={"throttle_burst": 0})
    # Exclusive, as the bot: not beside a running bot on the same file, nor under a restore.
    storage = await open_storage(
        settings.database_url, exclusive=True, pool_size=settings.database_pool_size
    )
    runtime: Runtime | None = None
    try:
        dates = DateParser()
        await asyncio.to_thread(dates.warm)
        i18n = create_i18n(settings.default_language)
        view = ShellView(stdout)
        session = LocalSession(on_request=view.show)
        bot = create_bot(
            settings.model_copy(update={"bot_token": SecretStr(SHELL_TOKEN)}), session=session
        )
        clock = clock or SystemClock()
        # Replies and reminders share one stream, as in the bot, without Telegram's limits.
        sender = create_sender(
            bot, settings, on_blocked=user_blocked(storage.users), unpaced=True
        )
        services = create_services(
            settings=settings, storage=storage, clock=clock, i18n=i18n, sender=sender
        )
        dispatcher = create_dispatcher(
            settings=settings, storage=storage, clock=clock, dates=dates, i18n=i18n,
            services=services,
        )
        # Reminders print in the shell too, as they fall due while it waits for input.
        runtime = Runtime.for_app(
            bot=bot, storage=storage, i18n=i18n, clock=clock, settings=settings,
            services=services,
        )
        await runtime.start()
        user_id = min(settings.allowed_user_ids) if settings.allowed_user_ids else 1
        user = User(id=user_id, is_bot=False, first_name="You",
                    language_code=settings.default_language)
        chat = Chat(id=user_id, type="private")
        # After the ids recorded as applied (by an earlier session), or they would be skipped.
        update_ids = itertools.count(await storage.updates.last_id(bot.id) + 1)
        message_ids = itertools.count(1)
        stdout.write(BANNER.format(path=settings.database_label))
        stdout.flush()
        while True:
            stdout.write("you ▸ ")
            stdout.flush()
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                break
            line = line.rstrip("\n")
            if line.strip() == ".quit":
                break
            if not line.strip():
                continue
            update = _update_for(line, view, session, user, chat, next(update_ids),
                                 next(message_ids))
            if update is None:
                stdout.write("(no such button)\n\n")
                continue
            await dispatcher.feed_update(bot, update)
        stdout.write("bye\n")
        return 0
    finally:
        if runtime is not None:
            await runtime.stop()
        await storage.backend.close()


def _update_for(
    line: str,
    view: ShellView,
    session: LocalSession,
    user: User,
    chat: Chat,
    update_id: int,
    message_id: int,
) -> Update | None:
    now = datetime.now(UTC)
    stripped = line.strip()
    if stripped.isdigit():
        index = int(stripped) - 1
        if not 0 <= index < len(view.buttons) or view.keyboard_message_id is None:
            return None
        button = view.buttons[index]
        message = session.message(chat.id, view.keyboard_message_id)
        if message is None or button.callback_data is None:
            return None
        return Update(
            update_id=update_id,
            callback_query=CallbackQuery(
                id=str(update_id), from_user=user, chat_instance=str(chat.id),
                message=message, data=button.callback_data,
            ),
        )
    text = line[1:] if line.startswith("\\") else line
    entities = None
    if text.startswith("/"):
        command_length = len(text.split()[0])
        entities = [MessageEntity(type="bot_command", offset=0, length=command_length)]
    return Update(
        update_id=update_id,
        message=Message(
            message_id=message_id, date=now, chat=chat, from_user=user, text=text,
            entities=entities,
        ),
    )
