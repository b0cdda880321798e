"""The parsed query (``forum.search.query``) in PostgreSQL terms: a ``tsquery`` and SQL filters.

Each term is normalized by PostgreSQL itself (``plainto_tsquery`` for a word,
``phraseto_tsquery`` for a phrase: ``<->``, or ``<2>`` over a stop word, as
the documents were analyzed with the same ``english`` Snowball configuration),
and the pieces joined with ``&``, ``|`` and ``!``, all in one statement (the
result is cast with ``::tsquery`` where used, which parses without analyzing
again). The same statement asks the planner how many documents the search
matches (``search_estimate``, migration ``0021p``), which ``reads.page_of``
needs before its page: one round trip, not two. A term that analyzes to nothing (a stop word) is left out, as in the
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
# Characters that PostgreSQL's parser binds words with into one token (a host, a file path, a
# URL, an e-mail address, an entity: "torch.linalg.lstsq", "mint/cifar", "&nbsp;"), where the
# Whoosh engine's ``\w+`` sees separate words. Both documents and query terms pass through
# ``plain_words``, so "linalg" finds "torch.linalg" on both engines; hyphens stay, since the
# parser already gives a hyphenated word and its parts.
JOINERS = "./:@&;~=?#+"  # no "%" or "\\": never special in SQL text or its parameters


def plain_words(sql: str) -> str:
    """SQL of ``sql`` (text) with each ``JOINERS`` character made a space (length kept)."""
    return f"translate({sql}, '{JOINERS}', '{' ' * len(JOINERS)}')"


PLAIN_WORDS = str.maketrans(JOINERS, " " * len(JOINERS))  # ``plain_words`` in Python


MIN_PREFIX = 2  # "a*" would be most of the vocabulary (as the Whoosh engine)
PREFIX_WORDS = 64  # vocabulary words a prefix stands for, the most frequent first
FACETS = ("author", "tag", "paper", "repo", "stance")
# A phrase's pairs narrow its candidates only while they are few: the documents holding a
# common pair ('neural network', a tenth of a forum) are read from their GIN index at a
# cost the tsvector's index and the dates' range already pay, and ANDing that in made the
# page slower. Past this many (the planner's estimate of the pairs alone) they are left out.
PAIRS_UP_TO = 1000


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
    estimate: float | None = None  # the planner's estimate of the documents ``conditions`` match
    pairs: str | None = None  # the adjacent word pairs every match holds (phrases; see PAIRS)

    def where(self, alias: str = "d", *, indexed: bool = True,
              pairs: bool = True) -> tuple[str, dict]:
        """SQL conditions (joined by AND) and their parameters. ``indexed=False`` words the
        text and facet tests so no GIN index can answer them: for rows already narrowed
        by another index, where building the GIN index's whole match set would cost more.

        A phrase's pairs are a test beside the tsvector's, never instead of it: they only
        narrow the candidates. Their index is used even with ``indexed=False``: a phrase's
        pairs are few documents, fewer than the rows of a page's threads."""
        parts, params = [], {}
        test = "{} IS TRUE" if not indexed else "{}"
        if self.tsquery is not None:
            parts.append(test.format(f"{alias}.tsv @@ CAST(:tsq AS tsquery)"))
            params["tsq"] = self.tsquery
            if self.pairs is not None and pairs:
                parts.append(f"{alias}.pairs @@ CAST(:pairs AS tsquery)")
                params["pairs"] = self.pairs
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

    def conditions(self, alias: str = "d", *, papers: bool = False,
                   indexed: bool = True) -> tuple[str, dict]:
        """``where`` and the kind of document: papers (``papers``, or ``in:papers``), the
        ``in:`` filter's kind, or else threads and replies (papers have their own box)."""
        kind = "paper" if papers else self.kind
        # papers: their own small GIN index (kind = 'paper') beats the pairs of every document
        where, params = self.where(alias, indexed=indexed, pairs=kind != "paper")
        if kind is not None:
            where += f" AND {alias}.kind = :kind"
            params["kind"] = kind
        else:
            where += f" AND {alias}.kind <> 'paper'"
        return where, params


