"""Recognise a task's kind from its words, in Russian and English."""

from __future__ import annotations

import re

from storage.models import TaskKind

# Stems match word starts (позвонить, созвон, звонок...); whole words where a stem would
# catch unrelated words (акт vs актуальный, act vs action).
_PATTERNS: tuple[tuple[TaskKind, re.Pattern[str]], ...] = (
    (
        TaskKind.INVOICE,
        re.compile(r"\b(invoice|bill(s|ing)?\b|счет(а|у|ом|е)?\b|счета\b|оплат|инвойс)"),
    ),
    (
        TaskKind.REPORT,
        re.compile(r"\b(report|отчет)"),
    ),
    (
        TaskKind.DOCUMENT,
        re.compile(
            r"\b(act\b|acts\b|акт(а|у|ом|е|ы|ов)?\b|contract|договор|addendum|доп\.?\s?соглаш"
            r"|допсоглаш|document|документ|agreement|соглашени)"
        ),
    ),
    (
        TaskKind.CALL,
        re.compile(r"\b(call|phone|ring\b|звон|позвон|созвон|перезвон|набрать)"),
    ),
    (
        TaskKind.MEETING,
        re.compile(r"\b(meet|встреч|митинг|встрет)"),
    ),
)


# What a task starts with is what the user will do: "call John re contract" is a call (reminded
# 15 minutes ahead), not a document (a day ahead); so is "позвонить насчёт счёта".
_ACTIONS: frozenset[TaskKind] = frozenset({TaskKind.CALL, TaskKind.MEETING})
_FIRST_WORD = re.compile(r"\w+")


def detect_kind(text: str) -> TaskKind:
    """The kind of the task's first word when it is an action (a call, a meeting), else the
    first kind whose words appear in the text, else OTHER.

    Past the first word, invoices and documents are checked before calls: "отчёт: созвон в
    пятницу" is about the report.
    """
    normalized = text.casefold().replace("ё", "е")
    first = _FIRST_WORD.search(normalized)
    if first is not None:
        for kind, pattern in _PATTERNS:
            if kind in _ACTIONS and pattern.match(first.group()):
                return kind
    for kind, pattern in _PATTERNS:
        if pattern.search(normalized):
            return kind
    return TaskKind.OTHER
