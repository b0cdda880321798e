"""revisions remember the stance a reply took in each version, so the history shows stance changes;
reports carry a category (spam, off-topic, abuse, misinformation, other)

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


def downgrade():
    with op.batch_alter_table('reports') as batch:
        batch.drop_column('category')
    with op.batch_alter_table('revisions') as batch:
        batch.drop_column('stance')
