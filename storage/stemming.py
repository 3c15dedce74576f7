"""Word stems for search: "акта" finds "акт сверки", "contracts" finds "contract".

Snowball stemmers (Russian for Cyrillic words, English for the rest), the same family
PostgreSQL's text search uses. A stem is a search key, not a word: it is compared with the
stems of the indexed words, never shown.
"""

from __future__ import annotations

import re
from functools import lru_cache

import snowballstemmer

from storage.models import MIN_SEARCH_WORD

_CYRILLIC = re.compile(r"[а-яё]", re.IGNORECASE)
# Words of a search and of a text: letters and digits only, so user input cannot become
# query syntax (FTS5's or tsquery's).
_WORD = re.compile(r"\w+", re.UNICODE)
_RUSSIAN = snowballstemmer.stemmer("russian")
_ENGLISH = snowballstemmer.stemmer("english")


def fold(word: str) -> str:
    """Case- and ё-insensitive form, as the index compares words."""
    return word.casefold().replace("ё", "е")


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """The stem of a folded word."""
    stemmer = _RUSSIAN if _CYRILLIC.search(word) else _ENGLISH
    return str(stemmer.stemWord(word))


def search_prefix(term: str) -> str:
    """What the index is asked for: the term's stem where the stem starts the term ("акта"
    -> "акт", so "акт" and "акты" are candidates too), else the term itself. A candidate
    must then pass :func:`matches`."""
    folded = fold(term)
    root = stem(folded)
    return root if root and folded.startswith(root) else folded


def matches(word: str, term: str) -> bool:
    """A word is found by a search term when it starts with it (a typed prefix: "бюдж"
    finds "бюджет") or has the same stem ("акта" finds "акт", not "актуальный")."""
    folded, wanted = fold(word), fold(term)
    return folded.startswith(wanted) or stem(folded) == stem(wanted)


def search_terms(words: list[str]) -> list[str]:
    """The words of a search, folded, long enough to search by; at most 12."""
    return [
        fold(word)
        for text in words
        for word in _WORD.findall(text)
        if len(word) >= MIN_SEARCH_WORD
    ][:12]


def has_every_term(body: str, terms: list[str]) -> bool:
    """An index found words starting with each term's stem; keep the row only if one of
    them is really the term's word ("акта": "акт" yes, "актуальный" no)."""
    words = _WORD.findall(fold(body))
    return all(
        any(word.startswith(prefix) and matches(word, term) for word in words)
        for term in terms
        for prefix in (search_prefix(term),)
    )
