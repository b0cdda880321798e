"""Top N for the common query shape, an AND of terms, a block of postings at a time.

Most searches are a few words, perhaps a phrase (an AND of word pairs in the
``shingles`` field) and term filters (``tag:``, ``author:``, ``in:``...), with
optional exclusions. Whoosh answers those by walking every matching document
through a tree of Python matcher objects and scoring it: about 40 µs a
document, so a pair of common words matching 5,000 of 100,000 posts costs
200 ms, and its block-quality skipping rarely helps with common words.

Here each term's postings are read a block at a time (arrays of document
numbers and weights decoded by Whoosh's own codec), intersected as Python
dicts and sets, and scored with the same BM25F formula and statistics Whoosh
uses (filters restrict but do not score, which does not change the order).
Anything else (OR, prefixes, date ranges, sorting by a column) is left to
Whoosh: ``rank()`` returns None for it.

This reads private attributes of Whoosh's ``W3LeafMatcher`` (block arrays);
``requirements.txt`` pins the version, and the tests compare the order with
Whoosh's own search.
"""
from __future__ import annotations

import heapq
from array import array

from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

SCORED_FIELDS = frozenset({"text", "shingles"})
_LENGTHS = [byte_to_length(b) for b in range(256)]
_WEIGHTING = BM25F()


def _parts(wquery):
    """(required terms, excluded terms) when ``wquery`` is an AND of terms (minus an OR of
    terms), else None."""
    excluded: list = []
    if isinstance(wquery, wq.AndNot):
        negative = wquery.b
        options = negative.subqueries if isinstance(negative, wq.Or) else [negative]
        if not all(isinstance(o, wq.Term) for o in options):
            return None
        excluded, wquery = list(options), wquery.a
    required = wquery.subqueries if isinstance(wquery, wq.And) else [wquery]
    flat: list = []
    for part in required:
        if isinstance(part, wq.And):
            flat.extend(part.subqueries)
        else:
            flat.append(part)
    if not flat or not all(isinstance(p, wq.Term) for p in flat):
        return None
    return flat, excluded


def _postings(reader, fieldname: str, text) -> tuple[array | tuple, array | None]:
    """All document numbers and weights of one term in one segment."""
    if fieldname not in reader.schema:
        return (), None
    try:  # the raw postings, deleted documents included (dropped after scoring)
        matcher = reader._terms.matcher(fieldname, reader._text_to_bytes(fieldname, text),
                                        reader.schema[fieldname].format)
    except TermNotFound:  # no documents in this segment
        return (), None
    if not isinstance(matcher, W3LeafMatcher):  # not the codec we know: let Whoosh do it
        raise _Unsupported
    ids: list = []
    weights: list = []
    while matcher.is_active():
        matcher._read_ids()
        matcher._read_weights()
        ids.extend(matcher._ids)
        weights.extend(matcher._weights)
        matcher._next_block()
    return ids, weights


class _Unsupported(Exception):
    pass


_length_cache: dict[tuple[str, str], bytes] = {}
MAX_CACHED_LENGTHS = 64  # (segment, field) entries; segments of a live index are few


def _lengths(reader, fieldname: str) -> bytes:
    """One byte per document of the segment: the field's length, encoded as Whoosh does.
    Read once per segment and field; segment files never change once written."""
    key = (reader._segment.segment_id(), fieldname)
    found = _length_cache.get(key)
    if found is None:
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        count = reader.doc_count_all()
        if column is None:
            found = bytes(count)
        else:
            stored = min(column._count, count)
            found = column._dbfile.get(column._basepos, stored) + bytes(count - stored)
        if len(_length_cache) >= MAX_CACHED_LENGTHS:
            _length_cache.clear()
        _length_cache[key] = found
    return found


def rank(searcher, wquery, limit: int) -> list[int] | None:
    """Global document numbers of the best ``limit`` matches, best first; None when the
    query is not an AND of terms (Whoosh then answers it)."""
    scored = rank_with_scores(searcher, wquery, limit)
    return None if scored is None else [docnum for _, docnum in scored]


def rank_with_scores(searcher, wquery, limit: int) -> list[tuple[float, int]] | None:
    parts = _parts(wquery)
    if parts is None:
        return None
    required, excluded = parts
    if not searcher.doc_count_all():  # an empty index (and Whoosh's idf would divide by 0)
        return []
    scored = [t for t in required if t.fieldname in SCORED_FIELDS]
    statistics = {(t.fieldname, t.text): (searcher.idf(t.fieldname, t.text),
                                          searcher.avg_field_length(t.fieldname) or 1)
                  for t in scored}
    best: list[tuple[float, int]] = []
    try:
        for reader, offset in _leaves(searcher):
            _rank_segment(reader, offset, required, excluded, statistics, limit, best)
    except _Unsupported:
        return None
    best.sort(key=lambda item: (-item[0], item[1]))
    return best[:limit]


def _leaves(searcher):
    leaves = searcher.leaf_searchers() if hasattr(searcher, "leaf_searchers") else None
    if leaves:
        return [(s.reader(), offset) for s, offset in leaves]
    return [(searcher.reader(), 0)]


def _rank_segment(reader, offset, required, excluded, statistics, limit, best) -> None:
    lists = []
    for term in required:
        ids, weights = _postings(reader, term.fieldname, term.text)
        if not ids:
            return  # a required term missing from this segment: nothing matches here
        lists.append((len(ids), term, ids, weights))
    lists.sort(key=lambda item: item[0])  # intersect from the rarest term up
    _, first, ids, weights = lists[0]
    scores: dict[int, float] = dict.fromkeys(ids, 0.0)
    term_weights = [(first, dict(zip(ids, weights)))] if first.fieldname in SCORED_FIELDS else []
    for _, term, ids, weights in lists[1:]:
        if term.fieldname in SCORED_FIELDS:
            found = {d: w for d, w in zip(ids, weights) if d in scores}
            scores = dict.fromkeys(found, 0.0)
            term_weights.append((term, found))
        else:
            scores = dict.fromkeys(scores.keys() & set(ids), 0.0)
        if not scores:
            return
    for term in excluded:
        ids, _ = _postings(reader, term.fieldname, term.text)
        for docnum in ids:
            scores.pop(docnum, None)
    if reader.has_deletions():
        for docnum in [d for d in scores if reader.is_deleted(d)]:
            del scores[docnum]
    B, K1 = _WEIGHTING.B, _WEIGHTING.K1
    for term, found in term_weights:
        idf, average = statistics[(term.fieldname, term.text)]
        lengths = _lengths(reader, term.fieldname)
        for docnum in scores:
            tf = found[docnum]
            length = _LENGTHS[lengths[docnum]]
            scores[docnum] += idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / average)))
    top = heapq.nlargest(limit, scores.items(), key=lambda item: (item[1], -item[0]))
    best.extend((score, docnum + offset) for docnum, score in top)
