"""From the parsed query (``forum.search.query``) to Whoosh query objects.

Words are looked up in ``text`` (title and body analyzed together), prefixes
expanded over the unstemmed vocabulary, filters as single terms (dates as
ranges). A phrase is an AND of its words, of those adjacent pairs that the
``shingles`` field holds (pairs of two common words, see ``analysis.py``), and,
unless that pair alone says it all, a ``PhraseCheck`` that keeps only the
documents whose words (the ``sequence`` column, or the stored text) have them in a row. Returns None when nothing
searchable is left (only stop words, only exclusions...).
"""
from __future__ import annotations

import mmap
import threading
import zlib
from bisect import bisect_right
from collections import OrderedDict
from datetime import datetime, timedelta
from itertools import islice

import numpy as np

from whoosh import query as wq
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.util.times import datetime_to_long

from forum.search.whoosh.analysis import (analyzed as _analyzed, has_phrase, has_run,
                                          is_common_pair, shingle_analyzer, word_hash,
                                          word_sequence)

def _word_query(word: str):
    tokens = _analyzed(word)
    if not tokens:
        return None
    parts = [wq.Term("text", t) for t in tokens]
    return parts[0] if len(parts) == 1 else wq.And(parts)


MAX_PREFIX_WORDS = 64  # unstemmed words of the spelling field looked at
MAX_PREFIX_TERMS = 128  # indexed words searched for, the most frequent first
MAX_PREFIX_SCAN = 5_000


def _prefix_query(prefix: str, reader=None, memo: dict | None = None):
    """An OR of the indexed words the prefix stands for. Indexed words are stems
    ("optimization" -> "optim"), so "optimi*" is also expanded over the unstemmed
    vocabulary of the ``spelling`` field, then stemmed. At most the
    ``MAX_PREFIX_TERMS`` most frequent words are searched for. ``memo`` keeps the
    expansion for the highlighting of the same search (``highlight_terms``)."""
    prefix = prefix.lower()
    if len(prefix) < 2:  # "a*" would expand to most of the vocabulary
        return None
    if reader is None:
        return wq.Prefix("text", prefix)
    if memo is None:
        return _expanded_prefix(prefix, reader)
    if prefix not in memo:
        memo[prefix] = _expanded_prefix(prefix, reader)
    return memo[prefix]


def _expanded_prefix(prefix: str, reader):
    stems: set[str] = set(islice(map(term_text, reader.expand_prefix("text", prefix)), MAX_PREFIX_SCAN))
    if "spelling" in reader.schema:
        for word in islice(reader.expand_prefix("spelling", prefix), MAX_PREFIX_WORDS):
            stems.update(_analyzed(term_text(word)))
    if len(stems) > MAX_PREFIX_TERMS:
        stems = set(sorted(stems, key=lambda t: -reader.doc_frequency("text", t))[:MAX_PREFIX_TERMS])
    if not stems:
        return wq.Term("text", prefix)  # in no document: finds nothing, as it should
    return wq.Or([wq.Term("text", stem) for stem in sorted(stems)])


def term_text(term) -> str:
    """A term as text (Whoosh's readers give bytes)."""
    return term.decode() if isinstance(term, bytes) else term


def _phrase_query(words: list[str], reader=None):
    text = " ".join(words)
    tokens = _analyzed(text)
    if len(tokens) < 2:  # a one-word (or stop-word-only) phrase is a word
        return _word_query(text)
    common = paired_words(reader.schema) if reader is not None else None
    pairs = _analyzed(text, shingle_analyzer())
    indexed = [p for p in pairs if is_common_pair(p, common)]
    parts = [wq.Term("shingles", p) for p in dict.fromkeys(indexed)]
    if len(indexed) < len(pairs):  # a pair with a rarer word: its words find the candidates
        parts = [wq.Term("text", t) for t in dict.fromkeys(tokens)] + parts
    if len(tokens) > 2 or not indexed:  # the pairs alone do not say the words are in one row
        parts.append(PhraseCheck(tokens))
    return wq.And(parts)


def paired_words(schema) -> frozenset[str] | None:
    """The words the index pairs in ``shingles`` (None: every word)."""
    return getattr(schema["shingles"].analyzer, "common", None) if "shingles" in schema else None


