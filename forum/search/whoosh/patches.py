"""Two speed-ups to whoosh-reloaded's segment reader, applied by ``apply()``.

Applied explicitly by ``SearchIndex`` (the Whoosh engine) when it is made, never as a side
effect of importing a module: code that imports Whoosh for something else gets the
library as published. Both give the same answers as the originals (tests compare
searches with Whoosh's own); ``requirements.txt`` pins the version they were written for.
"""
from __future__ import annotations

import threading

_applied = False
_lock = threading.Lock()


def apply() -> None:
    """Install both patches once per process (idempotent, thread-safe)."""
    global _applied
    with _lock:
        if not _applied:
            _remember_missing_length_columns()
            _read_length_columns_whole()
            _applied = True


def _remember_missing_length_columns() -> None:
    """Whoosh 2.7's per-document reader looks for a field's length column with a
    ``stat`` of the file system each time it does not find one, and a segment write
    asks once per posting of every unscored field (ids, keywords, dates, spelling):
    about a fifth of a rebuild's time. Segment files never change once written, so
    remembering "no such column" is safe."""
    from whoosh.codec.whoosh3 import W3PerDocReader

    def _cached_reader(self, fieldname, column):
        try:
            return self._readers[fieldname]
        except KeyError:
            found = self.column_reader(fieldname, column) if self.has_column(fieldname) else None
            self._readers[fieldname] = found
            return found

    W3PerDocReader._cached_reader = _cached_reader


def _read_length_columns_whole() -> None:
    """Writing a segment's postings asks for the document's field length once per posting
    (for each block's length bounds), and Whoosh reads each from the column file: one
    ``get`` a posting, an eighth of a rebuild. The column (one byte a document) is read
    once instead. Same answers, including Whoosh's None for a length byte of 0."""
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, W3PerDocReader, _lenfield
    from whoosh.util.numeric import byte_to_length

    lengths_of = [None] + [byte_to_length(b) for b in range(1, 256)]

    def doc_field_length(self, docnum, fieldname, default=0):
        if docnum > self._doccount:
            raise IndexError("Asked for docnum %r of %d" % (docnum, self._doccount))
        cache = self.__dict__.setdefault("_forum_lengths", {})
        found = cache.get(fieldname)
        if found is None:
            column = self._cached_reader(_lenfield(fieldname), LENGTHS_COLUMN)
            found = cache[fieldname] = (False if column is None  # an unscored field
                                        else column._dbfile.get(column._basepos, column._count))
        if found is False:
            return default
        return lengths_of[found[docnum]] if docnum < len(found) else None

    W3PerDocReader.doc_field_length = doc_field_length
