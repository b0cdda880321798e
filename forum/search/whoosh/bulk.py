"""A rebuild's segment writer: the same files Whoosh writes, with the postings built in NumPy.

Whoosh's ``SegmentWriter`` turns every posting into a tuple in a pool, sorts the
pool, and writes it back one posting at a time through a chain of Python calls
(``Field.index``, ``PostingPool.add``, ``FieldWriter.add_postings``,
``W3PostingsWriter.add_posting``): about 15 µs a posting, and a post has about
ninety postings, so that was nine tenths of a rebuild's time. ``BulkWriter``
writes a fresh segment (a rebuild's only kind of write) in three steps instead:

1. per document, each indexed field's terms are appended as term numbers to
   flat lists (the word fields' words come from ``analysis.py``'s one-pass
   analyzer; a word's number is one C-level dict lookup);
2. at commit, each field's (term, document) pairs are sorted and counted in NumPy;
3. each term's postings are written in Whoosh's block format (``_TermWriter``:
   the same bytes as ``W3PostingsWriter``, with the same term statistics), a
   term at a time instead of a posting at a time.

The per-document part (stored fields, columns, field lengths) still goes
through Whoosh's per-document writer, as ``SegmentWriter.add_document`` does.
The result is an ordinary W3 segment: later writers merge it and Whoosh reads
it like any other (tests compare the terms, postings and searches with
Whoosh's own writer). Only fresh segments are written this way: updates and
deletions go through Whoosh (``SearchIndex.apply``).
"""
from __future__ import annotations

import zlib
from array import array
from itertools import repeat
from pickle import dumps

import numpy as np
from whoosh import fields, formats
from whoosh.analysis import (CommaSeparatedTokenizer, CompositeAnalyzer, IDTokenizer,
                             LowercaseFilter, RegexTokenizer, SpaceSeparatedTokenizer, StripFilter)
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte
from whoosh.writing import SegmentWriter

from forum.search.whoosh.analysis import FastWordAnalyzer, _pairs, _words

# A length byte's length, as a reader gives it back (``byte_to_length``); 0 for byte 0
# (Whoosh's length reader answers None there, and a posting's length of None or 0 is
# left out of a block's bounds).
_QUANTIZED = np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.int64)


class _TermNumbers(dict):
    """term -> its number in the field, given on first sight (one C call per known term)."""

    def __missing__(self, term):
        number = self[term] = len(self)
        return number


class _FieldPostings:
    """One field's postings as flat lists: term number, document, frequency."""

    def __init__(self):
        self.numbers = _TermNumbers()
        # lists, not arrays: list.extend(map(...)) is several times faster than array.extend
        self.terms: list[int] = []
        self.docs: list[int] = []
        self.freqs: list[int] = []  # empty while every entry is one occurrence (word fields)

    def add_words(self, docnum: int, words: list) -> None:
        """One entry per occurrence (repeats are counted at commit)."""
        if self.freqs:
            self.freqs.extend(repeat(1, len(words)))
        self.terms.extend(map(self.numbers.__getitem__, words))
        self.docs.extend(repeat(docnum, len(words)))

    def add_counted(self, docnum: int, term, freq: int) -> None:
        if not self.freqs and freq != 1:
            self.freqs.extend(repeat(1, len(self.terms)))
        self.terms.append(self.numbers[term])
        self.docs.append(docnum)
        if self.freqs:
            self.freqs.append(freq)

    def sorted_postings(self, to_bytes):
        """(term bytes, start, end) per term, in term order, and the document numbers and
        frequencies (lists) that ``start:end`` slices. Sorting and counting are whole-array
        NumPy steps; the lists are made once, as most terms have a handful of postings and
        a NumPy call per term would cost more than the term."""
        if not self.terms:
            return [], [], []
        vocabulary = [to_bytes(term) for term in self.numbers]
        order = sorted(range(len(vocabulary)), key=vocabulary.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64)
        keys = (rank[np.array(self.terms, dtype=np.int64)] << 32) \
            | np.array(self.docs, dtype=np.int64)
        if self.freqs:
            keys, inverse = np.unique(keys, return_inverse=True)
            freqs = np.bincount(inverse, weights=np.array(self.freqs, dtype=np.float64)
                                ).astype(np.int64)
        else:
            keys, freqs = np.unique(keys, return_counts=True)
        ranks = keys >> 32
        bounds = np.flatnonzero(np.diff(ranks)) + 1
        starts = np.concatenate(([0], bounds)).tolist()
        ends = np.concatenate((bounds, [len(keys)])).tolist()
        terms = [(vocabulary[order[r]], s, e)
                 for r, s, e in zip(ranks[starts].tolist(), starts, ends)]
        return terms, (keys & 0xFFFFFFFF).tolist(), freqs.tolist()


