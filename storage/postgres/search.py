"""/find in PostgreSQL: the generated `search_vector` columns of notes, tasks and clients,
asked as storage/sqlite/notes.py asks its FTS5 table, so both backends find the same rows.

Each word must match (ANDed): as a prefix of a folded word (`'бюдж':*` finds "бюджет"), the
prefix being the word's stem where the stem starts the word (storage/stemming.py
search_prefix: "акта" asks for `'акт':*`). Where the stem widened the word, PostgreSQL's own
Russian stems are asked too (`plainto_tsquery('russian', 'акта')`), and, as in SQLite, a
candidate is kept only if one of its words really is the word searched ("акт", "акты", not
"актуальный"). A word kept whole is not asked by stem: "happy" must not find "happiness"
(its English stem "happi"), which SQLite does not find either.

User input never becomes tsquery syntax: a search word is letters and digits only (\\w+),
and the folded prefix is quoted as one tsquery lexeme (quotes and backslashes doubled) before
to_tsquery reads it; plainto_tsquery reads plain text by definition.

Only the newest RANKED_MATCHES candidates (twice as many when a stem widened a word, since
some are then dropped) are ranked, newest by the key SQLite's index uses (id * 4 + kind).
"""

from __future__ import annotations

from dataclasses import dataclass

from storage.models import SearchKind
from storage.stemming import search_prefix

RANKED_MATCHES = 200
KINDS = {1: SearchKind.NOTE, 2: SearchKind.TASK, 3: SearchKind.CLIENT}

# The text each kind is found by, as SQLite's index holds it (and the generated columns of
# 0001_schema.sql vectorise it).
_CLIENT_BODY = (
    "name || ' ' || aliases || ' ' || coalesce(contact_person, '') || ' '"
    " || coalesce(phone, '') || ' ' || coalesce(email, '') || ' '"
    " || coalesce(contact_telegram, '')"
)


def _prefix_query(parameter: str) -> str:
    """A tsquery matching words that start with the folded text of the parameter, quoted as
    one lexeme: nothing in the text is read as an operator."""
    folded = f"am_fold({parameter})"
    quoted = f"replace(replace({folded}, '\\', '\\\\'), '''', '''''')"
    return (
        f"CASE WHEN {folded} = '' THEN ''::tsquery"
        f" ELSE to_tsquery('simple', '''' || {quoted} || ''':*') END"
    )


@dataclass(frozen=True, slots=True)
class SearchQuery:
    sql: str
    args: tuple[object, ...]
    # Some word was widened to its stem: candidates must pass has_every_term.
    widened: bool


def build_query(owner_id: int, terms: list[str]) -> SearchQuery | None:
    """The newest matching rows of the three kinds: key (id * 4 + kind), body, score
    (ts_rank, higher is better). None when there is nothing to search by."""
    if not terms:
        return None
    args: list[object] = [owner_id, 0]
    parts = []
    widened = False
    for term in terms:
        prefix = search_prefix(term)
        args.append(prefix)
        part = _prefix_query(f"${len(args)}::text")
        if prefix != term:
            widened = True
            args.append(term)
            part = f"({part} || plainto_tsquery('russian', ${len(args)}::text))"
        parts.append(part)
    args[1] = RANKED_MATCHES * 2 if widened else RANKED_MATCHES
    # Written out where it is used, not computed once in a CTE: in a custom plan it folds
    # to a constant the planner estimates from the vectors' statistics (an InitPlan's value
    # is unknown when planning, and then the owner's btree looked cheaper than the GIN).
    asked = " && ".join(parts)
    matched = f"search_vector @@ ({asked})"
    sql = (
        f"SELECT key, body, ts_rank(vector, {asked}) AS score FROM ("
        # Each kind's branch is its partial GIN index's WHERE plus owner and match. Ordered
        # by the key, not by id: a cached generic plan (asyncpg prepares statements) must
        # not walk the primary key backwards through every owner's rows hoping for a match.
        " (SELECT id * 4 + 1 AS key, text AS body, search_vector AS vector FROM notes"
        f" WHERE owner_id = $1 AND deleted_at IS NULL AND {matched}"
        " ORDER BY key DESC LIMIT $2)"
        " UNION ALL (SELECT id * 4 + 2 AS key, text, search_vector FROM tasks"
        f" WHERE owner_id = $1 AND status != 'deleted' AND {matched}"
        " ORDER BY key DESC LIMIT $2)"
        f" UNION ALL (SELECT id * 4 + 3 AS key, {_CLIENT_BODY}, search_vector FROM clients"
        f" WHERE owner_id = $1 AND deleted_at IS NULL AND {matched}"
        " ORDER BY key DESC LIMIT $2)"
        ") found ORDER BY key DESC LIMIT $2"
    )
    return SearchQuery(sql=sql, args=tuple(args), widened=widened)
