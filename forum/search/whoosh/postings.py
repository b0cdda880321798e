"""A rebuild's terms and postings, written a field at a time in Whoosh's W3 format.

``bulk.BulkWriter`` collects each field's (term, document) pairs; this module
sorts and counts them in NumPy and writes the field's postings blocks and term
index entries: the same bytes ``W3FieldWriter``, ``W3PostingsWriter`` and
``OrderedHashWriter`` write (whoosh-reloaded 2.7.5's block layout, pickles,
statistics and term index), which a test compares with Whoosh's own writer.

Why per field rather than per term: a rebuild writes a term per distinct word,
word pair and key (hundreds of thousands at 100,000 posts), most with a handful
of postings, so a rebuild's writing was Python work per term: slicing, a few
``min``/``max``, two pickles, a term info, a hash-table entry. Here each
statistic (first and last document, counts, weights, length bytes) is one
``reduceat`` over the field's sorted postings, and the per-term steps left
(a tuple of deltas, two pickles, packing) run as ``map`` over lists, a C loop
with no Python frame per term. Only terms of more than one block (more than
``POSTINGS_PER_BLOCK`` postings, a few hundred common words) still go through
the per-term ``_TermWriter``.
"""
from __future__ import annotations

import hashlib
import zlib
from array import array
from functools import partial
from itertools import chain, repeat
from operator import itemgetter, methodcaller
from pickle import dumps

import numpy as np
from whoosh.codec.whoosh3 import WHOOSH3_HEADER_MAGIC, W3TermInfo
from whoosh.filedb.filetables import _lengths as _HASH_ENTRY, _pointer as _POINTER, md5_hash
from whoosh.system import pack_int, pack_long, pack_ushort
from whoosh.util.numeric import byte_to_length, length_to_byte

_sub = int.__sub__
_TERM_INFO = W3TermInfo._struct
COMPRESS_MIN_POSTINGS = 16  # a block of fewer postings is written uncompressed


class _TermNumbers(dict):
    """term -> its number in the field, given on first sight (one C call per known term)."""

    def __missing__(self, term):
        number = self[term] = len(self)
        return number


class FieldPostings:
    """One field's postings as flat lists: term numbers, and the document each run of
    them came from (one run per ``add_*`` call), with frequencies when not all one."""

    def __init__(self):
        self.numbers = _TermNumbers()
        # lists, not arrays: list.extend(map(...)) is several times faster than array.extend
        self.terms: list[int] = []
        self.run_docs: list[int] = []
        self.run_sizes: list[int] = []
        self.freqs: list[int] = []  # empty while every entry is one occurrence (word fields)

    def add_words(self, docnum: int, words: list) -> None:
        """One entry per occurrence (repeats are counted at commit)."""
        if self.freqs:
            self.freqs.extend(repeat(1, len(words)))
        self.terms.extend(map(self.numbers.__getitem__, words))
        self.run_docs.append(docnum)
        self.run_sizes.append(len(words))

    def add_runs(self, docs, numbers: list[int], sizes: list[int]) -> None:
        """``add_numbers`` for several documents: ``sizes[i]`` of ``numbers`` for ``docs[i]``."""
        if self.freqs:
            self.freqs.extend(repeat(1, len(numbers)))
        self.terms.extend(numbers)
        self.run_docs.extend(docs)
        self.run_sizes.extend(sizes)

    def add_numbers(self, docnum: int, numbers: list[int]) -> None:
        """``add_words`` for words already numbered (``numbers``' values)."""
        if self.freqs:
            self.freqs.extend(repeat(1, len(numbers)))
        self.terms.extend(numbers)
        self.run_docs.append(docnum)
        self.run_sizes.append(len(numbers))

    def add_counted(self, docnum: int, term, freq: int) -> None:
        if not self.freqs and freq != 1:
            self.freqs.extend(repeat(1, len(self.terms)))
        self.terms.append(self.numbers[term])
        self.run_docs.append(docnum)
        self.run_sizes.append(1)
        if self.freqs:
            self.freqs.append(freq)

    def sorted_postings(self, to_bytes):
        """The terms as bytes in order, each one's ``start`` and ``end`` in the postings,
        and the postings' documents and frequencies (NumPy arrays) in term then document
        order: one sort and one count over the whole field."""
        if not self.terms:
            empty = np.zeros(0, dtype=np.int64)
            return [], empty, empty, empty, empty
        vocabulary = list(map(to_bytes, self.numbers))
        order = sorted(range(len(vocabulary)), key=vocabulary.__getitem__)
        rank = np.empty(len(order), dtype=np.int64)
        rank[order] = np.arange(len(order), dtype=np.int64)
        docs = np.repeat(np.array(self.run_docs, dtype=np.int64),
                         np.array(self.run_sizes, dtype=np.int64))
        keys = (rank[np.array(self.terms, dtype=np.int64)] << 32) | docs
        if self.freqs:
            keys, inverse = np.unique(keys, return_inverse=True)
            freqs = np.bincount(inverse, weights=np.array(self.freqs, dtype=np.float64)
                                ).astype(np.int64)
        else:
            keys, freqs = np.unique(keys, return_counts=True)
        ranks = keys >> 32
        bounds = np.flatnonzero(np.diff(ranks)) + 1
        starts = np.concatenate(([0], bounds)).astype(np.int64)
        ends = np.concatenate((bounds, [len(keys)])).astype(np.int64)
        terms = list(map(vocabulary.__getitem__, map(order.__getitem__, ranks[starts].tolist())))
        return terms, starts, ends, keys & 0xFFFFFFFF, freqs.astype(np.int64)


