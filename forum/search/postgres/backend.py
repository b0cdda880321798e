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
from contextlib import contextmanager
from typing import Iterator, Sequence

from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from forum.extensions import db
from forum.search.backend import (Change, Lease, ResultGroup, SearchPage,
                                  SearchUnavailable, Snippet, State, Status)
from forum.search.postgres import reads, rebuild as rebuilding, spelling, transaction
from forum.search.postgres.tsquery import translate
from forum.search.postgres.writes import WRITER_LOCK, lock_documents, write

log = logging.getLogger(__name__)

PLANNER = "SET LOCAL enable_seqscan = off; SET LOCAL jit = off"
PLANNER_RESET = "RESET enable_seqscan; RESET jit"
OWED = "SELECT needs_rebuild FROM search_state LIMIT 1"
NOT_BUILT = "the search documents are owed a rebuild (flask --app wsgi search reindex)"


class PostgresBackend:
    name = "postgres"

    def __init__(self, app):
        self.app = app
        transaction.register_listener()

    # -- state --
    def status(self) -> Status:
        try:
            with db.engine.connect() as connection:
                owed = connection.scalar(text(OWED))
                running = bool(owed) and rebuilding.is_running(connection)
        except DBAPIError as error:
            return Status(State.MISSING, f"search tables unreadable: {error.orig}")
        if not owed:
            return Status(State.READY, "PostgreSQL full-text search")
        return Status(State.REBUILDING if running else State.MISSING, NOT_BUILT)

    def _connection(self):
        """The request's own connection: a search reads what its transaction sees."""
        return db.session.connection()

    @contextmanager
    def _planned(self, connection):
        """The GIN index, always: with a common word the planner's estimate favours a
        sequential scan that decompresses every tsvector to test it, several times slower
        than the index (whose matches need no recheck). Only for the search statements."""
        connection.execute(text(PLANNER))
        try:
            yield connection
        finally:
            connection.execute(text(PLANNER_RESET))

    def _ready(self, connection) -> None:
        if connection.scalar(text(OWED)):
            raise SearchUnavailable(NOT_BUILT)

    # -- writing --
    def apply(self, changes: Sequence[Change]) -> int:
        with db.engine.begin() as connection:
            lock_documents(connection, [key for key, _ in changes])
            return write(connection, list(changes))

    @contextmanager
    def writer_lock(self, *, wait: bool) -> Iterator[Lease]:
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            function = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
            taken = connection.scalar(text(f"SELECT {function}(:k) IS NOT false"),
                                      {"k": WRITER_LOCK})
            try:
                yield Lease(bool(taken), keep_rows=bool(taken) and rebuilding.is_running(connection))
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
        connection = self._connection()
        self._ready(connection)
        q = translate(connection, parsed)
        if q.nothing_to_search:
            return SearchPage(groups=[], page=page, per_page=per_page, nothing_to_search=True)
        papers = q.kind == "paper"
        with self._planned(connection):
            found, total = reads.groups(connection, q, sort=sort, page=page, per_page=per_page,
                                        papers=papers)
            ids = [group_id for group_id, _ in found]
            matched = reads.hits(connection, q, ids, sort=sort, snippets=snippets, papers=papers)
        groups = {group_id: ResultGroup(kind="paper" if papers else "thread",
                                        thread_id=None if papers else group_id,
                                        paper_id=group_id if papers else None)
                  for group_id, _ in found}
        for hit in matched:
            group = groups[hit.group_id]
            group.keys.append(hit.key)
            if hit.html is not None:
                group.snippets.append(Snippet(key=hit.key, kind=hit.kind, post_id=hit.post_id,
                                              html=hit.html))
        return SearchPage(groups=list(groups.values()), total=total, total_exact=True, page=page, per_page=per_page)

    def search_papers(self, parsed, *, limit: int = 3) -> tuple[list[Snippet], bool]:
        connection = self._connection()
        self._ready(connection)
        q = translate(connection, parsed)
        if q.nothing_to_search:
            return [], False
        with self._planned(connection):
            found, more = reads.best_papers(connection, q, limit)
        return [Snippet(key=h.key, kind="paper", post_id=None, html=h.html) for h in found], more

    def suggest(self, words: list[str]) -> dict[str, str]:
        return spelling.suggest(self._connection(), words)

    def close(self) -> None:
        """Nothing of its own to release: connections belong to the app's engine."""


# The listener must be in place before the first write of a process, not at the first search.
# It acts only in apps whose SEARCH_BACKEND is postgres (see transaction.py).
transaction.register_listener()
