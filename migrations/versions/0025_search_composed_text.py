"""search: documents whose text is not in Unicode's composed form (NFC) are indexed again

From this revision on, search documents and queries are in NFC
(``forum.search.query.canonical``): "ö" typed as one character and as "o" with
a combining diaeresis are one word to every engine. Documents indexed before it
hold their text as typed, so the threads, replies and papers whose text is in
another form are queued in the search outbox, which the indexer applies on
either engine. Text that is all ASCII has one form: only the rest is read.

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-02
"""
import unicodedata
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None

# (outbox key prefix, table, its text columns the documents read)
SOURCES = (("thread", "threads", ("title", "body_html")), ("post", "posts", ("body_html",)),
           ("paper", "papers", ("title", "abstract", "authors")))
OUTBOX = sa.table("search_outbox", sa.column("key", sa.String), sa.column("op", sa.String),
                  sa.column("created_at", sa.DateTime(timezone=True)))


def upgrade():
    queue_documents(op.get_bind())


def downgrade():
    pass  # documents in NFC are as good as before: nothing to undo


def queue_documents(connection) -> int:
    """Queue every thread, reply and paper whose text is not NFC; returns how many."""
    keys = []
    for prefix, table, columns in SOURCES:
        keys += [f"{prefix}:{row_id}" for row_id in _not_composed(connection, table, columns)]
    if keys:
        now = datetime.now(timezone.utc)
        connection.execute(OUTBOX.insert(), [{"key": key, "op": "update", "created_at": now}
                                             for key in keys])
    return len(keys)


def _not_composed(connection, table: str, columns: tuple[str, ...]) -> list[int]:
    texts = [f"coalesce(CAST({column} AS TEXT), '')" for column in columns]
    if connection.dialect.name == "postgresql":
        test = " AND ".join(f"{text} IS NFC NORMALIZED" for text in texts)
        return list(connection.scalars(sa.text(f"SELECT id FROM {table} WHERE NOT ({test}) ORDER BY id")))
    # SQLite cannot normalize: it finds the rows with a character past ASCII, Python decides.
    past_ascii = " OR ".join(f"{text} GLOB '*[^' || char(1) || '-' || char(127) || ']*'"
                             for text in texts)
    rows = connection.execute(sa.text(f"SELECT id, {', '.join(texts)} FROM {table} "
                                      f"WHERE {past_ascii} ORDER BY id"))
    return [row[0] for row in rows
            if not all(unicodedata.is_normalized("NFC", text) for text in row[1:])]