def _day(value) -> datetime:
    return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)


def facet(name: str, value: str) -> str:
    return f"{name}:{value.lower()}"


# Said in the same round trip as the terms' analysis: whether a rebuild is owed, and the
# planner settings of the search statements that follow (backend.PostgresBackend._planned).
STATE = ["(SELECT needs_rebuild FROM search_state LIMIT 1) IS true",
         "set_config('enable_seqscan', 'off', true)", "set_config('jit', 'off', true)"]


def translate(connection, parsed) -> Translated:
    """``parsed`` to SQL pieces, with one round trip to analyze its terms and estimate its
    matches."""
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
    positive = [analyzer.add(term) for term in parsed.terms]
    negative = [analyzer.add(term) for term in parsed.excluded]
    marks = _joined(positive)
    tsquery = _joined(positive + [f"'!' || {n}" for n in negative])
    # the phrases every match holds (ANDed at the top of the tsquery), not those in an OR
    pairs = _joined([analyzer.pairs(term) for term in parsed.terms if term.kind == "phrase"])
    owed, out.marks, out.tsquery, out.estimate, out.pairs, paired = analyzer.run(
        connection, marks, tsquery, pairs, _estimate_sql(out, bool(parsed.filters)))
    if paired is None or paired > PAIRS_UP_TO:
        out.pairs = None
    out.owed_rebuild = owed
    out.has_phrase = analyzer.has_phrase
    if out.marks is None and not parsed.filters:
        out.nothing_to_search = True
        out.tsquery = None
    return out


# The search's conditions as ``search_estimate`` takes them: each value a ``format`` literal
ESTIMATED = {"d.tsv @@ CAST(:tsq AS tsquery)": "(%1$L IS NULL OR d.tsv @@ CAST(%1$L AS tsquery))",
             "CAST(:facets AS text[])": "CAST(%2$L AS text[])", ":kind": "%3$L",
             ":after": "CAST(%4$L AS timestamptz)", ":before": "CAST(%5$L AS timestamptz)"}


def _estimate_sql(out: Translated, filters: bool) -> tuple[str, dict]:
    """``search_estimate(...)`` of the conditions ``reads.page_of`` will search with, over the
    tsquery the statement builds (``m.tsq``); NULL when there is nothing to search."""
    probe = Translated(tsquery="", marks=None, facets=out.facets, kind=out.kind,
                       after=out.after, before=out.before)
    condition, _ = probe.conditions(papers=out.kind == "paper")
    for placeholder, literal in ESTIMATED.items():
        condition = condition.replace(placeholder, literal)
    params = {"e_condition": condition, "e_facets": out.facets or None, "e_kind": out.kind,
              "e_after": out.after, "e_before": out.before}
    sql = ("search_estimate(:e_condition, m.tsq, CAST(:e_facets AS text[]), :e_kind, "
           "CAST(:e_after AS timestamptz), CAST(:e_before AS timestamptz))")
    return (sql if filters else f"CASE WHEN m.marks IS NULL THEN NULL ELSE {sql} END"), params


# A phrase's adjacent word pairs as a tsquery text ('5e1f0' & '0c3ab', hashes of 'a b' and
# 'b c'), NULL when it has none (one word, or only gaps): ``search_pairs`` (migration
# 0023pp) over the phrase's own tsvector, whose positions are the phrase's ``<->`` and
# ``<2>`` (``phraseto_tsquery`` analyzes alike), so a document matching the phrase holds
# every one of these pairs.
# Each pair is quoted as a one-lexeme tsvector prints it, which tsquery reads back as is.
PAIRS = (f"(SELECT string_agg(array_to_tsvector(ARRAY[p])::text, ' & ') FROM unnest("
         f"tsvector_to_array(search_pairs(to_tsvector('{CONFIG}', {plain_words(':v')})))) p)")

