"""Kill -9 rounds: the real ``python -m bot`` is SIGKILLed at random moments, then started
again, while four users keep writing (notes, ``/task … in 1 minute``, ``/task … tomorrow``,
``/done N``) and, in some rounds, while a burst of reminders goes out (six tasks per user due
at the same moment). At the end, with the bot stopped and the database opened read-only:

- every acknowledged write (its reply reached the fake Bot API) is stored: the note, the task
  with its text, the task marked done;
- ``PRAGMA integrity_check`` is ok, and no reminder is left claimed or failed;
- every reminder that fell due arrived at least once and at most twice, and twice only if it
  was in flight (claimed) at a kill; every reminder not yet due is still pending.

The random moments come from a seeded RNG, with a fixed seed unless ``KILL_ROUNDS_SEED=<n>``
gives another: the seed is printed and is in every failure message, and replays the choices
(the timing still varies). While the bot
is down the test moves the burst's tasks to a few seconds after the restart and ages the
claims left by the kill past the bot's 2-minute lease, as if that much time had passed.

Run with ``pytest -m slow tests/e2e/test_kill_rounds.py -v -s`` (about 45 s; ``-s`` shows the
figures).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import random
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.callbacks import NoteAction, RemindAction
from tests.e2e.conftest import BotProcess, Launcher
from tests.e2e.test_bot_process import WAIT, plain_text, stop, wait_polling
from tests.fakes.fake_bot_api import JSON, FakeBotAPI

DEFAULT_SEED = 20261126  # every run (and CI) makes the same choices unless KILL_ROUNDS_SEED is set
ROUNDS = 5
BURST_ROUNDS = frozenset({1, 3})  # these rounds are killed during a reminder burst
USERS = (5501, 5502, 5503, 5504)
BURST_PER_USER = 6  # 24 reminders due at the same second; one a second per chat
BURST_LEAD = 5.0  # seconds from a restart to its burst (start-up takes 2-3 s)
BURST_KILL_WINDOW = (0.0, 6.5)  # the kill, in seconds after the burst's moment
KILL_WINDOW = (0.5, 3.5)  # the kill, in seconds after polling resumed (other rounds)
CLAIM_LEASE = timedelta(minutes=2)  # bot/services/reminder_delivery.py STALE_CLAIM
ITEM = "item"  # every task's text is "<token> item"
_TOKEN = re.compile(r"\b([nsfb])(\d{4})u(\d+)\b")
_TASK_CREATED = re.compile(r"^✅ Task #(\d+)")
_DONE = re.compile(r"✅ Done: #(\d+)|#(\d+) is already done")


def stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def callback_ids(params: JSON, action: type[NoteAction] | type[RemindAction]) -> list[int]:
    """Ids in the buttons of a sent message whose callback data is an ``action``."""
    markup = params.get("reply_markup")
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    ids = []
    for row in rows:
        for button in row:
            data = str(button.get("callback_data", ""))
            if data.split(":", 1)[0] == action.__prefix__:
                ids.append(action.unpack(data).id)
    return ids


@dataclass
class Ledger:
    """What the users sent, and what the bot acknowledged (read from the fake's calls)."""

    sent_notes: dict[int, set[str]] = field(default_factory=lambda: {u: set() for u in USERS})
    notes: dict[int, set[int]] = field(default_factory=lambda: {u: set() for u in USERS})
    tasks: dict[int, dict[int, str]] = field(default_factory=lambda: {u: {} for u in USERS})
    done: dict[int, set[int]] = field(default_factory=lambda: {u: set() for u in USERS})
    done_asked: dict[int, set[int]] = field(default_factory=lambda: {u: set() for u in USERS})
    reminders: Counter[int] = field(default_factory=Counter)  # task id -> arrivals
    scanned: int = 0

    def scan(self, api: FakeBotAPI) -> None:
        for method, params in api.calls[self.scanned :]:
            chat = params.get("chat_id")
            if method != "sendMessage" or chat not in self.notes:
                continue
            assert isinstance(chat, int)
            text = plain_text(params)
            if text.startswith("📝 Note saved"):
                self.notes[chat].update(callback_ids(params, NoteAction)[:1])
            elif text.startswith("🔔"):
                self.reminders.update(set(callback_ids(params, RemindAction)))
            elif (created := _TASK_CREATED.match(text)) and (token := _TOKEN.search(text)):
                self.tasks[chat][int(created.group(1))] = token.group(0)
            for done in _DONE.finditer(text):
                self.done[chat].add(int(done.group(1) or done.group(2)))
        self.scanned = len(api.calls)

    def acknowledged(self) -> int:
        return sum(
            len(self.notes[u]) + len(self.tasks[u]) + len(self.done[u]) for u in USERS
        )


async def write_stream(
    api: FakeBotAPI,
    ledger: Ledger,
    user_id: int,
    rng: random.Random,
    numbers: Iterable[int],
    stopping: asyncio.Event,
) -> None:
    """One user's writes, a few a second, whether or not the bot is up (Telegram queues)."""
    for number in numbers:
        if stopping.is_set():
            return
        roll = rng.random()
        if roll < 0.4:
            text = f"n{number:04d}u{user_id} memo"
            ledger.sent_notes[user_id].add(text)
        elif roll < 0.6:
            text = f"/task s{number:04d}u{user_id} {ITEM} in 1 minute"
        elif roll < 0.8:
            text = f"/task f{number:04d}u{user_id} {ITEM} tomorrow 10am"
        else:
            ledger.scan(api)
            far = sorted(
                task
                for task, token in ledger.tasks[user_id].items()
                if token[0] == "f" and task not in ledger.done_asked[user_id]
            )
            if far:
                task = rng.choice(far)
                ledger.done_asked[user_id].add(task)
                text = f"/done {task}"
            else:
                text = f"n{number:04d}u{user_id} memo"
                ledger.sent_notes[user_id].add(text)
        api.push_message(text, user_id=user_id, chat_id=user_id, language_code="en")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), rng.uniform(0.1, 0.5))


