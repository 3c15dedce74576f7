"""Text forms both backends share: a name's lookup key, and a moment as text (SQLite stores
moments so; PostgreSQL writes the same text where a moment goes into text: exports, an alert
event's detail), so the two backends' outputs read alike."""

from __future__ import annotations

from datetime import UTC, datetime

_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def encode_time(moment: datetime) -> str:
    """UTC, ISO-8601, second precision, sortable."""
    if moment.tzinfo is None:
        raise ValueError("naive datetimes are not stored")
    return moment.astimezone(UTC).strftime(_FORMAT)


def name_key(name: str) -> str:
    """Key for case- and ё-insensitive name lookups."""
    return " ".join(name.casefold().replace("ё", "е").split())
