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
Whoosh: ``rank()`` returns None for it. Total hit counts are never computed.

This reads private attributes of Whoosh's ``W3LeafMatcher`` (block arrays);
``requirements.txt`` pins the version, and the tests compare the order with
Whoosh's own search.
"""
from __future__ import annotations

import heapq
from array import array
from itertools import accumulate, repeat
from operator import add, neg

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
    while matcher.is_active():  # one block: (delta-coded ids, weights, values), as _read_ids does
        matcher._read_data()
        block_ids, block_weights = matcher._data[0], matcher._data[1]
        ids.extend(block_ids if matcher._byteids else accumulate(block_ids))
        count = matcher._blocklength
        if block_weights is None:
            weights.extend(repeat(1.0, count))
        elif isinstance(block_weights, float):
            weights.extend(repeat(block_weights, count))
        else:
            weights.extend(block_weights)
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
    """Every step is a C-level pass (zip, map, dict, set) over the postings: no Python loop
    per matching document, which is what makes common words cheap."""
    candidates: set | None = None
    term_scores: list[dict] = []
    for term in required:
        ids, weights = _postings(reader, term.fieldname, term.text)
        if not ids:
            return  # a required term missing from this segment: nothing matches here
        if term.fieldname in SCORED_FIELDS:
            idf, average = statistics[(term.fieldname, term.text)]
            table = _ScoreTable(idf, average)
            lengths = _lengths(reader, term.fieldname)
            per_doc = dict(zip(ids, map(table.__getitem__,
                                        zip(weights, map(lengths.__getitem__, ids)))))
            term_scores.append(per_doc)
            candidates = set(per_doc) if candidates is None else candidates & per_doc.keys()
        else:
            candidates = set(ids) if candidates is None else candidates.intersection(ids)
        if not candidates:
            return
    for term in excluded:
        candidates.difference_update(_postings(reader, term.fieldname, term.text)[0])
    if reader.has_deletions():
        candidates.difference_update(reader.deleted_docs_set)
    docnums = list(candidates)
    totals = map(term_scores[0].__getitem__, docnums) if term_scores else repeat(0.0)
    for per_doc in term_scores[1:]:
        totals = map(add, totals, map(per_doc.__getitem__, docnums))
    # (score, -docnum): the best scores first, the lower document number first among equals
    for score, negated in heapq.nlargest(limit, zip(totals, map(neg, docnums))):
        best.append((score, offset - negated))


class _ScoreTable(dict):
    """BM25F score by (term weight, length byte): few distinct pairs, each computed once."""

    def __init__(self, idf: float, average: float):
        super().__init__()
        self.idf, self.average = idf, average

    def __missing__(self, key):
        weight, length_byte = key
        score = self[key] = _bm25(self.idf, weight, _LENGTHS[length_byte], self.average)
        return score


def _bm25(idf: float, tf: float, length: float, average: float) -> float:
    B, K1 = _WEIGHTING.B, _WEIGHTING.K1  # the formula of whoosh.scoring.bm25
    return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / average)))
