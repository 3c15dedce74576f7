"""Property: any text a user can send is stored as a note and returned byte-for-byte."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.app import create_bot, create_dispatcher
from bot.domain.dates import DateParser
from bot.i18n import create_i18n
from bot.local_session import LocalSession
from storage.sqlite import open_sqlite_storage
from tests.fakes.clock import NOW, FakeClock
from tests.handlers.conftest import make_settings
from tests.handlers.harness import USER_ID, ChatHarness

_DATES = DateParser()
_DB = Path(tempfile.mkdtemp(prefix="notes-property-")) / "db.sqlite3"

# Telegram delivers 1..4096 characters; commands start with "/" and are not notes.
telegram_text = st.text(min_size=1, max_size=4096).filter(
    lambda text: text.strip() and not text.startswith("/")
)


async def stored_text(text: str) -> str:
    storage = await open_sqlite_storage(_DB)
    try:
        settings_ = make_settings()
        session = LocalSession()
        dispatcher = create_dispatcher(
            settings=settings_, storage=storage, clock=FakeClock(NOW), dates=_DATES,
            i18n=create_i18n("en"),
        )
        chat = ChatHarness(dispatcher, create_bot(settings_, session=session), session)
        await chat.send(text)
        [note] = await storage.notes.latest(USER_ID, None, offset=0, limit=1)
        reply = session.requests[-1]
        assert "Note saved" in getattr(reply, "text", "")
        return note.text
    finally:
        await storage.backend.close()


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(telegram_text)
def test_any_text_is_kept_exactly(text: str) -> None:
    assert asyncio.run(stored_text(text)) == text
