"""Repository interfaces. The SQLite backend implements them; a PostgreSQL one would too.

Every method takes the owner's id and never returns or changes another owner's rows.
Times are aware datetimes in UTC.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from storage.models import Client, ClientStatus, ClientSummary, Task, TaskKind, UserProfile


class UserRepo(Protocol):
    async def ensure(self, user_id: int, now: datetime) -> UserProfile: ...
    async def get(self, user_id: int) -> UserProfile | None: ...
    async def set_language(self, user_id: int, language: str) -> None: ...
    async def set_timezone(self, user_id: int, timezone: str) -> None: ...


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


@dataclass(frozen=True, slots=True)
class Storage:
    """Everything the app needs from a backend, plus a way to close it."""

    users: UserRepo
    clients: ClientRepo
    tasks: TaskRepo
    dialogs: DialogStateRepo
    backend: StorageBackend


class StorageBackend(Protocol):
    async def close(self) -> None: ...
    async def schema_version(self) -> int: ...