PAIRS_ESTIMATE = ("search_estimate('d.pairs @@ CAST(%1$L AS tsquery)', m.pairs, "
                  "CAST(NULL AS text[]), NULL, CAST(NULL AS timestamptz), "
                  "CAST(NULL AS timestamptz))")


class _Analyzer:
    """Collects the SQL that analyzes each term (columns ``a.c0``, ``a.c1``...) and the SQL
    that joins their results into one tsquery text (NULL for nothing); ``run`` sends it all
    in one statement."""

    def __init__(self):
        self.columns: list[str] = []
        self.params: dict = {}
        self.has_phrase = False

    def _column(self, sql: str, value: str) -> str:
        at = len(self.columns)
        self.params[f"v{at}"] = value
        self.columns.append(sql.replace(":v", f":v{at}") + f" AS c{at}")
        return f"nullif(a.c{at}, '')"

    def add(self, term) -> str:
        """SQL of the term's tsquery text, NULL if it analyzes to nothing."""
        if term.kind == "or":
            return _or([self.add(option) for option in term.options])
        if term.kind == "prefix":
            if len(term.text) < MIN_PREFIX:
                return "NULL"
            stem = self._column(f"to_tsquery('{CONFIG}', quote_literal(lower({plain_words(':v')})) "
                                f"|| ':*')::text", term.text)
            words = self._column(
                f"(SELECT coalesce(string_agg(DISTINCT q, ' | '), '') FROM ("
                f"SELECT nullif(plainto_tsquery('{CONFIG}', w.word)::text, '') AS q "
                f"FROM (SELECT word FROM search_words WHERE word LIKE :v ESCAPE '\\' "
                f"ORDER BY ndoc DESC, word LIMIT {PREFIX_WORDS}) w) e)",
                _like_prefix(term.text.lower()))
            return _or([stem, words])
        if term.kind == "phrase":
            self.has_phrase = self.has_phrase or len(term.text.split()) > 1
            at = self._column(f"phraseto_tsquery('{CONFIG}', {plain_words(':v')})::text", term.text)
        else:  # a word of several parts ("torch.linalg", "2301.12345"): its parts in a row,
            # as the Whoosh engine reads it (``phraseto_tsquery`` of one word is ``plainto``'s)
            at = self._column(f"phraseto_tsquery('{CONFIG}', {plain_words(':v')})::text", term.text)
        return _group(at)

    def pairs(self, term) -> str:
        """SQL of a phrase's pairs as tsquery text (``PAIRS``), NULL if it has none."""
        return self._column(PAIRS, term.text)

    def run(self, connection, marks: str, tsquery: str, pairs: str, estimate: tuple[str, dict]
            ) -> tuple[bool, str | None, str | None, float | None, str | None, float | None]:
        """(rebuild owed, marks, tsquery, the planner's estimate of the matches, pairs, the
        planner's estimate of the documents holding the pairs)."""
        columns = ", ".join(self.columns) or "NULL AS c"
        values = connection.execute(text(
            f"SELECT {', '.join(STATE)}, m.marks, m.tsq, {estimate[0]}, m.pairs, "
            f"CASE WHEN m.pairs IS NULL THEN NULL ELSE {PAIRS_ESTIMATE} END "
            f"FROM (SELECT {columns}) a, "
            f"LATERAL (SELECT {marks} AS marks, {tsquery} AS tsq, {pairs} AS pairs) m"),
            {**self.params, **estimate[1]}).one()
        return bool(values[0]), *values[len(STATE):]


def _like_prefix(prefix: str) -> str:
    return prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _group(query: str) -> str:
    return f"('(' || {query} || ')')"


def _or(pieces: list[str]) -> str:
    return _joined(pieces, " | ", grouped=True)


def _joined(pieces: list[str], operator: str = " & ", *, grouped: bool = False) -> str:
    """SQL joining the pieces' texts that are not NULL with ``operator``; NULL if none is."""
    if not pieces:
        return "NULL"
    joined = f"nullif(concat_ws('{operator}', {', '.join(pieces)}), '')"
    return f"('(' || {joined} || ')')" if grouped else joined
