"""Numbered schema migrations: ``NNNN_name.sql`` files here, applied in order and tracked
in the ``schema_version`` table. Add a file to change the schema; never edit an applied one.
"""

from __future__ import annotations

import re
from importlib import resources

# pg_advisory_xact_lock key held while migrating ("am-migr" in ASCII, any constant works).
MIGRATION_LOCK = 0x616D2D6D696772

_NAME = re.compile(r"(\d{4})_[a-z0-9_]+\.sql")


def _load() -> tuple[str, ...]:
    files = sorted(
        (int(match.group(1)), entry)
        for entry in resources.files(__name__).iterdir()
        if (match := _NAME.fullmatch(entry.name))
    )
    numbers = [number for number, _ in files]
    if numbers != list(range(1, len(files) + 1)):
        raise RuntimeError(f"migrations must be numbered 1..n without gaps, found {numbers}")
    return tuple(entry.read_text(encoding="utf-8") for _, entry in files)


MIGRATIONS: tuple[str, ...] = _load()
