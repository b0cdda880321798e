"""Top N for the usual query shapes, a block of postings at a time, in NumPy.

Most searches are a few words, perhaps a phrase (word pairs in the
``shingles`` field, or words and a ``PhraseCheck``), an OR or a prefix, term
filters (``tag:``, ``author:``, ``in:``...) and date ranges, with optional
exclusions, by relevance, newest or top. Whoosh answers those by walking every
matching document through a tree of Python matcher objects and scoring it:
about 40 µs a document, so a pair of common words matching 5,000 of 100,000
posts costs 200 ms, and its block-quality skipping rarely helps with common
words (and with an OR inside an AND it skips wrongly: a test shows it). Its
date ranges expand into many terms: a second at 100,000 posts.

Here each term's postings are read a block at a time (document numbers and
weights decoded by Whoosh's own codec) into NumPy arrays, intersected rarest
term first with sorted searches, and only the documents left are scored, with
the same BM25F formula and statistics Whoosh uses, element by element in the
same order of operations, so the scores are Whoosh's to the last bit (filters
restrict but do not score, which does not change the order). An OR of words
(an expanded prefix is one) adds its words' scores per document, as Whoosh's
does. Date ranges and the newest/top sorts read the ``created`` and ``score``
columns whole, once per segment. Phrase checks read word sequences, best first,
only until the page is full. Anything else (an OR with a phrase inside, say)
is left to Whoosh: ``rank()`` returns None for it. Total hit counts are never
computed.

This reads private attributes of Whoosh's ``W3LeafMatcher`` (block arrays) and
column readers; ``requirements.txt`` pins the version, and the tests compare
the results with Whoosh's own search.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from whoosh import query as wq
from whoosh.columns import NumericColumn
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3LeafMatcher, _lenfield
from whoosh.reading import TermNotFound
from whoosh.scoring import BM25F
from whoosh.util.numeric import byte_to_length

from forum.search.whoosh.wquery import DateFilter, PhraseCheck

SCORED_FIELDS = frozenset({"text", "shingles"})
_LENGTHS = np.array([byte_to_length(b) for b in range(256)], dtype=np.float64)
_WEIGHTING = BM25F()


def _parts(wquery):
    """(required terms, excluded terms, phrase checks, date ranges) when ``wquery`` is an
    AND of those (minus an OR of terms), else None."""
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
    ranges = [p for p in flat if isinstance(p, DateFilter)]
    required = [p for p in flat if not isinstance(p, PhraseCheck)
                and not any(p is r for r in ranges)]
    if not (required or ranges) or not all(isinstance(p, wq.Term) or _is_scored_group(p)
                                           for p in required):
        return None
    return required, excluded, checks, ranges


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
        candidates = _intersect([_postings(leaf, f, t)[0] for f, t in terms])
        found.append(_without_deleted(leaf, candidates) + offset)
    return np.concatenate(found) if found else _NONE


def _intersect(id_lists: list[np.ndarray]) -> np.ndarray:
    """The document numbers in every one of the sorted ``id_lists``, rarest first."""
    by_size = sorted(id_lists, key=len)
    candidates = by_size[0]
    for ids in by_size[1:]:
        if not len(candidates):
            break
        candidates = candidates[_contains(ids, candidates)]
    return candidates


def documents_in_range(reader, query: DateFilter) -> np.ndarray:
    """Document numbers (of ``reader``) whose date column is in ``query``'s range, deletions
    left out: a ``DateFilter`` on Whoosh's path."""
    found = []
    for leaf, offset in reader.leaf_readers():
        everything = np.arange(leaf.doc_count_all(), dtype=np.int64)
        found.append(_without_deleted(leaf, everything[_in_range(leaf, query, everything)])
                     + offset)
    return np.concatenate(found) if found else _NONE


def _without_deleted(reader, candidates: np.ndarray) -> np.ndarray:
    if not reader.has_deletions() or not len(candidates):
        return candidates
    deleted = np.fromiter(reader.deleted_docs_set, dtype=np.int64)
    deleted.sort()
    return candidates[~_contains(deleted, candidates)]


