"""The Whoosh engine behind ``forum.search.backend``: one host, index files on local disk.

Who writes when is decided with ``fcntl.flock`` on small files in
``SEARCH_INDEX_DIR``. A lock of this kind belongs to an open file and dies with
its process, so a killed drain or ``search reindex`` never leaves a stale marker
behind (the ``rebuilding`` marker file it replaces did, and then the outbox grew
for ever):

- ``.drain.lock`` (exclusive): one outbox writer at a time across processes, so
  batches are applied in database order;
- ``.rebuild.lock`` (exclusive, never waited for): one rebuild at a time; held
  means "rebuilding" for ``status()`` and ``search reindex``;
- ``.generation.lock``: a rebuild holds it exclusively from before it reads the
  database until the new generation is live; a drain holds it shared. A drain
  that cannot get it applies its batch to the old generation (searches stay
  fresh) but keeps the outbox rows, which are applied again to the new one.

A generation that fails while being read (truncated or unreadable files), twice
in a row, is remembered as broken: ``status()`` says missing, so the indexer
rebuilds it.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import multiprocessing
import os
import pickle
import struct
import time
from contextlib import contextmanager
from itertools import chain, islice
from pathlib import Path
from typing import Iterator, Sequence

from flask import current_app
from sqlalchemy.orm import Session
from whoosh.index import IndexError as WhooshIndexError

from forum.extensions import db
from forum.search import documents
from forum.search.backend import (Change, Lease, RebuildRunning, SearchPage, SearchUnavailable,
                                  Snippet, State, Status)
from forum.search.whoosh.index import (PAIR_SAMPLE_DOCS, WRITER_TIMEOUT_S, IndexMissing,
                                       IndexUnavailable, SearchIndex, paired_words)

log = logging.getLogger(__name__)

LOCK_POLL_S = 0.02
# A rebuild's rows per process at least (``procs``): a part costs a fork and a segment of
# its own, worth it only for a large forum; its first part also holds the pairing sample.
PART_MIN_ROWS = 25_000
# Errors that mean "these index files cannot be read", not "this query is wrong".
UNREADABLE = (IndexMissing, WhooshIndexError, OSError, EOFError, struct.error,
              pickle.UnpicklingError)


class WhooshBackend:
    name = "whoosh"

    def __init__(self, app):
        self.base = Path(app.config["SEARCH_INDEX_DIR"])
        self.writer_timeout = float(app.config.get("SEARCH_WRITER_TIMEOUT", WRITER_TIMEOUT_S))
        self.index = SearchIndex(self.base, writer_timeout=self.writer_timeout)
        self._broken: str | None = None  # a generation found unreadable

    # -- locks --
    @contextmanager
    def _flock(self, name: str, mode: int, timeout: float) -> Iterator[bool]:
        try:
            self.base.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.base / f".{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise SearchUnavailable(f"the search index folder {self.base} is not writable "
                                    f"({error.strerror})") from error
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    fcntl.flock(fd, mode | fcntl.LOCK_NB)
                    break
                except OSError as error:
                    if error.errno not in (errno.EAGAIN, errno.EACCES):
                        raise
                    if time.monotonic() >= deadline:
                        yield False
                        return
                    time.sleep(LOCK_POLL_S)
            yield True
        finally:
            os.close(fd)  # closing releases the lock

    def is_rebuilding(self) -> bool:
        with self._flock("rebuild", fcntl.LOCK_EX, 0) as free:
            return not free

    @contextmanager
    def writer_lock(self, *, wait: bool) -> Iterator[Lease]:
        with self._flock("drain", fcntl.LOCK_EX, self.writer_timeout if wait else 0) as got:
            if not got:
                yield Lease(False)
                return
            with self._flock("generation", fcntl.LOCK_SH, 0) as stable:
                yield Lease(True, keep_rows=not stable)

    # -- state --
    def status(self) -> Status:
        try:
            self.index.searcher()
            usable = self._broken is None or self._broken != self.index._generation
        except UNREADABLE as error:
            usable, detail = False, str(error)
        else:
            detail = "" if usable else "the index files could not be read"
        if usable:
            return Status(State.READY)
        if self.is_rebuilding():
            return Status(State.REBUILDING, "the search index is being rebuilt")
        return Status(State.MISSING, detail or "no search index")

    def _unreadable(self, error: Exception) -> SearchUnavailable:
        if not isinstance(error, IndexMissing):
            log.exception("search: the index in %s cannot be read; it will be rebuilt", self.base)
            self._broken = self.index._generation
        self.index.close()
        return SearchUnavailable(str(error) or type(error).__name__)

    # -- writing --
    def apply(self, changes: Sequence[Change]) -> int:
        try:
            return self.index.apply(changes)
        except IndexUnavailable as error:
            raise SearchUnavailable(str(error)) from error
        except UNREADABLE as error:
            raise self._unreadable(error) from error

    def rebuild(self, progress=None, procs: int = 1) -> int:
        with self._flock("rebuild", fcntl.LOCK_EX, 0) as got:
            if not got:
                raise RebuildRunning("another rebuild of the search index is running")
            # Wait for a drain that is applying a batch: from here on drains keep their rows.
            with self._flock("generation", fcntl.LOCK_EX, 60.0) as quiet:
                if not quiet:
                    raise SearchUnavailable("an outbox drain held the index for a minute")
                reading = db.engine.execution_options(forum_read_only=True)
                with Session(reading) as session:
                    total = documents.count_all(session)
                    runs = documents.parts(session, max(1, min(procs, total // PART_MIN_ROWS)))
                docs = documents.iter_all(lambda: Session(reading), *runs[0])
                sample = list(islice(docs, PAIR_SAMPLE_DOCS))  # which words to pair
                try:
                    folder = self.index.new_generation(paired_words(sample, total))
                except OSError as error:
                    raise SearchUnavailable(f"cannot write the search index in {self.base} "
                                            f"({error.strerror or error})") from error
                count = self._build(folder, chain(sample, docs), runs[1:], progress)
                self.index.switch_to(folder)
                self._broken = None
                return count

    def _build(self, folder: Path, docs, others: list, progress) -> int:
        """Fill ``folder`` with ``docs`` here and each of the ``others`` runs of rows
        (``documents.parts``) in a forked process of its own, into a folder of its own whose
        segments then join this one's, in order: the same documents in the same order as
        one process writes, in a fraction of the time on a machine with spare cores.

        The rebuild is CPU work per document (analysis, postings, stored fields), so a
        process per part (not threads, which the GIL would serialize) is what shortens it.
        Fork, not spawn: a child starts with the app, its imports and its configuration
        (no pickling), and opens its own database connections."""
        if not others:
            return self.index.build(folder, docs, progress=progress)
        context = multiprocessing.get_context("fork")
        app = current_app._get_current_object()
        children = []
        try:
            for number, run in enumerate(others, 1):
                part = self.index.new_part(folder, number)
                receive, send = context.Pipe(duplex=False)
                child = context.Process(target=_build_part, args=(app, self.index, part, run, send),
                                        name=f"search-rebuild-{number}", daemon=True)
                child.start()
                send.close()
                children.append((child, receive, part))
            count = self.index.build(folder, docs, progress=progress)
            for child, receive, part in children:
                try:
                    done = receive.recv()
                except EOFError:
                    done = f"the process ended ({child.exitcode})"
                child.join()
                if not isinstance(done, int) or child.exitcode:
                    raise SearchUnavailable(f"a rebuild process failed: {done}")
                count += done
                if progress is not None:
                    progress(done)
            self.index.adopt(folder, [part for _, _, part in children])
            return count
        finally:
            for child, _, _ in children:
                if child.is_alive():
                    child.terminate()
                    child.join()

    # -- searching --
    def _read(self, call):
        """``call()`` on the live index. Another process's commit may merge away segment
        files that this process's searcher has not opened yet: the first failure retries
        once on a fresh searcher; only a second one counts the index as unreadable."""
        try:
            return call()
        except Exception as error:
            if isinstance(error, IndexMissing):
                raise self._unreadable(error) from error
            log.warning("search: retrying on a fresh searcher after %r", error)
            self.index.close()
        try:
            return call()
        except UNREADABLE as error:
            raise self._unreadable(error) from error

    def search(self, parsed, *, sort: str = "relevance", page: int = 1, per_page: int = 10,
               snippets: int = 2) -> SearchPage:
        return self._read(lambda: self.index.search(parsed, sort=sort, page=page,
                                                    per_page=per_page, snippets=snippets))

    def search_papers(self, parsed, *, limit: int = 3) -> tuple[list[Snippet], bool]:
        return self._read(lambda: self.index.search_papers(parsed, limit=limit))

    def suggest(self, words: list[str]) -> dict[str, str]:
        return self._read(lambda: self.index.suggest(words))

    def doc_count(self) -> int:
        return self.index.doc_count()

    def size_on_disk(self) -> int:
        return self.index.size_on_disk()

    def close(self) -> None:
        self.index.close()


def _build_part(app, index: SearchIndex, folder: Path, run: tuple, send) -> None:
    """A forked rebuild process: ``run``'s rows (``documents.parts``) into ``folder``; sends
    the count of documents written, or the error."""
    try:
        with app.app_context():
            db.engine.dispose(close=False)  # the parent's connections stay the parent's
            reading = db.engine.execution_options(forum_read_only=True)
            send.send(index.build(folder, documents.iter_all(lambda: Session(reading), *run)))
    except BaseException as error:
        send.send(f"{type(error).__name__}: {error}")
        raise
