"""One press, one answer (handlers/buttons.py), through the real Dispatcher: the handler's
text, or the error handler's alert when the handler fails, never both and never none."""

from __future__ import annotations

from typing import Any

import pytest
from aiogram.methods import AnswerCallbackQuery

from tests.handlers.harness import ChatHarness


async def test_a_press_is_answered_once_with_the_handlers_text(chat: ChatHarness) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    await chat.press("Edit")
    done = await chat.press("✅ Done")
    [answer] = done.of(AnswerCallbackQuery)
    assert answer.text == "Done: #1"
    assert not answer.show_alert
    assert done.text.endswith("Done.")  # the card was edited too, before the answer went
    reopened = await chat.press("↩️ Reopen")  # a handler that sets no text: answered, empty
    [answer] = reopened.of(AnswerCallbackQuery)
    assert answer.text is None


async def test_an_expired_button_is_answered_once(chat: ChatHarness) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    await chat.press("Undo")  # deleted: the card's other buttons no longer apply
    for data in ("t:done:1:", "t:setkind:1:nonsense"):
        replies = await chat.press_data(data)
        [answer] = replies.of(AnswerCallbackQuery)
        assert answer.text == "This button is no longer valid." and answer.show_alert, data
        assert replies.texts == []


async def test_a_failing_handler_leaves_the_answer_to_the_error_handler(
    chat: ChatHarness, monkeypatch: pytest.MonkeyPatch
) -> None:
    await chat.send("/task call Ivan tomorrow 10am")
    await chat.press("Edit")

    async def broken(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("the handler fails")

    monkeypatch.setattr(chat.dispatcher["services"].tasks, "complete", broken)
    replies = await chat.press("✅ Done")
    # Not an empty answer first (Telegram takes one per press: the alert would be lost).
    [answer] = replies.of(AnswerCallbackQuery)
    assert answer.show_alert
    assert answer.text == "⚠️ Something went wrong on my side. Please try again."
