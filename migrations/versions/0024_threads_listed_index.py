"""threads: one covering index for the listings, in place of (deleted_at, last_activity_at)

Every front-page tab and tag listing orders the listed threads by a value made
of a few columns (pinned, then hotness, latest activity, creation or score)
and counts them all. Read from the table, each of those reads every thread's
whole row, title and body included, on every page a member opens. ``ix_threads_listed`` holds every column the order
and the listing's filter read, so the listing picks its page's ids from the
index alone and reads only those rows (``forum/threads/queries.py``,
``_listing_page``); led by ``pinned`` and ``last_activity_at``, it also walks
the Active tab in order and stops at the page's end.

``ix_threads_listing`` (deleted_at, last_activity_at) goes: no listing could
use it (each orders by ``pinned`` first), and SQLite's planner, which keeps no
statistics, took ``deleted_at IS NULL`` on it for a selective filter and could
start other statements from every live thread.

Revision ID: 0024
Revises: 0023pp
Create Date: 2026-12-02
"""
from alembic import op

revision = '0024'
down_revision = '0023pp'
branch_labels = None
depends_on = None

LISTED = ["pinned", "last_activity_at", "created_at", "score", "reply_count", "deleted_at",
          "held_at", "hidden_at"]


def upgrade():
    op.create_index("ix_threads_listed", "threads", LISTED)
    op.drop_index("ix_threads_listing", table_name="threads")


def downgrade():
    op.create_index("ix_threads_listing", "threads", ["deleted_at", "last_activity_at"])
    op.drop_index("ix_threads_listed", table_name="threads")
