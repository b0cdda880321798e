"""Top N for the common query shape, an AND of terms, a block of postings at a time.

Most searches are a few words, perhaps a phrase (an AND of word pairs in the
``shingles`` field) and term filters (``tag:``, ``author:``, ``in:``...), with
optional exclusions. Whoosh answers those by walking every matching document
through a tree of Python matcher objects and scoring it: about 40 µs a
document, so a pair of common words matching 5,000 of 100,000 posts costs
200 ms, and its block-quality skipping rarely helps with common words.

Here each term's postings are read a block at a time (document numbers and
weights decoded by Whoosh's own codec) into NumPy arrays, intersected rarest
term first with sorted searches, and only the documents left are scored, with
the same BM25F formula and statistics Whoosh uses, element by element in the
same order of operations, so the scores are Whoosh's to the last bit (filters
restrict but do not score, which does not change the order). Anything else
(OR, prefixes, date ranges, sorting by a column) is left to Whoosh: ``rank()``
returns None for it. Total hit counts are never computed.

This reads private attributes of Whoosh's ``W3LeafMatcher`` (block arrays);
``requirements.txt`` pins the version, and the tests compare the order with
Whoosh's own search.
"""
from __future__ import annotations

import numpy as np
from whoosh import query as wq
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from forum.search.wquery import PhraseCheck

SCORED_FIELDS = frozenset({"text", "shingles"})
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_WEIGHTING = BM25F()


def _parts(wquery):
    """(required terms, excluded terms, phrase checks) when ``wquery`` is an AND of terms
    and phrase checks (minus an OR of terms), else None."""
    excluded: list = []
    if isinstance(wquery, wq.AndNot):
        negative = wquery.b
        options = negative.subqueries if isinstance(negative, wq.Or) else [negative]
        if not all(isinstance(o, wq.Term) for o in options):
            return None
        excluded, wquery = list(options), wquery.a
    flat: list = []
    pending = [wquery]
    while pending:  # ANDs inside ANDs (a phrase's parts, the papers box's filter) are one AND
        part = pending.pop(0)
        if isinstance(part, wq.And):
            pending[:0] = part.subqueries
        else:
            flat.append(part)
    checks = [p for p in flat if isinstance(p, PhraseCheck)]
    required = [p for p in flat if not isinstance(p, PhraseCheck)]
    if not required or not all(isinstance(p, wq.Term) or _is_scored_group(p) for p in required):
        return None
    return required, excluded, checks


def _is_scored_group(query) -> bool:
    """An OR of word terms (``a OR b``, an expanded prefix): its scores add up per document."""
    return (isinstance(query, wq.Or) and bool(query.subqueries)
            and all(isinstance(t, wq.Term) and t.fieldname in SCORED_FIELDS
                    for t in query.subqueries))


def _terms_of(required) -> list:
    return [t for part in required for t in (part.subqueries if isinstance(part, wq.Or) else [part])]


def documents_with_all(reader, terms: list[tuple[str, str]]) -> np.ndarray:
    """Document numbers (of ``reader``) that have every (field, text) term, deletions
    left out: the candidates of a phrase check on Whoosh's path."""
    found = []
    for leaf, offset in reader.leaf_readers():
        candidates = None
        for fieldname, text in terms:
            ids = _postings(leaf, fieldname, text)[0]
            candidates = ids if candidates is None else candidates[_contains(ids, candidates)]
            if not len(candidates):
                break
        if candidates is not None and len(candidates):
            if leaf.has_deletions():
                deleted = np.fromiter(leaf.deleted_docs_set, dtype=np.int64)
                deleted.sort()
                candidates = candidates[~_contains(deleted, candidates)]
            found.append(candidates + offset)
    return np.concatenate(found) if found else _NONE


