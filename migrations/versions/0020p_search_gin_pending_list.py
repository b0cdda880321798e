"""PostgreSQL search: a short GIN pending list on the tsvector indexes

Documents are written in the changing transaction, and with GIN's fast update
they first go to the index's pending list, which every search reads through
in full. At the default limit (4 MB, thousands of documents) a busy forum's
searches slow down between flushes; at 256 kB the list is flushed by a write
(or autovacuum) long before it costs a search much. A rebuild creates the
indexes with the same setting.

Revision ID: 0020p
Revises: 0019
Create Date: 2026-12-02
"""
from alembic import op

revision = '0020p'
down_revision = '0019'
branch_labels = None
depends_on = None

INDEXES = ("ix_search_documents_tsv", "ix_search_documents_paper_tsv")
PENDING_KB = 256


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # the tables stay empty on SQLite (see 0013p)
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = {PENDING_KB})")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
