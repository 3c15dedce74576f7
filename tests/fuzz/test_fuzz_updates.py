"""Hostile input through the real dispatcher: random updates from two users.

Hypothesis builds short sequences of updates (text with HTML, Markdown, control and
zero-width characters, RTL marks, emoji, very long strings and random entities; the bot's
commands with random arguments; callback data, both well-formed packs of bot/callbacks.py
with random ids and ops and garbage of up to 64 bytes, and buttons the bot really sent,
to their owner or to the other user; forwards; voice, photos, documents with random
captions; edits and replies). Each sequence runs against a fresh copy of a database where
both users already keep clients, tasks, notes and invoices carrying a marker of their own.

After every update:
- nothing escaped the dispatcher, and nothing was logged at ERROR (the errors router logs
  every handler crash there before it apologises to the user);
- every text and caption the bot sent is within Telegram's limits and is HTML that Telegram
  accepts (only its tags, balanced; only its entities); inline keyboards are valid;
- callback answers are at most 200 characters, and every button press is answered;
- the bot spoke only to the user who wrote, and never showed them the other user's marker.
"""

from __future__ import annotations

import atexit
import html
import io
import logging
import os
import re
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiosqlite
import pytest
from aiogram import Bot, Dispatcher, F
from aiogram.client.default import Default
from aiogram.filters.callback_data import CallbackData
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageCaption,
    EditMessageReplyMarkup,
    EditMessageText,
    SendDocument,
    SendMessage,
    TelegramMethod,
)
from aiogram.types import (
    Audio,
    BufferedInputFile,
    CallbackQuery,
    Chat,
    Document,
    InaccessibleMessage,
    InlineKeyboardMarkup,
    Message,
    MessageEntity,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
    PhotoSize,
    Update,
    User,
    Video,
    VideoNote,
    Voice,
)
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

import bot.callbacks
from bot.app import _MENU, create_bot, create_dispatcher
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from storage.interfaces import Storage
from storage.sqlite import Database, open_sqlite_storage
from tests.fakes.clock import NOW, FakeClock
from tests.fuzz.conftest import EXAMPLES, FUZZED, SHOWN
from tests.handlers.conftest import make_settings

ROOT = Path(__file__).resolve().parents[2]
USER_A, USER_B = 1001, 2002
USERS = (USER_A, USER_B)
# Unique per run, so nothing the fuzzer types can contain one by chance.
MARKERS = {user: f"mk{secrets.token_hex(6)}" for user in USERS}
CLIENT_NAMES = {user: f"Qwerty {MARKERS[user]}" for user in USERS}
OWN = "\U000f0001"  # stands for the acting user's own client name in generated text
# FUZZ_EXAMPLES=5000 pytest -m slow tests/fuzz digs deeper; the suite's default stays quick.
EXAMPLES_PER_TEST = int(os.environ.get("FUZZ_EXAMPLES", "300"))
# A fixed seed: every run (and CI) tries the same examples, and a failure comes back on the
# next run; FUZZ_SEED=<n> pytest -m slow tests/fuzz explores others.
FUZZ_SEED = int(os.environ.get("FUZZ_SEED", "20261126"))

SETTINGS = make_settings()
_DATES = DateParser()
_WORKDIR = Path(tempfile.mkdtemp(prefix="fuzz-updates-"))
atexit.register(shutil.rmtree, _WORKDIR, ignore_errors=True)


# ---------------------------------------------------------------- Telegram's HTML, checked

