"""Answering searches in SQL: matching documents grouped per thread, counted, paged,
with ``ts_headline`` snippets for the page's hits only; papers; did-you-mean.

One statement answers a page: the matching documents are ranked (``ts_rank``
with title weight A above body weight D) in a CTE, grouped per thread (best
rank, newest, highest score, matches), and the groups are ordered, counted and
cut with LIMIT/OFFSET. A thread with a thousand matching replies is one group,
so it can never push other threads off the page. The documents of the page's
groups are then numbered within their group (``row_number() OVER (PARTITION
BY ...)``) and ``ts_headline`` runs on the best ``snippets`` of each only.

Which documents are ranked depends on how many match (``page_of``): before
the page, the planner's estimate (an EXPLAIN, no rows read) says whether every
match can be ranked and counted exactly, or, for a common word on a big forum,
only the newest matches (see ``EXACT_UP_TO``), with an "about" count.

Snippets: ``ts_headline`` marks with two private-use characters (stripped from
documents when written) in the text as the tsvector reads it (dots and slashes
made spaces, so "linalg" is marked in "torch.linalg"), the text's own
characters are put back, it is escaped and the marks become ``<mark>``;
words of a phrase next to one another are marked as one, as the Whoosh engine
does. A hit that matched only by its title shows the title, else the start of
its text.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from datetime import datetime

from markupsafe import escape
from sqlalchemy import text

from forum.search.postgres.tsquery import CONFIG, PLAIN_WORDS, Translated, plain_words

RANK_WEIGHTS = "{0.25, 0.25, 0.25, 1.0}"  # D, C, B, A: a title match counts four body matches
START, STOP = "\ue000", "\ue001"
HEADLINE_OPTIONS = (f'StartSel="{START}", StopSel="{STOP}", MaxWords=28, MinWords=12, '
                    'ShortWord=2, MaxFragments=1, FragmentDelimiter=" "')
PLAIN_CHARS = 160  # the start of a text shown when nothing in it is marked
ELLIPSIS = "…"

# Ranking every match exactly costs a read of every matching row (its thread, its tsvector):
# fine for a few thousand, not for a common word in a million posts. When the planner
# expects more than ``EXACT_UP_TO`` matching documents, the groups are ranked among the
# ``RECENT_MATCHES`` newest matches (a range on the ``created`` index narrows the GIN
# index's matches before any row is read) and the count is an estimate, labelled "about".
# Those recent matches' threads come first, in the sort's order; the threads with only
# older matches follow, in the same order, on later pages (answered from every match), so
# paging still reaches every thread. On a forum, the newest discussions of a common word
# are the ones worth ranking first; a rarer word or a narrower filter is ranked exactly.
EXACT_UP_TO = 1000
RECENT_MATCHES = 500
ROW_VS_INDEX_ENTRY = 50  # reading (and ranking) a matching row costs about as much as this
#                          many entries of an index range: the window's price in rows

GROUP_ORDER = {
    "relevance": "best DESC, newest DESC NULLS LAST, group_id DESC",
    "newest": "newest DESC NULLS LAST, group_id DESC",
    "top": "top DESC, newest DESC NULLS LAST, group_id DESC",
}
DOC_ORDER = {
    "relevance": "rank DESC, created DESC NULLS LAST, key",
    "newest": "created DESC NULLS LAST, key",
    "top": "score DESC, created DESC NULLS LAST, key",
}


@dataclass
class Hit:
    group_id: int
    key: str
    kind: str
    post_id: int | None
    html: str | None  # None: a matching document past the group's snippets


def _rank(q: Translated, sort: str = "relevance") -> str:
    """Newest and top orders need no rank: the index's matches are then never decompressed."""
    if q.marks is None or sort != "relevance":  # filters (and exclusions) only: alike
        return "0.0"
    return f"ts_rank('{RANK_WEIGHTS}', d.tsv, CAST(:marks AS tsquery), 1)"


def _where(q: Translated, papers: bool, *, indexed: bool = True) -> tuple[str, dict]:
    where, params = q.conditions("d", papers=papers, indexed=indexed)
    if q.marks is not None:
        params["marks"] = q.marks
    return where, params


@dataclass
class Page:
    found: list[tuple[int, list[Hit]]]  # (thread or paper id, its hits best first)
    total: int  # groups matching in all
    exact: bool  # whether ``total`` is exact
    box: list[Hit] | None = None  # with ``box``: the best papers, up to box + 1 of them


