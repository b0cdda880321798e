"""posts: drop ix_posts_thread_id, which ix_posts_thread_created (thread_id, created_at) covers

Every lookup of a thread's replies by ``thread_id`` alone reads the first column
of ``ix_posts_thread_created`` (0022) as well as its own index, so the
single-column index only cost every reply's insert an index write, and space.

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-02
"""
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.drop_index("ix_posts_thread_id", table_name="posts")


def downgrade():
    op.create_index("ix_posts_thread_id", "posts", ["thread_id"])
