"""``SEARCH_BACKEND=postgres``: PostgreSQL full-text search, for several web hosts on one database.

The documents sit in the forum's own database (``models.py``), written in the
same transaction as the change they describe (``writes.py``,
``transaction.py``), so every host finds a reply the moment it is committed and
nothing runs beside the web processes. Queries are translated from the parsed
query (``tsquery.py``) and answered in SQL (``reads.py``); did-you-mean reads
the vocabulary with ``pg_trgm`` (``spelling.py``); ``rebuild.py`` recreates
everything beside the live table. See ``forum/search/backend.py`` for the
contract both engines keep.
"""
from __future__ import annotations

import logging
import time
from contextlib import contextmanager
from typing import Iterator, Sequence

from flask import g
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError, OperationalError

from forum.extensions import db
from forum.search.backend import (Change, Lease, ResultGroup, SearchPage,
                                  SearchUnavailable, Snippet, State, Status)
from forum.search.postgres import reads, rebuild as rebuilding, spelling, transaction
from forum.search.postgres.tsquery import translate
from forum.search.postgres.writes import WRITER_LOCK, lock_documents, write

log = logging.getLogger(__name__)

READY_FOR_S = 5.0
PAPERS_BOX = 3  # papers the box above the debates shows (services.PAPERS_BOX)
WRITER_WAIT_S = 10  # a drain waits this long for another process's drain
OWED = "SELECT needs_rebuild FROM search_state LIMIT 1"
NOT_BUILT = "the search documents are owed a rebuild (flask --app wsgi search reindex)"


class PostgresBackend:
    name = "postgres"

    def __init__(self, app):
        self.app = app
        self._ready_until = 0.0  # monotonic time until which READY is taken as known
        transaction.register_listener()

    # -- state --
    def status(self) -> Status:
        """READY is remembered for ``READY_FOR_S``: every search checks again anyway (in the
        round trip that analyzes its terms), so a page asks the database once, not twice."""
        if time.monotonic() < self._ready_until:
            return Status(State.READY, "PostgreSQL full-text search")
        try:
            with db.engine.connect() as connection:
                owed = connection.scalar(text(OWED))
                running = bool(owed) and rebuilding.is_running(connection)
        except DBAPIError as error:
            return Status(State.MISSING, f"search tables unreadable: {error.orig}")
        if not owed:
            self._ready_until = time.monotonic() + READY_FOR_S
            return Status(State.READY, "PostgreSQL full-text search")
        return Status(State.REBUILDING if running else State.MISSING, NOT_BUILT)

    def _translated(self, parsed):
        """The parsed query in SQL, on the request's own connection (a search reads what its
        transaction sees).

        The search statements always use the GIN index: with a common word the planner's
        estimate favours a sequential scan that decompresses every tsvector to test it,
        several times slower than the index (whose matches need no recheck). ``translate``
        says so (``SET LOCAL``: until this transaction ends, which for a search request is
        the search) in the round trip that analyzes the terms: a round trip is what a
        loaded host pays most for, so the papers box of the same request reuses it."""
        connection = db.session.connection()
        done = g.setdefault("postgres_search_queries", {})  # the papers box asks again
        if id(parsed) not in done or done[id(parsed)][0] is not parsed:
            done[id(parsed)] = (parsed, translate(connection, parsed))
        q = done[id(parsed)][1]
        if q.owed_rebuild:
            self._ready_until = 0.0
            raise SearchUnavailable(NOT_BUILT)
        return connection, q

    # -- writing --
    def apply(self, changes: Sequence[Change]) -> int:
        with db.engine.begin() as connection:
            lock_documents(connection, [key for key, _ in changes])
            return write(connection, list(changes))

    @contextmanager
    def writer_lock(self, *, wait: bool) -> Iterator[Lease]:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            if wait:
                connection.execute(text(f"SET lock_timeout = '{WRITER_WAIT_S}s'"))
                try:
                    connection.execute(text("SELECT pg_advisory_lock(:k)"), {"k": WRITER_LOCK})
                    taken = True
                except OperationalError:  # lock_timeout: another writer kept it that long
                    taken = False
                connection.execute(text("RESET lock_timeout"))
            else:
                taken = bool(connection.scalar(text("SELECT pg_try_advisory_lock(:k)"),
                                               {"k": WRITER_LOCK}))
            try:
                yield Lease(taken, keep_rows=taken and rebuilding.is_running(connection))
            finally:
                if taken:
                    connection.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": WRITER_LOCK})

    def rebuild(self, progress=None, **options) -> int:
        try:
            return rebuilding.rebuild(db.engine, progress)
        except DBAPIError as error:
            raise SearchUnavailable(f"the search documents could not be rebuilt: {error.orig}") \
                from error

    # -- searching --
    def search(self, parsed, *, sort: str = "relevance", page: int = 1, per_page: int = 10,
               snippets: int = 2) -> SearchPage:
        connection, q = self._translated(parsed)
        if q.nothing_to_search:
            return SearchPage(groups=[], page=page, per_page=per_page, nothing_to_search=True)
        papers = q.kind == "paper"
        # The papers box that services.search shows above a plain first page by relevance,
        # answered by the page's statement (search_papers then needs no round trip of its own)
        box = PAPERS_BOX if page == 1 and sort == "relevance" and q.kind is None else 0
        answer = reads.page_of(connection, q, sort=sort, page=page, per_page=per_page,
                               snippets=snippets, papers=papers, box=box)
        if answer.box is not None:
            g.setdefault("postgres_papers_box", {})[id(parsed)] = (parsed, box, answer.box)
        groups = []
        for group_id, hits in answer.found:
            groups.append(ResultGroup(
                kind="paper" if papers else "thread", thread_id=None if papers else group_id,
                paper_id=group_id if papers else None, keys=[hit.key for hit in hits],
                snippets=[Snippet(key=hit.key, kind=hit.kind, post_id=hit.post_id, html=hit.html)
                          for hit in hits if hit.html is not None]))
        return SearchPage(groups=groups, total=answer.total, total_exact=answer.exact, page=page,
                          per_page=per_page)

    def search_papers(self, parsed, *, limit: int = 3) -> tuple[list[Snippet], bool]:
        boxed = g.get("postgres_papers_box", {}).get(id(parsed))
        if boxed is not None and boxed[0] is parsed and limit <= boxed[1]:
            found, more = boxed[2][:limit], len(boxed[2]) > limit  # asked by search() already
            return [Snippet(key=h.key, kind="paper", post_id=None, html=h.html) for h in found], more
        connection, q = self._translated(parsed)
        if q.nothing_to_search:
            return [], False
        found, more = reads.best_papers(connection, q, limit)
        return [Snippet(key=h.key, kind="paper", post_id=None, html=h.html) for h in found], more

    def suggest(self, words: list[str]) -> dict[str, str]:
        return spelling.suggest(db.session.connection(), words)

    def close(self) -> None:
        """Nothing of its own to release: connections belong to the app's engine."""


# The listener must be in place before the first write of a process, not at the first search.
# It acts only in apps whose SEARCH_BACKEND is postgres (see transaction.py).
transaction.register_listener()