def page_of(connection, q: Translated, *, sort: str, page: int, per_page: int, snippets: int,
            papers: bool, box: int = 0) -> Page:
    """The page's groups (thread or paper id, its matching documents best first, the first
    ``snippets`` with their snippet), how many groups match in all, and whether that count
    is exact. Up to about ``EXACT_UP_TO`` matching documents (the planner's estimate), or
    while reading them all costs less than the window would, every match is ranked and
    counted; past it, the page is ranked among the ``RECENT_MATCHES`` newest matches and
    the count is an estimate.

    ``box``: the best ``box`` papers too (``best_papers``, one more to tell whether there
    are more), answered by the page's own statement: a round trip is what a loaded host
    pays most for, and the papers box is shown above most first pages."""
    where, params = _where(q, papers)
    group = "d.paper_id" if papers else "d.thread_id"
    params.update(limit=per_page, offset=(page - 1) * per_page, snippets=snippets,
                  options=HEADLINE_OPTIONS, cutoff=None)
    boxed: list[Hit] | None = None
    if box and q.marks is not None:
        box_where, box_params = _where(q, papers=True)
        params.update(box_params, box_limit=box + 1)
    else:
        box_where = None

    def run(recent_only: bool):
        nonlocal boxed, box_where
        sql = _page_sql(q, sort, where, group, papers, recent_only=recent_only)
        if box_where is not None:  # only in the first statement of the page
            sql = f"{sql}\nUNION ALL\n{_papers_sql(q, box_where, part=True)}"
        rows = connection.execute(text(sql + "\nORDER BY part, o1, o2"), params).all()
        if box_where is not None:
            boxed = [_paper_hit(row[3:], q) for row in rows if row[0] == 1]
            box_where = None
        return [row[3:] for row in rows if row[0] == 0]

    # the estimate asked with the terms (tsquery.translate), or now (a query not translated so)
    documents = q.estimate if q.estimate is not None else _estimate(connection, where, params)
    bounds, everything = _histogram(connection) if documents > EXACT_UP_TO else (None, 0.0)
    # Of all documents, the newest this share (all of them: every match ranked, exactly).
    # The window reads a range of the ``created`` index as long as ``share`` of the table,
    # exact ranking reads every matching row: the window pays when the second costs more.
    share = RECENT_MATCHES / max(documents, 1.0)
    if documents * ROW_VS_INDEX_ENTRY < share * everything:
        share = 1.0
    while bounds and share < 1.0:
        # Every page of a query picks the same cutoff (the first whose matches fill a first
        # page), so the order is the same on every page.
        params["cutoff"], share = _cutoff(bounds, share)
        found, groups, recent_documents = _hits(run(recent_only=True), q, snippets)
        if groups >= per_page:
            if len(found) == per_page:  # the page is within the recent matches' threads
                # the window holds ``share`` of all documents: as many threads again in each
                # such share (a thread whose matches span years is counted more than once)
                return Page(found, max(groups + 1, _about(groups / share)), False, boxed)
            break
        # Fewer threads than a page: mostly an estimate too high (a phrase is estimated as
        # its words anywhere in a document). Correct it by what the window held: look
        # further (at least twice as far), or rank every match when there are few.
        documents = recent_documents / share
        share = max(share * 2, RECENT_MATCHES / documents) if documents > EXACT_UP_TO else 1.0
        params["cutoff"] = None
    # a page past the recent matches' threads, or few enough matches: every match, exactly
    found, total, _ = _hits(run(recent_only=False), q, snippets)
    return Page(found, total, True, boxed)


def _estimate(connection, where: str, params: dict) -> float:
    """The planner's estimate of the matching documents (its statistics of the tsvectors'
    words, of ``created`` and of the facets): a plan, not a read of the matches."""
    plan = connection.execute(text(f"EXPLAIN (FORMAT JSON) SELECT 1 FROM search_documents d "
                                   f"WHERE {where}"), params).scalar()
    plan = json.loads(plan) if isinstance(plan, str) else plan
    return float(plan[0]["Plan"]["Plan Rows"])


_HISTOGRAMS: dict[str, tuple[float, str | None, float]] = {}  # database -> (read at, ...)
HISTOGRAM_FOR_S = 300.0  # ANALYZE (by autovacuum) changes it rarely: read it that often


def _histogram(connection) -> tuple[str | None, float]:
    """The planner's histogram of ``search_documents.created`` (equal numbers of documents
    between its bounds) as text, None before the table is first analyzed; and how many
    documents the table holds (its statistics)."""
    database = str(connection.engine.url)
    read_at, bounds, rows = _HISTOGRAMS.get(database, (0.0, None, 0.0))
    if time.monotonic() - read_at > HISTOGRAM_FOR_S or bounds is None:
        bounds, rows = connection.execute(text(
            "SELECT (SELECT histogram_bounds::text FROM pg_stats WHERE schemaname = "
            "current_schema() AND tablename = 'search_documents' AND attname = 'created'), "
            "(SELECT reltuples FROM pg_class WHERE oid = CAST('search_documents' AS regclass))"
        )).one()
        rows = float(rows or 0.0)
        _HISTOGRAMS[database] = (time.monotonic(), bounds, rows)
    return bounds, rows


