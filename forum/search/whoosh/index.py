"""The Whoosh index: schema, opening, writing (``apply``), rebuilding and searching.

This module, ``analysis.py`` (how text becomes terms), ``wquery.py`` (parsed
queries to Whoosh queries), ``grouping.py`` (every match, per thread),
``conjunctive.py`` (ranking the common query shape), ``bulk.py`` and
``postings.py`` (a rebuild's segment writer), ``patches.py`` and ``backend.py``
are the only ones that import Whoosh.
Everything else speaks in plain dicts (documents), keys (``"thread:1"``,
``"post:42"``) and the parsed query of ``forum.search.query``.

Layout on disk: ``SEARCH_INDEX_DIR`` holds one folder per generation
(``gen-<stamp>``) and a small ``current`` file naming the live one. A rebuild
fills a fresh folder and then replaces ``current`` with ``os.replace``
(atomic), so searches keep answering from the old generation until the switch.
Who may write, and when, is decided by ``backend.py`` (file locks).

Why these settings (measured, see DESIGN.md "Known traps"):
- writers use ``compound=False``: a compound segment is copied into memory
  whenever a reader opens it (about 150 ms and 500 MB at 100,000 posts);
- each process keeps one long-lived searcher and ``refresh()``es it;
- phrases are answered from a ``shingles`` field of adjacent pairs of common
  words (an AND of a few term look-ups) and, for a phrase with a rarer word,
  its words then a check of the document's word sequence, a column of its words'
  hashes (``wquery.PhraseCheck``), instead
  of Whoosh's position matching, which took 358 ms at p95 on a 100,000-post
  index; which words are common is decided by each rebuild (``paired_words``);
- the analyzer keeps two-letter words (RL, GP, QA) and only drops a short
  list of English function words.
"""
from __future__ import annotations

import logging
import os
import shutil
import threading
import time
from datetime import timezone
from pathlib import Path
from typing import Iterable, Iterator

import numpy as np

from whoosh import columns, fields, index as whoosh_index, query as wq
from whoosh.index import LockError

from forum.search.backend import ResultGroup, SearchPage, Snippet
from forum.search.whoosh import conjunctive, grouping, patches
from forum.search.whoosh.bulk import BulkWriter
from forum.search.whoosh.analysis import (STOP_WORDS, analyzed, common_words, remember_stems,
                                          shingle_analyzer, unstemmed_words, word_analyzer,
                                          word_sequence)
from forum.search.whoosh.wquery import highlight_terms, stored_text, term_text, to_whoosh_query

log = logging.getLogger(__name__)

WRITER_TIMEOUT_S = 10.0  # how long a drain waits for another process's writer before giving up
WRITER_POLL_S = 0.02
POINTER_FILE = "current"


POSTINGS_PER_BLOCK = 1024
BULK_SEGMENT_DOCS = 100_000  # a rebuild's documents per segment (its memory: ~20 bytes a word)


def _codec():
    """Whoosh's codec with blocks of 1,024 postings instead of 128: reading a common word's
    postings costs a pickle load and a zlib call per block (conjunctive.py reads whole
    lists). (Inlining rare terms, ``inlinelimit``, would cut a rebuild by a third, but
    whoosh-reloaded 2.7.5 cannot merge inlined postings: a test caught it.)"""
    from whoosh.codec.whoosh3 import W3Codec
    return W3Codec(blocklimit=POSTINGS_PER_BLOCK)


class IndexUnavailable(RuntimeError):
    """The index could not be written now (locked or failing); the outbox keeps the change."""


