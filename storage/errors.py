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