class PhraseCheck(wq.Query):
    """Documents whose text has ``words`` (analyzed) in a row: read from the document's
    ``sequence`` column (its words' hashes) when the phrase's hashes are unambiguous in
    the segment, else from its stored text.

    Never alone: it sits in an AND with the phrase's words, which narrow the
    candidates first. ``conjunctive.py`` checks candidates lazily, best first, until
    it has enough; this matcher (Whoosh's path: a phrase under an OR, or excluded)
    checks every document of the segment that has all the words. It adds nothing
    to the score.
    """

    fieldname = "text"  # the field its words come from; it has no terms of its own

    def __init__(self, words: list[str]):
        self.words = list(words)

    def terms(self, phrases=False):
        return iter(())

    def expanded_terms(self, ixreader, phrases=True):
        return iter(())

    def __eq__(self, other):
        return type(other) is PhraseCheck and other.words == self.words

    def __hash__(self):
        return hash(("phrase-check", *self.words))

    def __repr__(self):
        return f"PhraseCheck({self.words!r})"

    def __unicode__(self):
        return '"' + " ".join(self.words) + '"'

    __str__ = __unicode__

    def estimate_size(self, ixreader):
        return min(ixreader.doc_frequency("text", w) for w in self.words)

    def matcher(self, searcher, context=None):
        from forum.search.whoosh import conjunctive  # reads postings a segment at a time
        reader = searcher.reader()
        found = conjunctive.documents_with_all(reader, [("text", w) for w in set(self.words)])
        test = self.tester(reader)
        checked = [d for d in found.tolist() if test(d)]
        return ListMatcher(checked, weights=[0.0] * len(checked)) if checked else NullMatcher

    def check(self, reader, docnum: int) -> bool:
        """``docnum`` is ``reader``'s own number (a segment's, or the searcher's)."""
        return self.tester(reader)(docnum)

    def tester(self, reader):
        """``check`` for one reader as a function of the document number, made once: a
        phrase with a rarer word checks every candidate (hundreds), and the lookups
        around each check cost as much as the check itself."""
        sequences, needle = self._prepared(reader)
        if needle is None:
            words = self.words
            return lambda docnum: has_phrase(stored_text(reader.stored_fields(docnum)), words)
        if isinstance(sequences, _MappedSequence):
            return sequences.tester(needle)
        return lambda docnum: has_run(sequences[docnum], needle)

    def _prepared(self, reader):
        """(``reader``'s ``sequence`` column, the phrase as a word sequence), or (None,
        None) when the check must read the stored text: an index without the column, or
        a phrase word whose hash another word of the vocabulary shares (then equal
        hashes would not mean equal words)."""
        cached = getattr(self, "_cache", None)
        if cached is not None and cached[0] is reader:
            return cached[1], cached[2]
        sequences = needle = None
        leaves = reader.leaf_readers()
        hashes = {word_hash(w) for w in self.words}
        # each segment reader keeps its column reader (made once: it loads the offsets)
        found = [_sequence_column(leaf) for leaf, _ in leaves]
        if all(c is not None for c in found) and not any(
                ambiguous_hashes(leaf) & hashes for leaf, _ in leaves):
            sequences = found[0] if len(found) == 1 else \
                _Sequences(found, [offset for _, offset in leaves])
            needle = word_sequence(self.words)
        self._cache = (reader, sequences, needle)
        return sequences, needle


def _sequence_column(segment_reader):
    """The segment's ``sequence`` column (None without one): mapped into memory
    (``_MappedSequence``) when it is a file of its own, else Whoosh's column reader. Both
    are kept by Whoosh's per-document reader, as it keeps the stored fields' column."""
    perdoc = getattr(segment_reader, "_perdoc", None)
    if perdoc is None or "sequence" not in segment_reader.schema:
        return None
    column = perdoc._cached_reader("sequence", segment_reader.schema["sequence"].column_type)
    if column is None:
        return None
    mapped = getattr(column, "_forum_mapped", None)
    if mapped is None:
        mapped = column._forum_mapped = _MappedSequence.of(column) or column
    return mapped


