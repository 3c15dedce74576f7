"""Counts what the fuzz tests fed through the dispatcher and says so at the end of the run."""

from __future__ import annotations

from collections import Counter

import pytest

# kind of input -> how many updates of it went through the real dispatcher in this session.
FUZZED: Counter[str] = Counter()
EXAMPLES: Counter[str] = Counter()
# Replies that showed the acting user their own marked data: the isolation check has teeth.
SHOWN: Counter[str] = Counter()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not FUZZED:
        return
    kinds = ", ".join(f"{kind} {count}" for kind, count in sorted(FUZZED.items()))
    terminalreporter.write_line(
        f"fuzz: {sum(FUZZED.values())} updates in {sum(EXAMPLES.values())} examples "
        f"through the real dispatcher ({kinds}); {SHOWN['own']} replies showed a user "
        f"their own marked data, {SHOWN['other']} the other user's"
    )
