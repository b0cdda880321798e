"""The search documents written in the changing transaction (see ``writes.py`` for why).

``apply_in_transaction`` is a ``before_commit`` listener of every Session; it
acts only in an app whose ``SEARCH_BACKEND`` is ``postgres``, and only at the
real commit (not at a SAVEPOINT's release). The keys this transaction changed
wait in ``session.info`` (the outbox's ``after_flush`` listener notes the
objects' keys there instead of writing outbox rows, and its statement listener
the keys that plain UPDATE statements touched); it takes any outbox rows left
for this engine, locks the documents and replaces them before the commit.
While a rebuild runs, the keys become outbox rows too, which the rebuild applies.
"""
from __future__ import annotations

from sqlalchemy import event, insert
from sqlalchemy.orm import Session

from forum.database import utcnow
from forum.search import documents, outbox
from forum.search.models import SearchOutbox
from forum.search.postgres.writes import begin, write


def _wanted(session: Session) -> bool:
    # Not at a SAVEPOINT's release (``before_commit`` fires for those too): the documents
    # are written once, at the real commit, and never inside a savepoint that may roll back.
    return not session.in_nested_transaction() and outbox.applied_at_commit(session)


def apply_in_transaction(session: Session) -> None:
    if not _wanted(session):
        return
    session.flush()  # the last changes: their keys join the others in session.info
    keys = session.info.pop(outbox.STATEMENT_KEYS, None) or {}
    if not keys and not session.info.get(outbox.PENDING):
        return
    connection = session.connection()
    keep, taken = begin(connection, keys)  # locked: ours, and the outbox's it took
    if keep:  # a rebuild runs: it applies the kept rows (ours too) before it swaps tables
        now = utcnow()
        connection.execute(insert(SearchOutbox), [{"key": k, "op": op, "created_at": now}
                                                  for k, op in keys.items()])
    for key, op in taken.items():
        keys[key] = "tags" if op == "tags" or keys.get(key) == "tags" else op
    if not keys:
        return
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
