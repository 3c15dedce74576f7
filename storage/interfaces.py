"""Repository interfaces. The SQLite backend implements them; a PostgreSQL one would too.

Every method takes the owner's id and never returns or changes another owner's rows.
Times are aware datetimes in UTC.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from storage.models import (
    Alert,
    AlertEvent,
    AlertPage,
    AlertState,
    Client,
    ClientBoardRow,
    ClientDraft,
    ClientImport,
    ClientStatus,
    ClientSummary,
    Departure,
    DueReminder,
    Handover,
    Invoice,
    NewAlert,
    Note,
    NoteMedia,
    OwnedCounts,
    PlannedReminder,
    SearchHit,
    Series,
    SeriesStatus,
    StaleClient,
    Task,
    TaskKind,
    TaskReminderPlan,
    Team,
    TeamInvite,
    UserData,
    UserProfile,
    WorkingHours,
)


class UserRepo(Protocol):
    async def ensure(self, user_id: int, now: datetime) -> UserProfile: ...
    async def get(self, user_id: int) -> UserProfile | None: ...
    async def set_language(self, user_id: int, language: str) -> None: ...
    async def set_timezone(self, user_id: int, timezone: str) -> None: ...
    async def set_currency(self, user_id: int, currency: str | None) -> None: ...
    async def set_active(self, user_id: int, active: bool) -> None: ...
    async def set_identity(
        self, user_id: int, username: str | None, full_name: str | None
    ) -> None: ...
    async def display_names(self, user_ids: set[int | None]) -> dict[int, str]: ...
    async def by_username(self, username: str) -> UserProfile | None: ...
    async def set_backup(self, user_id: int, backup_id: int | None) -> None: ...
    async def intake_secret(self, user_id: int, new_secret: str) -> str: ...
    async def stored_intake_secret(self, user_id: int) -> str | None: ...
    async def rotate_intake_secret(self, user_id: int, new_secret: str) -> str: ...
    async def calendar_secret(self, user_id: int, new_secret: str) -> str:
        """The user's calendar feed secret, set to `new_secret` the first time it is asked
        for."""
    async def stored_calendar_secret(self, user_id: int) -> str | None: ...
    async def rotate_calendar_secret(self, user_id: int, new_secret: str) -> str:
        """Replace the secret in one write: the old feed address stops working at once."""
    async def calendar_version(self, user_id: int, version: str, now: datetime) -> datetime:
        """When the user's feed became `version` (a hash of its content): the stored moment
        if it is still that version, else `now`, stored with it (its Last-Modified)."""
    async def set_hours(self, user_id: int, hours: WorkingHours) -> None: ...
    async def set_digest(self, user_id: int, *, enabled: bool, minute: int) -> None: ...
    async def set_telegram_language(self, user_id: int, language: str | None) -> None: ...
    async def set_ahead_default(self, user_id: int, kind: TaskKind, minutes: int) -> None: ...
    async def digest_unplanned(self, limit: int) -> list[UserProfile]: ...
    async def digest_due(
        self, now: datetime, limit: int
    ) -> list[tuple[UserProfile, datetime]]: ...
    async def plan_digest(
        self, user_id: int, expected: datetime | None, next_at: datetime
    ) -> bool: ...


class ClientRepo(Protocol):
    async def create(self, owner_id: int, name: str, now: datetime) -> Client:
        """Raises DuplicateClientError when the owner already has a client of that name."""

    async def get(self, owner_id: int, client_id: int) -> Client | None: ...

    async def match(self, owner_id: int, query: str, limit: int = 8) -> list[Client]:
        """An exact (case- and ё-insensitive) match alone, else clients whose name starts so."""

    async def count(self, owner_id: int) -> int: ...

    async def list_summaries(
        self, owner_id: int, *, offset: int, limit: int
    ) -> list[ClientSummary]:
        """Active clients first, then former; by name; with open-task counts."""

    async def recent(self, owner_id: int, limit: int) -> list[Client]:
        """Active clients most recently used first."""

    async def touch(self, owner_id: int, client_id: int, now: datetime) -> None: ...

    async def set_field(
        self, owner_id: int, client_id: int, field: str, value: str | None, now: datetime
    ) -> Client | None:
        """Set one card field (name, contacts, channel, cadence, segment...)."""

    async def set_status(
        self, owner_id: int, client_id: int, status: ClientStatus, now: datetime
    ) -> Client | None: ...

    async def delete(self, owner_id: int, client_id: int, now: datetime) -> Client | None: ...

    async def restore(self, owner_id: int, client_id: int, now: datetime) -> Client | None: ...

    async def last_contacts(self, owner_id: int, before: datetime) -> list[StaleClient]:
        """Clients not heard from (done task or note) since the moment, longest silent first."""

    async def board(self, owner_id: int, now: datetime) -> list[ClientBoardRow]:
        """Every live client with its open task count, its overdue (due before now) tasks
        other than invoices' payment tasks, and its last contact as last_contacts counts it,
        in one query (the Mini App's board); in no particular order."""

    async def add_alias(
        self, owner_id: int, client_id: int, alias: str, now: datetime
    ) -> Client | None:
        """Raises DuplicateClientError when the alias is another client's name or alias."""

    async def by_telegram(self, owner_id: int, handles: list[str]) -> Client | None: ...
    async def by_contact_name(self, owner_id: int, name: str) -> Client | None: ...


class TaskRepo(Protocol):
    async def create(
        self,
        owner_id: int,
        *,
        client_id: int | None,
        text: str,
        kind: TaskKind,
        due_at: datetime | None,
        now: datetime,
        series_id: int | None = None,
        invoice_id: int | None = None,
    ) -> Task: ...

    async def get(self, owner_id: int, task_id: int) -> Task | None:
        """Open or done task by internal id; deleted ones are None."""

    async def get_by_number(self, owner_id: int, number: int) -> Task | None: ...

    async def due_between(self, owner_id: int, start: datetime, end: datetime) -> list[Task]:
        """Open tasks with start <= due < end, by due time."""

    async def overdue(
        self, owner_id: int, now: datetime, *, offset: int = 0, limit: int = 1000
    ) -> list[Task]:
        """Open tasks due before now, oldest first."""

    async def count_overdue(self, owner_id: int, now: datetime) -> int: ...

    async def count_undated(self, owner_id: int) -> int: ...

    async def open_for_client(self, owner_id: int, client_id: int, limit: int) -> list[Task]: ...

    async def count_open_for_client(self, owner_id: int, client_id: int) -> int: ...

    async def undated(self, owner_id: int, *, offset: int, limit: int) -> list[Task]:
        """Open tasks without a due moment, by number."""

    async def complete(self, owner_id: int, task_id: int, now: datetime) -> Task | None:
        """Mark an open task done; None if it is not open (or not the owner's)."""

    async def reopen_last_completed(self, owner_id: int, now: datetime) -> Task | None: ...

    async def reopen(self, owner_id: int, task_id: int, now: datetime) -> Task | None: ...

    async def delete(self, owner_id: int, task_id: int, now: datetime) -> Task | None: ...

    async def restore(self, owner_id: int, task_id: int, now: datetime) -> Task | None: ...

    async def set_text(self, owner_id: int, task_id: int, text: str, now: datetime) -> Task | None:
        ...

    async def set_kind(
        self, owner_id: int, task_id: int, kind: TaskKind, now: datetime
    ) -> Task | None: ...

    async def set_due(
        self, owner_id: int, task_id: int, due_at: datetime | None, now: datetime
    ) -> Task | None: ...

    async def set_client(
        self, owner_id: int, task_id: int, client_id: int | None, now: datetime
    ) -> Task | None: ...

    async def set_remind_ahead(
        self, owner_id: int, task_id: int, minutes: int | None, now: datetime
    ) -> Task | None: ...

    async def open_with_due_after(self, owner_id: int, moment: datetime) -> list[Task]: ...

    async def open_dated(self, owner_id: int) -> list[Task]:
        """Every open task with a due moment, overdue ones included, by due time."""


class ReminderRepo(Protocol):
    async def replace_for_task(
        self,
        owner_id: int,
        task_id: int,
        planned: Sequence[PlannedReminder],
        now: datetime,
        *,
        keep_snoozes: bool = False,
    ) -> None:
        """Cancel the task's pending reminders and plan these instead, atomically."""

    async def replace_for_tasks(
        self,
        plans: Sequence[TaskReminderPlan],
        now: datetime,
        *,
        keep_snoozes: bool = False,
    ) -> None:
        """`replace_for_task` for many tasks in one transaction."""

    async def snooze(
        self, owner_id: int, task_id: int, planned: PlannedReminder, now: datetime
    ) -> None: ...
    async def cancel_for_task(self, owner_id: int, task_id: int) -> None: ...
    async def pending_for_task(self, owner_id: int, task_id: int) -> list[PlannedReminder]: ...
    async def count_pending(self) -> int: ...
    async def next_fire_at(self) -> datetime | None: ...

    async def claim_due(self, now: datetime, token: str, limit: int) -> list[DueReminder]:
        """Atomically take reminders due by now (live tasks, active users) for sending."""

    async def mark_sent(self, reminder_id: int, now: datetime) -> None: ...
    async def mark_failed(self, reminder_id: int) -> None: ...
    async def discard(self, reminder_id: int) -> None: ...
    async def hold_over(self, reminder_id: int, until: datetime, original: datetime) -> None: ...
    async def release(self, reminder_id: int, retry_at: datetime) -> None: ...
    async def renew_claims(self, token: str, now: datetime) -> int:
        """Refresh the claim time of this claimer's unsent reminders (a lease renewal)."""

    async def release_stale_claims(self, claimed_before: datetime) -> int:
        """Claims not renewed since `claimed_before` go back to pending."""
    async def release_claims(self, tokens: Sequence[str]) -> int:
        """Claims taken under these tokens (a stopping process's) go back to pending now."""
    async def tasks_without_reminders(
        self, now: datetime, limit: int, *, after_id: int = 0
    ) -> list[Task]:
        """Open future tasks with no reminder for their due moment, by id after `after_id`."""


class DialogStateRepo(Protocol):
    """Where a multi-step dialog stands, per chat key; survives restarts."""

    async def get_state(self, key: str) -> str | None: ...
    async def set_state(
        self, key: str, owner_id: int, state: str | None, now: datetime
    ) -> None: ...
    async def get_data(self, key: str) -> dict[str, Any]: ...
    async def set_data(
        self, key: str, owner_id: int, data: dict[str, Any], now: datetime
    ) -> None: ...


class SeriesRepo(Protocol):
    async def create(
        self,
        owner_id: int,
        *,
        client_id: int | None,
        text: str,
        kind: TaskKind,
        rule: str,
        timezone: str,
        source: str,
        now: datetime,
    ) -> Series: ...
    async def get(self, owner_id: int, series_id: int) -> Series | None: ...
    async def list_live(self, owner_id: int) -> list[Series]: ...
    async def for_client(self, owner_id: int, client_id: int, source: str) -> list[Series]: ...
    async def set_status(
        self, owner_id: int, series_id: int, status: SeriesStatus, now: datetime
    ) -> Series | None: ...
    async def set_rule(
        self, owner_id: int, series_id: int, rule: str, timezone: str, now: datetime
    ) -> Series | None: ...
    async def needing_next(self, now: datetime, limit: int) -> list[Series]: ...
    async def last_occurrence(self, series_id: int) -> datetime | None: ...
    async def previous_due(self, owner_id: int, series_id: int, task_id: int) -> (
        datetime | None
    ): ...
    async def next_open_task_id(
        self, owner_id: int, series_id: int, now: datetime
    ) -> int | None: ...


class InvoiceRepo(Protocol):
    async def create(
        self,
        owner_id: int,
        *,
        client_id: int,
        amount_minor: int,
        currency: str,
        due_at: datetime,
        note: str | None,
        now: datetime,
    ) -> Invoice: ...
    async def get(self, owner_id: int, invoice_id: int) -> Invoice | None: ...
    async def get_by_number(self, owner_id: int, number: int) -> Invoice | None: ...
    async def unpaid(
        self, owner_id: int, limit: int = 500, client_id: int | None = None
    ) -> list[Invoice]: ...
    async def link_task(self, owner_id: int, invoice_id: int, task_id: int) -> None: ...
    async def add_payment(
        self, owner_id: int, invoice_id: int, amount_minor: int, now: datetime
    ) -> Invoice | None: ...
    async def set_promised(
        self, owner_id: int, invoice_id: int, promised_at: datetime, now: datetime
    ) -> Invoice | None: ...
    async def set_unpaid(
        self, owner_id: int, invoice_id: int, now: datetime
    ) -> Invoice | None: ...
    async def set_amount(
        self, owner_id: int, invoice_id: int, amount_minor: int, currency: str, now: datetime
    ) -> Invoice | None: ...
    async def set_due(
        self, owner_id: int, invoice_id: int, due_at: datetime, now: datetime
    ) -> Invoice | None: ...
    async def set_note(
        self, owner_id: int, invoice_id: int, note: str | None, now: datetime
    ) -> Invoice | None: ...
    async def delete(self, owner_id: int, invoice_id: int) -> bool: ...


class NoteRepo(Protocol):
    async def create(
        self,
        owner_id: int,
        *,
        text: str,
        client_id: int | None,
        source_message_id: int | None,
        now: datetime,
        media: NoteMedia | None = None,
        task_id: int | None = None,
    ) -> Note: ...
    async def get(self, owner_id: int, note_id: int, *, deleted: bool = False) -> Note | None:
        ...
    async def by_source_message(self, owner_id: int, message_id: int) -> Note | None: ...
    async def latest(
        self, owner_id: int, client_id: int | None, *, offset: int, limit: int
    ) -> list[Note]: ...
    async def count(self, owner_id: int, client_id: int | None) -> int: ...
    async def set_client(
        self, owner_id: int, note_id: int, client_id: int | None, now: datetime
    ) -> Note | None: ...
    async def set_text(self, owner_id: int, note_id: int, text: str, now: datetime) -> (
        Note | None
    ): ...
    async def delete(self, owner_id: int, note_id: int, now: datetime) -> Note | None: ...
    async def restore(self, owner_id: int, note_id: int, now: datetime) -> Note | None: ...
    async def last_contact(self, owner_id: int, client_id: int) -> datetime | None: ...
    async def get_many(self, owner_id: int, note_ids: list[int]) -> dict[int, Note]: ...

    async def search(self, owner_id: int, words: list[str], limit: int) -> list[SearchHit]:
        """Notes, tasks and clients of this owner matching every word as a prefix, best first."""



class TeamRepo(Protocol):
    async def create(self, lead_id: int, name: str, secret: str, now: datetime) -> Team:
        """Raises AlreadyInTeamError if the lead is in a team already."""

    async def get(self, team_id: int) -> Team | None: ...
    async def team_of(self, user_id: int) -> Team | None: ...
    async def members(self, team_id: int) -> list[UserProfile]: ...
    async def remove_member(
        self, team_id: int, user_id: int, *, now: datetime, new_secret: str | None
    ) -> Departure | None:
        """Ends handovers to and from them and (with `new_secret`) rotates the team's
        intake secret in the same transaction; None if they were not a member or lead."""

    async def set_lead(self, team_id: int, user_id: int, new_secret: str) -> bool:
        """The lead changes and the team's intake secret with it, atomically."""

    async def rotate_intake_secret(self, team_id: int, new_secret: str) -> Team | None: ...
    async def was_member(self, team_id: int, user_id: int) -> bool: ...
    async def set_escalate_to_all(self, team_id: int, enabled: bool) -> None: ...
    async def create_invite(
        self, code: str, team_id: int, created_by: int, expires_at: datetime
    ) -> TeamInvite: ...
    async def join_by_invite(self, code: str, user_id: int, now: datetime) -> Team | None: ...
    async def create_handover(
        self,
        owner_id: int,
        client_id: int | None,
        to_user_id: int,
        starts_at: datetime,
        ends_at: datetime,
        now: datetime,
    ) -> Handover: ...
    async def end_handovers(self, owner_id: int, now: datetime) -> int: ...
    async def covering(
        self, owner_id: int, client_id: int | None, now: datetime
    ) -> Handover | None: ...
    async def handed_to(self, user_id: int, now: datetime) -> list[Handover]: ...
    async def active_handovers(self, now: datetime) -> list[Handover]: ...
    async def handed_over_by(self, owner_id: int, now: datetime) -> list[Handover]: ...


class AlertRepo(Protocol):
    async def raise_alert(
        self,
        new: NewAlert,
        now: datetime,
        repeat_window_start: datetime,
        max_open: int | None = None,
    ) -> tuple[Alert, bool]:
        """A new alert, or a repeat of an open one counted. With `max_open`, an intake
        address with that many open alerts gets no new one: OpenAlertLimitError."""
    async def get(self, alert_id: int) -> Alert | None: ...
    async def next_at(self, stale_before: datetime | None = None) -> datetime | None: ...
    async def claim_due(
        self, now: datetime, token: str, stale_before: datetime, limit: int
    ) -> list[Alert]: ...
    async def renew_claims(self, token: str, now: datetime) -> None: ...
    async def save_progress(
        self,
        alert: Alert,
        token: str,
        *,
        state: AlertState,
        step: int,
        step_rounds: int,
        rounds: int,
        gave_up: bool,
        next_at: datetime | None,
        now: datetime,
    ) -> bool: ...
    async def release(self, alert_id: int, token: str, retry_at: datetime) -> None: ...
    async def release_claims(self, tokens: Sequence[str]) -> int:
        """Claims taken under these tokens (a stopping process's) are cleared now."""
    async def release_claims_before(self, moment: datetime) -> int:
        """Claims made before the moment are cleared (a sending runtime that starts takes over
        the claims of the one before it, whose process is gone or no longer leads)."""
    async def acknowledge(
        self, alert_id: int, user_id: int, now: datetime, recheck_at: datetime
    ) -> Alert | None: ...
    async def resolve(self, alert_id: int, user_id: int, now: datetime) -> Alert | None: ...
    async def snooze(
        self, alert_id: int, user_id: int, now: datetime, until: datetime
    ) -> Alert | None: ...
    async def reopen(self, alert_id: int, token: str, now: datetime) -> bool: ...
    async def add_event(
        self, alert_id: int, now: datetime, kind: str, actor_id: int | None, detail: str = ""
    ) -> None: ...
    async def events(self, alert_id: int) -> list[AlertEvent]: ...
    async def record_page(
        self, alert_id: int, user_id: int, message_id: int | None, step: int, now: datetime
    ) -> None: ...
    async def pages(self, alert_id: int) -> list[AlertPage]: ...
    async def recent(self, scopes: list[str], since: datetime, limit: int) -> list[Alert]: ...
    async def count_open(self, intake_address: str | None = None) -> int: ...


class AppliedUpdateRepo(Protocol):
    """Telegram updates already applied. They are recorded by the backend itself, in the
    transaction of an update's first write (storage/update_marks.py opens the mark)."""

    async def applied(self, bot_id: int, update_id: int) -> bool: ...

    async def last_id(self, bot_id: int) -> int:
        """The highest recorded update id of that bot, 0 if none."""

    async def prune(self, before: datetime) -> int:
        """Forget updates applied before the moment; returns how many."""


class UserDataRepo(Protocol):
    """Everything one user owns at once: export, bulk import of clients, erasure."""

    async def snapshot(self, owner_id: int) -> UserData:
        """The owner's live clients, tasks, notes and invoices (and newer owned tables)."""

    async def counts(self, owner_id: int) -> OwnedCounts: ...

    async def import_clients(
        self, owner_id: int, drafts: Sequence[ClientDraft], now: datetime
    ) -> ClientImport:
        """Create the drafts in one transaction, all or none; a draft whose name a live
        client (name or alias) or an earlier draft has is skipped and reported."""

    async def forget(self, owner_id: int) -> None:
        """Delete everything the owner owns, their dialog state and user row, atomically.

        Raises StorageError (and deletes nothing) when others' rows still refer to them."""


class Coordination(Protocol):
    """How the processes on one database share the sending work (reminders, alerts, digests,
    series): exactly one of them leads and runs it; the others wake it when they change
    something it must act on. On a backend one process owns (SQLite: a lock beside the file
    keeps a second bot out) leading is granted at once and wake-ups stay in the process."""

    async def try_lead(self) -> bool:
        """Become the leader if nobody is: True if this process leads now (or already did)."""
        ...

    async def wait_lost(self) -> None:
        """Return when this process's leadership is lost (its database session died)."""
        ...

    async def resign(self) -> None:
        """Stop leading (at shutdown): another process takes over at once."""
        ...

    async def notify(self, topic: str) -> None:
        """Wake the listeners of the topic in every process (after the change committed)."""
        ...

    async def listen(self, topic: str, wake: Callable[[], None]) -> None:
        """Call wake() in this process whenever any process notifies the topic."""
        ...

    async def close(self) -> None: ...


class SharedLimits(Protocol):
    """Pacing and flood state several processes share, on the store's clock (seconds)."""

    async def pace_take(
        self, chat: str, slot: float, interval: float, lead: float = 0.0
    ) -> tuple[float, bool]:
        """Take the next global slot and the chat's turn, both or neither: (0, False) taken;
        else (seconds to wait, whether only this chat must wait). `lead`: the global slot
        may be taken that much before it is due (see migration 0002)."""
        ...

    async def pace_pause(self, seconds: float) -> float:
        """A 429 holds every chat for `seconds` (never shortens): the pause left."""
        ...

    async def pace_paused_for(self) -> float:
        """Seconds until the current pause ends (<= 0: none)."""
        ...

    async def flood_reserve(self, user_id: int, burst: int, rate: float) -> tuple[float, bool]:
        """The user's next update token: (seconds to wait, warn: first wait of a flood)."""
        ...

    async def chat_lock(self, key: str, holder: str, lease_seconds: float) -> bool:
        """Take the chat's lease if it is free or expired: True when taken."""
        ...

    async def chat_unlock(self, key: str, holder: str) -> None:
        """Give the lease back (only if this holder still has it)."""
        ...


@dataclass(frozen=True, slots=True)
class Storage:
    """Everything the app needs from a backend, plus a way to close it."""

    users: UserRepo
    clients: ClientRepo
    tasks: TaskRepo
    dialogs: DialogStateRepo
    reminders: ReminderRepo
    series: SeriesRepo
    invoices: InvoiceRepo
    notes: NoteRepo
    user_data: UserDataRepo
    backend: StorageBackend
    teams: TeamRepo
    alerts: AlertRepo
    updates: AppliedUpdateRepo
    coordination: Coordination
    # None: one process owns the database, and pacing and flood control stay in its memory.
    shared_limits: SharedLimits | None = None


class StorageBackend(Protocol):
    async def close(self) -> None: ...
    async def schema_version(self) -> int: ...

    def atomic(self) -> AbstractAsyncContextManager[None]:
        """Repository writes made inside happen together or not at all (nested: savepoint)."""
        ...
