"""digest: an index to claim the next due deliveries in id order

Revision ID: 0010
Revises: 0006
Create Date: 2026-11-29

"""
from alembic import op


revision = '0010'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('digest_deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_digest_deliveries_due', ['issue_id', 'status', 'id'], unique=False)


def downgrade():
    with op.batch_alter_table('digest_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_digest_deliveries_due')
