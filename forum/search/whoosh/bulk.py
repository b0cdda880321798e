"""A rebuild's segment writer: the same files Whoosh writes, built a field and a column at a time.

Whoosh's ``SegmentWriter`` turns every posting into a tuple in a pool, sorts the
pool, and writes it back one posting at a time through a chain of Python calls
(``Field.index``, ``PostingPool.add``, ``FieldWriter.add_postings``,
``W3PostingsWriter.add_posting``): about 15 µs a posting, and a post has about
ninety postings, so that was nine tenths of a rebuild's time. ``BulkWriter``
writes a fresh segment (a rebuild's only kind of write) in three steps instead:

1. per document, each indexed field's terms are appended as term numbers to
   flat lists (the word fields' words come from ``analysis.py``'s one-pass
   analyzer; a word's number is one C-level dict lookup), and its stored fields
   and column values to lists;
2. at commit, each field's (term, document) pairs are sorted and counted in
   NumPy and written in Whoosh's block format (``postings.py``: the same bytes
   as ``W3PostingsWriter``, with the same term statistics);
3. the stored fields and columns are written a column at a time: the stored
   fields pickled and compressed with ``map`` over the segment's documents, the
   numeric columns packed whole, into Whoosh's own column writers (whose
   per-value ``add`` calls, five to seven a document, were a fifth of a rebuild).

The result is an ordinary W3 segment: later writers merge it and Whoosh reads
it like any other (a test compares the terms, postings, columns and stored
fields with Whoosh's own writer). Only fresh segments are written this way:
updates and deletions go through Whoosh (``SearchIndex.apply``).
"""
from __future__ import annotations

from itertools import chain, islice, repeat
from operator import methodcaller
from pickle import dumps

import numpy as np
from whoosh import columns, fields, formats
from whoosh.analysis import (CommaSeparatedTokenizer, CompositeAnalyzer, IDTokenizer,
                             LowercaseFilter, RegexTokenizer, SpaceSeparatedTokenizer, StripFilter)
from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
from whoosh.util.numeric import byte_to_length
from whoosh.writing import SegmentWriter

from forum.search.whoosh.analysis import (SHINGLE_SEPARATOR, FastWordAnalyzer, _pairs, _stem,
                                          _words, word_hash)
from forum.search.whoosh.postings import (FieldPostings, extend_growable, write_field,
                                          write_hash_tables)

_COMMAS = CommaSeparatedTokenizer().items[0].expression


def _is_comma_keywords(analyzer) -> bool:
    """Whether ``analyzer`` is ``KEYWORD(lowercase=True, commas=True)``'s chain."""
    items = getattr(analyzer, "items", None)
    return (type(analyzer) is CompositeAnalyzer and len(items) == 3
            and type(items[0]) is RegexTokenizer and not items[0].gaps
            and items[0].expression.pattern == _COMMAS.pattern
            and type(items[1]) is StripFilter and type(items[2]) is LowercaseFilter)


PENDING_DOCS = 2_000  # add_analyzed's documents recorded at a time (a batch's word lists)


def _comma_words(value: str) -> list[str]:
    """A KEYWORD(lowercase=True, commas=True) value's terms: split at commas, stripped and
    lower-cased, as its chain."""
    return [value.strip().lower()] if "," not in value else \
        [word.strip().lower() for word in _COMMAS.findall(value)]


def _add_lengths(lengths: tuple[list, list] | None, docs, sizes: list[int]) -> None:
    """Record the documents' field lengths (None: the field is not scored), the zeros left out."""
    if lengths is None:
        return
    if 0 in sizes:
        kept = [(docnum, size) for docnum, size in zip(docs, sizes) if size]
        docs, sizes = [k[0] for k in kept], [k[1] for k in kept]
    lengths[0].extend(docs)
    lengths[1].extend(sizes)