def read_only(database: Path) -> contextlib.closing[sqlite3.Connection]:
    return contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True))


def claimed_reminders(database: Path) -> set[int]:
    with read_only(database) as raw:
        rows = raw.execute("SELECT id FROM reminders WHERE status = 'claimed'").fetchall()
    return {row[0] for row in rows}


def age_claims(database: Path) -> None:
    """As if the bot stayed down past the claim lease: its claims may be taken back."""
    old = stamp(datetime.now(UTC) - CLAIM_LEASE - timedelta(minutes=1))
    with contextlib.closing(sqlite3.connect(database)) as raw, raw:
        raw.execute("UPDATE reminders SET claimed_at = ? WHERE status = 'claimed'", (old,))


def move_tasks(database: Path, tasks: list[tuple[int, int]], due: datetime) -> None:
    """Make these tasks (owner, number) and their planned reminders due at ``due``."""
    with contextlib.closing(sqlite3.connect(database)) as raw, raw:
        for owner, number in tasks:
            raw.execute(
                "UPDATE tasks SET due_at = ? WHERE owner_id = ? AND number = ?",
                (stamp(due), owner, number),
            )
            moved = raw.execute(
                "UPDATE reminders SET fire_at = ?, for_due_at = ? WHERE status = 'pending'"
                " AND purpose = 'due' AND task_id ="
                " (SELECT id FROM tasks WHERE owner_id = ? AND number = ?)",
                (stamp(due), stamp(due), owner, number),
            ).rowcount
            assert moved == 1, (owner, number)


async def settle(bot: BotProcess, database: Path, reminders: set[int]) -> None:
    """Wait until none of ``reminders`` is pending or claimed (sent again after a kill)."""
    marks = ",".join("?" * len(reminders))

    async def done() -> None:
        while True:
            with read_only(database) as raw:
                (left,) = raw.execute(
                    f"SELECT count(*) FROM reminders WHERE id IN ({marks})"
                    " AND status IN ('pending', 'claimed')",
                    tuple(reminders),
                ).fetchone()
            if not left:
                return
            await asyncio.sleep(0.2)

    if reminders:
        await bot.race(asyncio.wait_for(done(), 2 * WAIT))


