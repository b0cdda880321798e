"""revisions remember the stance a reply took in each version, so the history shows stance changes;
reports carry a category (spam, off-topic, abuse, misinformation, other);
thread_reads: when each member last opened each thread (what is new since)

Revision ID: 0018
Revises: 0011
Create Date: 2026-12-01
"""
import sqlalchemy as sa
from alembic import op


revision = '0018'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('revisions') as batch:
        batch.add_column(sa.Column('stance', sa.String(length=16), nullable=True))
    with op.batch_alter_table('reports') as batch:
        batch.add_column(sa.Column('category', sa.String(length=20), nullable=False, server_default='other'))
    op.create_table(
        'thread_reads',
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('read_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_thread_reads_user_id_users'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_thread_reads_thread_id_threads'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('user_id', 'thread_id', name=op.f('pk_thread_reads')),
    )


def downgrade():
    op.drop_table('thread_reads')
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('category')
    with op.batch_alter_table('revisions') as batch:
        batch.drop_column('stance')
