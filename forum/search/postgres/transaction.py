"""The search documents written in the changing transaction (see ``writes.py`` for why).

``apply_in_transaction`` is a ``before_commit`` listener of every Session; it
acts only in an app whose ``SEARCH_BACKEND`` is ``postgres``. It takes the
outbox rows this transaction wrote (the outbox's ``after_flush`` listener
records them, and the keys that plain UPDATE statements touched, which it
writes itself so none is left for a later drain), and replaces their
documents before the commit.
"""
from __future__ import annotations

from flask import current_app, has_app_context
from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from forum.database import utcnow
from forum.search import documents, outbox
from forum.search.models import SearchOutbox
from forum.search.postgres.writes import lock_documents, rebuild_running, take_outbox, write


def _wanted(session: Session) -> bool:
    return (has_app_context() and current_app.config.get("SEARCH_BACKEND") == "postgres"
            and session.get_bind().dialect.name == "postgresql")


def apply_in_transaction(session: Session) -> None:
    if not _wanted(session):
        return
    statement_keys = session.info.pop(outbox.STATEMENT_KEYS, None) or {}
    session.flush()  # the outbox rows of the last changes
    if not statement_keys and not session.info.get(outbox.PENDING):
        return
    connection = session.connection()
    keep = rebuild_running(connection)
    if keep and statement_keys:  # the rebuild applies the kept rows before it swaps tables
        now = utcnow()
        connection.execute(insert(SearchOutbox), [{"key": k, "op": op, "created_at": now}
                                                  for k, op in statement_keys.items()])
    keys = take_outbox(connection, keep=keep)
    for key, op in statement_keys.items():
        keys[key] = "tags" if op == "tags" or keys.get(key) == "tags" else op
    if not keys:
        return
    lock_documents(connection, keys)
    with Session(bind=connection) as fresh:  # a new identity map: no collection loaded before
        changes = documents.for_keys(fresh, list(keys.items()))  # a plain UPDATE changed it
    write(connection, changes)
    if not keep:
        session.info.pop(outbox.PENDING, None)  # nothing left for the background indexer


_registered = False


def register_listener() -> None:
    global _registered
    if not _registered:
        event.listen(Session, "before_commit", apply_in_transaction)
        _registered = True