_sub = int.__sub__
_TERM_INFO = W3TermInfo._struct
COMPRESS_MIN_POSTINGS = 16  # a block of fewer postings is written uncompressed


class _TermWriter:
    """Writes one field's terms as ``W3FieldWriter`` and ``W3PostingsWriter`` would.

    The same bytes those classes write (whoosh-reloaded 2.7.5's block layout, pickles,
    block and term statistics, and term index entries; a test compares the result with
    Whoosh's own writer), with C-level calls on each block's lists (``map``, ``min``,
    ``max``, ``array``) instead of Python code per posting, and without the objects
    Whoosh makes per term (a term info, a block buffer) and the ``tell()`` calls per
    block: most terms have one or two postings, so per-term costs were most of a
    rebuild's writing. One difference, which readers already handle: a block of fewer
    than ``COMPRESS_MIN_POSTINGS`` postings is not compressed (each block says whether
    it is). Whoosh means to skip compression for tiny pickles too, but a bug in
    ``_write_block`` compresses every block, and compressing those few bytes was a
    tenth of a rebuild."""

    def __init__(self, fieldwriter, fieldid: int, codec, value_size: int):
        self.postfile, self.terms = fieldwriter._postfile, fieldwriter._tindex
        self.prefix = pack_ushort(fieldid)
        self.limit, self.compression = codec._blocklimit, codec._compression
        self.value_size = value_size
        self.offset = self.postfile.tell()

    def write(self, term: bytes, docs: list, freqs: list, boost: float, values: bytes | None,
              lengths: list | None) -> None:
        """``values``: the postings' value bytes, ``value_size`` each, or None; ``lengths``:
        each document's field length as a reader gives it back (0: none)."""
        limit, size = self.limit, self.value_size
        start_offset = self.offset
        weight_sum, count = 0.0, len(docs)
        term_min = None
        term_max, term_maxweight = 0, 0
        chunks = [WHOOSH3_HEADER_MAGIC]
        for start in range(0, count, limit):
            block = docs[start:start + limit]
            counts = freqs[start:start + limit]
            deltas = (block[0], *map(_sub, block[1:], block)) if len(block) > 1 else (block[0],)
            low, high = min(counts), max(counts)
            weights = array("f", counts if boost == 1.0 else [c * boost for c in counts])
            if low != high:
                mini = tuple(weights)
            else:
                mini = None if low * boost == 1.0 else weights[0]
            maxweight = max(0, high * boost)
            minlength, maxlength = None, 0
            if lengths is not None:
                known = list(filter(None, map(lengths.__getitem__, block)))
                if known:
                    minlength, maxlength = min(known), max(known)
            # the term's statistics, as W3TermInfo.add_block gathers them
            weight_sum += sum(weights)
            term_min = minlength if term_min is None else min(term_min, minlength)
            term_max = max(term_max, maxlength)
            term_maxweight = max(term_maxweight, maxweight)
            # the block, as W3PostingsWriter._write_block writes it
            block_values = None if values is None else \
                values[start * size:(start + len(block)) * size]
            data = dumps((deltas, mini, block_values), 2)
            compression = self.compression if len(block) >= COMPRESS_MIN_POSTINGS else 0
            if compression:
                data = zlib.compress(data, compression)
            header = dumps((len(block), block[-1], maxweight, compression,
                            length_to_byte(minlength), length_to_byte(maxlength)), 2)
            size_field = len(header) + len(data)
            chunks.append(pack_int(-size_field if start + limit >= count else size_field))
            chunks.append(header)
            chunks.append(data)
        written = b"".join(chunks)
        self.postfile.write(written)
        self.offset += len(written)
        # the term info, as W3TermInfo.to_bytes packs it, and its entry in the term index
        info = _TERM_INFO.pack(False, weight_sum, count,
                               0 if term_min is None else length_to_byte(term_min),
                               length_to_byte(term_max), term_maxweight, docs[0], docs[-1])
        self.terms.add(self.prefix + term,
                       info + pack_long(start_offset) + pack_int(self.offset - start_offset))


_COMMAS = CommaSeparatedTokenizer().items[0].expression


def _is_comma_keywords(analyzer) -> bool:
    """Whether ``analyzer`` is ``KEYWORD(lowercase=True, commas=True)``'s chain."""
    items = getattr(analyzer, "items", None)
    return (type(analyzer) is CompositeAnalyzer and len(items) == 3
            and type(items[0]) is RegexTokenizer and not items[0].gaps
            and items[0].expression.pattern == _COMMAS.pattern
            and type(items[1]) is StripFilter and type(items[2]) is LowercaseFilter)


