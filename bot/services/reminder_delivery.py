"""Sending reminders that are due: claim in the database, send, mark.

Runs whenever the scheduler wakes it; safe to run concurrently with itself in another
process because the database hands each reminder to one claimer only.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n

from bot.clock import Clock
from bot.domain.handover import covering_handover
from bot.domain.reminder_plan import held_by_hours, next_working_start
from bot.domain.timezones import user_zone
from bot.i18n import pick_language
from bot.sender import STOPPED, Delivery, Outcome, Priority, Sender
from bot.settings import Settings
from bot.views.keyboards import reminder_keyboard
from bot.views.render import reminder_text
from storage.faults import describe, storage_fault
from storage.interfaces import ReminderRepo, TeamRepo, UserRepo
from storage.models import DueReminder, ReminderPurpose

logger = logging.getLogger(__name__)

BATCH = 500
# Claim the next batch when this few of the last one are still being sent.
REFILL_AT = BATCH // 5
# A reminder sent this long after its moment says so ("late"): the bot was down or busy.
LATE_AFTER = timedelta(minutes=2)
# A claim not renewed for this long belongs to a process that died mid-send: send it again.
STALE_CLAIM = timedelta(minutes=2)
# While a batch waits in the sender's queue (one chat with many reminders, a long
# RetryAfter), its claims are renewed this often, well inside STALE_CLAIM.
RENEW_CLAIMS_SECONDS = 30.0
RETRY_FAILED_SEND = timedelta(minutes=1)
# At shutdown, how long a running delivery gets to see its sends end before its claims are
# handed back anyway (the sender has stopped by then: nothing more can go out).
STOP_WAIT_SECONDS = 5.0


class ReminderDelivery:
    def __init__(
        self,
        reminders: ReminderRepo,
        users: UserRepo,
        sender: Sender,
        i18n: I18n,
        clock: Clock,
        settings: Settings,
        *,
        teams: TeamRepo | None = None,
        renew_claims_seconds: float = RENEW_CLAIMS_SECONDS,
    ) -> None:
        self._teams = teams
        self._renew_seconds = renew_claims_seconds
        self._reminders = reminders
        self._users = users
        self._sender = sender
        self._i18n = i18n
        self._clock = clock
        self._settings = settings
        self._lock = asyncio.Lock()
        # Sent, but the database could not record it (disk full): reminder id -> sent at.
        # Recorded before stale claims are released, so they are not sent twice.
        self._unmarked: dict[int, datetime] = {}
        # Claim tokens of deliveries that may still hold claims: the running one, and any a
        # storage fault interrupted. Handed back at shutdown (release_held_claims).
        self._held: set[str] = set()
        self._stopping = False

    async def _mark_unmarked(self) -> None:
        for reminder_id, sent_at in list(self._unmarked.items()):
            await self._reminders.mark_sent(reminder_id, sent_at)
            del self._unmarked[reminder_id]

    async def release_stale_claims(self, *, taking_over: bool = False) -> int:
        """Claims not renewed for STALE_CLAIM go back to pending. taking_over (a runtime that
        starts, holding no claim yet; there is one sending runtime at a time): every claim
        goes back, the previous runtime's process being gone or no longer leading, so its
        reminders go out within seconds instead of after STALE_CLAIM."""
        await self._mark_unmarked()
        now = self._clock.now()
        # Claim times are stored to the second: "before now + 1 s" is every claim so far.
        stale_before = now + timedelta(seconds=1) if taking_over else now - STALE_CLAIM
        released = await self._reminders.release_stale_claims(stale_before)
        if released:
            logger.warning("re-sending %s reminders whose sending was interrupted", released)
        return released

    @property
    def busy(self) -> bool:
        """A delivery is running (it re-checks for due reminders before it finishes)."""
        return self._lock.locked()

    async def deliver_due(self) -> int:
        """Send everything due now; returns how many reminders were sent."""
        async with self._lock:
            sent = 0
            token = uuid.uuid4().hex
            self._held.add(token)
            renewing = asyncio.create_task(self._keep_claims(token))
            sending: set[asyncio.Task[int]] = set()
            # A claim returns every reminder still claimed under the token: with the last
            # batch's tail still being sent, those come back too and are not sent again.
            taken: set[int] = set()
            try:
                while not self._stopping:
                    claimed = await self._reminders.claim_due(self._clock.now(), token, BATCH)
                    batch = [item for item in claimed if item.id not in taken]
                    if not batch:
                        break
                    taken.update(item.id for item in batch)
                    batch = await self._route_handovers(batch)
                    sending |= {asyncio.create_task(self._deliver(item)) for item in batch}
                    # The next batch is claimed once most of this one is out, not all of it:
                    # a batch's last reminders wait for their chats' one-a-second turns (a
                    # person with five due at once), and the next batch's other chats use
                    # the slots meanwhile (waiting for whole batches cost ~10 % of a burst).
                    sent += await _settle(sending, keep=REFILL_AT)
                    # Raises while the storage still cannot record them: the sweep retries.
                    await self._mark_unmarked()
                    if len(batch) < BATCH:
                        break
                sent += await _settle(sending, keep=0)
                await self._mark_unmarked()
            except asyncio.CancelledError:
                # Shutdown: the sends still queued are dropped with the delivery (as its
                # gather dropped them), so the stream does not wait them out; their claims
                # go back with release_held_claims.
                for task in sending:
                    task.cancel()
                raise
            finally:
                # After a storage fault above, deliveries still running finish on their own
                # (as the batch's gather left them): what they sent is recorded or re-claimed.
                renewing.cancel()
            # Every claim of this run is settled; one that raised keeps its token held.
            if not self._stopping:
                self._held.discard(token)
            return sent

    def stop_claiming(self) -> None:
        """Shutdown, before the sender stops: a running delivery takes no further batch."""
        self._stopping = True

    async def release_held_claims(self, wait: float = STOP_WAIT_SECONDS) -> int:
        """Shutdown, after the sender has stopped: claims this process took but did not send
        go back to pending at once, so the next start sends them without waiting STALE_CLAIM.

        A message cut off in flight may have reached Telegram all the same: at most one
        duplicate, as after a crash, never a loss.
        """
        self._stopping = True
        # A running delivery sees its sends end ("stopped") and finishes; give it a moment.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(wait), self._lock:
                pass
        try:
            # Sent but not yet recorded (disk full) must not go out again after the restart.
            await self._mark_unmarked()
            released = await self._reminders.release_claims(sorted(self._held))
        except Exception as exc:
            # The claims stay; the next start takes them back once they are stale.
            logger.warning("shutdown: could not hand back claimed reminders: %s",
                           describe(exc) if storage_fault(exc) else type(exc).__name__)
            return 0
        self._held.clear()
        if released:
            logger.info("shutdown: %s claimed reminders handed back for the next start",
                        released)
        return released

    async def _route_handovers(self, batch: list[DueReminder]) -> list[DueReminder]:
        """Reminders about a handed-over client go to the colleague covering it."""
        if self._teams is None:
            return batch
        handovers = await self._teams.active_handovers(self._clock.now())
        if not handovers:
            return batch
        routed = []
        for item in batch:
            cover = covering_handover(handovers, item.task.owner_id, item.task.client_id)
            colleague = await self._users.get(cover.to_user_id) if cover is not None else None
            if colleague is not None and colleague.active:
                routed.append(replace(item, user=colleague, covering_for=item.user))
            else:
                routed.append(item)
        return routed

    async def _keep_claims(self, token: str) -> None:
        while True:
            await asyncio.sleep(self._renew_seconds)
            try:
                await self._reminders.renew_claims(token, self._clock.now())
            except Exception as exc:
                if storage_fault(exc) is None:
                    logger.exception("renewing reminder claims failed; will retry")
                else:
                    logger.warning("renewing reminder claims failed; will retry: %s",
                                   describe(exc))

    def _zone(self, reminder: DueReminder) -> ZoneInfo:
        return user_zone(reminder.user.timezone, self._settings.timezone)

    async def _deliver(self, reminder: DueReminder) -> bool:
        """Send one claimed reminder and record what became of it; True if it was sent.
        Not sent: a heads-up whose moment has come, or one waiting for working hours."""
        now = self._clock.now()
        if await self._discard_if_pointless(reminder, now):
            return False
        tz = self._zone(reminder)
        if await self._hold_if_off_hours(reminder, now, tz):
            return False
        delivery = await self._send(reminder, now, tz)
        return delivery is not None and await self._record(reminder, delivery)

    async def _discard_if_pointless(self, reminder: DueReminder, now: datetime) -> bool:
        due = reminder.task.due_at
        if reminder.purpose is ReminderPurpose.AHEAD and due is not None and due <= now:
            # The "in 15 minutes" heads-up is pointless once the moment itself has come.
            await self._reminders.discard(reminder.id)
            return True
        return False

    async def _hold_if_off_hours(
        self, reminder: DueReminder, now: datetime, tz: ZoneInfo
    ) -> bool:
        # A moment the user typed fires then; only what the bot timed waits for work hours.
        start = (
            next_working_start(now, tz, reminder.user.hours)
            if held_by_hours(reminder.purpose, reminder.task)
            else None
        )
        if start is not None:
            # Outside working hours: wait for the next working period, marked as held over.
            await self._reminders.hold_over(reminder.id, start, reminder.fire_at)
            return True
        return False

    async def _send(
        self, reminder: DueReminder, now: datetime, tz: ZoneInfo
    ) -> Delivery | None:
        """The reminder's message sent; None if sending raised (the reminder is released
        to be tried again a little later)."""
        locale = pick_language(
            reminder.user.language,
            reminder.user.telegram_language,
            self._settings.default_language,
        )
        with self._i18n.context(), self._i18n.use_locale(locale):
            late = now - reminder.fire_at > LATE_AFTER
            text = reminder_text(reminder, tz, locale, now, late=late)
            markup = reminder_keyboard(reminder.task)
        try:
            return await self._sender.send(
                reminder.user.id, text, reply_markup=markup, priority=Priority.NORMAL
            )
        except Exception:
            logger.exception("reminder %s: sending raised", reminder.id)
            await self._reminders.release(reminder.id, now + RETRY_FAILED_SEND)
            return None

    async def _record(self, reminder: DueReminder, delivery: Delivery) -> bool:
        """Mark the reminder sent or failed by the delivery's outcome; True if sent."""
        if delivery.outcome is Outcome.SENT:
            sent_at = self._clock.now()
            try:
                await self._reminders.mark_sent(reminder.id, sent_at)
            except Exception as exc:
                if storage_fault(exc) is None:
                    raise
                # Sent all the same; recorded once the storage takes writes again.
                self._unmarked[reminder.id] = sent_at
            return True
        if delivery.outcome is Outcome.BLOCKED:
            await self._reminders.mark_failed(reminder.id)
            return False
        if delivery.error == STOPPED:
            # Shutting down, not a failure: sent by the next start (release_held_claims).
            return False
        logger.warning("reminder %s not delivered: %s", reminder.id, delivery.error)
        await self._reminders.mark_failed(reminder.id)
        return False


async def _settle(sending: set[asyncio.Task[int]], *, keep: int) -> int:
    """Wait until at most `keep` deliveries are still running (taking the finished ones out
    of `sending`); returns how many of them sent. A delivery's error is raised, as the
    batch's gather raised it."""
    sent = 0
    while len(sending) > keep:
        done, _ = await asyncio.wait(sending, return_when=asyncio.FIRST_COMPLETED)
        sending -= done
        for task in done:
            sent += task.result()
    return sent
