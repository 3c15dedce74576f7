"""The feed's address: `<origin>/cal/<user id>-<secret>.ics`. A secret is replaced, never
edited (`/calendar rotate`), so whoever knew the old address is shut out at once."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

FEED_PREFIX = "/cal/"
FEED_SUFFIX = ".ics"
# A token as this code makes it: the user id, a dash, token_urlsafe's alphabet (which has
# dashes of its own: the id ends at the first one). ASCII only: int() would take '٣'.
_TOKEN = re.compile(r"([1-9][0-9]{0,17})-([A-Za-z0-9_-]{16,200})")


def new_calendar_secret() -> str:
    return secrets.token_urlsafe(24)


def feed_url(origin: str, user_id: int, secret: str) -> str:
    return f"{origin.rstrip('/')}{FEED_PREFIX}{user_id}-{secret}{FEED_SUFFIX}"


@dataclass(frozen=True, slots=True)
class FeedToken:
    user_id: int
    secret: str


def read_token(name: str) -> FeedToken | None:
    """`12-s3cr3t….ics` (the last part of the path) → whose feed and the secret given; None
    for anything else."""
    if not name.endswith(FEED_SUFFIX):
        return None
    found = _TOKEN.fullmatch(name[: -len(FEED_SUFFIX)])
    if found is None:
        return None
    return FeedToken(int(found.group(1)), found.group(2))