# The body's and the title's excerpts, marked. They are taken of the texts as the tsvector
# reads them (``plain_words``: "torch.linalg" is two words), or a word found inside a
# dotted name would not be marked; ``_in_original`` puts the dots back.
HEADLINES = ", ".join(f"ts_headline('{CONFIG}', {plain_words(f't.{column}')}, "
                      "CAST(:marks AS tsquery), :options)" for column in ("body", "title"))


def _headline(q: Translated) -> str:
    return HEADLINES if q.marks is not None else "NULL, NULL"


def _page_sql(q: Translated, sort: str, where: str, group: str, papers: bool, *,
              recent_only: bool) -> str:
    """One statement for the page.

    ``hits``: the matches (those written since ``:cutoff`` only, with ``recent_only``: a
    range of the ``created`` index ANDed with the GIN index's matches before any row is
    read). ``grouped``/``page``: one group per thread (or paper); a group's order keys come
    from its recent matches when it has any (``recent``), and such groups come first, so
    a page answered from the recent matches alone and one answered from every match agree
    on the order, and paging from one to the other skips and repeats nothing (without a
    cutoff no match is recent and the keys are over every match). ``docs``: every matching
    document of the page's groups, numbered best first (from ``hits``, or with
    ``recent_only`` read by their thread: building the GIN index's match set again would
    cost more); ``ts_headline`` for the first ``:snippets``. Rows carry ``part`` 0 and
    their order (``o1``, ``o2``) so the papers box can follow in the same statement."""
    recent = "true" if recent_only else "coalesce(d.created >= :cutoff, false)"
    source = "hits WHERE group_id IN (SELECT group_id FROM page)"
    if recent_only:  # the page's groups' older matches too, by their thread (or paper)
        docs_where, _ = _where(q, papers, indexed=papers)  # papers: their own small GIN index
        source = f"""(SELECT {group} AS group_id, d.key, d.kind, d.post_id, d.created, d.score,
                             {_rank(q, sort)} AS rank
                      FROM search_documents d
                      WHERE {group} = ANY(ARRAY(SELECT group_id FROM page)) AND {docs_where}) d"""
    return f"""
    WITH hits AS (
        SELECT {group} AS group_id, d.key, d.kind, d.post_id, d.created, d.score,
               {_rank(q, sort)} AS rank, {recent} AS recent
        FROM search_documents d WHERE {where}{" AND d.created >= :cutoff" if recent_only else ""}
    ), grouped AS (
        SELECT group_id, bool_or(recent) AS tier,
               coalesce(max(rank) FILTER (WHERE recent), max(rank)) AS best,
               coalesce(max(created) FILTER (WHERE recent), max(created)) AS newest,
               coalesce(max(score) FILTER (WHERE recent), max(score)) AS top,
               count(*) AS matches
        FROM hits GROUP BY group_id
    ), page AS (
        SELECT group_id, row_number() OVER (ORDER BY tier DESC, {GROUP_ORDER[sort]}) AS position
        FROM grouped ORDER BY tier DESC, {GROUP_ORDER[sort]} LIMIT :limit OFFSET :offset
    ), docs AS (
        SELECT group_id, key, kind, post_id,
               row_number() OVER (PARTITION BY group_id ORDER BY {DOC_ORDER[sort]}) AS place
        FROM {source}
    )
    SELECT 0 AS part, p.position AS o1, x.place AS o2,
           p.group_id, n.total, x.key, x.kind, x.post_id, x.place, t.title, t.body,
           {_headline(q)}, n.documents
    FROM (SELECT count(*) AS total, sum(matches) AS documents FROM grouped) n  -- even past the end
    LEFT JOIN (page p JOIN docs x ON x.group_id = p.group_id) ON true
    LEFT JOIN search_texts t ON t.key = x.key AND x.place <= :snippets"""


def _hits(rows, q: Translated, snippets: int) -> tuple[list[tuple[int, list[Hit]]], int, int]:
    """Rows of a page statement to (groups with their hits, groups in all, documents in all)."""
    found: dict[int, list[Hit]] = {}
    total = documents = 0
    for row in rows:
        group_id, total, key, kind, post_id, place, title, body, body_mark, title_mark = row[:10]
        documents = row[10]
        if group_id is None:  # the counts' row of a page past the end
            continue
        html = (snippet_html(title or "", body or "", body_mark, title_mark, phrase=q.has_phrase)
                if place <= snippets else None)
        found.setdefault(group_id, []).append(Hit(group_id, key, kind, post_id, html))
    return list(found.items()), int(total or 0), int(documents or 0)