class _MappedSequence:
    """A segment's ``sequence`` column read through ``mmap``: Whoosh's reader seeks and
    reads its buffered file for each document (two system calls and an 8 KB buffer
    refill), which was most of a phrase check's cost; a slice of the mapped file is a
    copy of a few hundred bytes. The offsets and lengths are the column reader's own
    (read once when Whoosh opened it). Segment files never change once written, and a
    mapping outlives the file's removal by a newer generation (POSIX), so a mapped
    column is never stale or cut short while its reader is alive."""

    def __init__(self, mapped: mmap.mmap, base: int, offsets, lengths):
        self.mapped, self.base = mapped, base
        self.offsets, self.lengths = offsets, lengths

    @classmethod
    def of(cls, column) -> "_MappedSequence | None":
        """None when the column is not a whole file on disk (a compound segment's part)."""
        dbfile = getattr(column, "_dbfile", None)
        if not getattr(dbfile, "is_real", False) or not hasattr(column, "_offsets"):
            return None
        try:
            mapped = mmap.mmap(dbfile.file.fileno(), 0, access=mmap.ACCESS_READ)
        except (OSError, ValueError):  # an empty file, or no mmap here: Whoosh's reader
            return None
        return cls(mapped, column._basepos, column._offsets, column._lengths)

    def __getitem__(self, docnum: int) -> bytes:
        start = self.base + self.offsets[docnum]
        return self.mapped[start:start + self.lengths[docnum]]

    def tester(self, needle: bytes):
        """``has_run`` on a document's sequence, by document number, without the calls
        between: one function per phrase and segment, called once per candidate."""
        mapped, base, offsets, lengths = self.mapped, self.base, self.offsets, self.lengths

        def test(docnum: int) -> bool:
            start = base + offsets[docnum]
            sequence = mapped[start:start + lengths[docnum]]
            at = sequence.find(needle)
            while at != -1:  # has_run, inlined
                if at % 4 == 0:
                    return True
                at = sequence.find(needle, at + 1)
            return False
        return test


class _Sequences:
    """Several segments' ``sequence`` columns by the searcher's document numbers."""

    def __init__(self, columns: list, offsets: list[int]):
        self.columns, self.offsets = columns, offsets

    def __getitem__(self, docnum: int) -> bytes:
        at = bisect_right(self.offsets, docnum) - 1
        return self.columns[at][docnum - self.offsets[at]]


class DateFilter(wq.Query):
    """Documents whose ``created`` column is in a range (bounds as Whoosh's
    ``datetime_to_long``; a document without a date is never in range).

    ``created`` is a column only, with no terms (see ``index.make_schema``): a
    date field's terms (several per document, one per precision step) were a
    tenth of a rebuild's postings and half of its terms, and ranges were already
    answered from the column (``conjunctive.py``). This matcher does the same on
    Whoosh's path (a date filter beside an OR with a phrase inside, say). It adds
    nothing to the score."""

    def __init__(self, fieldname: str, start: datetime | None, end: datetime | None,
                 startexcl: bool = False, endexcl: bool = False):
        self.fieldname = fieldname
        self.start = None if start is None else datetime_to_long(start)
        self.end = None if end is None else datetime_to_long(end)
        self.startexcl, self.endexcl = startexcl, endexcl

    def terms(self, phrases=False):
        return iter(())

    def expanded_terms(self, ixreader, phrases=True):
        return iter(())

    def _key(self):
        return (self.fieldname, self.start, self.end, self.startexcl, self.endexcl)

    def __eq__(self, other):
        return type(other) is DateFilter and other._key() == self._key()

    def __hash__(self):
        return hash(("date-filter", *self._key()))

    def __repr__(self):
        return f"DateFilter{self._key()!r}"

    __str__ = __unicode__ = __repr__

    def estimate_size(self, ixreader):
        return ixreader.doc_count()

    def matcher(self, searcher, context=None):
        from forum.search.whoosh import conjunctive  # reads the column a segment at a time
        found = conjunctive.documents_in_range(searcher.reader(), self)
        return ListMatcher(found.tolist(), weights=[0.0] * len(found)) if len(found) \
            else NullMatcher


_AMBIGUOUS: OrderedDict = OrderedDict()  # segment id -> hashes two of its words share
_AMBIGUOUS_SEGMENTS = 256
_ambiguous_lock = threading.Lock()