_TAGS: dict[str, set[str]] = {
    "b": set(), "strong": set(), "i": set(), "em": set(), "u": set(), "ins": set(),
    "s": set(), "strike": set(), "del": set(), "tg-spoiler": set(), "span": {"class"},
    "a": {"href"}, "tg-emoji": {"emoji-id"}, "code": {"class"}, "pre": set(),
    "blockquote": {"expandable"},
}
_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<name>[A-Za-z][A-Za-z0-9-]*)(?P<attrs>(?:\s+[A-Za-z-]+"
    r"(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>\"']+))?)*)\s*>"
    r"|&(?:#[0-9]+|#x[0-9A-Fa-f]+|lt|gt|amp|quot);"
    r"|(?P<bare>[<>&])"
)
_ATTR = re.compile(r"([A-Za-z-]+)(?:\s*=\s*(\"[^\"]*\"|'[^']*'|[^\s>\"']+))?")


def html_problem(text: str) -> str | None:
    """Why Telegram would refuse this text with parse_mode=HTML, or None."""
    stack: list[str] = []
    for token in _TOKEN.finditer(text):
        if token.group("bare"):
            around = text[max(0, token.start() - 20) : token.start() + 20]
            return f"bare {token.group('bare')!r} at {token.start()}: {around!r}"
        name = token.group("name")
        if name is None:
            continue  # an entity
        name = name.lower()
        if name not in _TAGS:
            return f"tag <{name}> is not one Telegram knows"
        if token.group("close"):
            if not stack or stack[-1] != name:
                return f"</{name}> does not close {stack[-1:] or 'anything'}"
            stack.pop()
            continue
        attrs = {
            key.lower(): value.strip("\"'") for key, value in _ATTR.findall(token.group("attrs"))
        }
        if not set(attrs) <= _TAGS[name]:
            return f"<{name}> with attributes {sorted(attrs)}"
        if name == "a" and not attrs.get("href"):
            return "<a> without href"
        if name == "span" and attrs.get("class") != "tg-spoiler":
            return "<span> that is not a spoiler"
        stack.append(name)
    if stack:
        return f"unclosed {stack}"
    return None


def visible(text: str) -> str:
    """What the user sees: tags gone, entities decoded."""
    return html.unescape(re.sub(r"<[^>]*>", "", text))


def html_mode(method: Any) -> bool:
    mode = getattr(method, "parse_mode", None)
    return isinstance(mode, Default) or (isinstance(mode, str) and mode.upper() == "HTML")


def keyboard_problem(markup: object) -> str | None:
    if not isinstance(markup, InlineKeyboardMarkup):
        return None
    buttons = [button for row in markup.inline_keyboard for button in row]
    if len(buttons) > 100:
        return f"{len(buttons)} buttons (Telegram allows 100)"
    for button in buttons:
        if not button.text.strip():
            return "a button without text"
        if button.callback_data is not None and not 1 <= len(button.callback_data.encode()) <= 64:
            return f"callback data of {len(button.callback_data.encode())} bytes"
    return None


def method_problems(method: TelegramMethod[Any]) -> list[str]:
    """What Telegram would refuse in one outgoing call."""
    problems: list[str] = []
    name = type(method).__name__
    if isinstance(method, SendMessage | EditMessageText):
        text = method.text or ""
        if len(text) > 4096:
            problems.append(f"{name}: {len(text)} characters")
        if html_mode(method):
            problem = html_problem(text)
            if problem:
                problems.append(f"{name}: {problem}")
            shown = visible(text)
        else:
            shown = text
        if not shown.strip():
            problems.append(f"{name}: empty text {text!r}")
    caption = getattr(method, "caption", None)
    if isinstance(caption, str):
        shown = visible(caption) if html_mode(method) else caption
        if len(shown) > 1024:
            problems.append(f"{name}: caption of {len(shown)} characters")
        if html_mode(method) and (problem := html_problem(caption)):
            problems.append(f"{name} caption: {problem}")
    if isinstance(method, AnswerCallbackQuery) and method.text and len(method.text) > 200:
        problems.append(f"{name}: {len(method.text)} characters: {method.text[:80]!r}")
    if problem := keyboard_problem(getattr(method, "reply_markup", None)):
        problems.append(f"{name}: {problem}")
    return problems


def readable(method: TelegramMethod[Any]) -> str:
    """Everything a call shows to its recipient, files unpacked, as one searchable text."""
    parts = [method.model_dump_json(fallback=repr)]
    for value in vars(method).values():
        if isinstance(value, BufferedInputFile):
            data = value.data
            parts.append(data.decode("utf-8", "replace"))
            if zipfile.is_zipfile(io.BytesIO(data)):
                with zipfile.ZipFile(io.BytesIO(data)) as archive:
                    for member in archive.namelist():
                        parts.append(archive.read(member).decode("utf-8", "replace"))
    text = "\n".join(parts)
    return text + "\n" + visible(text)


# ---------------------------------------------------------------- what the fuzzer sends

@dataclass(frozen=True)
class Sent:
    """A message: text (or caption) and what kind of message carries it."""

    user: int
    text: str
    kind: str = "text"  # text, voice, photo, document, audio, video, video_note, sticker-ish
    entities: tuple[tuple[str, float, float], ...] = ()
    language: str | None = "en"
    forward: tuple[str, str] | None = None  # (origin kind, name)
    reply_to: int | None = None  # index into the bot's messages to this user
    document: bytes | None = None
    file_name: str | None = None
    group: bool = False


@dataclass(frozen=True)
class Edited:
    user: int
    index: int  # which of the user's earlier messages
    text: str


@dataclass(frozen=True)
class Pressed:
    user: int
    data: str | None  # None: press a button the bot really sent (see owner, index)
    owner: int = USER_A
    index: int = 0
    on: str = "bot"  # bot (a message of the bot), old (synthetic), gone (inaccessible)
    language: str | None = "en"


Action = Sent | Edited | Pressed

_PIECES = [
    "<b>", "</b>", "<i>x</i>", "<a href='https://example.com'>link</a>", "<script>", "<br>",
    "&amp;", "&", "&lt;", "<", ">", "&#x27;", "&nbsp;", '"', "'", "*bold*", "_it_", "`code`",
    "```\npre\n```", "[link](http://x)", "~~s~~", "||spoiler||", "\\", "\u200b", "\u200c",
    "\u200d", "\u200e", "\u200f", "\u202a", "\u202e", "\u2066", "\u2069", "\ufeff", "\x00",
    "\x07", "\x1b[31m", "\r\n", "\n", "\t", "\u0085", "\u2028", "👩‍💻", "🇷🇺", "❤️", "🧑🏿‍🚀",
    "Z̤͔ͧ̑̓", "שלום", "مرحبا", "ё", "Ё", "ß", "İ", "ǅ", "ﬃ", "Qwerty", "qwe", "QW", "Qw", "mk",
    OWN, f"{OWN}:", f"#{OWN}", "#qwerty", "@someone", ":", "#", "/", "/task", "1", "41", "0",
    "-1", "2147483648", "9223372036854775807", "9223372036854775808",
    "99999999999999999999999999", "1e308", "NaN", "½", "١٢٣", "завтра в 10", "tomorrow 10am",
    "через 2 часа", "every monday at 9", "каждый день в 9", "1 числа каждого месяца",
    "по будням в 18:00", "31.02", "29.02.2027 25:61", "в пятницу", "fri 3pm", "due fri",
    "до 01.12", "usd", "RUB", "120 000", "1,5", "-100", "0.001", "ru", "en", "off", "9-19",
    "25-99", "8:30", "UTC+3", "UTC+99", "Europe/Moscow", "Mars/Base", "..", "../../etc/passwd",
    "join-", "'; DROP TABLE clients; --", "%s%s%n", "{0}", "{name}", "{}", "%(x)s", " ",
]
_HOSTILE_CHARS = st.characters(codec="utf-8", exclude_categories=["Cs"])
_WORD = st.one_of(st.sampled_from(_PIECES), st.text(_HOSTILE_CHARS, max_size=12))


def _clip(text: str, limit: int) -> str:
    return text[:limit]


_SHORT_TEXT = st.lists(_WORD, min_size=1, max_size=10).map(" ".join)
_LONG_TEXT = st.tuples(_SHORT_TEXT, st.integers(50, 4096)).map(
    lambda pair: _clip(pair[0] * (pair[1] // max(1, len(pair[0])) + 1), pair[1])
)
TEXT = st.one_of(_SHORT_TEXT, _SHORT_TEXT, _SHORT_TEXT, _LONG_TEXT).map(
    lambda text: _clip(text, 4096)
).filter(lambda text: text.strip() != "")

_EXTRA_COMMANDS = [
    "start", "newclient", "task", "note", "find", "notes", "urgent", "team", "invoice", "edit",
    "done", "alias", "cancel", "client", "backup", "intake", "handover", "import", "export",
    "forget_me", "today", "overdue", "week", "nodate", "undo", "nosuchcommand", "START",
]
COMMANDS = sorted({name for name, _ in _MENU} | set(_EXTRA_COMMANDS))
_ARGS = st.one_of(
    st.just(""),
    _SHORT_TEXT,
    _LONG_TEXT,
    st.builds(lambda words: f"{OWN}: {words}", _SHORT_TEXT),
    st.builds(str, st.integers(-(2**70), 2**70)),
    st.lists(st.integers(-5, 60).map(str), min_size=1, max_size=5).map(" ".join),
    st.sampled_from(["new Agency", "invite", "leave", "secret", "join-abc", "join-", "@someone",
                     "@am_assistant_bot", "ru", "en", "xx", "off", "on", "9-19", "8:30"]),
)
COMMAND_TEXT = st.builds(
    lambda name, mention, args: _clip(f"/{name}{mention}{' ' + args if args else ''}", 4096),
    st.sampled_from(COMMANDS),
    st.sampled_from(["", "", "", "@am_assistant_bot", "@other_bot"]),
    _ARGS,
)
_ENTITY_TYPES = [
    "bold", "italic", "underline", "strikethrough", "spoiler", "code", "pre", "text_link",
    "url", "mention", "hashtag", "bot_command", "email", "phone_number", "blockquote",
    "custom_emoji", "text_mention", "cashtag",
]
ENTITIES = st.lists(
    st.tuples(st.sampled_from(_ENTITY_TYPES), st.floats(0, 1), st.floats(0, 1)), max_size=4
).map(tuple)
LANGUAGES = st.sampled_from(["en", "ru", None, "de", "ru-RU", "pt-br"])
USER = st.sampled_from(USERS)
_FORWARD = st.tuples(
    st.sampled_from(["user", "hidden", "chat", "channel"]),
    st.one_of(st.sampled_from(["Qwerty", OWN, "Иван Петров", "", "@x"]), _SHORT_TEXT),
)
_CSV = st.one_of(
    st.binary(max_size=400),
    st.lists(
        st.lists(st.one_of(_WORD, st.just(OWN)), min_size=1, max_size=7).map(";".join),
        max_size=6,
    ).map(lambda rows: "\n".join(["name;contact;phone;email;channel;cadence", *rows]).encode()),
    st.just("название,контакт\nАкме,Иван\n".encode("cp1251")),
)

TEXT_MESSAGES = st.builds(
    Sent,
    user=USER,
    text=st.one_of(TEXT, COMMAND_TEXT, COMMAND_TEXT),
    entities=ENTITIES,
    language=LANGUAGES,
    reply_to=st.one_of(st.none(), st.integers(0, 20)),
)
GROUP_MESSAGES = st.builds(
    Sent, user=USER, text=st.one_of(TEXT, COMMAND_TEXT), group=st.just(True)
)
MEDIA = st.builds(
    Sent,
    user=USER,
    text=st.one_of(st.just(""), TEXT.map(lambda text: _clip(text, 1024)),
                   st.sampled_from(["/import", "/import@am_assistant_bot", "/note x"])),
    kind=st.sampled_from(["voice", "photo", "document", "audio", "video", "video_note"]),
    entities=ENTITIES,
    language=LANGUAGES,
    document=st.one_of(st.none(), _CSV),
    file_name=st.one_of(st.none(), st.sampled_from(["clients.csv", "a.txt", "x" * 300]), TEXT),
)
FORWARDS = st.builds(
    Sent, user=USER, text=st.one_of(TEXT, COMMAND_TEXT), forward=_FORWARD,
    kind=st.sampled_from(["text", "text", "voice", "photo"]),
)
EDITS = st.builds(Edited, user=USER, index=st.integers(0, 10), text=st.one_of(TEXT, COMMAND_TEXT))

# Words the handlers compare callback fields with (and the ops' enum values), so packs reach
# past the first check.
_LITERALS = sorted(
    {
        word
        for source in [*(ROOT / "handlers").rglob("*.py"), ROOT / "bot" / "callbacks.py"]
        for word in re.findall(r"\"([a-z_]{1,12})\"", source.read_text(encoding="utf-8"))
    }
)
_CALLBACK_CLASSES = sorted(
    (
        value
        for value in vars(bot.callbacks).values()
        if isinstance(value, type)
        and issubclass(value, CallbackData)
        and value is not CallbackData
    ),
    key=lambda cls: cls.__name__,
)
_IDS = st.one_of(
    st.integers(-2, 40),
    st.sampled_from([2**31, 2**63 - 1, 2**63, 10**30, -(2**63) - 1, USER_A, USER_B]),
)
_FIELD_TEXT = st.one_of(
    st.sampled_from(_LITERALS), st.sampled_from(["ru", "en", "Europe/Moscow", "Mars/Base", "15",
                                                   "60", "tm", "pick", "1", "-5", "9999"]),
    st.text(_HOSTILE_CHARS, max_size=10),
)


@st.composite
def packed(draw: st.DrawFn) -> str:
    """A callback pack of a real class with random values (forged if it cannot be packed)."""
    cls: type[CallbackData] = draw(st.sampled_from(_CALLBACK_CLASSES))
    values: dict[str, Any] = {}
    for name, info in cls.model_fields.items():
        values[name] = draw(_IDS) if info.annotation in (int, "int") else draw(_FIELD_TEXT)
    try:
        data = cls(**values).pack()
    except ValueError:
        prefix = cls.__prefix__
        data = ":".join([prefix, *(str(value) for value in values.values())])
    return data.encode()[:64].decode("utf-8", "ignore") or "x"


GARBAGE = st.text(_HOSTILE_CHARS, min_size=1, max_size=64).filter(
    lambda data: len(data.encode()) <= 64
)
CALLBACKS = st.builds(
    Pressed,
    user=USER,
    data=st.one_of(packed(), packed(), GARBAGE, st.none(), st.none()),
    owner=USER,
    index=st.integers(0, 50),
    on=st.sampled_from(["bot", "bot", "old", "gone"]),
    language=LANGUAGES,
)


# ---------------------------------------------------------------- one fuzz run

# Shared by every world: the seeded database keeps the update ids it applied, and an id seen
# again is skipped as Telegram's redelivery of it.
_UPDATE_IDS = iter(range(10_000, 10**9))


@dataclass
class World:
    dispatcher: Dispatcher
    bot: Bot
    session: LocalSession
    ids: Iterator[int] = field(default_factory=lambda: _UPDATE_IDS)
    # user -> ids of the messages they sent, in order
    sent: dict[int, list[int]] = field(default_factory=lambda: {user: [] for user in USERS})
    # user -> callback data of buttons the bot sent them, with the message that carried them
    buttons: dict[int, list[tuple[str, Message]]] = field(
        default_factory=lambda: {user: [] for user in USERS}
    )
    # user -> messages the bot sent them
    bot_messages: dict[int, list[Message]] = field(
        default_factory=lambda: {user: [] for user in USERS}
    )


class ErrorLog(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR or record.name.startswith("handlers.errors"):
            self.records.append(record)


@contextmanager
def errors_logged() -> Iterator[ErrorLog]:
    handler = ErrorLog()
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield handler
    finally:
        root.removeHandler(handler)


def _person(user: int, language: str | None) -> User:
    names = {USER_A: ("Anna", "anna_am"), USER_B: ("Boris", None)}
    first, username = names[user]
    return User(
        id=user, is_bot=False, first_name=first, username=username, language_code=language
    )


def _own(text: str, user: int) -> str:
    return text.replace(OWN, CLIENT_NAMES[user])


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _entities(text: str, specs: Sequence[tuple[str, float, float]]) -> list[MessageEntity]:
    size = _utf16(text)
    found: list[MessageEntity] = []
    if text.startswith("/"):
        command = text.split(maxsplit=1)[0]
        found.append(MessageEntity(type="bot_command", offset=0, length=_utf16(command)))
    for kind, start, length in specs:
        offset = int(start * size)
        span = max(1, int(length * (size - offset)))
        if offset >= size:
            continue
        extra: dict[str, Any] = {}
        if kind == "text_link":
            extra["url"] = "https://example.com/" + secrets.token_hex(2)
        elif kind == "text_mention":
            extra["user"] = _person(USER_B, "en")
        elif kind == "custom_emoji":
            extra["custom_emoji_id"] = "5368324170671202286"
        elif kind == "pre":
            extra["language"] = "python"
        found.append(MessageEntity(type=kind, offset=offset, length=span, **extra))
    return found


def _origin(kind: str, name: str) -> Any:
    date = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    if kind == "user":
        return MessageOriginUser(
            date=date,
            sender_user=User(id=777, is_bot=False, first_name=name or "X", username="qwerty_c"),
        )
    if kind == "hidden":
        return MessageOriginHiddenUser(date=date, sender_user_name=name or "Hidden")
    chat = Chat(id=-100123, type="channel" if kind == "channel" else "supergroup", title=name)
    if kind == "channel":
        return MessageOriginChannel(date=date, chat=chat, message_id=5, author_signature=name)
    return MessageOriginChat(date=date, sender_chat=chat, author_signature=name)


def _media(world: World, sent: Sent, file_id: str) -> dict[str, Any]:
    unique = secrets.token_hex(4)
    if sent.kind == "voice":
        return {"voice": Voice(file_id=file_id, file_unique_id=unique, duration=7)}
    if sent.kind == "photo":
        return {"photo": [PhotoSize(file_id=file_id, file_unique_id=unique, width=9, height=9)]}
    if sent.kind == "audio":
        return {"audio": Audio(file_id=file_id, file_unique_id=unique, duration=60,
                               title=sent.file_name)}
    if sent.kind == "video":
        return {"video": Video(file_id=file_id, file_unique_id=unique, width=9, height=9,
                               duration=3)}
    if sent.kind == "video_note":
        return {"video_note": VideoNote(file_id=file_id, file_unique_id=unique, length=9,
                                        duration=3)}
    content = sent.document if sent.document is not None else b"name\nAcme\n"
    content = content.replace(OWN.encode(), CLIENT_NAMES[sent.user].encode())
    return {
        "document": Document(
            file_id=world.session.add_file(content), file_unique_id=unique,
            file_name=sent.file_name, mime_type="text/csv", file_size=len(content),
        )
    }


def build_update(world: World, action: Action) -> tuple[Update, int, str]:
    """The update, the chat the bot may answer in, and its kind (for the counts)."""
    update_id = next(world.ids)
    if isinstance(action, Pressed):
        data = action.data
        owner_buttons = world.buttons[action.owner]
        message_on: Message | InaccessibleMessage | None = None
        if data is None:
            if owner_buttons:
                data, message_on = owner_buttons[action.index % len(owner_buttons)]
            else:
                data = "x"
        chat = Chat(id=action.user, type="private")
        if action.on == "gone":
            message_on = InaccessibleMessage(chat=chat, message_id=action.index + 1, date=0)
        elif action.on == "old" or message_on is None or action.owner != action.user:
            message_on = Message(
                message_id=action.index + 1, date=datetime.now(UTC), chat=chat,
                from_user=User(id=42, is_bot=True, first_name="Assistant"), text="old message",
            )
        query = CallbackQuery(
            id=f"q{update_id}", from_user=_person(action.user, action.language),
            chat_instance="1", message=message_on, data=data,
        )
        kind = "callback (real button)" if action.data is None else "callback (forged)"
        return Update(update_id=update_id, callback_query=query), action.user, kind
    if isinstance(action, Edited):
        earlier = world.sent[action.user]
        message_id = earlier[action.index % len(earlier)] if earlier else 1
        text = _own(action.text, action.user)
        edited = Message(
            message_id=message_id, date=datetime.now(UTC), edit_date=1,
            chat=Chat(id=action.user, type="private"), from_user=_person(action.user, "en"),
            text=text, entities=_entities(text, ()) or None,
        )
        return Update(update_id=update_id, edited_message=edited), action.user, "edit"
    sent = action
    message_id = next(world.ids)
    world.sent[sent.user].append(message_id)
    text = _own(sent.text, sent.user)
    chat = (
        Chat(id=-5000 - sent.user, type="group", title="Agency")
        if sent.group
        else Chat(id=sent.user, type="private")
    )
    fields: dict[str, Any] = {}
    if sent.kind == "text":
        fields["text"] = text
        fields["entities"] = _entities(text, sent.entities) or None
        kind = "command" if text.startswith("/") else "text"
    else:
        fields.update(_media(world, sent, f"file-{secrets.token_hex(4)}"))
        if text and sent.kind != "video_note":
            fields["caption"] = text[:1024]
            fields["caption_entities"] = _entities(text[:1024], sent.entities) or None
        kind = f"media ({sent.kind})"
    if sent.forward is not None:
        fields["forward_origin"] = _origin(sent.forward[0], _own(sent.forward[1], sent.user))
        kind = "forward"
    if sent.reply_to is not None and world.bot_messages[sent.user]:
        mine = world.bot_messages[sent.user]
        fields["reply_to_message"] = mine[sent.reply_to % len(mine)]
    if sent.group:
        kind = "group"
    message = Message(
        message_id=message_id, date=datetime.now(UTC), chat=chat,
        from_user=_person(sent.user, sent.language), **fields,
    )
    return Update(update_id=update_id, message=message), chat.id, kind


async def feed(world: World, action: Action, log: ErrorLog) -> None:
    update, chat_id, kind = build_update(world, action)
    start = len(world.session.requests)
    await world.dispatcher.feed_update(world.bot, update)
    FUZZED[kind] += 1
    calls = world.session.requests[start:]
    results = world.session.responses[start:]
    where = f"after {kind} {action!r}"
    crashes = [
        f"{record.levelname} {record.name}: {record.getMessage()}\n{record.exc_text or ''}"
        for record in log.records
    ]
    if crashes and log.records[0].exc_info:
        exc_info = log.records[0].exc_info
        raise AssertionError(f"handler crashed {where}: {crashes}") from exc_info[1]
    assert not crashes, f"errors logged {where}: {crashes}"
    user = action.user
    other = USER_B if user == USER_A else USER_A
    for method in calls:
        problems = method_problems(method)
        assert not problems, f"{problems} {where}"
        recipient = getattr(method, "chat_id", None)
        assert recipient in (None, chat_id), f"{type(method).__name__} to {recipient} {where}"
        if isinstance(method, AnswerCallbackQuery):
            assert method.callback_query_id == update.callback_query.id  # type: ignore[union-attr]
        shown = readable(method)
        SHOWN["other"] += MARKERS[other] in shown
        assert MARKERS[other] not in shown, (
            f"user {user} was shown user {other}'s data {where}: {method!r}"
        )
        SHOWN["own"] += MARKERS[user] in shown
    if update.callback_query is not None:
        answered = [m for m in calls if isinstance(m, AnswerCallbackQuery)]
        assert answered, f"button press not answered {where}: {calls!r}"
    if update.message is not None and update.message.chat.type != "group":
        assert calls, f"no reply {where}"
    for method, result in zip(calls, results, strict=True):
        if isinstance(result, Message) and result.chat.id == user:
            world.bot_messages[user].append(result)
            markup = getattr(method, "reply_markup", None)
            if isinstance(markup, InlineKeyboardMarkup):
                for row in markup.inline_keyboard:
                    for button in row:
                        if button.callback_data:
                            world.buttons[user].append((button.callback_data, result))
        elif isinstance(method, EditMessageReplyMarkup | EditMessageCaption):
            continue


# ---------------------------------------------------------------- the seeded database

_SEED = [
    "/start",
    "/newclient {name}",
    "/alias {name} Qw{marker}",
    "/note {name}: secret {marker} note",
    "/task {name}: call {marker} tomorrow 10",
    "/task {name}: report {marker} every month on the 1st at 10:00",
    "/task {marker} some day",
    "/cancel",
    "/invoice {name} 1000 due fri {marker}",
    "{marker} plain note",
    "{name}: wants a discount {marker}",
]
_TEMPLATE = _WORKDIR / "template.sqlite3"
_SEEDED_BUTTONS: dict[int, list[tuple[str, Message]]] = {user: [] for user in USERS}


def build_dispatcher(storage: Storage) -> Dispatcher:
    # Building the routers costs ~0.1 s, so one dispatcher serves every example of a test.
    return create_dispatcher(
        settings=SETTINGS, storage=storage, clock=FakeClock(NOW), dates=_DATES,
        i18n=create_i18n("en"),
    )


def new_world(dispatcher: Dispatcher) -> World:
    session = LocalSession()
    world = World(dispatcher, create_bot(SETTINGS, session=session), session)
    for user in USERS:
        world.buttons[user].extend(_SEEDED_BUTTONS[user])
    return world


async def seeded_template() -> Path:
    """A database where both users keep marked clients, tasks, notes, an invoice (once)."""
    if _TEMPLATE.exists():
        return _TEMPLATE
    building = _WORKDIR / "template-building.sqlite3"
    storage = await open_sqlite_storage(building)
    try:
        world = new_world(build_dispatcher(storage))
        with errors_logged() as log:
            for user in USERS:
                for line in _SEED:
                    text = line.format(name=CLIENT_NAMES[user], marker=MARKERS[user])
                    await feed(world, Sent(user=user, text=text), log)
            voice = Sent(user=USER_B, text=f"voice {MARKERS[USER_B]}", kind="voice")
            await feed(world, voice, log)
        for user in USERS:
            assert len(await storage.clients.match(user, "Qwerty")) == 1
            assert await storage.notes.count(user, None) >= 3
            _SEEDED_BUTTONS[user] = list(world.buttons[user])
    finally:
        await storage.backend.close()
    FUZZED.clear()  # the seed is not fuzz
    SHOWN.clear()
    building.rename(_TEMPLATE)  # closed cleanly: WAL checkpointed into the file
    return _TEMPLATE


@dataclass
class Rig:
    dispatcher: Dispatcher
    live: aiosqlite.Connection
    template: aiosqlite.Connection


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    template_path = await seeded_template()
    path = tmp_path / "fuzz.sqlite3"
    shutil.copyfile(template_path, path)
    storage = await open_sqlite_storage(path)
    template = await aiosqlite.connect(template_path)
    try:
        backend = storage.backend
        assert isinstance(backend, Database)
        yield Rig(build_dispatcher(storage), backend._connection, template)
    finally:
        await template.close()
        await storage.backend.close()


async def fuzz(rig: Rig, name: str, actions: Sequence[Action]) -> None:
    # Every example starts from the seeded database, whatever the one before did.
    await rig.template.backup(rig.live)
    EXAMPLES[name] += 1
    world = new_world(rig.dispatcher)
    with errors_logged() as log:
        for action in actions:
            await feed(world, action, log)


_SETTINGS = settings(
    max_examples=EXAMPLES_PER_TEST,
    deadline=None,
    # The rig is reset by fuzz() at the start of every example.
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much, HealthCheck.function_scoped_fixture],
)


@seed(FUZZ_SEED)
@_SETTINGS
@given(actions=st.lists(st.one_of(TEXT_MESSAGES, GROUP_MESSAGES, EDITS), min_size=1, max_size=4))
async def test_fuzz_messages_and_commands(rig: Rig, actions: list[Action]) -> None:
    await fuzz(rig, "messages", actions)


@seed(FUZZ_SEED)
@_SETTINGS
@given(actions=st.lists(st.one_of(CALLBACKS, TEXT_MESSAGES), min_size=1, max_size=5))
async def test_fuzz_buttons_and_callback_data(rig: Rig, actions: list[Action]) -> None:
    await fuzz(rig, "callbacks", actions)


@seed(FUZZ_SEED)
@_SETTINGS
@given(actions=st.lists(st.one_of(MEDIA, FORWARDS, CALLBACKS), min_size=1, max_size=4))
async def test_fuzz_media_and_forwards(rig: Rig, actions: list[Action]) -> None:
    await fuzz(rig, "media", actions)


def test_the_html_checker_knows_telegrams_rules() -> None:
    assert html_problem('<b>x</b> &amp; <a href="https://t.me">y</a> &#39; &#x27;') is None
    assert html_problem('<code>1</code><pre>2</pre><span class="tg-spoiler">3</span>') is None
    assert html_problem("a < b") is not None
    assert html_problem("Tom & Jerry") is not None
    assert html_problem("<b>x") is not None
    assert html_problem("<b><i>x</b></i>") is not None
    assert html_problem("<div>x</div>") is not None
    assert html_problem("<span>x</span>") is not None
    assert html_problem("&nbsp;") is not None
    assert html_problem("<a>x</a>") is not None


def test_the_leak_check_sees_through_markup_and_files() -> None:
    marker = MARKERS[USER_B]
    split = SendMessage(chat_id=USER_A, text=f"<b>{marker[:4]}</b>{marker[4:]}")
    assert marker in readable(split)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as packed_file:
        packed_file.writestr("notes.csv", f"text\n{marker}\n")
    sent = SendDocument(
        chat_id=USER_A, document=BufferedInputFile(archive.getvalue(), filename="data.zip")
    )
    assert marker in readable(sent)


async def test_a_crashing_handler_fails_the_fuzz(rig: Rig) -> None:
    async def crash(message: Message) -> None:
        raise RuntimeError("boom")

    # The dispatcher's own handlers run before its routers.
    rig.dispatcher.message.register(crash, F.text == "crash!")
    world = new_world(rig.dispatcher)
    with errors_logged() as log, pytest.raises(AssertionError, match="handler crashed"):
        await feed(world, Sent(user=USER_A, text="crash!"), log)
    # The user was told, as the errors router does for every crash.
    assert "Something went wrong" in str(world.session.requests[-1])


# Inputs the fuzzer once broke the bot with (see the commit that fixed each).
REGRESSIONS: list[list[Action]] = [
    # A forged button with an id beyond SQLite's INTEGER overflowed in the database.
    [Pressed(user=USER_A, data=f"np:{2**63}:0")],
    [Pressed(user=USER_B, data=f"c:open:{10**30}:")],
    # A long unknown client name, escaped and echoed twice, made a 4097-character reply.
    [Sent(user=USER_A, text="/notes " + "<b>" * 677, language="ru")],
]


@pytest.mark.parametrize("actions", REGRESSIONS)
async def test_inputs_that_once_broke_the_bot(rig: Rig, actions: list[Action]) -> None:
    await fuzz(rig, "regressions", actions)
