"""Cleaning what users type before it is stored."""

from __future__ import annotations

import re
import unicodedata

NAME_LIMIT = 100
FIELD_LIMIT = 200
TASK_TEXT_LIMIT = 1000

# Control characters except newline and tab; zero-width and bidi controls that make a name
# look like another one. Emoji joiners (U+200D) stay: they are part of emoji.
_INVISIBLE = re.compile(
    "[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u200b\u200c\u200e\u200f"
    "\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]"
)


def strip_invisible(text: str) -> str:
    return _INVISIBLE.sub("", unicodedata.normalize("NFC", text))


def clean_line(text: str) -> str:
    """One line: invisible characters removed, whitespace collapsed."""
    return " ".join(strip_invisible(text).split())


def clean_text(text: str) -> str:
    """Free text: invisible characters removed, lines kept, outer whitespace trimmed."""
    lines = [" ".join(line.split()) for line in strip_invisible(text).splitlines()]
    return "\n".join(lines).strip()


_SYMBOLS = re.compile(r"[^\w\s]+")


def name_words(text: str) -> list[str]:
    """A name's words for comparing: case- and ё/е-insensitive, emoji and quotes ignored."""
    return _SYMBOLS.sub(" ", strip_invisible(text).casefold().replace("ё", "е")).split()