class _WordNumbers(dict):
    """Lower-cased word -> its stem's term number in a word field (``FieldPostings.numbers``),
    on first sight; with each stem's CRC-32 (``word_hash``, the ``sequence`` column's) and
    whether it is paired (in the shingle analyzer's ``common``) in arrays by term number.

    A rebuild's words repeat heavily (a few tens of thousands of distinct words in millions),
    so a word costs one C-level dict lookup where it cost three (stem, term number, hash),
    and a document's hashes and word pairs are NumPy takes over its numbers."""

    def __init__(self, numbers: dict, common: frozenset[str] | None):
        super().__init__()
        self.numbers, self.common = numbers, common
        self.stems: list[str] = []  # by term number (``numbers`` gives them in order)
        self.hashes = np.zeros(1024, dtype="<u4")
        self.paired = np.zeros(1024, dtype=bool)
        self.pairs: _PairNumbers | None = None  # set by add_analyzed: the shingle field's

    def __missing__(self, word: str) -> int:
        stem = _stem(word)
        number = self[word] = self.numbers[stem]
        known = len(self.stems)
        if number >= known:  # a new stem (others may have been numbered by add_words)
            new = [stem] if number == known else \
                list(islice(reversed(self.numbers), number - known + 1))[::-1]
            if number >= len(self.hashes):
                self.hashes = np.resize(self.hashes, 2 * number)
                self.paired = np.resize(self.paired, 2 * number)
            self.hashes[known:number + 1] = list(map(word_hash, new))
            self.paired[known:number + 1] = [s in self.common for s in new]
            self.stems += new
        return number


class _PairNumbers(dict):
    """Two stems' numbers (``first << 32 | second``, by ``_WordNumbers``) -> their pair's term
    number in the shingle field, on first sight: a pair already seen costs an int lookup,
    not the formatting and hashing of its string."""

    def __init__(self, stems: list[str], numbers: dict):
        super().__init__()
        self.stems, self.numbers = stems, numbers

    def __missing__(self, key: int) -> int:
        first, second = self.stems[key >> 32], self.stems[key & 0xFFFFFFFF]
        number = self[key] = self.numbers[f"{first}{SHINGLE_SEPARATOR}{second}"]
        return number


