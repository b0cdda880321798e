"""The parsed query (``forum.search.query``) in PostgreSQL terms: a ``tsquery`` and SQL filters.

Each term is normalized by PostgreSQL itself (``plainto_tsquery`` for a word,
``phraseto_tsquery`` for a phrase: ``<->``, or ``<2>`` over a stop word, as
the documents were analyzed with the same ``english`` Snowball configuration),
all in one round trip, and the pieces are joined here with ``&``, ``|`` and
``!``; the result is cast with ``::tsquery``, which parses without analyzing
again. A term that analyzes to nothing (a stop word) is left out, as in the
Whoosh engine. A prefix ``optim*`` is the stemmed prefix (``'optim':*``) OR the
stems of the most frequent vocabulary words starting with it: documents hold
stems, and "generaliz*" must find "generalization", whose stem is "general".

Filters become SQL on the document table: ``author:``, ``tag:``, ``paper:``,
``repo:`` and ``stance:`` one ``facets @> ARRAY[...]`` (one GIN index),
``in:`` the kind, ``after:``/``before:`` a range on ``created`` (UTC days).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from sqlalchemy import text

CONFIG = "english"
MIN_PREFIX = 2  # "a*" would be most of the vocabulary (as the Whoosh engine)
PREFIX_WORDS = 64  # vocabulary words a prefix stands for, the most frequent first
FACETS = ("author", "tag", "paper", "repo", "stance")


@dataclass
class Translated:
    tsquery: str | None  # None: filters only
    marks: str | None  # what ts_headline marks: the query without its exclusions
    facets: list[str] = field(default_factory=list)
    kind: str | None = None
    after: datetime | None = None
    before: datetime | None = None
    has_phrase: bool = False
    nothing_to_search: bool = False
    owed_rebuild: bool = False  # the documents are incomplete (search_state)

    def where(self, alias: str = "d", *, indexed: bool = True) -> tuple[str, dict]:
        """SQL conditions (joined by AND) and their parameters. ``indexed=False`` words the
        text and facet tests so no GIN index can answer them: for rows already narrowed
        by another index, where building the GIN index's whole match set would cost more."""
        parts, params = [], {}
        test = "{} IS TRUE" if not indexed else "{}"
        if self.tsquery is not None:
            parts.append(test.format(f"{alias}.tsv @@ CAST(:tsq AS tsquery)"))
            params["tsq"] = self.tsquery
        if self.facets:
            parts.append(test.format(f"{alias}.facets @> CAST(:facets AS text[])"))
            params["facets"] = self.facets
        if self.after is not None:
            parts.append(f"{alias}.created >= :after")
            params["after"] = self.after
        if self.before is not None:
            parts.append(f"{alias}.created < :before")
            params["before"] = self.before
        return " AND ".join(parts) or "true", params


def _day(value) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


def facet(name: str, value: str) -> str:
    return f"{name}:{value.lower()}"


# Said in the same round trip as the terms' analysis: whether a rebuild is owed, and the
# planner settings of the search statements that follow (backend.PostgresBackend._planned).
STATE = ["(SELECT needs_rebuild FROM search_state LIMIT 1) IS true",
         "set_config('enable_seqscan', 'off', true)", "set_config('jit', 'off', true)"]


def translate(connection, parsed) -> Translated:
    """``parsed`` to SQL pieces, with one round trip to analyze its terms."""
    out = Translated(tsquery=None, marks=None)
    for name, value in parsed.filters:
        if name in FACETS:
            out.facets.append(facet(name, str(value)))
        elif name == "in":
            out.kind = value
        elif name == "after":
            day = _day(value)
            out.after = day if out.after is None else max(out.after, day)
        elif name == "before":
            day = _day(value)
            out.before = day if out.before is None else min(out.before, day)
    analyzer = _Analyzer()
    required = [analyzer.add(term) for term in parsed.terms]
    excluded = [analyzer.add(term) for term in parsed.excluded]
    owed, analyzed = analyzer.run(connection)
    out.owed_rebuild = owed
    positive = [p for p in (piece(analyzed) for piece in required) if p]
    negative = [p for p in (piece(analyzed) for piece in excluded) if p]
    out.has_phrase = analyzer.has_phrase
    if not positive and not parsed.filters:
        out.nothing_to_search = True
        return out
    if positive:
        out.marks = " & ".join(positive)
        out.tsquery = " & ".join(positive + [f"!{p}" for p in negative])
    elif negative:  # filters and exclusions only
        out.tsquery = " & ".join(f"!{p}" for p in negative)
    return out


class _Analyzer:
    """Collects the SQL that analyzes each term; ``run`` sends it in one statement."""

    def __init__(self):
        self.columns: list[str] = []
        self.params: dict = {}
        self.has_phrase = False

    def _column(self, sql: str, value: str) -> int:
        at = len(self.columns)
        self.params[f"v{at}"] = value
        self.columns.append(sql.replace(":v", f":v{at}"))
        return at

    def add(self, term):
        """A function of the analyzed columns giving the term's tsquery text ('' if nothing)."""
        if term.kind == "or":
            options = [self.add(option) for option in term.options]
            return lambda analyzed: _or([o(analyzed) for o in options])
        if term.kind == "prefix":
            if len(term.text) < MIN_PREFIX:
                return lambda analyzed: ""
            stem = self._column(f"to_tsquery('{CONFIG}', quote_literal(lower(:v)) || ':*')::text",
                                term.text)
            words = self._column(
                f"(SELECT coalesce(string_agg(DISTINCT q, ' | '), '') FROM ("
                f"SELECT nullif(plainto_tsquery('{CONFIG}', w.word)::text, '') AS q "
                f"FROM (SELECT word FROM search_words WHERE word LIKE :v ESCAPE '\\' "
                f"ORDER BY ndoc DESC, word LIMIT {PREFIX_WORDS}) w) e)",
                _like_prefix(term.text.lower()))
            return lambda analyzed: _or([analyzed[stem], analyzed[words]])
        if term.kind == "phrase":
            self.has_phrase = self.has_phrase or len(term.text.split()) > 1
            at = self._column(f"phraseto_tsquery('{CONFIG}', :v)::text", term.text)
        else:
            at = self._column(f"plainto_tsquery('{CONFIG}', :v)::text", term.text)
        return lambda analyzed: _group(analyzed[at])

    def run(self, connection) -> tuple[bool, list[str]]:
        values = connection.execute(text("SELECT " + ", ".join(STATE + self.columns)),
                                    self.params).one()
        return bool(values[0]), list(values[len(STATE):])


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _group(query: str) -> str:
    return f"({query})" if query else ""


def _or(pieces: list[str]) -> str:
    pieces = [p for p in pieces if p]
    return f"({' | '.join(pieces)})" if pieces else ""
