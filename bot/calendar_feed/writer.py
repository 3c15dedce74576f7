"""Just enough of RFC 5545's writing for the feed, fast: content lines (text escaped, lines
folded at 75 octets), moments on a zone's clock (TZID) or in UTC, dates, and each zone's
VTIMEZONE (made once per zone by icalendar, which is too slow to write 5,000 events:
about 3 s against a few tens of ms here)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from icalendar import Timezone

_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu"})
# A line's content may not hold control characters other than tab (RFC 5545 3.1).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_FOLD_AT = 75  # octets per line, the CRLF not counted


def text(value: str) -> str:
    """A TEXT value: backslash, semicolon, comma escaped; a line break as \\n."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    value = (
        value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,").replace("\n", "\\n")
    )
    return _CONTROL.sub("", value)


def fold(line: str) -> str:
    """A content line folded to 75 octets (continuations start with a space), never inside
    a UTF-8 character."""
    if len(line) <= _FOLD_AT // 4:  # at most 4 octets a character: fits for sure
        return line
    encoded = line.encode()
    if len(encoded) <= _FOLD_AT:
        return line
    parts: list[bytes] = []
    start, limit = 0, _FOLD_AT
    while len(encoded) - start > limit:
        end = start + limit
        while encoded[end] & 0xC0 == 0x80:  # a UTF-8 continuation octet: cut before its lead
            end -= 1
        parts.append(encoded[start:end])
        start, limit = end, _FOLD_AT - 1  # a continuation's leading space counts
    parts.append(encoded[start:])
    return b"\r\n ".join(parts).decode()


def is_utc(tz: ZoneInfo) -> bool:
    return tz.key in _UTC_KEYS


def moment(name: str, value: datetime, tz: ZoneInfo) -> str:
    """`DTSTART;TZID=Europe/Berlin:20260330T100000` (the zone's wall clock), or in UTC
    `DTSTART:20260330T080000Z`."""
    if is_utc(tz):
        return f"{name}:{value.astimezone(UTC):%Y%m%dT%H%M%SZ}"
    return f"{name};TZID={tz.key}:{value.astimezone(tz):%Y%m%dT%H%M%S}"


def day(name: str, value: date) -> str:
    return f"{name};VALUE=DATE:{value:%Y%m%d}"


@lru_cache(maxsize=64)
def vtimezone(key: str) -> str:
    """The zone's VTIMEZONE (its changes 1970-2038), as CRLF-separated lines."""
    ical: bytes = Timezone.from_tzid(key).to_ical()
    return ical.decode().rstrip("\r\n")