def write_field(fieldwriter, codec, field, postings: FieldPostings, to_bytes,
                length_bytes: np.ndarray | None) -> None:
    """Writes one field's postings and term index entries (``fieldwriter.start_field``
    already called). ``length_bytes``: each document's length byte for the field
    (0: none), or None for a field without lengths."""
    fmt = field.format
    size = fmt.fixed_value_size()
    terms, starts, ends, docs, freqs = postings.sorted_postings(to_bytes)
    if not terms:
        return
    limit, boost = codec._blocklimit, fmt.field_boost
    counts = ends - starts
    # One block and unit boost (every field here): whole-field NumPy statistics. Weights
    # are then the frequencies themselves, whose sums are exact in any order.
    simple = (counts <= limit) if boost == 1.0 else np.zeros(len(terms), dtype=bool)
    values = freqs.astype(">u4").tobytes() if size == 4 else None
    prefix = pack_ushort(fieldwriter._fieldid)
    infos = [b""] * len(terms)
    chosen = np.flatnonzero(simple)
    if len(chosen):
        written = _single_blocks(fieldwriter._postfile, codec._compression, starts[chosen],
                                 ends[chosen], docs, freqs, values, length_bytes)
        if len(chosen) == len(terms):
            infos = written
        else:
            for at, info in zip(chosen.tolist(), written):
                infos[at] = info
    others = np.flatnonzero(~simple)
    if len(others):
        lengths = None if length_bytes is None else _QUANTIZED[length_bytes].tolist()
        writer = _TermWriter(fieldwriter, codec, size)
        doclist, freqlist = docs.tolist(), freqs.tolist()
        for at, start, end in zip(others.tolist(), starts[others].tolist(), ends[others].tolist()):
            infos[at] = writer.write(doclist[start:end], freqlist[start:end], boost,
                                     None if values is None else values[start * 4:end * 4],
                                     lengths)
    add_terms(fieldwriter._tindex, list(map(prefix.__add__, terms)), infos)