async def quiesce(bot: BotProcess, api: FakeBotAPI, database: Path) -> datetime:
    """Wait until every queued update is taken and every reminder due is sent; return when."""

    async def quiet() -> datetime:
        while True:
            now = datetime.now(UTC)
            with read_only(database) as raw:
                (due,) = raw.execute(
                    "SELECT count(*) FROM reminders WHERE status IN ('pending', 'claimed')"
                    " AND fire_at <= ?",
                    (stamp(now),),
                ).fetchone()
            if not due and not api.pending_updates:
                return now
            await asyncio.sleep(0.2)

    return await bot.race(asyncio.wait_for(quiet(), 3 * WAIT))


async def test_acknowledged_writes_and_reminders_survive_kill_9_rounds(
    fake_api: FakeBotAPI, bot_env: dict[str, str], launch_bot: Launcher, tmp_path: Path
) -> None:
    seed = int(os.environ.get("KILL_ROUNDS_SEED") or DEFAULT_SEED)
    print(f"kill rounds: seed {seed} (KILL_ROUNDS_SEED={seed} replays it)")  # noqa: T201
    rng = random.Random(seed)
    api = fake_api
    database = tmp_path / "db" / "assistant.sqlite3"
    ledger = Ledger()
    numbers = itertools.count(1)
    runs: list[BotProcess] = []

    async def start() -> BotProcess:
        mark = api.mark()
        bot = await launch_bot(bot_env)
        runs.append(bot)
        await wait_polling(api, bot, after=mark)
        return bot

    bot = await start()
    # Set-up, not killed: working hours off (reminders at any hour) and the burst's tasks.
    burst_tasks: dict[int, list[str]] = {}
    for user_id in USERS:
        api.push_message("/hours off", user_id=user_id, chat_id=user_id, language_code="en")
        burst_tasks[user_id] = [
            f"b{next(numbers):04d}u{user_id}" for _ in range(len(BURST_ROUNDS) * BURST_PER_USER)
        ]
        for token in burst_tasks[user_id]:
            text = f"/task {token} {ITEM} tomorrow 10am"
            api.push_message(text, user_id=user_id, chat_id=user_id, language_code="en")

    def all_burst_tasks_created() -> bool:
        ledger.scan(api)
        created = {token for user in USERS for token in ledger.tasks[user].values()}
        return all(token in created for tokens in burst_tasks.values() for token in tokens)

    await bot.race(api.wait_until(all_burst_tasks_created, timeout=2 * WAIT))
    numbers_of = {
        (user, token): number for user in USERS for number, token in ledger.tasks[user].items()
    }

    stopping = asyncio.Event()
    writers = [
        asyncio.create_task(
            write_stream(api, ledger, user_id, random.Random(rng.random()), numbers, stopping)
        )
        for user_id in USERS
    ]
    in_flight: set[int] = set()  # reminders claimed at some kill
    recovering: set[int] = set()  # those claimed at the last kill
    bursts = 0
    try:
        for round_number in range(ROUNDS):
            burst_at: float | None = None
            if round_number:
                if round_number in BURST_ROUNDS:
                    burst_at = time.time() + BURST_LEAD
                    picks = [
                        (user, numbers_of[user, burst_tasks[user][bursts * BURST_PER_USER + k]])
                        for user in USERS
                        for k in range(BURST_PER_USER)
                    ]
                    move_tasks(database, picks, datetime.fromtimestamp(burst_at, UTC))
                    bursts += 1
                bot = await start()
            # A reminder cut short by the last kill goes out again before the next kill,
            # so no reminder is in flight at two kills.
            await settle(bot, database, recovering)
            if burst_at is not None:
                kill_at = burst_at + rng.uniform(*BURST_KILL_WINDOW)
            else:
                kill_at = time.time() + rng.uniform(*KILL_WINDOW)
            await bot.race(asyncio.sleep(max(0.0, kill_at - time.time())))
            await bot.kill()  # SIGKILL
            assert bot.proc.returncode == -9, bot.describe()
            recovering = claimed_reminders(database)
            in_flight |= recovering
            age_claims(database)
    finally:
        stopping.set()
        await asyncio.gather(*writers)

    bot = await start()
    await settle(bot, database, recovering)
    while True:
        quiet_at = await quiesce(bot, api, database)
        # Stop well away from a minute's start, when "in 1 minute" tasks fall due.
        if 60 - quiet_at.timestamp() % 60 > 3.0:
            break
        await asyncio.sleep(60 - quiet_at.timestamp() % 60 + 1.5)
    await asyncio.sleep(1.0)  # the replies of the last updates
    await stop(bot)
    ledger.scan(api)

    context = f"seed {seed}"
    with read_only(database) as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok", context
        notes = {
            row[0]: (row[1], row[2], row[3])
            for row in raw.execute("SELECT id, owner_id, text, deleted_at FROM notes")
        }
        tasks = {
            (row[1], row[2]): (row[0], row[3], row[4], row[5])
            for row in raw.execute("SELECT id, owner_id, number, text, status, due_at FROM tasks")
        }
        reminders = raw.execute(
            "SELECT id, task_id, purpose, fire_at, status FROM reminders"
        ).fetchall()

    # Every acknowledged write is there.
    for user in USERS:
        for note_id in ledger.notes[user]:
            assert note_id in notes, (context, user, note_id)
            owner, text, deleted_at = notes[note_id]
            assert owner == user and deleted_at is None, (context, note_id)
            assert text in ledger.sent_notes[user], (context, note_id, text)
        for number, token in ledger.tasks[user].items():
            assert (user, number) in tasks, (context, user, number, token)
            assert tasks[user, number][1] == f"{token} {ITEM}", (context, user, number)
        for number in ledger.done[user]:
            assert tasks[user, number][2] == "done", (context, user, number)

    # Every reminder that fell due arrived once, or twice if it was in flight at a kill.
    quiet = stamp(quiet_at)
    by_status = Counter(row[4] for row in reminders)
    assert not by_status["claimed"] and not by_status["failed"], (context, by_status)
    sent_for: dict[int, list[int]] = {}
    for reminder_id, task_id, _purpose, fire_at, status in reminders:
        if status == "sent":
            sent_for.setdefault(task_id, []).append(reminder_id)
        elif status == "pending":
            assert fire_at > quiet, (context, "a due reminder was never sent", reminder_id)
            assert ledger.reminders[task_id] == 0, (context, reminder_id)
    duplicates = 0
    for task_id, sent in sent_for.items():
        # Each reminder sent arrives once, and once more at most if a kill cut it short.
        arrivals = ledger.reminders[task_id]
        allowed = len(sent) + len(in_flight.intersection(sent))
        assert len(sent) <= arrivals <= allowed, (context, task_id, arrivals, sent, in_flight)
        duplicates += arrivals - len(sent)
    assert set(ledger.reminders) <= set(sent_for), (context, "arrived but not marked sent")
    for user, tokens in burst_tasks.items():
        for token in tokens[: bursts * BURST_PER_USER]:
            task_id = tasks[user, numbers_of[user, token]][0]
            assert task_id in sent_for, (context, "a burst reminder was lost", token)
    for run in runs:
        assert "Traceback" not in run.stderr, (context, run.describe())

    notes_acked = sum(len(ledger.notes[u]) for u in USERS)
    tasks_acked = sum(len(ledger.tasks[u]) for u in USERS)
    done_acked = sum(len(ledger.done[u]) for u in USERS)
    print(  # noqa: T201
        f"kill rounds: {ROUNDS} SIGKILLs ({len(BURST_ROUNDS)} during reminder bursts of "
        f"{len(USERS) * BURST_PER_USER}), {ledger.acknowledged()} acknowledged writes "
        f"({notes_acked} notes, {tasks_acked} tasks, {done_acked} done) all stored, "
        f"{len(sent_for)} reminders delivered ({duplicates} twice, {len(in_flight)} in flight "
        f"at a kill), 0 lost, integrity ok; seed {seed}"
    )
