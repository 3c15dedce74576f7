"""Domain errors raised by repositories, independent of the backend."""


class StorageError(Exception):
    """Base class: the write did not happen."""


class DuplicateClientError(StorageError):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class NotFoundError(StorageError):
    """The object does not exist or belongs to someone else."""


class DuplicateOccurrenceError(StorageError):
    """That occurrence of the series exists already (another worker made it)."""


class AlreadyInTeamError(StorageError):
    """A user belongs to one team at a time."""

    def __init__(self, user_id: int) -> None:
        super().__init__(user_id)
        self.user_id = user_id
