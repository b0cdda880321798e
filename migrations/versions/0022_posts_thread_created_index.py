"""posts (thread_id, created_at): a thread's replies after a moment

Every list page a member opens counts, per listed thread they have opened, the
replies since their last visit (``forum/threads/reading.py``,
``unread_counts``). With only ``thread_id`` indexed that read every reply of
each such thread: a member who once opened a thousand-reply thread paid for a
thousand rows on every front page. This index reads only the newer ones.

Revision ID: 0022
Revises: 0021p
Create Date: 2026-12-02
"""
from alembic import op

revision = '0022'
down_revision = '0021p'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_posts_thread_created", "posts", ["thread_id", "created_at"])


def downgrade():
    op.drop_index("ix_posts_thread_created", table_name="posts")
