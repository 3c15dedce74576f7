"""Domain errors raised by repositories, independent of the backend."""


class StorageError(Exception):
    """Base class: the write did not happen."""


class StorageFaultError(StorageError):
    """The database could not take the request (an incident of the machine, not a bug): the
    user is told to try again, the log gets one line. Both backends translate their own
    exceptions into the subclasses, so nothing above storage/ knows which database it is."""

    fault = "storage fault"

    def __init__(self, detail: str = "") -> None:
        super().__init__(detail)
        # The database's own message (no row values), for the log line.
        self.detail = detail


class StorageUnavailableError(StorageFaultError):
    """The database cannot be reached or failed to read or write (I/O error, connection
    lost, server shutting down)."""

    fault = "unavailable"


class StorageFullError(StorageFaultError):
    """No space left for the write."""

    fault = "disk full"


class StorageReadOnlyError(StorageFaultError):
    """The database takes no writes (read-only file or server in recovery/standby)."""

    fault = "read-only"


class StorageConflictError(StorageFaultError):
    """Another writer held or changed the same rows (busy, deadlock, serialization
    failure): retrying the request is safe."""

    fault = "conflict"


class DuplicateClientError(StorageError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class DuplicateOccurrenceError(StorageError):
    """That occurrence of the series exists already (another worker made it)."""


class AlreadyInTeamError(StorageError):
    """A user belongs to one team at a time."""

    def __init__(self, user_id: int) -> None:
        super().__init__(user_id)
        self.user_id = user_id


class UpdateAlreadyAppliedError(StorageError):
    """The Telegram update was applied before (a redelivery raced the first delivery): this
    write was rolled back."""

    def __init__(self, update_id: int) -> None:
        super().__init__(update_id)
        self.update_id = update_id


class DatabaseUnusableError(StorageError):
    """The database must not be opened: nothing was written to it. One line says why."""


class DatabaseDamagedError(DatabaseUnusableError):
    """The file is not a readable database, or its integrity check failed."""


class SchemaTooNewError(DatabaseUnusableError):
    """The database was migrated by newer code than this."""


class DatabaseInUseError(DatabaseUnusableError):
    """Another process (a running bot, a restore) holds the database."""


class OpenAlertLimitError(StorageError):
    """An intake address has as many open alerts as it may: no new one was stored (a repeat
    of an open one is still counted)."""

    def __init__(self, address: str, open_count: int) -> None:
        super().__init__(address, open_count)
        self.address = address
        self.open_count = open_count