def _cutoff(bounds: str, share: float) -> tuple[datetime, float]:
    """The date from which about the newest ``share`` of all documents were written, read off
    the planner's histogram of ``created`` (equal numbers of documents between its bounds),
    and the share that date really leaves (a whole number of the histogram's steps)."""
    edges = [datetime.fromisoformat(b.strip('"')) for b in bounds.strip("{}").split(",")]
    steps = len(edges) - 1
    at = max(0, min(steps - 1, int((1.0 - share) * steps)))
    return edges[at], (steps - at) / steps


def _about(value: float) -> int:
    """An estimate to two significant figures: "about 4,100", not "about 4,137"."""
    if value < 100:
        return int(round(value))
    digits = len(str(int(value))) - 2
    return int(round(value, -digits))


def snippet_html(title: str, body: str, body_mark: str | None, title_mark: str | None, *,
                 phrase: bool) -> str:
    for source, marked in ((body, body_mark), (title, title_mark)):
        if marked and START in marked:
            return _marked(source, marked, phrase)
    start = body or title
    return str(escape(start[:PLAIN_CHARS] + (ELLIPSIS if len(start) > PLAIN_CHARS else "")))


_HYPHENATED = re.compile(r"</mark>([-'.])<mark>")  # "self-attention" is one word, one mark
# Words of a phrase side by side (stop words between them were skipped by the phrase too)
_PHRASE_GAP = re.compile(r"</mark>((?:\s+|\s+(?:a|an|and|are|as|at|be|by|for|from|in|is|of|on|"
                         r"or|the|to|with)\s+)+)<mark>", re.I)


def _marked(source: str, marked: str, phrase: bool) -> str:
    marked = _in_original(source, marked)
    plain = marked.replace(START, "").replace(STOP, "").strip()
    html = str(escape(marked.strip())).replace(START, "<mark>").replace(STOP, "</mark>")
    html = _HYPHENATED.sub(r"\1", html)
    if phrase:  # "mixture of experts": one mark, as the Whoosh engine marks a phrase
        html = _PHRASE_GAP.sub(r"\1", html)
    stripped = source.strip()
    before = "" if stripped.startswith(plain) else ELLIPSIS
    after = "" if stripped.endswith(plain) else ELLIPSIS
    return before + html + after


def _in_original(source: str, marked: str) -> str:
    """``marked`` (an excerpt of ``source`` as ``plain_words`` reads it, marks added) with
    the source's own characters back: the translation keeps every character's place."""
    plain = marked.replace(START, "").replace(STOP, "")
    at = source.translate(PLAIN_WORDS).find(plain)
    if at < 0:  # not an exact excerpt: shown as it came
        return marked
    original = iter(source[at:at + len(plain)])
    return "".join(c if c in (START, STOP) else next(original) for c in marked)


def best_papers(connection, q: Translated, limit: int) -> tuple[list[Hit], bool]:
    """The best ``limit`` papers (for the box above the debates), and whether there are more."""
    if q.marks is None:
        return [], False
    where, params = _where(q, papers=True)
    params.update(box_limit=limit + 1, options=HEADLINE_OPTIONS)
    rows = connection.execute(text(_papers_sql(q, where, part=False)), params).all()
    return [_paper_hit(row, q) for row in rows[:limit]], len(rows) > limit


def _papers_sql(q: Translated, where: str, *, part: bool) -> str:
    """The best ``:box_limit`` papers with their snippets; with ``part``, as rows of part 1
    after a page's (``_page_sql``'s columns, in their order)."""
    if part:
        return f"""
    SELECT 1, row_number() OVER (ORDER BY x.rank DESC, x.created DESC NULLS LAST, x.key), 0,
           x.paper_id, NULL, x.key, 'paper', NULL, NULL, t.title, t.body,
           {HEADLINES}, NULL
    FROM ({_best_papers_sql(q, where)}) x
    JOIN search_texts t ON t.key = x.key"""
    return f"""
    SELECT x.paper_id, NULL, x.key, 'paper', NULL, NULL, t.title, t.body, {HEADLINES}
    FROM ({_best_papers_sql(q, where)}) x
    JOIN search_texts t ON t.key = x.key
    ORDER BY x.rank DESC, x.created DESC NULLS LAST, x.key"""


def _best_papers_sql(q: Translated, where: str) -> str:
    return f"""SELECT d.paper_id, d.key, {_rank(q)} AS rank, d.created
          FROM search_documents d WHERE {where}
          ORDER BY rank DESC, d.created DESC NULLS LAST, d.key LIMIT :box_limit"""


def _paper_hit(row, q: Translated) -> Hit:
    """A row in ``_page_sql``'s columns (from ``group_id`` on) to a paper's hit."""
    paper_id, key, title, body, body_mark, title_mark = (row[0], row[2], row[6], row[7],
                                                         row[8], row[9])
    return Hit(paper_id, key, "paper", None,
               snippet_html(title or "", body or "", body_mark, title_mark, phrase=q.has_phrase))