def make_schema(paired: frozenset[str] | None = None) -> fields.Schema:
    """``paired``: the common words whose adjacent pairs ``shingles`` holds (None: all)."""
    words = word_analyzer()
    return fields.Schema(
        key=fields.ID(unique=True, stored=True, sortable=True),
        kind=fields.ID(stored=True, sortable=True),  # thread | reply | paper
        # Columns only (never searched): grouping hits by thread and sorting read them
        # without loading each hit's stored fields, and they add no postings to write.
        thread_id=fields.COLUMN(columns.NumericColumn("i")),
        score=fields.COLUMN(columns.NumericColumn("i")),
        post_id=fields.STORED(),
        title=fields.STORED(),  # shown and highlighted; searched through ``text``
        body=fields.STORED(),
        extra=fields.STORED(),  # a paper's arXiv id, authors, categories: phrases are checked on it
        # Title, body (and a paper's authors and categories) analyzed once, in one field:
        # one term look-up per word instead of an OR over fields.
        text=fields.TEXT(analyzer=words, phrase=False),
        # The same words unstemmed, for did-you-mean and prefix expansion: only its
        # vocabulary is read, so a rebuild gives each word once per SPELLING_CHUNK
        # documents (see spelling_words) instead of once per document, as Whoosh's own
        # ``spelling=True`` does (a quarter of a rebuild's time).
        spelling=fields.KEYWORD(),
        shingles=fields.TEXT(analyzer=shingle_analyzer(paired), phrase=False),
        # The stored text's analyzed words in order, as 4-byte hashes (``word_sequence``):
        # a phrase with a rarer word is checked on it with one ``bytes.find``
        # (``wquery.PhraseCheck``) instead of decompressing and analyzing the stored text.
        sequence=fields.COLUMN(columns.VarBytesColumn()),
        author=fields.KEYWORD(lowercase=True, commas=True, scorable=True),
        tag=fields.KEYWORD(lowercase=True, commas=True),
        paper=fields.KEYWORD(lowercase=True, commas=True),
        repo=fields.KEYWORD(lowercase=True, commas=True),
        stance=fields.ID(),
        created=DateColumn(),
    )


class DateColumn(fields.DATETIME):
    """A date kept as a column only (Whoosh's ``datetime_to_long``, as a sortable
    DATETIME stores it), never as terms: filters and sorts read the column
    (``wquery.DateFilter``, ``conjunctive.py``), and the terms of a DATETIME field
    (one per precision step and document) cost a rebuild a tenth of its postings
    and half of its terms."""

    indexed = False

    def __init__(self):
        super().__init__(sortable=True)


PAIR_SAMPLE_DOCS = 10_000  # a rebuild counts words in the first documents it reads...
PAIRED_MIN_DOCS = 1_000  # ...and pairs the words that about this many documents have


def paired_words(sample: list[dict], total: int) -> frozenset[str]:
    """The words whose adjacent pairs a rebuilt index holds: those in at least
    ``PAIRED_MIN_DOCS`` of ``total`` documents, estimated on ``sample``.

    Any other phrase has a word in fewer documents than that, so its words alone
    leave at most that many candidates to check on their word sequences. Pairing only
    common words keeps the ``shingles`` field to about a tenth of its terms, which
    were most of a rebuild's time (nearly every pair of rarer words is a term of its
    own). A word that becomes common later is not paired until the next rebuild:
    its phrases are still found, by checking.
    """
    if not sample or total < PAIRED_MIN_DOCS:
        return frozenset()
    return common_words((stored_text(doc) for doc in sample), PAIRED_MIN_DOCS / total)


# An index written by an older schema is rebuilt (see SearchIndex._open) rather than misread.
REQUIRED_FIELDS = frozenset(make_schema().names())
# Bumped whenever the same fields hold different terms (2: Snowball stems, plain text of the
# rendered posts, titles counted twice; 3: hyphenated words split; 4: ``created`` a column
# only, without terms; 5: the ``sequence`` column); a generation without this number is rebuilt.
SCHEMA_VERSION = "5"
SCHEMA_FILE = "forum-schema-version"


SPELLING_CHUNK = 1_000
MIN_CORRECTED_CHARS = 3


def spelling_words(text: str, given: set[str] | None = None) -> str:
    """The distinct unstemmed words of ``text`` for the ``spelling`` field; with
    ``given``, only those not in it (which it then holds too)."""
    return _spelling(unstemmed_words(text), given)