def _postings(reader, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
    """All document numbers (sorted) and weights of one term in one segment."""
    if fieldname not in reader.schema:
        return _NONE, _NONE
    try:  # the raw postings, deleted documents included (dropped after scoring)
        matcher = reader._terms.matcher(fieldname, reader._text_to_bytes(fieldname, text),
                                        reader.schema[fieldname].format)
    except TermNotFound:  # no documents in this segment
        return _NONE, _NONE
    if not isinstance(matcher, W3LeafMatcher):  # not the codec we know: let Whoosh do it
        raise _Unsupported
    ids: list = []
    weights: list = []
    while matcher.is_active():  # one block: (delta-coded ids, weights, values), as _read_ids does
        matcher._read_data()
        block_ids, block_weights = matcher._data[0], matcher._data[1]
        count = matcher._blocklength
        block = np.fromiter(block_ids, dtype=np.int64, count=count)
        ids.append(block if matcher._byteids else np.cumsum(block))
        if block_weights is None or isinstance(block_weights, float):
            weights.append(np.full(count, 1.0 if block_weights is None else block_weights))
        else:
            weights.append(np.asarray(block_weights, dtype=np.float64))
        matcher._next_block()
    if not ids:
        return _NONE, _NONE
    return np.concatenate(ids), np.concatenate(weights)


_NONE = np.zeros(0, dtype=np.int64)


class _Unsupported(Exception):
    pass


_length_cache: dict[tuple[str, str], bytes] = {}
MAX_CACHED_LENGTHS = 64  # (segment, field) entries; segments of a live index are few


def _lengths(reader, fieldname: str) -> np.ndarray:
    """Each document's field length in the segment, decoded from the byte Whoosh stores.
    Read once per segment and field; segment files never change once written."""
    key = (reader._segment.segment_id(), fieldname)
    found = _length_cache.get(key)
    if found is None:
        column = reader._perdoc._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
        count = reader.doc_count_all()
        if column is None:
            encoded = bytes(count)
        else:
            stored = min(column._count, count)
            encoded = column._dbfile.get(column._basepos, stored) + bytes(count - stored)
        found = _LENGTHS[np.frombuffer(encoded, dtype=np.uint8)]
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
    required, excluded, checks = parts
    if not searcher.doc_count_all():  # an empty index (and Whoosh's idf would divide by 0)
        return []
    scored = [t for t in _terms_of(required) if t.fieldname in SCORED_FIELDS]
    statistics = {(t.fieldname, t.text): (searcher.idf(t.fieldname, t.text),
                                          searcher.avg_field_length(t.fieldname) or 1)
                  for t in scored}
    best: list[tuple[float, int]] = []
    try:
        for reader, offset in _leaves(searcher):
            _rank_segment(reader, offset, required, excluded, checks, statistics, limit, best)
    except _Unsupported:
        return None
    best.sort(key=lambda item: (-item[0], item[1]))
    return best[:limit]


def _leaves(searcher):
    leaves = searcher.leaf_searchers() if hasattr(searcher, "leaf_searchers") else None
    if leaves:
        return [(s.reader(), offset) for s, offset in leaves]
    return [(searcher.reader(), 0)]


def _rank_segment(reader, offset, required, excluded, checks, statistics, limit, best) -> None:
    """Whole-array steps (NumPy) over the postings: no Python loop per matching document,
    which is what makes common words cheap. The postings are intersected first, rarest
    term first, and only the documents left are scored: a pair of common words shares
    far fewer documents than either has."""
    lists = []  # (term or None for an OR, document numbers, weights or an OR's scores)
    for part in required:
        if isinstance(part, wq.Or):
            term, (ids, weights) = None, _union(reader, part.subqueries, statistics)
        else:
            term, (ids, weights) = part, _postings(reader, part.fieldname, part.text)
        if not len(ids):
            return  # a required term missing from this segment: nothing matches here
        lists.append((term, ids, weights))
    by_size = sorted(lists, key=lambda item: len(item[1]))
    candidates = by_size[0][1]
    for _, ids, _ in by_size[1:]:
        candidates = candidates[_contains(ids, candidates)]
        if not len(candidates):
            return
    for term in excluded:
        candidates = candidates[~_contains(_postings(reader, term.fieldname, term.text)[0],
                                           candidates)]
    if reader.has_deletions():
        deleted = np.fromiter(reader.deleted_docs_set, dtype=np.int64)
        deleted.sort()
        candidates = candidates[~_contains(deleted, candidates)]
    if not len(candidates):
        return
    totals = np.zeros(len(candidates))
    for term, ids, weights in lists:  # summed in the query's order, as Whoosh does
        at = np.searchsorted(ids, candidates)
        if term is None:  # an OR: already scored
            totals += weights[at]
        elif term.fieldname in SCORED_FIELDS:  # filters restrict but do not score
            idf, average = statistics[(term.fieldname, term.text)]
            totals += _bm25(idf, weights[at], _lengths(reader, term.fieldname)[candidates], average)
    if checks:  # phrases checked on the stored text, best first, until there are enough
        order = np.lexsort((candidates, -totals))
        kept = 0
        for docnum, score in zip(candidates[order].tolist(), totals[order].tolist()):
            if all(check.check(reader, docnum) for check in checks):
                best.append((score, docnum + offset))
                kept += 1
                if kept >= limit:
                    break
        return
    if len(candidates) > limit:  # keep the top ``limit`` scores, ties at the cut included
        cut = np.partition(totals, len(totals) - limit)[len(totals) - limit]
        keep = totals >= cut
        candidates, totals = candidates[keep], totals[keep]
    # the best scores first, the lower document number first among equals
    order = np.lexsort((candidates, -totals))[:limit]
    best.extend(zip(totals[order].tolist(), (candidates[order] + offset).tolist()))


def _union(reader, terms, statistics) -> tuple[np.ndarray, np.ndarray]:
    """The documents with any of ``terms`` and the sum of their scores, as Whoosh's OR
    gives them (each term's postings scored whole: an OR is as wide as its parts)."""
    found, scores = [], []
    for term in terms:
        ids, weights = _postings(reader, term.fieldname, term.text)
        if len(ids):
            idf, average = statistics[(term.fieldname, term.text)]
            found.append(ids)
            scores.append(_bm25(idf, weights, _lengths(reader, term.fieldname)[ids], average))
    if not found:
        return _NONE, _NONE
    ids, inverse = np.unique(np.concatenate(found), return_inverse=True)
    return ids, np.bincount(inverse, weights=np.concatenate(scores))


def _contains(haystack: np.ndarray, needles: np.ndarray) -> np.ndarray:
    """Which of ``needles`` are in the sorted ``haystack``."""
    if not len(haystack):
        return np.zeros(len(needles), dtype=bool)
    at = np.searchsorted(haystack, needles)
    at[at == len(haystack)] = 0
    return haystack[at] == needles


def _bm25(idf: float, tf: float, length: float, average: float) -> float:
    B, K1 = _WEIGHTING.B, _WEIGHTING.K1  # the formula of whoosh.scoring.bm25
    return idf * ((tf * (K1 + 1)) / (tf + K1 * ((1 - B) + B * length / average)))
