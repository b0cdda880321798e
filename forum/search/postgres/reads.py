"""Answering searches in SQL: matching documents grouped per thread, counted, paged,
with ``ts_headline`` snippets for the page's hits only; papers; did-you-mean.

One statement answers a page: every matching document is ranked (``ts_rank``
with title weight A above body weight D) in a CTE, grouped per thread
(best rank, newest, highest score, matches), and the groups are ordered,
counted with ``count(*) OVER ()`` (exact, over all pages) and cut with
LIMIT/OFFSET. A thread with a thousand matching replies is one group, so it
can never push other threads off the page. The documents of the page's groups
are then numbered within their group (``row_number() OVER (PARTITION BY ...)``)
and ``ts_headline`` runs on the best ``snippets`` of each only. Round trips
are what a loaded host pays most for, so the page is one.

Snippets: ``ts_headline`` marks with two private-use characters (stripped from
documents when written), the text is escaped and the marks become ``<mark>``;
words of a phrase next to one another are marked as one, as the Whoosh engine
does. A hit that matched only by its title shows the title, else the start of
its text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from markupsafe import escape
from sqlalchemy import text

from forum.search.postgres.tsquery import CONFIG, Translated

RANK_WEIGHTS = "{0.25, 0.25, 0.25, 1.0}"  # D, C, B, A: a title match counts four body matches
START, STOP = "\ue000", "\ue001"
HEADLINE_OPTIONS = (f'StartSel="{START}", StopSel="{STOP}", MaxWords=28, MinWords=12, '
                    'ShortWord=2, MaxFragments=1, FragmentDelimiter=" "')
PLAIN_CHARS = 160  # the start of a text shown when nothing in it is marked
ELLIPSIS = "…"

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


def _where(q: Translated, papers: bool) -> tuple[str, dict]:
    where, params = q.where("d")
    kind = "paper" if papers else q.kind
    if kind is not None:
        where += " AND d.kind = :kind"
        params["kind"] = kind
    else:
        where += " AND d.kind <> 'paper'"
    if q.marks is not None:
        params["marks"] = q.marks
    return where, params


def page_of(connection, q: Translated, *, sort: str, page: int, per_page: int, snippets: int,
            papers: bool) -> tuple[list[tuple[int, list[Hit]]], int]:
    """The page's groups (thread or paper id, its matching documents best first, the first
    ``snippets`` with their snippet), and how many groups match in all: one statement."""
    where, params = _where(q, papers)
    group = "d.paper_id" if papers else "d.thread_id"
    headline = (f"ts_headline('{CONFIG}', t.body, CAST(:marks AS tsquery), :options), "
                f"ts_headline('{CONFIG}', t.title, CAST(:marks AS tsquery), :options)"
                if q.marks is not None else "NULL, NULL")
    sql = f"""
    WITH hits AS (
        SELECT {group} AS group_id, d.key, d.kind, d.post_id, d.created, d.score,
               {_rank(q, sort)} AS rank
        FROM search_documents d WHERE {where}
    ), grouped AS (
        SELECT group_id, max(rank) AS best, max(created) AS newest, max(score) AS top,
               count(*) AS matches
        FROM hits GROUP BY group_id
    ), page AS (
        SELECT group_id, count(*) OVER () AS total,
               row_number() OVER (ORDER BY {GROUP_ORDER[sort]}) AS position
        FROM grouped ORDER BY {GROUP_ORDER[sort]} LIMIT :limit OFFSET :offset
    ), docs AS (
        SELECT h.group_id, h.key, h.kind, h.post_id,
               row_number() OVER (PARTITION BY h.group_id ORDER BY {DOC_ORDER[sort]}) AS place
        FROM hits h JOIN page p ON p.group_id = h.group_id
    )
    SELECT p.group_id, p.total, x.key, x.kind, x.post_id, x.place, t.title, t.body, {headline}
    FROM page p JOIN docs x ON x.group_id = p.group_id
    LEFT JOIN search_texts t ON t.key = x.key AND x.place <= :snippets
    ORDER BY p.position, x.place"""
    params.update(limit=per_page, offset=(page - 1) * per_page, snippets=snippets,
                  options=HEADLINE_OPTIONS)
    found: dict[int, list[Hit]] = {}
    total = 0
    for row in connection.execute(text(sql), params):
        group_id, total, key, kind, post_id, place, title, body, body_mark, title_mark = row
        html = (snippet_html(title or "", body or "", body_mark, title_mark, phrase=q.has_phrase)
                if place <= snippets else None)
        found.setdefault(group_id, []).append(Hit(group_id, key, kind, post_id, html))
    if not found and page > 1:  # past the end: still say how many there are
        total = connection.execute(text(f"SELECT count(DISTINCT {group}) FROM search_documents d "
                                        f"WHERE {where}"), params).scalar()
    return list(found.items()), int(total or 0)


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
    plain = marked.replace(START, "").replace(STOP, "").strip()
    html = str(escape(marked.strip())).replace(START, "<mark>").replace(STOP, "</mark>")
    html = _HYPHENATED.sub(r"\1", html)
    if phrase:  # "mixture of experts": one mark, as the Whoosh engine marks a phrase
        html = _PHRASE_GAP.sub(r"\1", html)
    stripped = source.strip()
    before = "" if stripped.startswith(plain) else ELLIPSIS
    after = "" if stripped.endswith(plain) else ELLIPSIS
    return before + html + after


def best_papers(connection, q: Translated, limit: int) -> tuple[list[Hit], bool]:
    """The best ``limit`` papers (for the box above the debates), and whether there are more."""
    if q.marks is None:
        return [], False
    where, params = _where(q, papers=True)
    sql = f"""
    SELECT x.paper_id, x.key, t.title, t.body,
           ts_headline('{CONFIG}', t.body, CAST(:marks AS tsquery), :options),
           ts_headline('{CONFIG}', t.title, CAST(:marks AS tsquery), :options)
    FROM (SELECT d.paper_id, d.key, {_rank(q)} AS rank, d.created
          FROM search_documents d WHERE {where}
          ORDER BY rank DESC, d.created DESC NULLS LAST, d.key LIMIT :limit) x
    JOIN search_texts t ON t.key = x.key
    ORDER BY x.rank DESC, x.created DESC NULLS LAST, x.key"""
    params.update(limit=limit + 1, options=HEADLINE_OPTIONS)
    rows = connection.execute(text(sql), params).all()
    found = [Hit(r[0], r[1], "paper", None, snippet_html(r[2], r[3], r[4], r[5], phrase=q.has_phrase))
             for r in rows[:limit]]
    return found, len(rows) > limit