def _spelling(words: list[str], given: set[str] | None) -> str:
    found = set(words)
    if given is not None:
        found -= given
        given |= found
    return " ".join(sorted(found))


def to_whoosh_document(doc: dict, spelled: set[str] | None = None) -> dict:
    """A plain document from ``documents.py`` to the field values Whoosh takes.
    ``spelled``: words already given to the ``spelling`` field in this batch."""
    # papers add their arXiv id, authors' names and categories as searchable words
    text = stored_text(doc)
    # A title's words count twice, so a match in the title outweighs one in the body (one
    # field keeps a word one term look-up; both fields analyze the same string once).
    weighted = f"{doc['title']}\n{text}" if doc.get("title") else text
    # The text is split into words once: its unstemmed words are the spelling field's, and
    # stemmed (after the title's) they are what the text and shingles fields would find in
    # ``weighted``, so the analyzers are handed them (a long review was split three times).
    plain = unstemmed_words(text)
    title = unstemmed_words(doc["title"]) if doc.get("title") else []
    stems = remember_stems(weighted, title + plain)
    out = _other_fields(doc)
    out.update(text=weighted, shingles=weighted, spelling=_spelling(plain, spelled),
               sequence=word_sequence(stems[len(title):]))  # the words of ``text``, as stored
    return out


def add_to_bulk(writer: BulkWriter, doc: dict, spelled: set[str]) -> None:
    """``writer.add_document(**to_whoosh_document(doc, spelled))``, the words handed over
    split (``BulkWriter.add_analyzed``): the same terms and columns (a test compares
    with Whoosh's writer), each word looked up once instead of once per field."""
    text = stored_text(doc)
    plain = unstemmed_words(text)
    title = unstemmed_words(doc["title"]) if doc.get("title") else []
    new_words = set(plain)
    new_words -= spelled
    spelled |= new_words
    writer.add_analyzed(_other_fields(doc), title + plain, text="text", skip=len(title),
                        sequence="sequence", shingles="shingles", spelling="spelling",
                        new_words=new_words)


def _other_fields(doc: dict) -> dict:
    """The Whoosh fields of ``doc`` besides its words (text, shingles, spelling, sequence)."""
    out = {
        "key": doc["key"], "kind": doc["kind"], "thread_id": doc.get("thread_id") or 0,
        "post_id": doc.get("post_id") or 0, "title": doc.get("title") or "",
        "body": doc.get("body") or "",
        "author": ",".join(doc.get("authors") or []), "tag": ",".join(doc.get("tags") or []),
        "paper": ",".join(doc.get("papers") or []), "repo": ",".join(doc.get("repos") or []),
        "score": int(doc.get("score") or 0),
    }
    if doc.get("extra"):
        out["extra"] = doc["extra"]
    if doc.get("stance"):
        out["stance"] = doc["stance"]
    created = doc.get("created")
    if created is not None:  # Whoosh wants naive UTC
        out["created"] = created.astimezone(timezone.utc).replace(tzinfo=None)
    return out


# ---------------------------------------------------------------------------
# Opening and switching generations


