"""Alert pages per person: one at a time, and a pile-up goes out as one message.

Telegram lets a bot send one message a second to a chat. When an outside system raises
hundreds of alerts for one person, paging them one by one would hold that person's chat for
minutes, and every engine step waiting on its page would hold its claim as long. So each
person has a small queue here: the first page goes out at once, with its buttons; what
piles up behind it waits until the engine's steps of the round have queued their pages
(`expect`), then a few (`one_by_one`) go one by one, more together as one summary message
that lists them (what `/alerts` shows in full). Pages for different people never wait for
each other: the Sender sends to different chats in parallel within the bot's global budget.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiogram.types import InlineKeyboardMarkup

from bot.sender import Delivery, Priority, Sender

logger = logging.getLogger(__name__)

ONE_BY_ONE = 3


@dataclass(frozen=True, slots=True)
class Page:
    """One message for one person, and the line that stands for it in a summary."""

    text: str
    markup: InlineKeyboardMarkup | None
    line: str
    locale: str
    priority: Priority = Priority.URGENT


# Renders the summary of several pages in the person's locale: (locale, pages) -> text.
Summary = Callable[[str, Sequence[Page]], str]


@dataclass(eq=False, slots=True)
class _Box:
    one_by_one: int  # pages this person may still get one by one in this run
    sent: int = 0  # messages sent in this run (the queue has not emptied since)
    waiting: list[tuple[Page, asyncio.Future[Delivery]]] = field(default_factory=list)
    worker: asyncio.Task[None] | None = None


class PageOutbox:
    def __init__(self, sender: Sender, summary: Summary, *, one_by_one: int = ONE_BY_ONE) -> None:
        self._sender = sender
        self._summary = summary
        self._one_by_one = max(one_by_one, 1)
        self._boxes: dict[int, _Box] = {}
        self._expected = 0
        self._open = asyncio.Event()
        self._open.set()

    def expect(self) -> Callable[[], None]:
        """A step that may page someone is under way: until it calls the function returned
        (once it has queued its pages, or has none), a person who has just been sent a
        page gets nothing more, so a pile-up of one engine round for one person goes out
        together however the database work of the round interleaves. A person's first page
        never waits for this."""
        self._expected += 1
        self._open.clear()
        called = False

        def arrived() -> None:
            nonlocal called
            if called:
                return
            called = True
            self._expected -= 1
            if self._expected == 0:
                self._open.set()

        return arrived

    def submit(self, chat_id: int, page: Page) -> asyncio.Future[Delivery]:
        """Queue a page for this person; the future is the outcome of the message that
        carried it. A page sent inside a summary has no message id of its own."""
        box = self._boxes.get(chat_id)
        if box is None:
            box = self._boxes[chat_id] = _Box(self._one_by_one)
        future: asyncio.Future[Delivery] = asyncio.get_running_loop().create_future()
        box.waiting.append((page, future))
        if box.worker is None:
            box.worker = asyncio.create_task(self._drain(chat_id, box), name=f"pages-{chat_id}")
        return future

    async def send(self, chat_id: int, page: Page) -> Delivery:
        return await self.submit(chat_id, page)

    async def stop(self) -> None:
        workers = [box.worker for box in self._boxes.values() if box.worker is not None]
        for worker in workers:
            worker.cancel()
        await asyncio.gather(*workers, return_exceptions=True)

    async def _drain(self, chat_id: int, box: _Box) -> None:
        batch: list[tuple[Page, asyncio.Future[Delivery]]] = []
        try:
            while True:
                await asyncio.sleep(0)
                if box.sent:
                    # A pile-up: the first page went out at once; let the other steps of
                    # the round queue theirs, so the rest go out together.
                    await self._open.wait()
                batch = [(page, fut) for page, fut in box.waiting if not fut.done()]
                box.waiting = []
                if not batch:
                    return
                await self._send_batch(chat_id, box, batch)
                box.sent += 1
        except BaseException as exc:
            # Nobody may wait for ever on a page that will not go out.
            _abandon([*batch, *box.waiting], exc)
            box.waiting = []
            raise
        finally:
            box.worker = None
            if self._boxes.get(chat_id) is box:
                del self._boxes[chat_id]

    async def _send_batch(
        self, chat_id: int, box: _Box, batch: list[tuple[Page, asyncio.Future[Delivery]]]
    ) -> None:
        # A run of pages (the person's queue never empties) gets `one_by_one` pages of
        # their own at most; after that, only summaries.
        if len(batch) <= box.one_by_one:
            box.one_by_one -= len(batch)
            for page, future in batch:
                delivery = await self._sender.send(
                    chat_id, page.text, reply_markup=page.markup, priority=page.priority,
                )
                _settle(future, delivery)
        else:
            box.one_by_one = 0
            await self._send_summary(chat_id, batch)

    async def _send_summary(
        self, chat_id: int, batch: list[tuple[Page, asyncio.Future[Delivery]]]
    ) -> None:
        pages = [page for page, _future in batch]
        text = self._summary(pages[0].locale, pages)
        sent = await self._sender.send(
            chat_id, text, priority=min(page.priority for page in pages)
        )
        logger.info("chat %s: %d alert messages sent as one summary", chat_id, len(pages))
        # One message carries them all: none has a message of its own to edit later.
        delivery = Delivery(sent.outcome, None, sent.attempts, sent.error)
        for _page, future in batch:
            _settle(future, delivery)


def _settle(future: asyncio.Future[Delivery], delivery: Delivery) -> None:
    if not future.done():
        future.set_result(delivery)


def _abandon(pages: list[tuple[Page, asyncio.Future[Delivery]]], exc: BaseException) -> None:
    """The pages will not go out: each future still waiting gets the error, or is cancelled
    if that was no Exception (the worker was cancelled, the process is exiting)."""
    for _page, future in pages:
        if future.done():
            continue
        if isinstance(exc, Exception):
            future.set_exception(exc)
        else:
            future.cancel()
