"""Keeping the index in step with the database through the outbox (DESIGN.md §5).

- ``_record_changes`` (``after_flush``) inserts a ``SearchOutbox`` row for each
  thread or reply added, changed or deleted, and each paper whose arXiv
  metadata changed (``flask papers refresh``), on the flushing connection, so
  the row commits or rolls back with the change itself. (With
  ``SEARCH_BACKEND=postgres`` the keys wait in ``session.info`` instead: that
  engine writes the documents in the same transaction, at its commit.)
- ``_after_commit`` then only wakes this process's background indexer
  (``forum.search.indexer``): the request that committed returns at once and
  never waits for an index lock. (``SEARCH_INDEXER=inline``, for the test
  suite only, drains right there instead.)
- ``drain()`` takes the engine's writer lock (one writer at a time across
  processes) *first*, reads pending rows and builds their documents in a new
  short transaction, applies them, and only then deletes the rows it applied.
  Reading under the lock orders concurrent drains: a later drain always reads a
  later database state, so an old version can never overwrite a newer one.
- A locked or failing index leaves the rows; the next drain or
  ``flask search sync`` applies them. ``rebuild()`` recreates the index.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass

from flask import current_app, has_app_context
from sqlalchemy import delete, event, func, insert, inspect, select
from sqlalchemy.orm import Session

from forum.database import utcnow
from forum.extensions import db
from forum.papers.models import Paper
from forum.search import documents
from forum.search.backend import SearchUnavailable, get_backend
from forum.search.models import SearchOutbox
from forum.threads.models import Post, Thread

log = logging.getLogger(__name__)

DRAIN_BATCH = 500
PENDING = "search_outbox_pending"
THREAD_ATTRIBUTES = ("title", "body", "deleted_at", "held_at", "hidden_at", "score", "tags")
POST_ATTRIBUTES = ("body", "stance", "deleted_at", "held_at", "hidden_at", "score")
PAPER_ATTRIBUTES = ("title", "abstract", "authors", "categories", "published_at", "fetched_at")


# ---------------------------------------------------------------------------
# Recording (inside the transaction)


def _changed(obj, names) -> bool:
    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _outbox_rows(session: Session) -> list[dict]:
    rows: dict[str, str] = {}
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Thread):
            is_new, gone = obj in session.new, obj in session.deleted
            if is_new or gone or _changed(obj, THREAD_ATTRIBUTES):
                # tags, deletion and visibility also change every reply's document
                cascade = not is_new and (gone or _changed(obj, ("tags", "deleted_at", "held_at",
                                                                 "hidden_at")))
                rows[f"thread:{obj.id}"] = "tags" if cascade else "update"
        elif isinstance(obj, Post):
            if obj in session.new or obj in session.deleted or _changed(obj, POST_ATTRIBUTES):
                rows.setdefault(f"post:{obj.id}", "update")
        elif isinstance(obj, Paper):
            if obj in session.new or obj in session.deleted or _changed(obj, PAPER_ATTRIBUTES):
                rows.setdefault(f"paper:{obj.id}", "update")
    now = utcnow()
    return [{"key": key, "op": op, "created_at": now} for key, op in rows.items()]


def applied_at_commit(session: Session) -> bool:
    """True when the engine writes the documents in the changing transaction itself
    (``SEARCH_BACKEND=postgres``, forum/search/postgres/transaction.py): the keys changed
    wait in ``session.info`` for its commit, and no outbox row is written and deleted again
    in the same transaction (two statements of every write's commit)."""
    return (has_app_context() and current_app.config.get("SEARCH_BACKEND") == "postgres"
            and session.get_bind().dialect.name == "postgresql")


def note_keys(session: Session, changes: dict[str, str]) -> None:
    """Add ``changes`` (key -> op) to the keys waiting in ``session.info``; "tags" wins."""
    keys = session.info.setdefault(STATEMENT_KEYS, {})
    for key, op in changes.items():
        keys[key] = "tags" if op == "tags" or keys.get(key) == "tags" else op


def _record_changes(session: Session, flush_context) -> None:
    rows = _outbox_rows(session)
    if not rows:
        return
    if applied_at_commit(session):
        note_keys(session, {row["key"]: row["op"] for row in rows})
        return
    session.connection().execute(insert(SearchOutbox), rows)
    session.info[PENDING] = True


# Services also change rows with plain SQL statements (vote scores, tag links) that no
# flush sees: note the keys they touch here and write their rows before commit. (The
# postgres engine's flushes note their keys in the same place: ``applied_at_commit``.)
WATCHED_TABLES = {"threads": ("thread", "id"), "posts": ("post", "id"),
                  "thread_tags": ("thread", "thread_id")}
STATEMENT_KEYS = "search_outbox_statement_keys"
# Columns no document is built from: an UPDATE that sets only these (every reply bumps its
# thread's reply count and last activity) changes no document, and queueing one would make
# each reply's commit read and write its thread's document again for nothing.
NOT_SEARCHED = {"threads": frozenset({"reply_count", "last_activity_at"}),
                "posts": frozenset({"up_count", "down_count"})}


def _bound_values(clause, column_name: str) -> list:
    """Literal values compared to ``column_name`` with = or IN in a WHERE clause."""
    from sqlalchemy.sql import visitors
    from sqlalchemy.sql.elements import BinaryExpression, BindParameter
    found = []
    for element in visitors.iterate(clause):
        if (isinstance(element, BinaryExpression) and getattr(element.left, "name", None) == column_name
                and isinstance(element.right, BindParameter)):
            value = element.right.effective_value
            found.extend(value if isinstance(value, (list, tuple)) else [value])
    return found


def _watch_statements(state) -> None:
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    watched = WATCHED_TABLES.get(getattr(table, "name", None))
    if watched is None:
        return
    prefix, column = watched
    if state.is_update and _sets_only(state.statement, NOT_SEARCHED.get(table.name)):
        return
    if state.is_insert:
        params = state.parameters
        rows = params if isinstance(params, list) else [params or {}]
        ids = [row.get(column) for row in rows if isinstance(row, dict)]
    else:
        ids = _bound_values(state.statement.whereclause, column) \
            if state.statement.whereclause is not None else []
    op = "tags" if table.name == "thread_tags" else "update"
    note_keys(state.session, {f"{prefix}:{int(value)}": op for value in ids if value is not None})


def _sets_only(statement, columns) -> bool:
    """True when the UPDATE's SET names only ``columns`` (values given in the statement)."""
    values = getattr(statement, "_values", None)
    if not columns or not values:
        return False
    return all(getattr(name, "key", name) in columns for name in values)


def _record_statement_changes(session: Session) -> None:
    if session.in_nested_transaction() or applied_at_commit(session):
        return  # a SAVEPOINT's release: the rows wait for the commit; or the commit writes them
    keys = session.info.pop(STATEMENT_KEYS, None)
    if keys:
        now = utcnow()
        session.connection().execute(insert(SearchOutbox), [
            {"key": key, "op": op, "created_at": now} for key, op in keys.items()])
        session.info[PENDING] = True


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # a SAVEPOINT released: nothing is committed yet
        return
    if not session.info.pop(PENDING, False) or not has_app_context():
        return
    from forum.search import indexer
    indexer.changes_committed(current_app._get_current_object())


def _forget_after_rollback(session: Session) -> None:
    session.info.pop(PENDING, None)
    session.info.pop(STATEMENT_KEYS, None)


_registered = False


def register_listeners() -> None:
    global _registered
    if _registered:
        return
    event.listen(Session, "after_flush", _record_changes)
    event.listen(Session, "do_orm_execute", _watch_statements)
    event.listen(Session, "before_commit", _record_statement_changes)
    event.listen(Session, "after_commit", _after_commit)
    # Only when the whole transaction rolls back: a SAVEPOINT rolled back (a reply's
    # notifications that failed) leaves the outer transaction's changes to record.
    event.listen(Session, "after_soft_rollback",
                 lambda session, previous: previous.parent is None and _forget_after_rollback(session))
    _registered = True


# ---------------------------------------------------------------------------
# Draining (after commit) and rebuilding


@dataclass
class DrainResult:
    applied: int = 0
    pending: int = 0
    error: str | None = None
    busy: bool = False  # another process holds the writer lock
    unavailable: bool = False  # no usable index: a rebuild is needed or running


def _reader() -> Session:
    """A short read-only session (on SQLite a deferred transaction: see forum/database.py)."""
    return Session(db.engine.execution_options(forum_read_only=True))


def pending_count() -> int:
    with _reader() as session:
        return session.scalar(select(func.count(SearchOutbox.id))) or 0


def drain(batch: int = DRAIN_BATCH, max_batches: int | None = None, *,
          wait: bool = True, deleting_with=None) -> DrainResult:
    """Apply pending outbox rows to the index; rows that could not be applied stay.
    Database errors propagate (nothing was deleted); index errors end in ``error``.
    ``deleting_with``: a connection that already holds SQLite's write lock, to delete the
    applied rows in its transaction rather than wait behind it (``indexer.before_search``)."""
    backend = get_backend()
    result = DrainResult()
    with backend.writer_lock(wait=wait) as lease:
        if not lease:
            result.busy = True
            result.error = "another process is applying the outbox"
            return result
        batches = 0
        while max_batches is None or batches < max_batches:
            batches += 1
            with _reader() as session:  # a short read, under the writer lock
                rows = session.execute(select(SearchOutbox.id, SearchOutbox.key, SearchOutbox.op)
                                       .order_by(SearchOutbox.id).limit(batch)).all()
                merged: dict[str, str] = {}
                for _, key, op in rows:
                    merged[key] = "tags" if op == "tags" else merged.get(key, op)
                docs = documents.for_keys(session, list(merged.items())) if rows else []
            if not rows:
                break
            try:
                backend.apply(docs)
            except SearchUnavailable as error:
                result.error, result.unavailable = str(error), True
                break
            except Exception as error:
                log.exception("search: applying the outbox failed; the rows stay")
                result.error = str(error) or type(error).__name__
                break
            result.applied += len(rows)
            if lease.keep_rows:  # a rebuild will replace this index: apply them again after it
                break
            applied = delete(SearchOutbox).where(SearchOutbox.id.in_([r[0] for r in rows]))
            if deleting_with is not None:
                deleting_with.execute(applied)
            else:
                with db.engine.begin() as connection:
                    connection.execute(applied)
            if len(rows) < batch:
                break
    result.pending = pending_count()
    return result


def rebuild(progress=None, **options) -> int:
    """Recreate the whole index from the database, then apply what changed meanwhile.
    Raises ``RebuildRunning`` when another rebuild holds the lock."""
    count = get_backend().rebuild(progress, **options)
    drain()  # what changed during the rebuild (its rows were kept)
    return count


def total_documents_in_database() -> int:
    with _reader() as session:
        return documents.count_all(session)


def default_procs() -> int:
    return max(1, min(os.cpu_count() or 1, 4))