CACHED_POSTINGS_MIN = 2_048  # postings of a term in a segment, to be worth keeping decoded
CACHED_POSTINGS_BYTES = 64 * 1024 * 1024  # the decoded lists kept per process, at most
_decoded: OrderedDict = OrderedDict()  # (segment, field, term) -> (ids, weights), LRU order
_decoded_bytes = 0
_decoded_lock = threading.Lock()


def _postings(reader, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
    """All document numbers (sorted) and weights of one term in one segment.

    A common word's list (``CACHED_POSTINGS_MIN`` postings or more) is kept decoded,
    least recently used out first, up to ``CACHED_POSTINGS_BYTES`` per process: decoding
    it (a pickle load and a zlib call per block of 1,024, then NumPy arrays) was most of
    a two-word search, and the common words are the ones searched again and again. A
    segment's postings never change once written (deletions are applied after, from the
    segment's deletion set), so a kept list is never stale; a merged-away segment's
    lists just age out."""
    key = (reader._segment.segment_id(), fieldname, text)
    with _decoded_lock:
        found = _decoded.get(key)
        if found is not None:
            _decoded.move_to_end(key)
            return found
    found = _read_postings(reader, fieldname, text)
    if len(found[0]) >= CACHED_POSTINGS_MIN:
        for array in found:  # shared from now on: a caller changing one in place would fail
            array.setflags(write=False)
        _keep_decoded(key, found)
    return found


def _keep_decoded(key, found: tuple[np.ndarray, np.ndarray]) -> None:
    global _decoded_bytes
    size = found[0].nbytes + found[1].nbytes
    with _decoded_lock:
        if key in _decoded or size > CACHED_POSTINGS_BYTES:
            return
        _decoded[key] = found
        _decoded_bytes += size
        while _decoded_bytes > CACHED_POSTINGS_BYTES:
            _, (ids, weights) = _decoded.popitem(last=False)
            _decoded_bytes -= ids.nbytes + weights.nbytes


def _read_postings(reader, fieldname: str, text) -> tuple[np.ndarray, np.ndarray]:
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


_segment_arrays: dict[tuple[str, str], np.ndarray] = {}
MAX_CACHED_ARRAYS = 64  # (segment, column) entries; segments of a live index are few


def _lengths(reader, fieldname: str) -> np.ndarray:
    """Each document's field length in the segment, decoded from the byte Whoosh stores."""
    return _cached(reader, f"length:{fieldname}", lambda: _LENGTHS[
        _whole_column(reader, _lenfield(fieldname), LENGTHS_COLUMN, missing_ok=True)])


def _column(reader, fieldname: str) -> np.ndarray:
    """A numeric column of the segment as one array, as stored (a missing value is the
    column type's default)."""
    return _cached(reader, fieldname, lambda: _whole_column(
        reader, fieldname, reader.schema[fieldname].column_type, missing_ok=False))


def _cached(reader, name: str, build) -> np.ndarray:
    """Read once per segment; segment files never change once written."""
    key = (reader._segment.segment_id(), name)
    found = _segment_arrays.get(key)
    if found is None:
        if len(_segment_arrays) >= MAX_CACHED_ARRAYS:
            _segment_arrays.clear()
        found = _segment_arrays[key] = build()
    return found


def _whole_column(reader, name: str, column_type, missing_ok: bool) -> np.ndarray:
    """A numeric column file read in one piece (Whoosh stores it big-endian and may stop
    before the last documents, which then have the default)."""
    column = reader._perdoc._cached_reader(name, column_type)
    count = reader.doc_count_all()
    if column is None and missing_ok:  # an unscored field has no length column
        return np.full(count, column_type._default, dtype=np.dtype(column_type._typecode))
    if column is None or not isinstance(column, NumericColumn.Reader):
        raise _Unsupported
    stored = min(column._count, count)
    raw = np.frombuffer(column._dbfile.get(column._basepos, stored * column._fixedlen),
                        dtype=">" + column._typecode)
    found = np.full(count, column._default, dtype=raw.dtype.newbyteorder("="))
    found[:stored] = raw
    return found


def column_array(reader, fieldname: str) -> np.ndarray:
    """A segment's numeric column as one array (cached per segment), for index.py."""
    return _column(reader, fieldname)


def leaves(searcher) -> list:
    """(segment reader, first global document number) of each segment, in order."""
    return _leaves(searcher)


def _in_range(reader, query, docnums: np.ndarray) -> np.ndarray:
    """Which of ``docnums`` a date range on ``created`` keeps (its column holds Whoosh's
    ``datetime_to_long``, as the range's bounds do; a missing date is never in range)."""
    values = _column(reader, query.fieldname)[docnums]
    keep = values != reader.schema[query.fieldname].column_type._default
    if query.start is not None:
        keep &= (values > query.start) if query.startexcl else (values >= query.start)
    if query.end is not None:
        keep &= (values < query.end) if query.endexcl else (values <= query.end)
    return keep


def _sort_columns(reader, docnums: np.ndarray, totals: np.ndarray, sort: str) -> list:
    """Sort keys of ``docnums``, most significant first, smaller is better: the score,
    newest (a missing date, -1 here, last), or top (then newest)."""
    if sort == "relevance":
        return [-totals]
    newest = -_column(reader, "created")[docnums].astype(np.int64)
    if sort == "newest":
        return [newest]
    return [-_column(reader, "score")[docnums].astype(np.int64), newest]


def rank(searcher, wquery, limit: int, sort: str = "relevance") -> list[int] | None:
    """Global document numbers of the best ``limit`` matches (by relevance, newest or top),
    best first; None when the query is not of the shape ranked here (Whoosh answers it)."""
    found = _best(searcher, wquery, limit, sort)
    return None if found is None else [docnum for _, docnum in found]


def rank_all(searcher, wquery, sort: str = "relevance") -> tuple[np.ndarray, list] | None:
    """Every match's global document number, best first, in whole-array steps, and the
    phrase checks still to apply to them (lazily, by the caller, best first); None when
    the query is not of the shape ranked here."""
    parts = _parts(wquery)
    if parts is None:
        return None
    required, excluded, checks, ranges = parts
    if not searcher.doc_count_all():
        return _NONE, checks
    scored = [t for t in _terms_of(required) if t.fieldname in SCORED_FIELDS]
    statistics = {(t.fieldname, t.text): (searcher.idf(t.fieldname, t.text),
                                          searcher.avg_field_length(t.fieldname) or 1)
                  for t in scored}
    query = _Query(required, excluded, [], ranges, statistics, sort)
    docnums, keys = [], []
    try:
        for reader, offset in _leaves(searcher):
            found = _segment_matches(reader, query)
            if found is not None:
                docnums.append(found[0] + offset)
                keys.append(found[1])
    except _Unsupported:
        return None
    if not docnums:
        return _NONE, checks
    everything = np.concatenate(docnums)
    columns = [np.concatenate([k[i] for k in keys]) for i in range(len(keys[0]))]
    order = np.lexsort((everything, *reversed(columns)))  # the lower document number among equals
    return everything[order], checks


def _segment_matches(reader, query: "_Query") -> tuple[np.ndarray, list] | None:
    """(the segment's matching document numbers, their sort keys) or None for none."""
    lists = []
    for part in query.required:
        if isinstance(part, wq.Or):
            term, (ids, weights) = None, _union(reader, part.subqueries, query.statistics)
        else:
            term, (ids, weights) = part, _postings(reader, part.fieldname, part.text)
        if not len(ids):
            return None
        lists.append((term, ids, weights))
    if lists:
        candidates = _intersect([ids for _, ids, _ in lists])
    else:
        candidates = np.arange(reader.doc_count_all(), dtype=np.int64)
    for date_range in query.ranges:
        candidates = candidates[_in_range(reader, date_range, candidates)]
    for term in query.excluded:
        candidates = candidates[~_contains(_postings(reader, term.fieldname, term.text)[0],
                                           candidates)]
    candidates = _without_deleted(reader, candidates)
    if not len(candidates):
        return None
    totals = np.zeros(len(candidates))
    if query.sort == "relevance":
        for term, ids, weights in lists:  # summed in the query's order, as Whoosh does
            at = np.searchsorted(ids, candidates)
            if term is None:
                totals += weights[at]
            elif term.fieldname in SCORED_FIELDS:
                idf, average = query.statistics[(term.fieldname, term.text)]
                totals += _bm25(idf, weights[at], _lengths(reader, term.fieldname)[candidates],
                                average)
    return candidates, _sort_columns(reader, candidates, totals, query.sort)


def rank_with_scores(searcher, wquery, limit: int) -> list[tuple[float, int]] | None:
    """(score, global document number) of the ``limit`` most relevant matches."""
    found = _best(searcher, wquery, limit, "relevance")
    return None if found is None else [(-key[0], docnum) for key, docnum in found]


def _best(searcher, wquery, limit: int, sort: str) -> list[tuple[tuple, int]] | None:
    parts = _parts(wquery)
    if parts is None:
        return None
    required, excluded, checks, ranges = parts
    if not searcher.doc_count_all():  # an empty index (and Whoosh's idf would divide by 0)
        return []
    scored = [t for t in _terms_of(required) if t.fieldname in SCORED_FIELDS]
    statistics = {(t.fieldname, t.text): (searcher.idf(t.fieldname, t.text),
                                          searcher.avg_field_length(t.fieldname) or 1)
                  for t in scored}
    query = _Query(required, excluded, checks, ranges, statistics, sort)
    best: list[tuple[tuple, int]] = []
    try:
        for reader, offset in _leaves(searcher):
            _rank_segment(reader, offset, query, limit, best)
    except _Unsupported:
        return None
    best.sort()
    return best[:limit]


@dataclass
class _Query:
    required: list
    excluded: list
    checks: list
    ranges: list
    statistics: dict
    sort: str


def _leaves(searcher):
    leaves = searcher.leaf_searchers() if hasattr(searcher, "leaf_searchers") else None
    if leaves:
        return [(s.reader(), offset) for s, offset in leaves]
    return [(searcher.reader(), 0)]


def _rank_segment(reader, offset, query: _Query, limit: int, best: list) -> None:
    """Whole-array steps (NumPy) over the postings: no Python loop per matching document,
    which is what makes common words cheap. The postings are intersected first, rarest
    term first, and only the documents left are scored: a pair of common words shares
    far fewer documents than either has. Adds (sort key, global docnum) pairs to ``best``."""
    lists = []  # (term or None for an OR, document numbers, weights or an OR's scores)
    for part in query.required:
        if isinstance(part, wq.Or):
            term, (ids, weights) = None, _union(reader, part.subqueries, query.statistics)
        else:
            term, (ids, weights) = part, _postings(reader, part.fieldname, part.text)
        if not len(ids):
            return  # a required term missing from this segment: nothing matches here
        lists.append((term, ids, weights))
    if lists:
        candidates = _intersect([ids for _, ids, _ in lists])
    else:  # only date ranges (and perhaps exclusions)
        candidates = np.arange(reader.doc_count_all(), dtype=np.int64)
    for date_range in query.ranges:
        candidates = candidates[_in_range(reader, date_range, candidates)]
    for term in query.excluded:
        candidates = candidates[~_contains(_postings(reader, term.fieldname, term.text)[0],
                                           candidates)]
    candidates = _without_deleted(reader, candidates)
    if not len(candidates):
        return
    totals = np.zeros(len(candidates))
    for term, ids, weights in lists:  # summed in the query's order, as Whoosh does
        if query.sort != "relevance":
            break  # sorted by a column: no scores needed
        at = np.searchsorted(ids, candidates)
        if term is None:  # an OR: already scored
            totals += weights[at]
        elif term.fieldname in SCORED_FIELDS:  # filters restrict but do not score
            idf, average = query.statistics[(term.fieldname, term.text)]
            totals += _bm25(idf, weights[at], _lengths(reader, term.fieldname)[candidates], average)
    if query.sort == "relevance" and not query.checks and len(candidates) > limit:
        # keep the top ``limit`` scores, ties at the cut included, before sorting
        cut = np.partition(totals, len(totals) - limit)[len(totals) - limit]
        keep = totals >= cut
        candidates, totals = candidates[keep], totals[keep]
    keys = _sort_columns(reader, candidates, totals, query.sort)
    order = np.lexsort((candidates, *reversed(keys)))  # the lower document number among equals
    if not query.checks:
        order = order[:limit]
    kept = 0
    ranked = zip(candidates[order].tolist(), zip(*(key[order].tolist() for key in keys)))
    tests = [check.tester(reader) for check in query.checks]
    for docnum, key in ranked:  # best first; a phrase is checked on the word sequence
        if tests and not all(test(docnum) for test in tests):
            continue
        best.append((key, docnum + offset))
        kept += 1
        if kept >= limit:
            return


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