def _single_blocks(postfile, compression: int, starts, ends, docs, freqs, values,
                   length_bytes) -> list[bytes]:
    """Writes terms of one block each (unit boost), as ``_TermWriter.write`` would, and
    returns their term index values."""
    counts = ends - starts
    lasts = docs[ends - 1]
    local = np.concatenate(([0], np.cumsum(counts)[:-1])).astype(np.int64)
    if len(starts) and int(counts.sum()) == len(docs):  # every term: the postings as they are
        pdocs, pfreqs = docs, freqs
    else:  # the chosen terms' postings, gathered, so that reduceat sees only theirs
        picked = np.repeat(starts - local, counts) + np.arange(int(counts.sum()))
        pdocs, pfreqs = docs[picked], freqs[picked]
    low = np.minimum.reduceat(pfreqs, local)
    high = np.maximum.reduceat(pfreqs, local)
    total = np.add.reduceat(pfreqs, local)
    if length_bytes is None:
        min_lb = max_lb = np.zeros(len(starts), dtype=np.int64)
    else:
        known = length_bytes[pdocs].astype(np.int64)
        max_lb = np.maximum.reduceat(known, local)
        min_lb = np.minimum.reduceat(np.where(known == 0, 256, known), local)
        min_lb[min_lb == 256] = 0  # no known length: a reader's None, written as 0
    deltas = pdocs.copy()
    deltas[1:] -= pdocs[:-1]
    deltas[local] = pdocs[local]
    delta_list = deltas.tolist()
    local_l, end_l = local.tolist(), (local + counts).tolist()
    slices = list(map(slice, local_l, end_l))
    # the block's weights: None when every posting has weight 1, one weight when they are
    # all equal, else each posting's (W3PostingsWriter's "minified" weights)
    minis: list = [None] * len(starts)
    uneven = np.flatnonzero(low != high).tolist()
    if uneven:
        freq_list = [float(f) for f in pfreqs.tolist()]
        for at in uneven:
            minis[at] = tuple(freq_list[slices[at]])
    for at in np.flatnonzero((low == high) & (low != 1)).tolist():
        minis[at] = float(low[at])
    if values is None:
        block_values = repeat(None)
    else:
        pvalues = pfreqs.astype(">u4").tobytes()
        block_values = map(pvalues.__getitem__, map(slice, (local * 4).tolist(),
                                                    ((local + counts) * 4).tolist()))
    datas = list(map(dumps, zip(map(tuple, map(delta_list.__getitem__, slices)), minis,
                                block_values), repeat(2)))
    count_l = counts.tolist()
    compressions = [0] * len(count_l)
    if compression:
        for at in np.flatnonzero(counts >= COMPRESS_MIN_POSTINGS).tolist():
            datas[at] = zlib.compress(datas[at], compression)
            compressions[at] = compression
    maxweights = list(map(float, high.tolist()))
    headers = list(map(dumps, zip(count_l, lasts.tolist(), maxweights, compressions,
                                  min_lb.tolist(), max_lb.tolist()), repeat(2)))
    sizes = np.fromiter(map(len, headers), dtype=np.int64, count=len(headers)) \
        + np.fromiter(map(len, datas), dtype=np.int64, count=len(datas))
    magic = WHOOSH3_HEADER_MAGIC
    blob = b"".join(chain.from_iterable(zip(repeat(magic), map(pack_int, (-sizes).tolist()),
                                            headers, datas)))
    lengths = sizes + len(magic) + 4
    offsets = postfile.tell() + np.concatenate(([0], np.cumsum(lengths)[:-1]))
    postfile.write(blob)
    infos = map(_TERM_INFO.pack, repeat(False), map(float, total.tolist()), count_l,
                min_lb.tolist(), max_lb.tolist(), maxweights, pdocs[local].tolist(),
                lasts.tolist())
    return list(map(b"".join, zip(infos, map(pack_long, offsets.tolist()),
                                  map(pack_int, lengths.tolist()))))


def add_terms(tindex, keys: list[bytes], values: list[bytes]) -> None:
    """``OrderedHashWriter.add`` for each key (in increasing order) and value, at once."""
    if not keys:
        return
    if keys[0] <= tindex.lastkey:
        raise ValueError(f"Keys must increase: {tindex.lastkey!r}..{keys[0]!r}")
    dbfile = tindex.dbfile
    key_lengths, value_lengths = list(map(len, keys)), list(map(len, values))
    sizes = np.array(key_lengths, dtype=np.int64) + np.array(value_lengths, dtype=np.int64) \
        + _HASH_ENTRY.size
    positions = (dbfile.tell() + np.concatenate(([0], np.cumsum(sizes)[:-1]))).tolist()
    dbfile.write(b"".join(chain.from_iterable(
        zip(map(_HASH_ENTRY.pack, key_lengths, value_lengths), keys, values))))
    buckets = tindex.buckets
    for hashed, position in zip(_hashes(tindex.hashfn, keys), positions):
        buckets[hashed & 255].append((hashed, position))
    extend_growable(tindex.index, positions)
    tindex.lastkey = keys[-1]


