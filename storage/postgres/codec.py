"""Moments as PostgreSQL stores them: aware UTC datetimes truncated to whole seconds,
exactly what the SQLite backend's text format keeps, so both backends return equal values."""

from __future__ import annotations

from datetime import UTC, datetime


def at(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return moment.astimezone(UTC).replace(microsecond=0)


def at_optional(moment: datetime | None) -> datetime | None:
    return None if moment is None else at(moment)
