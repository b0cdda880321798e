"""digest: suppressed addresses, soft-bounce count, retry backoff, and the runs that send

Revision ID: 0016d
Revises: 0011
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa



revision = '0016d'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('digest_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('issue_id', sa.Integer(), nullable=False),
        sa.Column('process', sa.String(length=255), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('outcome', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['issue_id'], ['digest_issues.id'], name=op.f('fk_digest_runs_issue_id_digest_issues')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_digest_runs'))
    )
    with op.batch_alter_table('digest_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_digest_runs_issue_id'), ['issue_id'], unique=False)

    with op.batch_alter_table('digest_subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suppressed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('suppression_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('soft_bounces', sa.Integer(), server_default='0', nullable=False))

    with op.batch_alter_table('digest_deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('run_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('retry_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('stage', sa.SmallInteger(), nullable=True))
        batch_op.create_index(batch_op.f('ix_digest_deliveries_run_id'), ['run_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_digest_deliveries_run_id_digest_runs'), 'digest_runs', ['run_id'], ['id'])


def downgrade():
    with op.batch_alter_table('digest_deliveries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_digest_deliveries_run_id_digest_runs'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_digest_deliveries_run_id'))
        batch_op.drop_column('stage')
        batch_op.drop_column('retry_at')
        batch_op.drop_column('run_id')

    with op.batch_alter_table('digest_subscriptions', schema=None) as batch_op:
        batch_op.drop_column('soft_bounces')
        batch_op.drop_column('suppression_reason')
        batch_op.drop_column('suppressed_at')

    with op.batch_alter_table('digest_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_digest_runs_issue_id'))

    op.drop_table('digest_runs')