class BulkWriter(SegmentWriter):
    """A ``SegmentWriter`` for a new index (no deletions, no other segments to merge):
    ``add_document`` and ``commit`` only. See the module docstring."""

    def __init__(self, ix, **kwargs):
        super().__init__(ix, **kwargs)
        self._postings: dict[str, FieldPostings | None] = {}
        # scorable field -> (documents, their lengths), quantized to bytes at commit
        self._lengths: dict[str, tuple[list, list] | None] = {}
        self._stored: list[dict] = []  # each document's stored fields
        self._columns: dict[str, tuple[list, list] | None] = {}  # name -> (documents, values)
        self._fields = {}  # name -> see _plan
        self._word_numbers: dict[str, _WordNumbers] = {}  # word field -> see _record_pending
        self._pending: list[tuple] = []  # add_analyzed's documents not recorded yet
        self._pending_names: tuple = ()

    def _plan(self, name: str):
        """How a field is recorded: (field, how it is indexed, its postings, its lengths
        (None: unscored), stored, its column's (documents, values) or None)."""
        field = self.schema[name]
        analyzer = getattr(field, "analyzer", None)
        if not field.indexed:
            how = None
        elif isinstance(analyzer, FastWordAnalyzer) and isinstance(field.format, formats.Frequency):
            how = "pairs" if analyzer.shingles else "words"
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
        postings = self._postings[name] = FieldPostings() if how is not None else None
        lengths = self._lengths[name] = ([], []) if how is not None and field.scorable else None
        column = self._columns[name] = ([], []) if field.column_type else None
        found = self._fields[name] = (field, how, postings, lengths, field.stored, column)
        return found

    def add_document(self, **values):
        """What ``SegmentWriter.add_document`` records, kept in lists (see the module
        docstring)."""
        self._check_state()
        if self._pending:
            self._record_pending()
        self._stored.append(None)
        self._added = True
        self.docnum += 1
        self._record_values(self.docnum - 1, [values])

    def add_analyzed(self, values: dict, words: list[str], *, text: str, skip: int,
                     sequence: str, shingles: str, spelling: str, new_words) -> None:
        """``add_document(**values)`` plus four fields given as words already split
        (as ``analysis.unstemmed_words`` gives them: lower case, no stop words):

        - ``text`` (a ``FastWordAnalyzer`` field): their stems;
        - ``shingles`` (its shingle twin, with ``common`` words): adjacent stems both common;
        - ``sequence`` (a bytes column): the hashes of their stems, after the first ``skip``;
        - ``spelling`` (a space-separated KEYWORD): ``new_words`` as they are.

        The same terms, lengths and column values as ``add_document`` given the joined
        text to analyze (a test compares), recorded ``PENDING_DOCS`` documents at a time
        (``_record_pending``): a rebuild's time went to a few dozen small Python steps per
        document, fields and words, which are now a few C-level loops per batch."""
        self._check_state()
        names = (text, sequence, shingles, spelling)
        if self._pending and names != self._pending_names:
            self._record_pending()
        self._pending_names = names
        self._pending.append((values, words, skip, new_words))
        self._stored.append(None)
        self._added = True
        self.docnum += 1
        if len(self._pending) >= PENDING_DOCS:
            self._record_pending()

    def _record_pending(self) -> None:
        """The words of the documents given to ``add_analyzed`` since the last call, then
        their other fields, a batch at a time: each word is one lookup (``_WordNumbers``:
        its stem's term number) in one ``map`` over the batch, and the hashes, the pairs
        of common words and each field's postings are NumPy or list operations over it."""
        pending, self._pending = self._pending, []
        first = self.docnum - len(pending)
        docnums = range(first, self.docnum)
        text, sequence, shingles, spelling = self._pending_names
        plans = self._fields
        _, how, postings, lengths, _, _ = plans.get(text) or self._plan(text)
        pair_field, pair_how, pair_postings, pair_lengths, _, _ = \
            plans.get(shingles) or self._plan(shingles)
        _, spell_how, spelled, spell_lengths, _, _ = plans.get(spelling) or self._plan(spelling)
        common = pair_field.analyzer.common
        if how != "words" or pair_how != "pairs" or common is None or spell_how != "split":
            raise TypeError("add_analyzed needs a word field, its common-pair shingle field "
                            "and a space-separated KEYWORD field")
        numbers = self._word_numbers.get(text)
        if numbers is None:
            numbers = self._word_numbers[text] = _WordNumbers(postings.numbers, common)
            numbers.pairs = _PairNumbers(numbers.stems, pair_postings.numbers)
        word_lists = [entry[1] for entry in pending]
        sizes = list(map(len, word_lists))
        found = list(map(numbers.__getitem__, chain.from_iterable(word_lists)))
        postings.add_runs(docnums, found, sizes)
        _add_lengths(lengths, docnums, sizes)
        at = np.array(found, dtype=np.intp)
        ends = np.cumsum(np.array(sizes, dtype=np.intp))
        hashes = numbers.hashes[at].tobytes()
        for (values, _, skip, _), end, size in zip(pending, ends.tolist(), sizes):
            values[sequence] = hashes[4 * (end - size + skip):4 * end]
        if len(at) > 1:  # pairs of adjacent common stems, never across two documents
            paired = numbers.paired[at]
            both = paired[:-1] & paired[1:]
            inner = ends[(ends > 0) & (ends < len(at))]
            both[inner - 1] = False
            where = np.flatnonzero(both)
            if len(where):
                pairs = list(map(numbers.pairs.__getitem__,
                                 ((at[where] << 32) | at[where + 1]).tolist()))
                counts = np.bincount(np.searchsorted(ends, where, side="right"),
                                     minlength=len(pending))
                having = np.flatnonzero(counts)
                pair_docs = (having + first).tolist()
                pair_sizes = counts[having].tolist()
                pair_postings.add_runs(pair_docs, pairs, pair_sizes)
                _add_lengths(pair_lengths, pair_docs, pair_sizes)
        new_words = [entry[3] for entry in pending]  # each word once, as splitting their join
        spell_sizes = list(map(len, new_words))
        spelled.add_runs(docnums, list(map(spelled.numbers.__getitem__,
                                           chain.from_iterable(new_words))), spell_sizes)
        _add_lengths(spell_lengths, docnums, spell_sizes)
        self._record_values(first, [entry[0] for entry in pending])

    def _record_values(self, first: int, dicts: list[dict]) -> None:
        """The fields of documents ``first``, ``first + 1``... (``add_document``'s values),
        a field at a time: postings, lengths, stored fields and column values."""
        plans = self._fields
        every = range(first, first + len(dicts))
        stored_full: list[tuple[str, list]] = []  # stored fields that every document has
        stored_some: list[tuple[str, tuple, tuple]] = []  # and the others
        for name in sorted(set().union(*dicts)):
            found = list(map(methodcaller("get", name), dicts))
            if None not in found:  # the usual case: every document has it (no Python per value)
                docs = every
            else:
                present = [(docnum, value) for docnum, value in zip(every, found) if value is not None]
                if not present:
                    continue
                docs, found = zip(*present)
            field, how, postings, lengths, is_stored, column = plans.get(name) or self._plan(name)
            if how == "id":  # the whole value is the term, even an empty one
                postings.add_runs(docs, list(map(postings.numbers.__getitem__, found)),
                                  [1] * len(docs))
                _add_lengths(lengths, docs, [1] * len(docs))
            elif how in ("commas", "split", "words", "pairs"):  # nothing for an empty value
                kept = [(docnum, value) for docnum, value in zip(docs, found) if value]
                if kept:
                    kept_docs, kept_values = zip(*kept)
                    if how == "commas":
                        word_lists = list(map(_comma_words, kept_values))
                    elif how == "split":
                        word_lists = list(map(field.analyzer.expression.findall, kept_values))
                    elif how == "words":
                        word_lists = [_words(value, morph=True) for value in kept_values]
                    else:
                        word_lists = [_pairs(_words(value, morph=True), field.analyzer.common)
                                      for value in kept_values]
                    sizes = list(map(len, word_lists))
                    postings.add_runs(kept_docs, list(map(postings.numbers.__getitem__,
                                                          chain.from_iterable(word_lists))), sizes)
                    _add_lengths(lengths, kept_docs, sizes)
            elif how == "field":  # Whoosh's own Field.index, value by value
                for docnum, value in zip(docs, found):
                    length = 0
                    for tbytes, freq, weight, _ in field.index(value):
                        postings.add_counted(docnum, tbytes, freq)
                        length += freq
                    _add_lengths(lengths, [docnum], [length])
            if is_stored:
                if docs is every:
                    stored_full.append((name, found))
                else:
                    stored_some.append((name, docs, found))
            if column is not None:
                column[0].extend(docs)
                column[1].extend(map(field.to_column_value, found))
        # each document's stored dict, in C: dict(zip(names, its values)), then the rest
        names = [name for name, _ in stored_full]
        rows = list(map(dict, map(zip, repeat(names), zip(*(found for _, found in stored_full)))))\
            if names else [{} for _ in dicts]
        for name, docs, found in stored_some:
            for docnum, value in zip(docs, found):
                rows[docnum - first][name] = value
        self._stored[first:first + len(dicts)] = rows

    def commit(self, mergetype=None, optimize=None, merge=None):
        """Adds the segment as it is: merging other segments would go through the pool
        that ``add_document`` no longer fills."""
        if mergetype is not None or optimize or merge:
            raise ValueError("BulkWriter writes one new segment and merges nothing")
        super().commit(merge=False)

    def _flush_segment(self):
        if self._pending:
            self._record_pending()
        self._write_per_document()
        writer = self.fieldwriter
        for name in sorted(self._postings):
            if self._postings[name] is None or not self._postings[name].terms:
                continue  # not indexed, or no terms in this segment
            field = self.schema[name]
            fmt = field.format
            if fmt.fixed_value_size() not in (0, 4) or not isinstance(
                    fmt, (formats.Frequency, formats.Existence)):
                raise TypeError(f"BulkWriter cannot write field {name!r} ({type(fmt).__name__})")
            length_bytes = self._length_bytes.get(name)
            writer.start_field(name, field)
            if self._fields[name][1] == "field":  # Field.index gave bytes already
                to_bytes = bytes
            elif type(field).to_bytes is fields.FieldType.to_bytes:  # text: UTF-8, as it encodes
                to_bytes = str.encode
            else:
                to_bytes = field.to_bytes
            write_field(writer, self.codec, field, self._postings[name], to_bytes, length_bytes)
            writer.finish_field()
        self._postings.clear()
        tindex = writer._tindex
        tindex._write_hashes = lambda: write_hash_tables(tindex)  # the same tables, fewer writes
        writer.close()

    def _write_per_document(self) -> None:
        """Stored fields, columns and field lengths, as ``W3PerDocWriter`` would have them
        after an ``add_field``/``add_column_value`` per value, a column at a time."""
        perdoc, count = self.perdocwriter, self.docnum
        perdoc._doccount = count
        self._length_bytes = {}  # field -> each document's length byte (0: none)
        for name, found in self._lengths.items():
            if found is None or not found[0]:
                continue
            docs, lengths = found
            perdoc._fieldlengths[name] += sum(lengths)
            quantized = np.zeros(count, dtype=np.uint8)
            quantized[docs] = length_bytes(np.array(lengths, dtype=np.int64))
            self._length_bytes[name] = quantized
            _fill_numeric(perdoc, _lenfield(name), LENGTHS_COLUMN, docs,
                          quantized[docs].tolist())
        # stored fields: STORED_COLUMN pickles each document's dict and compresses it
        stored = perdoc._colwriters["_stored"]._child
        level, compress = stored._level, stored._compress
        docs = [at for at, found in enumerate(self._stored) if found]  # none: no value
        dicts = self._stored if len(docs) == count else [self._stored[at] for at in docs]
        _fill_var_bytes(stored, docs, list(map(compress, map(dumps, dicts, repeat(2)),
                                               repeat(level))), count)
        self._stored = []
        for name, found in self._columns.items():
            if found is None or not found[0]:
                continue
            docs, values = found
            column = self.schema[name].column_type
            if isinstance(column, columns.NumericColumn):
                _fill_numeric(perdoc, name, column, docs, values)
            elif type(column) is columns.VarBytesColumn:
                perdoc._create_column(name, column)
                _fill_var_bytes(perdoc._colwriters[name], docs, values, count)
            else:  # any other column type: its own writer, value by value
                perdoc._create_column(name, column)
                writer = perdoc._colwriters[name]
                for docnum, value in zip(docs, values):
                    writer.add(docnum, value)
        self._columns.clear()
        perdoc.close()