class BulkWriter(SegmentWriter):
    """A ``SegmentWriter`` for a new index (no deletions, no other segments to merge):
    ``add_document`` and ``commit`` only. See the module docstring."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        self._postings: dict[str, _FieldPostings] = {}
        self._lengths: dict[str, array] = {}  # scorable field -> each document's length byte
        self._fields = {}  # name -> (field, how it is indexed)

    def _plan(self, name: str):
        found = self._fields.get(name)
        if found is None:
            field = self.schema[name]
            analyzer = getattr(field, "analyzer", None)
            if not field.indexed:
                how = None
            elif isinstance(analyzer, FastWordAnalyzer) and isinstance(field.format, formats.Frequency):
                how = "words"
            elif type(field) is fields.ID and type(analyzer) is IDTokenizer:  # the whole value is the term (key, kind)
                how = "id"
            elif type(field) is fields.KEYWORD and type(analyzer) is RegexTokenizer \
                    and not analyzer.gaps \
                    and analyzer.expression.pattern == SpaceSeparatedTokenizer().expression.pattern:
                how = "split"  # a KEYWORD field of words: the tokenizer's own regex, in C
            elif type(field) is fields.KEYWORD and _is_comma_keywords(analyzer):
                how = "commas"
            else:
                how = "field"  # Whoosh's own Field.index
            found = self._fields[name] = (field, how)
        return found

    def add_document(self, **values):
        self._check_state()
        docnum = self.docnum
        perdoc = self.perdocwriter
        perdoc.start_doc(docnum)
        for name in sorted(values):
            value = values[name]
            if value is None:
                continue
            field, how = self._plan(name)
            length = 0
            if how is not None:
                postings = self._postings.get(name)
                if postings is None:
                    postings = self._postings[name] = _FieldPostings()
                if how == "field":
                    for tbytes, freq, weight, _ in field.index(value):
                        postings.add_counted(docnum, tbytes, freq)
                        length += freq
                else:
                    if how == "words":
                        words = _words(value, morph=True)
                        if field.analyzer.shingles:
                            words = _pairs(words, field.analyzer.common)
                    elif how == "id":
                        words = [value]
                    elif how == "commas":  # split at commas, stripped, lower-cased, as its chain
                        words = [word.strip().lower() for word in _COMMAS.findall(value)]
                    else:
                        words = field.analyzer.expression.findall(value)
                    postings.add_words(docnum, words)
                    length = len(words)
                if not field.scorable:
                    length = 0
                if length:
                    lengths = self._lengths.get(name)
                    if lengths is None:
                        lengths = self._lengths[name] = array("B")
                    lengths.extend(repeat(0, docnum + 1 - len(lengths)))
                    lengths[docnum] = length_to_byte(length)
            perdoc.add_field(name, field, value if field.stored else None, length)
            column = field.column_type
            if column:
                perdoc.add_column_value(name, column, field.to_column_value(value))
        perdoc.finish_doc()
        self._added = True
        self.docnum += 1

    def commit(self, mergetype=None, optimize=None, merge=None):
        """Adds the segment as it is: merging other segments would go through the pool
        that ``add_document`` no longer fills."""
        if mergetype is not None or optimize or merge:
            raise ValueError("BulkWriter writes one new segment and merges nothing")
        super().commit(merge=False)

    def _flush_segment(self):
        self.perdocwriter.close()
        writer = self.fieldwriter
        for name in sorted(self._postings):
            field = self.schema[name]
            lengths = self._lengths.get(name)
            quantized = None
            if lengths:
                lengths.extend(repeat(0, self.docnum - len(lengths)))
                quantized = _QUANTIZED[np.frombuffer(lengths, dtype=np.uint8)].tolist()
            fmt = field.format
            size = fmt.fixed_value_size()
            if size not in (0, 4) or not isinstance(
                    fmt, (formats.Frequency, formats.Existence)):
                raise TypeError(f"BulkWriter cannot write field {name!r} ({type(fmt).__name__})")
            writer.start_field(name, field)
            terms_out = _TermWriter(writer, writer._fieldid, self.codec, size)
            to_bytes = (lambda term: term) if self._fields[name][1] == "field" \
                else (lambda term: field.to_bytes(term))
            boost = fmt.field_boost
            terms, docs, freqs = self._postings[name].sorted_postings(to_bytes)
            values = np.array(freqs, dtype=">u4").tobytes() if size == 4 else None
            for tbytes, start, end in terms:
                terms_out.write(tbytes, docs[start:end], freqs[start:end], boost,
                                None if values is None else values[start * 4:end * 4], quantized)
            writer.finish_field()
        self._postings.clear()
        writer.close()
