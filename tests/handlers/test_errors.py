"""The last-resort error handler: a button press whose handling fails gets one answer, the
alert (the press middleware leaves a failed press unanswered for it)."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery

from storage.errors import StorageError
from storage.interfaces import Storage
from tests.handlers.harness import ChatHarness, Replies

WENT_WRONG = "⚠️ Something went wrong on my side. Please try again."
NOT_SAVED = "⚠️ Could not save that. Please try again."


def answers(replies: Replies) -> list[tuple[str | None, bool | None]]:
    return [(answer.text, answer.show_alert) for answer in replies.of(AnswerCallbackQuery)]


def failing(error: Exception) -> Any:
    async def fail(*args: object, **kwargs: object) -> None:
        raise error

    return fail


async def test_a_press_whose_handler_crashes_gets_one_answer_the_alert(
    chat: ChatHarness, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await chat.send("/settings")
    monkeypatch.setattr(storage.users, "set_digest", failing(RuntimeError("boom")))
    replies = await chat.press("Digest off")
    assert answers(replies) == [(WENT_WRONG, True)]


async def test_a_press_whose_write_fails_gets_one_answer_the_alert(
    chat: ChatHarness, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await chat.send("/settings")
    monkeypatch.setattr(storage.users, "set_hours", failing(StorageError("locked")))
    replies = await chat.press("10–19")
    assert answers(replies) == [(NOT_SAVED, True)]


async def test_a_press_whose_loading_filter_fails_gets_one_answer_the_alert(
    chat: ChatHarness, storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:
    await chat.send("/settings")
    monkeypatch.setattr(storage.users, "get", failing(RuntimeError("boom")))
    replies = await chat.press("Digest off")
    assert answers(replies) == [(WENT_WRONG, True)]
