"""Typed, immutable records returned by the repositories."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum


class TaskKind(StrEnum):
    CALL = "call"
    REPORT = "report"
    INVOICE = "invoice"
    MEETING = "meeting"
    DOCUMENT = "document"
    OTHER = "other"


class TaskStatus(StrEnum):
    OPEN = "open"
    DONE = "done"
    DELETED = "deleted"


class Channel(StrEnum):
    PHONE = "phone"
    MESSENGER = "messenger"
    EMAIL = "email"
    TASK_MANAGER = "task_manager"


class Segment(StrEnum):
    B2B = "b2b"
    B2C = "b2c"


class ClientStatus(StrEnum):
    ACTIVE = "active"
    FORMER = "former"


class ReminderPurpose(StrEnum):
    AHEAD = "ahead"
    DUE = "due"
    FOLLOWUP = "followup"  # after the due moment: an unpaid invoice's ladder
    SNOOZE = "snooze"


@dataclass(frozen=True, slots=True)
class WorkingHours:
    """Local working time: minutes from midnight, and weekdays (0 = Monday)."""

    start_minute: int = 9 * 60
    end_minute: int = 19 * 60
    days: tuple[int, ...] = (0, 1, 2, 3, 4)


@dataclass(frozen=True, slots=True)
class UserProfile:
    id: int
    language: str | None
    timezone: str | None
    morning_hour: int
    created_at: datetime
    active: bool = True
    hours: WorkingHours = WorkingHours()
    digest_enabled: bool = True
    digest_minute: int = 9 * 60
    # What Telegram last said the user's app language is; /lang (language) wins over it.
    telegram_language: str | None = None
    # Minutes ahead per task kind where the user changed our default.
    ahead_defaults: tuple[tuple[TaskKind, int], ...] = ()
    # As Telegram last showed them; for "@colleague" and lists of teammates.
    username: str | None = None
    full_name: str | None = None
    # Who gets this user's unanswered alerts first.
    backup_id: int | None = None
    # ISO code for new invoices (/currency); None: the timezone's country's currency.
    currency: str | None = None

    @property
    def display_name(self) -> str:
        if self.full_name:
            return self.full_name
        return f"@{self.username}" if self.username else f"id{self.id}"


@dataclass(frozen=True, slots=True)
class Client:
    id: int
    owner_id: int
    name: str
    contact_person: str | None
    phone: str | None
    email: str | None
    channel: Channel | None
    report_cadence: str | None
    emergency_contact: str | None
    segment: Segment
    status: ClientStatus
    created_at: datetime
    updated_at: datetime
    contact_telegram: str | None = None
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientSummary:
    client: Client
    open_tasks: int


@dataclass(frozen=True, slots=True)
class Task:
    id: int
    owner_id: int
    number: int
    client_id: int | None
    client_name: str | None
    text: str
    kind: TaskKind
    due_at: datetime | None
    status: TaskStatus
    created_at: datetime
    done_at: datetime | None
    remind_ahead_minutes: int | None = None
    series_id: int | None = None
    invoice_id: int | None = None


# Client card fields a user may edit, and the column behind each.
EDITABLE_CLIENT_TEXT_FIELDS = (
    "name",
    "contact_person",
    "phone",
    "email",
    "report_cadence",
    "emergency_contact",
)


@dataclass(frozen=True, slots=True)
class PlannedReminder:
    purpose: ReminderPurpose
    fire_at: datetime
    # The task's due moment this reminder was planned for; if the task moves, it is stale.
    for_due_at: datetime | None
    # When it would have fired but for the user's working hours (None: not held).
    held_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class TaskReminderPlan:
    """The reminders one task should have (a batch item for `replace_for_tasks`)."""

    owner_id: int
    task_id: int
    planned: tuple[PlannedReminder, ...]


@dataclass(frozen=True, slots=True)
class DueReminder:
    """A claimed reminder with everything needed to render and send it."""

    id: int
    purpose: ReminderPurpose
    fire_at: datetime
    held_over_from: datetime | None
    attempts: int
    task: Task
    # Who receives it: the task's owner, or the colleague covering a handover.
    user: UserProfile
    client: Client | None
    # Set when `user` is covering for the owner.
    covering_for: UserProfile | None = None


class SeriesStatus(StrEnum):
    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


@dataclass(frozen=True, slots=True)
class Series:
    """A recurring task: a dateutil rule in the user's wall-clock time."""

    id: int
    owner_id: int
    client_id: int | None
    client_name: str | None
    text: str
    kind: TaskKind
    rule: str
    timezone: str
    source: str
    status: SeriesStatus


@dataclass(frozen=True, slots=True)
class StaleClient:
    client: Client
    last_contact: datetime


@dataclass(frozen=True, slots=True)
class ClientBoardRow:
    """A client with what the Mini App's board sorts by, read in one query."""

    client: Client
    open_tasks: int
    # Open tasks due before the moment asked about, except invoices' payment tasks (an
    # unpaid invoice is counted as such).
    overdue_tasks: int
    # The latest done task or note, else when the client was added (as last_contacts).
    last_contact: datetime


class InvoiceStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Invoice:
    id: int
    owner_id: int
    client_id: int
    client_name: str
    number: int
    amount_minor: int
    paid_minor: int
    currency: str
    due_at: datetime
    promised_at: datetime | None
    note: str | None
    status: InvoiceStatus
    paid_at: datetime | None
    task_id: int | None


@dataclass(frozen=True, slots=True)
class Note:
    id: int
    owner_id: int
    client_id: int | None
    client_name: str | None
    text: str
    source_message_id: int | None
    created_at: datetime
    deleted: bool = False
    media_type: str | None = None
    file_id: str | None = None
    duration: int | None = None
    file_size: int | None = None
    forward_from: str | None = None
    forward_date: datetime | None = None
    task_id: int | None = None


@dataclass(frozen=True, slots=True)
class NoteMedia:
    """What a media or forwarded message brings besides its text."""

    media_type: str | None = None
    file_id: str | None = None
    duration: int | None = None
    file_size: int | None = None
    forward_from: str | None = None
    forward_date: datetime | None = None


# Shorter words are not searched: one letter matches half the index.
MIN_SEARCH_WORD = 2


class SearchKind(StrEnum):
    NOTE = "note"
    TASK = "task"
    CLIENT = "client"


@dataclass(frozen=True, slots=True)
class SearchHit:
    kind: SearchKind
    ref_id: int
    rank: float


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    name: str
    lead_id: int
    intake_secret: str
    escalate_to_all: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class TeamInvite:
    code: str
    team_id: int
    created_by: int
    expires_at: datetime
    used_by: int | None


@dataclass(frozen=True, slots=True)
class Handover:
    id: int
    owner_id: int
    # None: all of the owner's clients.
    client_id: int | None
    to_user_id: int
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True, slots=True)
class Departure:
    """A member left or was removed: the team as it is now (its intake secret rotated on a
    removal) and the handovers to and from them that ended with it."""

    team: Team
    ended: tuple[Handover, ...]


class AlertSeverity(StrEnum):
    URGENT = "urgent"
    NORMAL = "normal"


class AlertState(StrEnum):
    OPEN = "open"
    ACKED = "acked"
    RESOLVED = "resolved"


class AlertSource(StrEnum):
    CHAT = "chat"
    INTAKE = "intake"


@dataclass(frozen=True, slots=True)
class Alert:
    id: int
    # "t<team id>" or "u<user id>": whose alert it is, for dedup and listing.
    scope: str
    team_id: int | None
    # The account manager whose client it is (or who raised it without a team).
    owner_id: int | None
    client_id: int | None
    # The client's name as the raiser gave it (kept when it matched no client).
    client_label: str | None
    text: str
    severity: AlertSeverity
    dedup_key: str | None
    source: AlertSource
    raised_by: int | None
    state: AlertState
    count: int
    last_seen_at: datetime
    step: int
    step_rounds: int
    rounds: int
    gave_up: bool
    next_at: datetime | None
    acked_by: int | None
    acked_at: datetime | None
    resolved_by: int | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AlertPage:
    """Who has been paged for an alert, and the message to edit when it changes."""

    alert_id: int
    user_id: int
    message_id: int | None
    step: int


@dataclass(frozen=True, slots=True)
class AlertEvent:
    at: datetime
    kind: str
    actor_id: int | None
    detail: str


@dataclass(frozen=True, slots=True)
class NewAlert:
    scope: str
    team_id: int | None
    owner_id: int | None
    client_id: int | None
    client_label: str | None
    text: str
    severity: AlertSeverity
    dedup_key: str | None
    source: AlertSource
    raised_by: int | None
    # The intake address it came through (`t12`, `u5`); None for /urgent.
    intake_address: str | None = None


@dataclass(frozen=True, slots=True)
class ExportTable:
    """Rows of a table the export knows only by its columns (a newer feature's, e.g. alerts)."""

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str | int | float | None, ...], ...]


@dataclass(frozen=True, slots=True)
class UserData:
    """Everything one user owns and can see, read as one consistent snapshot."""

    clients: tuple[Client, ...]
    tasks: tuple[Task, ...]
    notes: tuple[Note, ...]
    invoices: tuple[Invoice, ...]
    extra: tuple[ExportTable, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientDraft:
    """A client to create with its card fields filled (an imported row)."""

    name: str
    contact_person: str | None = None
    phone: str | None = None
    email: str | None = None
    channel: Channel | None = None
    report_cadence: str | None = None
    emergency_contact: str | None = None
    contact_telegram: str | None = None
    segment: Segment = Segment.B2B
    status: ClientStatus = ClientStatus.ACTIVE
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ClientImport:
    created: tuple[Client, ...]
    # Positions in the drafts whose name a live client (or an earlier draft) already had.
    duplicates: tuple[int, ...]
    # (position in the drafts, alias) for aliases another client already goes by: the
    # client is created without them.
    taken_aliases: tuple[tuple[int, str], ...] = ()


@dataclass(frozen=True, slots=True)
class OwnedCounts:
    """How much a user keeps (live rows), e.g. to say what /forget_me would delete."""

    clients: int
    tasks: int
    notes: int
    invoices: int