class SearchIndex:
    """One index folder per app and process: the long-lived searcher and the writers."""

    def __init__(self, base_dir: str | os.PathLike, writer_timeout: float = WRITER_TIMEOUT_S):
        patches.apply()
        self.base = Path(base_dir)
        self.writer_timeout = writer_timeout
        self._lock = threading.Lock()
        self._ix = None
        self._generation: str | None = None
        self._searcher = None
        self._column_readers = None  # (searcher, readers): see _columns
        self._thread_array = None  # (searcher, array): see _thread_ids

    # -- generations --
    def _read_pointer(self) -> str | None:
        try:
            name = (self.base / POINTER_FILE).read_text().strip()
        except FileNotFoundError:
            return None
        return name or None

    def exists(self) -> bool:
        name = self._read_pointer()
        return bool(name) and whoosh_index.exists_in(str(self.base / name))

    def new_generation(self, paired: frozenset[str] | None = None) -> Path:
        self.base.mkdir(parents=True, exist_ok=True)
        folder = self.base / f"gen-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}-{time.monotonic_ns()}"
        folder.mkdir()
        whoosh_index.create_in(str(folder), make_schema(paired))
        (folder / SCHEMA_FILE).write_text(SCHEMA_VERSION)
        return folder

    def switch_to(self, folder: Path) -> None:
        """Make ``folder`` the live generation atomically, then drop older ones."""
        tmp = self.base / f"{POINTER_FILE}.{os.getpid()}.tmp"
        tmp.write_text(folder.name)
        os.replace(tmp, self.base / POINTER_FILE)
        for old in self.base.glob("gen-*"):
            if old.name != folder.name and old.is_dir():
                shutil.rmtree(old, ignore_errors=True)  # open readers keep their files (POSIX)

    def create_empty(self) -> None:
        self.switch_to(self.new_generation())

    def _open(self):
        """The live index (reopened when another process switched generations)."""
        name = self._read_pointer()
        if name is not None and name == self._generation and self._ix is not None \
                and (self.base / name).is_dir():
            return self._ix  # the usual case: a stat, not a read of the index's table of contents
        if name is None or not whoosh_index.exists_in(str(self.base / name)):
            raise IndexMissing(f"no search index in {self.base}")
        if name != self._generation or self._ix is None:
            ix = whoosh_index.open_dir(str(self.base / name))
            if not REQUIRED_FIELDS <= set(ix.schema.names()) or _version(self.base / name) != SCHEMA_VERSION:
                raise IndexMissing(f"the index in {self.base / name} has an older schema")
            self._ix = ix
            self._generation = name
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = None
        return self._ix

    def searcher(self):
        with self._lock:
            ix = self._open()
            if self._searcher is None or not self._searcher.up_to_date():
                # Not Searcher.refresh(): whoosh-reloaded 2.7.5's reader reuse keeps segments
                # the new TOC dropped and their old deletions, so an edited post would still
                # match its old words. With compound=False a fresh searcher opens in ~0.3 ms.
                old, self._searcher = self._searcher, ix.searcher()
                if old is not None:
                    old.close()
            return self._searcher

    def close(self) -> None:
        with self._lock:
            if self._searcher is not None:
                self._searcher.close()
            self._searcher = self._ix = self._generation = None

    # -- writing --
    def writer(self, timeout: float | None = None):
        try:
            return self._open().writer(timeout=self.writer_timeout if timeout is None else timeout,
                                       delay=WRITER_POLL_S, compound=False, codec=_codec())
        except LockError as error:
            raise IndexUnavailable("the search index is locked by another writer") from error

    def apply(self, docs: Iterable[tuple[str, dict | None]], *, writer=None) -> int:
        """Add, replace (dict) or delete (None) documents by key, in one commit."""
        own = writer is None
        writer = writer or self.writer()
        count = 0
        try:
            for key, doc in docs:
                if doc is None:
                    writer.delete_by_term("key", key)
                else:
                    writer.update_document(**to_whoosh_document(doc))
                count += 1
        except BaseException:
            if own:
                writer.cancel()
            raise
        if own:
            writer.commit()
        return count

    def build(self, folder: Path, docs: Iterator[dict], *, progress=None) -> int:
        """Fill a fresh generation folder from ``docs`` (nothing else sees it yet).

        Written with ``bulk.BulkWriter`` (the postings sorted and written in NumPy), a
        segment per ``BULK_SEGMENT_DOCS`` documents so that memory stays bounded. (A
        rebuild on several processes gives each its own folder: ``new_part``, ``adopt``.)"""
        ix = whoosh_index.open_dir(str(folder))
        # add_analyzed pairs only common words; an index pairing every word takes the fields
        add = add_to_bulk if ix.schema["shingles"].analyzer.common is not None else \
            (lambda writer, doc, spelled: writer.add_document(**to_whoosh_document(doc, spelled)))
        count = 0
        spelled: set[str] = set()
        writer = None
        try:
            for doc in docs:
                if writer is None:
                    writer = BulkWriter(ix, compound=False, codec=_codec())
                if count % SPELLING_CHUNK == 0:  # each word again in every chunk: a word
                    spelled = set()  # stays known unless all those documents are deleted
                add(writer, doc, spelled)
                count += 1
                if progress is not None:
                    progress(1)
                if count % BULK_SEGMENT_DOCS == 0:
                    writer.commit()
                    writer = None
        except BaseException:
            if writer is not None:
                writer.cancel()
            raise
        if writer is not None:
            writer.commit()
        return count

    @staticmethod
    def new_part(folder: Path, number: int) -> Path:
        """An empty index of ``folder``'s schema in a subfolder, for ``build`` in another
        process; ``adopt`` then moves its segments into ``folder``."""
        part = folder / f"part-{number}"
        part.mkdir()
        whoosh_index.create_in(str(part), whoosh_index.open_dir(str(folder)).schema)
        return part

    @staticmethod
    def adopt(folder: Path, parts: list[Path]) -> None:
        """Append the segments of ``parts`` (``new_part`` folders, built) to ``folder``'s
        index, in order: their files moved (a rename), one new table of contents."""
        from whoosh.index import TOC
        ix = whoosh_index.open_dir(str(folder))
        lock = ix.lock("WRITELOCK")
        if not lock.acquire():
            raise IndexUnavailable("the new index folder is locked")
        try:
            info = ix._read_toc()
            segments = list(info.segments)
            for part in parts:
                for segment in whoosh_index.open_dir(str(part))._read_toc().segments:
                    prefix = f"{segment.segment_id()}."
                    for name in os.listdir(part):
                        if name.startswith(prefix):
                            os.replace(part / name, folder / name)
                    segments.append(segment)
            TOC(info.schema, segments, info.generation + 1).write(ix.storage, ix.indexname)
        finally:
            lock.release()
        for part in parts:
            shutil.rmtree(part, ignore_errors=True)

    def doc_count(self) -> int:
        return self.searcher().doc_count()

    def size_on_disk(self) -> int:
        name = self._read_pointer()
        folder = self.base / (name or "")
        return sum(f.stat().st_size for f in folder.iterdir() if f.is_file()) if name else 0

    # -- searching --
    def search(self, parsed, *, sort: str = "relevance", page: int = 1, per_page: int = 10,
               snippets: int = 2) -> SearchPage:
        """One group per matching thread (or paper, under in:paper), every match ranked and
        grouped, so the count is exact and no thread is crowded out by another's replies."""
        searcher = self.searcher()
        prefixes: dict = {}  # each prefix expanded once, for the query and the highlighting
        wquery = to_whoosh_query(parsed, searcher.reader(), prefixes)
        out = SearchPage(groups=[], page=page, per_page=per_page)
        if wquery is None:
            out.nothing_to_search = True
            return out
        ranked, checks = grouping.all_ranked(searcher, wquery, sort)
        if not len(ranked):  # also an empty index, whose reader has no columns
            return out
        # Papers are listed only when asked for (in:papers); otherwise they have their own
        # small box (search_papers) and never push debates off the page. A paper is the only
        # document without a thread (thread_id 0), and each is a group of its own.
        papers_wanted = ("in", "paper") in parsed.filters
        tids = self._thread_ids(searcher)[ranked]
        keep = tids == 0 if papers_wanted else tids != 0
        ranked, tids = ranked[keep], tids[keep]
        groups = ranked if papers_wanted else tids
        wanted = page * per_page + 1
        if checks:  # phrases checked on each candidate's words: best first, only as far as needed
            ranked, groups, out.total_exact, estimate = grouping.checked(
                searcher.reader(), checks, ranked, groups, wanted)
        order = grouping.first_appearances(groups)
        out.total = len(order) if out.total_exact else max(len(order), estimate)
        start = (page - 1) * per_page
        shown = order[start:start + per_page]
        if not len(shown):
            return out
        thread_ids, kinds, keys = self._columns(searcher)
        marks = highlight_terms(parsed, searcher.reader(), prefixes)
        for group_key in shown.tolist():  # load stored fields and highlight only what is shown
            docnums = ranked[groups == group_key].tolist()
            hits = [searcher.stored_fields(docnum) for docnum in docnums[:snippets]]
            group = ResultGroup(kind="paper" if papers_wanted else "thread",
                                keys=[keys[docnum] for docnum in docnums])
            if papers_wanted:
                group.paper_id = int(hits[0]["key"].split(":")[1])
            else:
                group.thread_id = int(group_key)
            group.snippets = [grouping.snippet_of(h, marks) for h in hits]
            out.groups.append(group)
        return out

    def _thread_ids(self, searcher) -> np.ndarray:
        """Every document's thread id (0: a paper), by global document number: each
        segment's column is read once (conjunctive.py caches it by segment), so a new
        searcher after a write costs only its new segment."""
        cached = self._thread_array
        if cached is None or cached[0] is not searcher:
            parts = [conjunctive.column_array(reader, "thread_id")
                     for reader, _ in conjunctive.leaves(searcher)]
            cached = self._thread_array = (searcher, np.concatenate(parts).astype(np.int64)
                                           if parts else np.zeros(0, dtype=np.int64))
        return cached[1]

    def _columns(self, searcher):
        """The thread_id, kind and key column readers, kept while the searcher is."""
        cached = self._column_readers
        if cached is None or cached[0] is not searcher:
            reader = searcher.reader()
            cached = self._column_readers = (searcher, tuple(
                reader.column_reader(name) for name in ("thread_id", "kind", "key")))
        return cached[1]

    def search_papers(self, parsed, *, limit: int = 3) -> tuple[list[Snippet], bool]:
        """The best matching papers for the box above the debates, and whether there are more."""
        searcher = self.searcher()
        reader = searcher.reader()
        if not reader.doc_frequency("kind", "paper"):  # asked first: no query to build then
            return [], False
        prefixes: dict = {}
        wquery = to_whoosh_query(parsed, reader, prefixes)
        if wquery is None:
            return [], False
        ranked = grouping.ranked(searcher, wq.And([wquery, wq.Term("kind", "paper")]), limit + 1)
        marks = highlight_terms(parsed, reader, prefixes)
        hits = [searcher.stored_fields(docnum) for docnum in ranked[:limit]]
        return [grouping.snippet_of(h, marks) for h in hits], len(ranked) > limit

    def suggest(self, words: list[str], limit: int = 1) -> dict[str, str]:
        """A correction from the index's own vocabulary for each word it does not know: the
        most frequent real word (letters only, not a stop word, not the same stem) within
        one edit, or two for a word of six letters or more. Words under three letters
        (RL, GP) are never corrected: too many words are two edits away."""
        reader = self.searcher().reader()
        out: dict[str, str] = {}
        for word in words:
            lowered = word.lower()
            tokens = analyzed(word)
            if (len(lowered) < MIN_CORRECTED_CHARS or not lowered.isalpha() or not tokens
                    or any(reader.frequency("text", t) for t in tokens)):
                continue
            distance = 1 if len(lowered) < 6 else 2
            options = {o for o in map(term_text, reader.terms_within("spelling", lowered, distance))
                       if len(o) >= MIN_CORRECTED_CHARS and o.isalpha() and o not in STOP_WORDS
                       and analyzed(o) != tokens}
            ranked = sorted(options, key=lambda o: (-sum(reader.doc_frequency("text", t)
                                                         for t in analyzed(o)), o))
            ranked = [o for o in ranked if any(reader.doc_frequency("text", t) for t in analyzed(o))]
            if ranked[:limit]:
                out[word] = ranked[0]
        return out


def _version(folder: Path) -> str | None:
    try:
        return (folder / SCHEMA_FILE).read_text().strip()
    except FileNotFoundError:
        return None


class IndexMissing(RuntimeError):
    """No usable index on disk."""