def ambiguous_hashes(segment_reader) -> frozenset[int]:
    """The word hashes (``analysis.word_hash``) that two different words of the segment's
    ``text`` vocabulary share. A document's words are all in its segment's vocabulary,
    so a phrase none of whose hashes is here is found in a ``sequence`` exactly when its
    words are in the text. Read once per segment (segments never change) and kept."""
    segment = segment_reader.segment()
    key = None if segment is None else segment.segment_id()
    with _ambiguous_lock:
        if key is not None and key in _AMBIGUOUS:
            _AMBIGUOUS.move_to_end(key)
            return _AMBIGUOUS[key]
    words = list(segment_reader.lexicon("text")) if "text" in segment_reader.schema else []
    hashes = np.fromiter(map(zlib.crc32, words), dtype=np.uint32, count=len(words))
    values, counts = np.unique(hashes, return_counts=True)
    found = frozenset(values[counts > 1].tolist())
    if key is not None:
        with _ambiguous_lock:
            _AMBIGUOUS[key] = found
            while len(_AMBIGUOUS) > _AMBIGUOUS_SEGMENTS:
                _AMBIGUOUS.popitem(last=False)
    return found


def stored_text(stored: dict) -> str:
    """The text a document's ``text`` field was analyzed from, as ``index.py`` joins it."""
    return "\n".join(filter(None, (stored.get("title"), stored.get("body"), stored.get("extra"))))


def _term_query(term, reader=None, memo=None):
    if term.kind == "word":
        if len(_analyzed(term.text)) > 1:  # "self-attention", "2301.12345": its parts in a row
            return _phrase_query([term.text], reader)
        return _word_query(term.text)
    if term.kind == "prefix":
        return _prefix_query(term.text, reader, memo)
    if term.kind == "phrase":
        return _phrase_query(term.text.split(), reader)
    if term.kind == "or":
        options = [q for q in (_term_query(t, reader, memo) for t in term.options) if q is not None]
        return wq.Or(options) if options else None
    raise ValueError(term.kind)


def _filter_query(name: str, value):
    if name in ("author", "tag", "paper", "repo"):
        return wq.Term(name, value.lower())
    if name == "stance":
        return wq.Term("stance", value)
    if name == "in":
        return wq.Term("kind", value)
    if name == "after":
        return DateFilter("created", datetime(value.year, value.month, value.day), None,
                          startexcl=False)
    if name == "before":
        return DateFilter("created", None, datetime(value.year, value.month, value.day)
                          - timedelta(microseconds=1))
    raise ValueError(name)


def highlight_terms(parsed, reader=None, memo: dict | None = None
                    ) -> tuple[frozenset[str], tuple[tuple[str, ...], ...]]:
    """What to mark in the results: the analyzed words searched for (prefixes
    expanded, once with ``to_whoosh_query`` when both get the same ``memo``), and
    each phrase as its analyzed words in a row. Exclusions are not marked: a result
    never has them."""
    words: set[str] = set()
    phrases: list[tuple[str, ...]] = []

    def add(term):
        if term.kind == "or":
            for option in term.options:
                add(option)
        elif term.kind == "prefix":
            query = _prefix_query(term.text, reader, memo)
            for leaf in query.leaves() if query is not None else ():
                if isinstance(leaf, wq.Term):
                    words.add(term_text(leaf.text))
        elif term.kind == "phrase" and len(tokens := _analyzed(term.text)) > 1:
            phrases.append(tuple(tokens))
        else:
            words.update(_analyzed(term.text))
    for term in parsed.terms:
        add(term)
    return frozenset(words), tuple(dict.fromkeys(phrases))


def to_whoosh_query(parsed, reader=None, memo: dict | None = None):
    """None when nothing searchable is left (only stop words, only exclusions...).
    ``memo``: see ``highlight_terms``."""
    required = [q for q in (_term_query(t, reader, memo) for t in parsed.terms) if q is not None]
    filters = [_filter_query(name, value) for name, value in parsed.filters]
    if not required and not filters:
        return None
    base = wq.And(required + filters) if len(required + filters) > 1 else (required + filters)[0]
    excluded = [q for q in (_term_query(t, reader, memo) for t in parsed.excluded) if q is not None]
    if excluded:
        base = wq.AndNot(base, wq.Or(excluded))
    return base