_LENGTH_BYTES = np.array([byte_to_length(b) for b in range(256)], dtype=np.int64)


def length_bytes(lengths: np.ndarray) -> np.ndarray:
    """``length_to_byte`` of each length: the first byte whose length is not smaller."""
    found = np.searchsorted(_LENGTH_BYTES, lengths, side="left")
    return np.where(lengths >= _LENGTH_LIMIT, 255, found).astype(np.uint8)


_LENGTH_LIMIT = 106374  # length_to_byte's: from here on, 255


def _fill_numeric(perdoc, name: str, column, docs: list[int], values: list) -> None:
    """A NumericColumn as its writer writes it: each document's packed value up to the
    last one that is not the default (a missing document counts as the default)."""
    perdoc._create_column(name, column)
    writer = perdoc._colwriters[name]
    default = writer._default
    kept = [at for at, value in enumerate(values) if value != default]
    if not kept:
        return
    last = docs[kept[-1]]
    full = [default] * (last + 1)
    for docnum, value in zip(docs, values):
        if docnum <= last:
            full[docnum] = value
    writer._dbfile.write(b"".join(map(writer._pack, full)))
    writer._count = last + 1


def _fill_var_bytes(writer, docs: list[int], values: list[bytes], count: int) -> None:
    """A VarBytesColumn writer's state after ``add(doc, value)`` for each, in document
    order (a missing document has an empty value); ``finish`` then writes its tables."""
    full = [b""] * count
    for docnum, value in zip(docs, values):
        full[docnum] = value
    lengths = list(map(len, full))
    offsets = np.concatenate(([0], np.cumsum(lengths, dtype=np.int64)[:-1])).tolist() \
        if lengths else []
    writer._dbfile.write(b"".join(full))
    extend_growable(writer._lengths, lengths)
    extend_growable(writer._offsets, offsets)
    writer._offset_base += sum(lengths)
    writer._count = count
