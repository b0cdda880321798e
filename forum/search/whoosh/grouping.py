"""Ranking every match and grouping it per thread, and the snippets of what is shown.

Split from ``index.py`` (which opens, writes and asks the index): given a
searcher and a Whoosh query, ``all_ranked`` gives every matching document best
first (``conjunctive.rank_all``, or Whoosh's own search for the shapes it does
not take), ``checked`` applies phrase checks lazily, and ``first_appearances``
orders the groups by their best document.
"""
from __future__ import annotations

import numpy as np
from whoosh import sorting

from forum.search.backend import Snippet
from forum.search.whoosh import conjunctive, snippets


def ranked(searcher, wquery, limit: int | None, sort: str = "relevance") -> list[int]:
    """Document numbers of the best ``limit`` matches (None: all), best (or newest, or top)
    first."""
    if limit is None:
        limit = max(1, searcher.doc_count_all())
    ranked = conjunctive.rank(searcher, wquery, limit, sort)
    if ranked is not None:
        return ranked
    kwargs: dict = {"limit": limit}
    if sort == "newest":
        kwargs["sortedby"] = sorting.FieldFacet("created", reverse=True)
    elif sort == "top":
        kwargs["sortedby"] = [sorting.FieldFacet("score", reverse=True),
                              sorting.FieldFacet("created", reverse=True)]
    results = searcher.search(wquery, **kwargs)
    return [results.docnum(position) for position in range(results.scored_length())]


def _snippet(hit, marks: tuple[frozenset[str], tuple]) -> str:
    """Escaped text around the matched words and phrases, each in <mark>."""
    words, phrases = marks
    for fieldname in ("body", "title"):
        text = hit.get(fieldname) or ""
        found = snippets.snippet(text, words, phrases=phrases) if text else None
        if found:
            return found
    return snippets.plain_start(hit.get("body") or hit.get("title") or "")


def all_ranked(searcher, wquery, sort: str) -> tuple[np.ndarray, list]:
    """Every match, best first, and the phrase checks left to apply (see conjunctive.py)."""
    found = conjunctive.rank_all(searcher, wquery, sort)
    if found is not None:
        return found
    return np.array(ranked(searcher, wquery, None, sort), dtype=np.int64), []


def checked(reader, checks, ranked: np.ndarray, groups: np.ndarray, wanted: int):
    """Keep the candidates whose words pass ``checks``, best first, until ``wanted``
    groups are found; the rest are not read. Returns (kept, their groups, exact, estimate):
    when candidates are left, the total is estimated from the share that passed ("about")."""
    kept: list[int] = []
    seen: set[int] = set()
    stopped = None
    tests = [check.tester(reader) for check in checks]
    passes = tests[0] if len(tests) == 1 else lambda docnum: all(t(docnum) for t in tests)
    for at, docnum in enumerate(ranked.tolist()):
        if passes(docnum):
            kept.append(at)
            seen.add(int(groups[at]))
            if len(seen) >= wanted:
                stopped = at
                break
    kept_at = np.array(kept, dtype=np.int64)
    if stopped is None or stopped + 1 >= len(ranked):
        return ranked[kept_at], groups[kept_at], True, len(seen)
    rest = set(np.unique(groups[stopped + 1:]).tolist()) - seen
    share = len(kept) / (stopped + 1)
    return ranked[kept_at], groups[kept_at], False, len(seen) + round(len(rest) * share)


def first_appearances(groups: np.ndarray) -> np.ndarray:
    """The distinct values of ``groups`` in order of first appearance (the best document's)."""
    if not len(groups):
        return groups
    values, first = np.unique(groups, return_index=True)
    return values[np.argsort(first, kind="stable")]


def snippet_of(hit, marks) -> Snippet:
    return Snippet(key=hit["key"], kind=hit["kind"], post_id=hit.get("post_id") or None,
                   html=_snippet(hit, marks))