_MD5 = partial(hashlib.md5, usedforsecurity=False)


def _hashes(hashfn, keys: list[bytes]):
    """``map(hashfn, keys)``; Whoosh's ``md5_hash`` (the low 32 bits of the MD5 digest: its
    last eight hex digits) as C-level maps, not a Python call per term (a test compares)."""
    if hashfn is not md5_hash:
        return map(hashfn, keys)
    return map(int, map(itemgetter(slice(-8, None)), map(methodcaller("hexdigest"),
                                                         map(_MD5, keys))), repeat(16))


def write_hash_tables(tindex) -> None:
    """``HashWriter._write_hashes`` with each bucket's table packed and written at once
    (the same slots, filled in the same order with the same linear probing), instead of
    one ``write`` call per slot: two slots per term, several hundred thousand calls at
    100,000 posts. Installed on a writer's term index by ``bulk.BulkWriter``."""
    dbfile = tindex.dbfile
    null = (0, 0)
    pack = _POINTER.pack
    for entries in tindex.buckets:
        pos = dbfile.tell()
        numslots = 2 * len(entries)
        tindex.directory.append((pos, numslots))
        table = [null] * numslots
        for hashval, position in entries:
            slot = (hashval >> 8) % numslots
            while table[slot] != null:
                slot = (slot + 1) % numslots
            table[slot] = (hashval, position)
        if table:
            dbfile.write(b"".join(map(pack, *zip(*table))))


_GROWABLE_TYPES = (("B", 2**8), ("H", 2**16), ("i", 2**31), ("I", 2**32))


def extend_growable(growable, numbers: list[int]) -> None:
    """``GrowableArray.extend`` (non-negative numbers), retyped once instead of per item:
    the same final type, the smallest at or above the current one that holds them all."""
    current = growable.array
    if not numbers:
        return
    if not isinstance(current, array):
        current.extend(numbers)
        return
    biggest = max(max(numbers), max(current, default=0))
    codes = [code for code, _ in _GROWABLE_TYPES]
    at = codes.index(current.typecode) if current.typecode in codes else len(codes)
    for code, bound in _GROWABLE_TYPES[at:]:
        if biggest < bound:
            if code != current.typecode:
                current = array(code, current)
            current.extend(numbers)
            growable.array = current
            return
    if not growable._allow_longs:
        raise OverflowError(f"{biggest!r} is too big to fit in an array")
    growable.array = array("q", current)
    growable.array.extend(numbers)


# A length byte's length, as a reader gives it back (``byte_to_length``); 0 for byte 0
# (Whoosh's length reader answers None there, and a posting's length of None or 0 is
# left out of a block's bounds).
_QUANTIZED = np.array([0] + [byte_to_length(b) for b in range(1, 256)], dtype=np.int64)


class _TermWriter:
    """Writes a term of several blocks as ``W3PostingsWriter`` would: the same block
    layout, pickles and statistics, with C-level calls on each block's lists. One
    difference, which readers already handle: a block of fewer than
    ``COMPRESS_MIN_POSTINGS`` postings is not compressed (each block says whether it
    is). Whoosh means to skip compression for tiny pickles too, but a bug in
    ``_write_block`` compresses every block."""

    def __init__(self, fieldwriter, codec, value_size: int):
        self.postfile = fieldwriter._postfile
        self.limit, self.compression = codec._blocklimit, codec._compression
        self.value_size = value_size

    def write(self, docs: list, freqs: list, boost: float, values: bytes | None,
              lengths: list | None) -> bytes:
        """Writes the term's blocks and returns its term index value. ``values``: the
        postings' value bytes, ``value_size`` each, or None; ``lengths``: each document's
        field length as a reader gives it back (0: none)."""
        limit, size = self.limit, self.value_size
        start_offset = self.postfile.tell()
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
        # the term info, as W3TermInfo.to_bytes packs it
        info = _TERM_INFO.pack(False, weight_sum, count,
                               0 if term_min is None else length_to_byte(term_min),
                               length_to_byte(term_max), term_maxweight, docs[0], docs[-1])
        return info + pack_long(start_offset) + pack_int(len(written))
