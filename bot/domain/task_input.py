"""Understanding a one-line task: `[<client>:] <text> <when>`."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.domain.dates import DateParser
from bot.domain.kinds import detect_kind
from bot.domain.recurrence import split_recurrence
from bot.domain.text import NAME_LIMIT, clean_line
from storage.models import TaskKind

# "Acme: text" but not "в 10:00": the colon must be followed by a space or end the prefix
# of something that is not a clock time.
_CLIENT_PREFIX = re.compile(
    rf"^\s*(?P<client>[^:\n]{{1,{NAME_LIMIT}}}?)\s*:(?!\d)\s*(?P<rest>.*)$", re.DOTALL
)


@dataclass(frozen=True, slots=True)
class TaskDraft:
    client_query: str | None
    text: str
    kind: TaskKind
    due: datetime | None
    rule: str | None = None  # a recurring schedule instead of a single moment


def split_client_prefix(line: str) -> tuple[str | None, str]:
    match = _CLIENT_PREFIX.match(line)
    if match is None:
        return None, line.strip()
    client = clean_line(match.group("client"))
    if not client:
        return None, line.strip()
    return client, match.group("rest").strip()


def parse_task_line(
    line: str,
    *,
    dates: DateParser,
    tz: ZoneInfo,
    now: datetime,
    morning_hour: int,
    locale: str | None = None,
) -> TaskDraft:
    """`locale`: the user's language, which orders slash dates (10/12)."""
    client_query, rest = split_client_prefix(line)
    rest = clean_line(rest)
    recurring = split_recurrence(rest, tz=tz, now=now, morning_hour=morning_hour)
    if recurring is not None:
        return TaskDraft(
            client_query=client_query,
            text=recurring.text,
            kind=detect_kind(recurring.text),
            due=None,
            rule=recurring.rule,
        )
    when = dates.split(rest, tz=tz, now=now, morning_hour=morning_hour, locale=locale)
    text, due = (when.text, when.due) if when is not None else (rest, None)
    return TaskDraft(client_query=client_query, text=text, kind=detect_kind(text), due=due)
