"""PostgreSQL's exceptions leave storage/ as the project's errors, and what they say for the
log never quotes a row's value."""

from __future__ import annotations

import asyncpg
import asyncpg.exceptions._base as asyncpg_base
import pytest

from storage.errors import (
    StorageConflictError,
    StorageError,
    StorageFullError,
    StorageReadOnlyError,
    StorageUnavailableError,
)
from storage.faults import describe, storage_fault
from storage.postgres.faults import PostgresError, translate

SECRET = "Ромашка-secret"


def server_error(kind: type[asyncpg.PostgresError], state: str, message: str) -> BaseException:
    error = kind(message)
    error.sqlstate = state  # type: ignore[misc]
    return error


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (server_error(asyncpg.DiskFullError, "53100", "could not extend file"), StorageFullError),
        (server_error(asyncpg.ReadOnlySQLTransactionError, "25006",
                      "cannot execute INSERT in a read-only transaction"), StorageReadOnlyError),
        (server_error(asyncpg.SerializationError, "40001", "could not serialize"),
         StorageConflictError),
        (server_error(asyncpg.AdminShutdownError, "57P01", "terminating connection"),
         StorageUnavailableError),
        (asyncpg.InterfaceError("connection is closed"), StorageUnavailableError),
        (ConnectionRefusedError(111, "Connection refused"), StorageUnavailableError),
    ],
)
def test_faults_of_the_machine_become_the_projects_faults(
    error: BaseException, expected: type[StorageError]
) -> None:
    translated = translate(error)
    assert type(translated) is expected
    assert storage_fault(translated) is not None


@pytest.mark.parametrize(
    "error",
    [
        server_error(asyncpg.InvalidTextRepresentationError, "22P02",
                     f'invalid input syntax for type integer: "{SECRET}"'),
        server_error(asyncpg.UniqueViolationError, "23505",
                     f"duplicate key value: Key (name)=({SECRET}) already exists"),
        asyncpg_base.DataError(f"invalid input for query argument $1: '{SECRET}'"),
    ],
)
def test_what_is_logged_never_quotes_a_value(error: BaseException) -> None:
    translated = translate(error)
    assert isinstance(translated, StorageError)
    assert SECRET not in describe(translated)
    assert SECRET not in str(translated)
    if not isinstance(translated, StorageConflictError):
        assert isinstance(translated, PostgresError) and storage_fault(translated) is None
