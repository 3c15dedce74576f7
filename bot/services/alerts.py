"""Urgent alerts: raising them, answering them, and the engine that pages until someone does.

The database decides: an alert is stored before anyone is paged (the intake answers 2xx
only then), the engine acts when an alert's `next_at` comes and claims it first, and an
answer (acknowledge, resolve, snooze) clears the claim, so it always beats a repeat being
prepared. A restart resumes from `next_at`: no step skipped, at most one in flight repeated.

Nobody's page waits for another person's: the due alerts are claimed together and stepped
side by side (one lane per scope and owner for the database work), and the pages go through
a per-person outbox (alert_outbox.py): Telegram's one message a second per chat binds only
that chat, and a pile-up for one person goes out as one summary instead of one page each.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from aiogram import html
from aiogram.utils.i18n import I18n, ngettext
from aiogram.utils.i18n import gettext as _

from bot.clock import Clock
from bot.domain.reminder_plan import next_working_start
from bot.domain.timezones import user_zone
from bot.i18n import pick_language
from bot.outage import OutageLog
from bot.sender import Delivery, Outcome, Priority, Sender
from bot.services.alert_outbox import Page, PageOutbox
from bot.services.alert_routing import AlertRouter, Step
from bot.settings import Settings
from bot.views.alert_render import (
    alert_keyboard,
    alert_ref,
    alert_summary,
    alert_summary_line,
    alert_text,
    names,
    role_label,
)
from storage.faults import describe
from storage.interfaces import AlertRepo, ClientRepo, TeamRepo, UserRepo
from storage.models import (
    Alert,
    AlertSeverity,
    AlertSource,
    AlertState,
    Client,
    NewAlert,
    Team,
    UserProfile,
)

logger = logging.getLogger(__name__)

# One answer to an alert (acknowledge, resolve, snooze) at a moment: the alert as changed,
# or None when it was no longer open to that answer.
_Change = Callable[[datetime], Awaitable[Alert | None]]

SNOOZE = timedelta(minutes=15)
STALE_CLAIM = timedelta(minutes=2)
# Claims are stored to the second: "made before now + 1 s" is every claim made so far.
TAKE_OVER_MARGIN = timedelta(seconds=1)
RETRY_AFTER_ERROR = timedelta(seconds=30)
IDLE_CHECK_SECONDS = 30.0
# Steps in flight renew their claims this often, well inside STALE_CLAIM.
RENEW_CLAIMS = timedelta(seconds=30)
CLAIM_BATCH = 50
LANE_STEPS = 20  # steps of one scope and owner preparing at a time (AlertEngine._step)
# The running step's "my pages are queued" call (PageOutbox.expect), for _page and the rest.
_ARRIVED: contextvars.ContextVar[Callable[[], None]] = contextvars.ContextVar(
    "alert_step_arrived", default=lambda: None
)
TEXT_LIMIT = 2000
CLIENT_LIMIT = 200
DEDUP_KEY_LIMIT = 200
_NO_SECRET = "-" * 32


def whole_second_after(moment: datetime) -> datetime:
    """Moments are stored to the second: round up, so a repeat never comes early."""
    if moment.microsecond == 0:
        return moment
    return moment.replace(microsecond=0) + timedelta(seconds=1)


def team_scope(team_id: int) -> str:
    return f"t{team_id}"


def user_scope(user_id: int) -> str:
    return f"u{user_id}"


@dataclass(frozen=True, slots=True)
class Raised:
    alert: Alert
    created: bool
    client: Client | None


class Answer(StrEnum):
    DONE = "done"
    ALREADY = "already"  # someone answered first: the alert shows who
    NOT_YOURS = "not_yours"
    LEFT_TEAM = "left_team"  # an ex-member's old button: nothing changes
    GONE = "gone"


class Access(StrEnum):
    """Who may answer an alert or open its log: a team's alert, its current members; a
    personal one, its owner and the backup they name now. Decided at each press."""

    ALLOWED = "allowed"
    LEFT_TEAM = "left_team"  # a team's alert; the person was in that team, is not now
    NOT_YOURS = "not_yours"


@dataclass(frozen=True, slots=True)
class AnswerResult:
    answer: Answer
    alert: Alert | None = None


@dataclass(eq=False, slots=True)
class _Lane:
    slots: asyncio.Semaphore
    users: int = 0


class AlertEngine:
    """Pages, repeats, escalates, re-triggers; renders each message for its recipient."""

    def __init__(
        self,
        *,
        alerts: AlertRepo,
        users: UserRepo,
        teams: TeamRepo,
        clients: ClientRepo,
        sender: Sender,
        i18n: I18n,
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._alerts = alerts
        self._users = users
        self._teams = teams
        self._clients = clients
        self._sender = sender
        self._i18n = i18n
        self._clock = clock
        self._settings = settings
        self.router = AlertRouter(users, teams)
        # Pages to one person go one at a time; a pile-up goes as one summary message.
        self._outbox = PageOutbox(sender, self._render_summary)
        self._lock = asyncio.Lock()  # one claimer at a time; steps run side by side
        self._wake = asyncio.Event()
        self._loop_task: asyncio.Task[None] | None = None
        # Steps in flight (each an alert claimed under a token), and when claims were renewed.
        self._steps: set[asyncio.Task[None]] = set()
        self._tokens: dict[str, int] = {}
        self._lanes: dict[tuple[str, int | None], _Lane] = {}
        self._renewed_at: datetime | None = None
        # Alerts whose pages are being refreshed for a duplicate -> another one came meanwhile.
        self._recount: dict[int, bool] = {}
        self._background: set[asyncio.Task[None]] = set()
        # A storage outage (disk full, read-only) being waited out: one log line, not one a try.
        self._outage = OutageLog(logger, what="alerts", retrying="shortly")

    # ------------------------------------------------------------------ running

    def wake(self) -> None:
        """Something changed (a new alert): act now instead of at the next check."""
        self._wake.set()

    async def start(self) -> None:
        # One sending runtime at a time (bot/leadership.py), and this one holds no claim yet:
        # every claim is a previous runtime's (a dead or demoted leader's), taken over now
        # rather than after STALE_CLAIM. (A page it had in flight may go again: once.)
        try:
            released = await self._alerts.release_claims_before(
                self._clock.now() + TAKE_OVER_MARGIN
            )
        except Exception as exc:
            self._outage.failed(exc, "taking over claimed alerts failed")
        else:
            if released:
                logger.warning("taking over %s alerts another process had claimed", released)
        self._loop_task = asyncio.create_task(self._run_forever(), name="alert-engine")

    async def stop(self) -> None:
        # Claims of the steps cut off here go back at the end, so the next start pages at
        # once instead of after STALE_CLAIM (a page already out may go again: at most once).
        held = list(self._tokens)
        for task in [*self._background, *self._steps]:
            task.cancel()
        await asyncio.gather(*self._background, *self._steps, return_exceptions=True)
        await self._outbox.stop()
        if self._loop_task is not None:
            self._loop_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._loop_task
            self._loop_task = None
        held += [token for token in self._tokens if token not in held]
        try:
            released = await self._alerts.release_claims(held)
        except Exception as exc:
            logger.warning("shutdown: could not hand back claimed alerts: %s", describe(exc))
        else:
            if released:
                logger.info("shutdown: %s claimed alerts handed back for the next start",
                            released)

    async def _run_forever(self) -> None:
        # Its own loop rather than an APScheduler interval job: a wake-up (a new alert, a
        # step done) starts the next turn at once, even one arriving during a turn, and the
        # wait until the next due alert is exact (down to 50 ms), not rounded to a tick.
        while True:
            self._wake.clear()
            delay = await self.turn()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), delay)

    async def turn(self) -> float:
        """Start the steps of what is due and renew held claims; returns how many seconds
        the next turn may wait (less when an alert falls due sooner or steps are in flight)."""
        try:
            await self._start_due()
            await self._renew_claims()
            # Alerts whose steps are in flight are not due again: no busy loop on them.
            upcoming = await self._alerts.next_at(self._clock.now() - STALE_CLAIM)
        except Exception as exc:
            self._outage.failed(exc, "alert engine step failed")
            upcoming = None
        else:
            self._outage.recovered()
        delay = IDLE_CHECK_SECONDS
        if upcoming is not None:
            delay = min(delay, max((upcoming - self._clock.now()).total_seconds(), 0.05))
        if self._steps:
            delay = min(delay, RENEW_CLAIMS.total_seconds())
        return delay

    async def run_due(self) -> int:
        """Act on every alert whose moment has come and wait for those steps; returns how
        many were handled. (The running engine does not wait: see `_start_due`.)"""
        steps = await self._start_due()
        await asyncio.gather(*steps, return_exceptions=True)
        return len(steps)

    async def _start_due(self) -> list[asyncio.Task[None]]:
        """Claim every due alert and start a step for each, side by side: a step waiting on
        one person's chat (1 message a second) never holds up another person's page."""
        claimed: list[tuple[Alert, str]] = []
        async with self._lock:
            while True:
                now = self._clock.now()
                token = uuid.uuid4().hex
                batch = await self._alerts.claim_due(now, token, now - STALE_CLAIM, CLAIM_BATCH)
                claimed += [(alert, token) for alert in batch]
                if batch:
                    self._tokens[token] = len(batch)
                if len(batch) < CLAIM_BATCH:
                    break
        # Started only once all are claimed, so the last one claimed does not wait for
        # the steps of the first batches to get its claim.
        started = []
        for alert, token in claimed:
            task = asyncio.create_task(self._step(alert, token), name=f"alert-{alert.id}")
            self._steps.add(task)
            task.add_done_callback(self._steps.discard)
            started.append(task)
        return started

    async def _step(self, alert: Alert, token: str) -> None:
        # One lane per scope and owner (roughly: whose alerts these are): a flood on one
        # address prepares LANE_STEPS steps at a time, so another person's step does not
        # queue for the database behind hundreds of them. A step leaves its lane once its
        # pages are queued, not when they are delivered.
        lane_key = (alert.scope, alert.owner_id)
        lane = self._lanes.get(lane_key)
        if lane is None:
            lane = self._lanes[lane_key] = _Lane(asyncio.Semaphore(LANE_STEPS))
        lane.users += 1
        queued = self._outbox.expect()
        in_lane = False

        def arrived() -> None:
            nonlocal in_lane
            queued()
            if in_lane:
                in_lane = False
                lane.slots.release()

        _ARRIVED.set(arrived)
        try:
            await lane.slots.acquire()
            in_lane = True
            await self._act(alert, token)
        except Exception:
            logger.exception("alert %s: step failed; retrying", alert.id)
            try:
                await self._alerts.release(
                    alert.id, token, self._clock.now() + RETRY_AFTER_ERROR
                )
            except Exception as exc:
                # The claim goes stale and the alert is taken again after STALE_CLAIM.
                logger.error("alert %s: could not release its claim: %s", alert.id,
                             describe(exc))
        finally:
            arrived()
            # Its next moment is saved (or released): the loop looks again at what is due.
            self.wake()
            lane.users -= 1
            if lane.users == 0 and self._lanes.get(lane_key) is lane:
                del self._lanes[lane_key]
            left = self._tokens.get(token, 0) - 1
            if left > 0:
                self._tokens[token] = left
            else:
                self._tokens.pop(token, None)

    async def _renew_claims(self) -> None:
        """Keep the claims of long steps (a paused sender, a person's pile-up) from going
        stale, or a second step for the same alert would page it twice."""
        now = self._clock.now()
        if self._renewed_at is not None and now - self._renewed_at < RENEW_CLAIMS:
            return
        self._renewed_at = now
        for token in list(self._tokens):
            await self._alerts.renew_claims(token, now)

    # ------------------------------------------------------------------ one step

    async def _act(self, alert: Alert, token: str) -> None:
        now = self._clock.now()
        if alert.state is AlertState.ACKED:
            # Acknowledged but not resolved in time: it pages again from the start.
            if await self._alerts.reopen(alert.id, token, now):
                self.wake()
            return
        chain = await self.router.chain(alert, now)
        if not chain:
            await self._alerts.add_event(alert.id, now, "nobody", None)
            await self._save(alert, token, next_at=None)
            return
        settings = self._settings
        step = min(alert.step, len(chain) - 1)
        repeats_done = max(alert.rounds - 1 - alert.step, 0)
        if alert.rounds > 0 and repeats_done >= settings.alert_max_repeats:
            await self._give_up(alert, token, chain)
            return
        if alert.rounds == 0:
            kind, new_step = "paged", 0
        elif alert.step_rounds > settings.alert_repeats_before_escalation and step + 1 < len(
            chain
        ):
            kind, new_step = "escalated", step + 1
        else:
            kind, new_step = "repeat", step
        if alert.severity is AlertSeverity.NORMAL:
            first = chain[new_step].people[0]
            start = next_working_start(
                now, user_zone(first.timezone, settings.timezone), first.hours
            )
            if start is not None:
                # A normal alert waits for working hours; urgent ones never do.
                await self._alerts.add_event(alert.id, now, "held", None)
                await self._save(alert, token, next_at=start)
                return
        client = await self._client(alert)
        people = await self._names(alert, chain)
        in_chain = {p.id: p for s in chain[: new_step + 1] for p in s.people}
        paged_before = [
            in_chain[page.user_id]
            for page in await self._alerts.pages(alert.id)
            if page.user_id in in_chain
        ]
        if kind == "repeat":
            targets = paged_before or list(chain[0].people)
        else:
            targets = list(chain[new_step].people)
        header = self._header(alert, kind, chain, new_step, people)
        await self._page(alert, client, people, targets, header, new_step, now)
        if kind == "escalated":
            told = [p for p in paged_before if p.id not in {t.id for t in targets}]
            await self._announce_escalation(alert, client, told, chain[new_step])
        await self._alerts.add_event(
            alert.id, now, kind, None, ",".join(str(p.id) for p in targets)
        )
        fresh_step = kind != "repeat"
        await self._save(
            alert, token,
            step=new_step,
            step_rounds=1 if fresh_step else alert.step_rounds + 1,
            rounds=alert.rounds + 1,
            next_at=whole_second_after(now + timedelta(seconds=settings.alert_repeat_seconds)),
        )

    def _header(
        self,
        alert: Alert,
        kind: str,
        chain: list[Step],
        step: int,
        people: dict[int, str],
    ) -> Callable[[], str | None]:
        """A line saying why this message comes now, rendered in each recipient's language."""

        def render() -> str | None:
            if kind == "escalated":
                before = [p.display_name for s in chain[:step] for p in s.people]
                return "⬆️ " + _("Escalated to you: {people} did not acknowledge.").format(
                    people=names(before)
                )
            if kind == "repeat":
                repeats = alert.rounds - alert.step
                return "🔁 " + _("Repeat {number}: still not acknowledged.").format(
                    number=repeats
                )
            if alert.acked_by is not None and alert.acked_at is not None:
                return "♻️ " + _(
                    "Acknowledged by {name} but not resolved in {minutes} min: paging again."
                ).format(
                    name=html_name(people, alert.acked_by),
                    minutes=self._settings.alert_ack_timeout_minutes,
                )
            return None

        return render

    async def _page(
        self,
        alert: Alert,
        client: Client | None,
        people: dict[int, str],
        targets: Iterable[UserProfile],
        header: Callable[[], str | None],
        step: int,
        now: datetime,
    ) -> None:
        priority = Priority.URGENT if alert.severity is AlertSeverity.URGENT else Priority.NORMAL
        queued: list[tuple[UserProfile, asyncio.Future[Delivery]]] = []
        for person in targets:
            tz, locale = self._where(person)
            with self._i18n.context(), self._i18n.use_locale(locale):
                page = Page(
                    text=alert_text(alert, client, people, tz, locale, now, header=header()),
                    markup=alert_keyboard(alert),
                    line=alert_summary_line(alert, client),
                    locale=locale,
                    priority=priority,
                )
            queued.append((person, self._outbox.submit(person.id, page)))
        _ARRIVED.get()()  # this step's pages are queued: the round may go out
        for person, future in queued:
            delivery = await future
            if delivery.outcome is not Outcome.SENT:
                logger.warning("alert %s: paging %s failed: %s", alert.id, person.id,
                               delivery.error or delivery.outcome)
            await self._alerts.record_page(alert.id, person.id, delivery.message_id, step, now)

    async def _announce_escalation(
        self, alert: Alert, client: Client | None, told: list[UserProfile], step: Step
    ) -> None:
        async def one(person: UserProfile) -> None:
            _zone, locale = self._where(person)
            with self._i18n.context(), self._i18n.use_locale(locale):
                line = _("{alert}: no acknowledgement, now paging {people} ({role}).")
                text = "⬆️ " + line.format(
                    alert=alert_ref(alert, client),
                    people=names([p.display_name for p in step.people]),
                    role=role_label(step.role),
                )
            await self._outbox.send(person.id, Page(text, None, text, locale))

        _ARRIVED.get()()
        await asyncio.gather(*(one(person) for person in told))

    async def _give_up(self, alert: Alert, token: str, chain: list[Step]) -> None:
        now = self._clock.now()
        client = await self._client(alert)
        people = await self._names(alert, chain)
        team = await self._teams.get(alert.team_id) if alert.team_id is not None else None
        lead = await self._users.get(team.lead_id) if team is not None else None
        recipients = [lead] if lead is not None else list(chain[0].people)
        paged = [people.get(page.user_id, "?") for page in await self._alerts.pages(alert.id)]
        repeats = max(alert.rounds - 1 - alert.step, 0)
        # Save first: the summary must go out once, even if a send below fails.
        if not await self._save(alert, token, gave_up=True, next_at=None):
            return
        await self._alerts.add_event(alert.id, now, "gave_up", None)
        final = await self._alerts.get(alert.id)
        _ARRIVED.get()()  # one at a time below; nothing of this round waits for them
        for person in recipients:
            _zone, locale = self._where(person)
            with self._i18n.context(), self._i18n.use_locale(locale):
                text = "🔕 " + ngettext(
                    "Nobody acknowledged {alert} after {count} repeat. Paged: {people}.",
                    "Nobody acknowledged {alert} after {count} repeats. Paged: {people}.",
                    repeats,
                ).format(alert=alert_ref(alert, client), count=repeats, people=names(paged))
                markup = alert_keyboard(final or alert)
            await self._outbox.send(person.id, Page(text, markup, text, locale))

    async def _save(
        self,
        alert: Alert,
        token: str,
        *,
        step: int | None = None,
        step_rounds: int | None = None,
        rounds: int | None = None,
        gave_up: bool | None = None,
        next_at: datetime | None,
    ) -> bool:
        return await self._alerts.save_progress(
            alert, token,
            state=alert.state,
            step=alert.step if step is None else step,
            step_rounds=alert.step_rounds if step_rounds is None else step_rounds,
            rounds=alert.rounds if rounds is None else rounds,
            gave_up=alert.gave_up if gave_up is None else gave_up,
            next_at=next_at,
            now=self._clock.now(),
        )

    def _render_summary(self, locale: str, pages: Sequence[Page]) -> str:
        with self._i18n.context(), self._i18n.use_locale(locale):
            return alert_summary([page.line for page in pages])

    # ------------------------------------------------------------------ refreshing

    async def refresh_count(self, alert: Alert) -> None:
        """Show a duplicate's new count on the pages. While one refresh of an alert runs,
        more duplicates do not wait for their own: one more runs afterwards, in the
        background, with the latest count (a burst of N edits each page twice, not N times,
        and the intake answers without queueing behind N edits at 1 a second per chat)."""
        if alert.id in self._recount:
            self._recount[alert.id] = True
            return
        self._recount[alert.id] = False
        try:
            await self.refresh(alert)
        finally:
            again = self._recount.pop(alert.id)
        if again:
            latest = await self._alerts.get(alert.id)
            if latest is not None:
                task = asyncio.create_task(self._refresh_logged(latest))
                self._background.add(task)
                task.add_done_callback(self._background.discard)

    async def _refresh_logged(self, alert: Alert) -> None:
        try:
            await self.refresh_count(alert)
        except Exception:
            logger.exception("alert %s: refreshing its pages failed", alert.id)

    async def refresh(self, alert: Alert, *, announce: str | None = None,
                      actor_id: int | None = None) -> None:
        """Edit every paged person's alert message to the current state; tell the others
        who answered (`announce` is 'acked' or 'resolved')."""
        client = await self._client(alert)
        pages = await self._alerts.pages(alert.id)
        if alert.team_id is not None:
            # Someone paged before they left the team learns nothing more about its alerts.
            members = {member.id for member in await self._teams.members(alert.team_id)}
            pages = [page for page in pages if page.user_id in members]
        paged = {page.user_id: await self._users.get(page.user_id) for page in pages}
        people = await self._names(alert, [])
        for user_id, profile in paged.items():
            if profile is not None:
                people.setdefault(user_id, profile.display_name)
        now = self._clock.now()

        async def one(user_id: int, message_id: int | None) -> None:
            profile = paged[user_id]
            if profile is None:
                return
            tz, locale = self._where(profile)
            with self._i18n.context(), self._i18n.use_locale(locale):
                text = alert_text(alert, client, people, tz, locale, now)
                markup = alert_keyboard(alert)
                note = None
                if announce is not None and user_id != actor_id:
                    who = html_name(people, actor_id)
                    note = (
                        "✅ " + _("{name} took {alert}.")
                        if announce == "acked"
                        else "✔️ " + _("{name} resolved {alert}.")
                    ).format(name=who, alert=alert_ref(alert, client))
            if message_id is not None:
                await self._sender.edit(
                    user_id, message_id, text, reply_markup=markup, priority=Priority.URGENT
                )
            if note is not None:
                await self._sender.send(user_id, note, priority=Priority.URGENT)

        await asyncio.gather(*(one(page.user_id, page.message_id) for page in pages))

    # ------------------------------------------------------------------ helpers

    def _where(self, person: UserProfile) -> tuple[ZoneInfo, str]:
        tz = user_zone(person.timezone, self._settings.timezone)
        locale = pick_language(
            person.language, person.telegram_language, self._settings.default_language
        )
        return tz, locale

    async def _client(self, alert: Alert) -> Client | None:
        if alert.client_id is None or alert.owner_id is None:
            return None
        return await self._clients.get(alert.owner_id, alert.client_id)

    async def _names(self, alert: Alert, chain: list[Step]) -> dict[int, str]:
        people = await self._users.display_names(
            {alert.raised_by, alert.acked_by, alert.resolved_by, alert.owner_id}
        )
        people.update({p.id: p.display_name for s in chain for p in s.people})
        return people


def html_name(people: dict[int, str], user_id: int | None) -> str:
    return html.quote(people.get(user_id or 0, "?"))


class AlertService:
    """What handlers and the intake do with alerts."""

    def __init__(
        self,
        *,
        alerts: AlertRepo,
        teams: TeamRepo,
        users: UserRepo,
        clients: ClientRepo,
        engine: AlertEngine | None,
        clock: Clock,
        settings: Settings,
        wake_engine: Callable[[], None] | None = None,
    ) -> None:
        """wake_engine: how a new alert wakes the engine (default: this process's engine;
        with several workers, an announcement the leading process hears)."""
        self._alerts = alerts
        self._teams = teams
        self._users = users
        self._clients = clients
        self.engine = engine
        self._wake_engine = wake_engine or (engine.wake if engine is not None else None)
        self._clock = clock
        self._settings = settings

    async def raise_alert(
        self,
        *,
        team: Team | None,
        owner_hint: int | None,
        raised_by: int | None,
        client_query: str | None,
        text: str,
        severity: AlertSeverity,
        dedup_key: str | None,
        source: AlertSource,
        intake_address: str | None = None,
    ) -> Raised:
        """Store the alert (or count a duplicate) and wake the engine to page at once.

        `owner_hint`: whose clients to look in first (the raiser, or a per-user secret).
        `intake_address` (`t12`, `u5`): the address it came through, which may hold at most
        INTAKE_MAX_OPEN open alerts (else OpenAlertLimitError, nothing stored).
        """
        client = await self._find_client(team, owner_hint, client_query)
        if client is not None:
            owner_id: int | None = client.owner_id
        elif team is None or (source is AlertSource.INTAKE and owner_hint is not None):
            # Alone, or through their own intake address: it is theirs.
            owner_id = owner_hint
        else:
            owner_id = None  # no known client, raised in a team: the lead gets it
        scope = team_scope(team.id) if team is not None else user_scope(owner_hint or 0)
        now = self._clock.now()
        alert, created = await self._alerts.raise_alert(
            NewAlert(
                scope=scope,
                team_id=team.id if team is not None else None,
                owner_id=owner_id,
                client_id=client.id if client is not None else None,
                client_label=None if client is not None else (client_query or None),
                text=text[:TEXT_LIMIT],
                severity=severity,
                dedup_key=dedup_key,
                source=source,
                raised_by=raised_by,
                intake_address=intake_address,
            ),
            now,
            now - timedelta(minutes=self._settings.alert_dedup_minutes),
            max_open=self._settings.intake_max_open if intake_address is not None else None,
        )
        if self.engine is not None:
            if created:
                if self._wake_engine is not None:
                    self._wake_engine()
            else:
                # The people paged see the new count; nobody is paged again for it.
                await self.engine.refresh_count(alert)
        return Raised(alert, created, client)

    async def intake_owner(self, path_secret: str) -> tuple[Team | None, int | None] | None:
        """Whose intake a path secret opens: (team, None) for a team's, (their team or None,
        user id) for a user's; None if it opens nothing. Compared in constant time."""
        head, _sep, token = path_secret.partition("-")
        kind, number = head[:1], head[1:]
        expected: str | None = None
        team: Team | None = None
        user_id: int | None = None
        if number.isdigit() and len(number) < 19:
            if kind == "t":
                team = await self._teams.get(int(number))
                expected = team.intake_secret if team is not None else None
            elif kind == "u":
                user_id = int(number)
                expected = await self._users.stored_intake_secret(user_id)
        # Compare even when nothing is stored, so the answer takes as long either way.
        matches = hmac.compare_digest(
            (expected or _NO_SECRET).encode(), token.encode()
        )
        if not matches or expected is None:
            return None
        if kind == "u":
            assert user_id is not None
            return await self._teams.team_of(user_id), user_id
        return team, None

    async def _find_client(
        self, team: Team | None, owner_hint: int | None, query: str | None
    ) -> Client | None:
        if not query:
            return None
        owners: list[int] = [owner_hint] if owner_hint is not None else []
        if team is not None:
            owners += [m.id for m in await self._teams.members(team.id) if m.id != owner_hint]
        for owner in owners:
            found = await self._clients.match(owner, query)
            if len(found) == 1:
                return found[0]
        return None

    async def access(self, user_id: int, alert: Alert) -> Access:
        if alert.team_id is not None:
            team = await self._teams.team_of(user_id)
            if team is not None and team.id == alert.team_id:
                return Access.ALLOWED
            # Having been paged once grants nothing after leaving: only membership now.
            involved = user_id in (alert.owner_id, alert.raised_by) or any(
                page.user_id == user_id for page in await self._alerts.pages(alert.id)
            )
            if involved or await self._teams.was_member(alert.team_id, user_id):
                return Access.LEFT_TEAM
            return Access.NOT_YOURS
        owner_id = alert.owner_id
        if alert.scope.startswith("u") and alert.scope[1:].isdigit():
            owner_id = int(alert.scope[1:])
        if owner_id == user_id:
            return Access.ALLOWED
        owner = await self._users.get(owner_id) if owner_id is not None else None
        if owner is not None and owner.backup_id == user_id:
            return Access.ALLOWED
        return Access.NOT_YOURS

    async def may_answer(self, user_id: int, alert: Alert) -> bool:
        return await self.access(user_id, alert) is Access.ALLOWED

    async def scopes_of(self, user_id: int) -> list[str]:
        scopes = [user_scope(user_id)]
        team = await self._teams.team_of(user_id)
        if team is not None:
            scopes.append(team_scope(team.id))
        return scopes

    async def _answer(
        self, alert_id: int, user_id: int, change: _Change, announce: str | None
    ) -> AnswerResult:
        """Apply `change` if this person may answer the alert; the others paged are told
        who answered (`announce`) when the answer ends the paging."""
        alert = await self._alerts.get(alert_id)
        if alert is None:
            return AnswerResult(Answer.GONE)
        access = await self.access(user_id, alert)
        if access is Access.LEFT_TEAM:
            return AnswerResult(Answer.LEFT_TEAM)
        if access is not Access.ALLOWED:
            return AnswerResult(Answer.NOT_YOURS)
        changed = await change(self._clock.now())
        if changed is None:
            return AnswerResult(Answer.ALREADY, await self._alerts.get(alert_id))
        if self.engine is not None and announce is not None:
            await self.engine.refresh(changed, announce=announce, actor_id=user_id)
        return AnswerResult(Answer.DONE, changed)

    async def acknowledge(self, alert_id: int, user_id: int) -> AnswerResult:
        def change(now: datetime) -> Awaitable[Alert | None]:
            timeout = timedelta(minutes=self._settings.alert_ack_timeout_minutes)
            return self._alerts.acknowledge(
                alert_id, user_id, now, whole_second_after(now + timeout)
            )

        return await self._answer(alert_id, user_id, change, announce="acked")

    async def resolve(self, alert_id: int, user_id: int) -> AnswerResult:
        def change(now: datetime) -> Awaitable[Alert | None]:
            return self._alerts.resolve(alert_id, user_id, now)

        return await self._answer(alert_id, user_id, change, announce="resolved")

    async def snooze(self, alert_id: int, user_id: int) -> AnswerResult:
        def change(now: datetime) -> Awaitable[Alert | None]:
            return self._alerts.snooze(alert_id, user_id, now, whole_second_after(now + SNOOZE))

        return await self._answer(alert_id, user_id, change, announce=None)
