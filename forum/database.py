"""Engine set-up that DESIGN.md's SQLite rule asks for, and small column helpers.

SQLite: every connection gets WAL, a busy timeout, foreign keys and
``synchronous=NORMAL``. pysqlite's own transaction handling is switched off
(SQLAlchemy's documented recipe) so that we emit BEGIN ourselves: requests
with a safe method (GET, HEAD, OPTIONS) never write, so they begin a deferred
read transaction; every other transaction (POST requests, CLI commands,
tests) begins IMMEDIATE and so takes the write lock up front. A deferred
transaction that reads and then writes fails at once with "database is
locked" under concurrent writers, whatever the timeout.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import has_request_context, request
from sqlalchemy import DateTime, bindparam, event
from sqlalchemy.engine import Engine
from sqlalchemy.types import TypeDecorator

BUSY_TIMEOUT_MS = 5000
READ_ONLY_METHODS = {"GET", "HEAD", "OPTIONS"}
# ``engine.execution_options(forum_read_only=True)``: a reader outside a request (the search
# indexer's reads) begins deferred too, so it never waits for, or blocks, a writer.
READ_ONLY = "forum_read_only"
# ``connection.info`` key: this connection's transaction began IMMEDIATE (holds the write lock).
WRITE_LOCK = "forum_write_lock"


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Timezone-aware UTC datetimes on every backend (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return value


def configure_sqlite(engine: Engine) -> None:
    """Once per engine, however many apps share it (the test suite reuses engines)."""
    if engine.dialect.name != "sqlite" or event.contains(engine, "connect", _on_connect):
        return
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)


def _on_connect(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves, below
    cursor = dbapi_connection.cursor()
    cursor.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _on_begin(connection) -> None:
    read_only = is_read_only_request() or connection.get_execution_options().get(READ_ONLY)
    if read_only:
        # Straight on the driver's connection: every page a reader opens begins one, and
        # SQLAlchemy's path for a statement (context, events, result) cost far more than
        # SQLite's BEGIN. Nothing counts or inspects a deferred BEGIN.
        connection.connection.driver_connection.execute("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")  # seen by events (tests check it)
    connection.info[WRITE_LOCK] = not read_only


def is_read_only_request() -> bool:
    """A GET, HEAD or OPTIONS request: its transactions begin deferred and never write."""
    return has_request_context() and request.method in READ_ONLY_METHODS


def ids_in(column, arity: int):
    """``column IN (:id_0, ..., :id_<arity-1>)``, for a statement built once per arity;
    fill it with ``id_values``.

    For the short id lists of a page (a listing's threads): an ``expanding`` parameter
    makes SQLAlchemy rewrite the SQL text and its parameters on every execution, which
    cost a listing page more than the lookups themselves. Lists are padded with NULLs
    (which match nothing) up to a power of two, so a few arities serve every length.
    """
    return column.in_([bindparam(f"id_{n}", type_=column.type) for n in range(arity)])


def ids_arity(count: int) -> int:
    """The arity of the ``ids_in`` statement that holds ``count`` ids."""
    return max(8, 1 << (max(count, 1) - 1).bit_length())


def id_values(ids: list) -> dict:
    """The parameters of an ``ids_in(column, ids_arity(len(ids)))`` statement."""
    values = {f"id_{n}": None for n in range(ids_arity(len(ids)))}
    values.update((f"id_{n}", value) for n, value in enumerate(ids))
    return values
