"""Benchmark date parsing: our parser vs dateparser alone, over the whole date table.

Every row of the date table in tests/unit/test_dates.py (phrase, frozen clock, timezone,
language; Russian and English, Moscow and New York, 23:23, 00:10, New York's DST nights) is
parsed --rounds times, in a shuffled order each round:

* ``DateParser.parse`` -- the bot's parser (grammar + dateparser fallback), as handlers call it;
* ``DateParser.split`` -- the same phrase behind task text ("позвонить Ивану <phrase>"), which
  tries windows at the end, the start and the middle of the text;
* dateparser alone -- ``DateDataParser(languages=["ru", "en"])`` with the settings our
  fallback uses (future preference, day-month order, relative base = the user's wall clock).

Time per call is wall time (``perf_counter_ns``), or with --cpu the process's CPU time
(``process_time_ns``: what the parsing costs, without the time another process held the CPU on
a busy machine); p99 is nearest-rank. The script also says how
many rows each answer agrees with the table (dateparser alone is not expected to: "в 10" is the
10th to it, and "tomorrow" keeps the current time of day).

    python bench/bench_dates.py [--rounds 20] [--seed 42] [--cpu]

A script that prints numbers, not a test.
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import dateparser
from dateparser import conf as dateparser_conf
from dateparser.date import DateDataParser

from bot.domain.dates import DateParser
from tests.unit.test_dates import DATE_TABLE, Row, expected_moment

Case = tuple[Row, ZoneInfo, datetime]


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.99 * len(ordered)) - 1)]


class DateparserAlone:
    """dateparser as a bot would use it without our grammar: same languages and settings."""

    def __init__(self) -> None:
        config: dict[str, Any] = {
            "RELATIVE_BASE": datetime(2000, 1, 1),
            "PREFER_DATES_FROM": "future",
            "TIMEZONE": "UTC",
            "RETURN_AS_TIMEZONE_AWARE": False,
            "DATE_ORDER": "DMY",
            "PREFER_LOCALE_DATE_ORDER": False,
            "PARSERS": ["relative-time", "absolute-time"],
        }
        self._settings = dateparser_conf.settings.replace(mod_settings=config, **config)
        self._ddp = DateDataParser(languages=["ru", "en"], settings=self._settings)

    def parse(self, phrase: str, tz: ZoneInfo, now: datetime) -> datetime | None:
        self._settings.RELATIVE_BASE = now.astimezone(tz).replace(tzinfo=None, second=0)
        found = self._ddp.get_date_data(phrase).date_obj
        if found is None:
            return None
        return found.replace(tzinfo=tz).astimezone(UTC).replace(second=0, microsecond=0)


def measure(
    name: str,
    cases: list[Case],
    call: Callable[[Case], object],
    rounds: int,
    seed: int,
    clock: Callable[[], int],
) -> list[float]:
    order = list(cases)
    rng = random.Random(seed)
    timings: list[float] = []
    for _ in range(rounds):
        rng.shuffle(order)
        for case in order:
            started = clock()
            call(case)
            timings.append((clock() - started) / 1e6)
    print(
        f"| {name:<34} | {statistics.median(timings):9.3f} | {p99(timings):7.3f} "
        f"| {max(timings):7.2f} | {len(timings):8} |"
    )
    return timings


def main() -> None:
    options = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    options.add_argument("--rounds", type=int, default=20)
    options.add_argument("--seed", type=int, default=42)
    options.add_argument("--cpu", action="store_true", help="CPU time instead of wall time")
    args = options.parse_args()
    clock = time.process_time_ns if args.cpu else time.perf_counter_ns

    cases: list[Case] = [
        (row, tz, row.clock.local.replace(tzinfo=tz).astimezone(UTC))
        for row in DATE_TABLE
        for tz in row.clock.zones
    ]
    ours = DateParser()
    alone = DateparserAlone()
    started = time.perf_counter()
    ours.warm()
    warm_ms = (time.perf_counter() - started) * 1000
    alone.parse("через неделю", ZoneInfo("UTC"), datetime(2026, 1, 1, tzinfo=UTC))

    def ours_parse(case: Case) -> object:
        row, tz, now = case
        return ours.parse(row.phrase, tz=tz, now=now, locale=row.locale)

    def ours_split(case: Case) -> object:
        row, tz, now = case
        return ours.split("позвонить Ивану " + row.phrase, tz=tz, now=now, locale=row.locale)

    def alone_parse(case: Case) -> object:
        row, tz, now = case
        return alone.parse(row.phrase, tz, now)

    phrases = len({row.phrase for row in DATE_TABLE})
    print(
        f"{len(DATE_TABLE)} rows ({phrases} distinct phrases) x their zones = {len(cases)} "
        f"cases, {args.rounds} rounds; Python {platform.python_version()}, "
        f"dateparser {dateparser.__version__}; DateParser.warm() took {warm_ms:.0f} ms; "
        f"{'CPU' if args.cpu else 'wall'} time\n"
    )
    print("| per call                           | median ms |  p99 ms |  max ms | measured |")
    print("|------------------------------------|-----------|---------|---------|----------|")
    for name, call in (
        ("DateParser.parse (the bot)", ours_parse),
        ("DateParser.split (text + phrase)", ours_split),
        ("dateparser alone (DateDataParser)", alone_parse),
    ):
        measure(name, cases, call, args.rounds, args.seed, clock)

    def agreeing(parse: Callable[[Case], object]) -> int:
        return sum(parse(case) == expected_moment(case[0], case[1]) for case in cases)

    print(
        f"\nagree with the table: DateParser.parse {agreeing(ours_parse)}/{len(cases)}, "
        f"dateparser alone {agreeing(alone_parse)}/{len(cases)}"
    )


if __name__ == "__main__":
    main()
