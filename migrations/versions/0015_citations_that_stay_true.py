"""citations that stay true: every cited version, paper versions and fetch back-off, service pauses

Revision ID: 0015
Revises: 0011
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('versions', sa.JSON(), nullable=False, server_default='[]'))
        batch_op.add_column(sa.Column('not_found', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        batch_op.add_column(sa.Column('failures', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('retry_after', sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table('paper_mentions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('versions', sa.JSON(), nullable=False, server_default='[]'))
    mentions = sa.table('paper_mentions', sa.column('id', sa.Integer), sa.column('version', sa.Integer),
                        sa.column('versions', sa.JSON))
    connection = op.get_bind()
    for row_id, version in connection.execute(
            sa.select(mentions.c.id, mentions.c.version).where(mentions.c.version.is_not(None))).all():
        connection.execute(mentions.update().where(mentions.c.id == row_id).values(versions=[version]))
    with op.batch_alter_table('paper_mentions', schema=None) as batch_op:
        batch_op.drop_column('version')
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.alter_column('versions', server_default=None)
        batch_op.alter_column('not_found', server_default=None)
        batch_op.alter_column('failures', server_default=None)
    with op.batch_alter_table('paper_mentions', schema=None) as batch_op:
        batch_op.alter_column('versions', server_default=None)
    op.create_table(
        'fetch_pauses',
        sa.Column('service', sa.String(length=20), nullable=False),
        sa.Column('until', sa.DateTime(timezone=True), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('service', name=op.f('pk_fetch_pauses')),
    )


def downgrade():
    op.drop_table('fetch_pauses')
    with op.batch_alter_table('paper_mentions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=True))
    mentions = sa.table('paper_mentions', sa.column('id', sa.Integer), sa.column('version', sa.Integer),
                        sa.column('versions', sa.JSON))
    connection = op.get_bind()
    for row_id, versions in connection.execute(sa.select(mentions.c.id, mentions.c.versions)).all():
        if versions:
            connection.execute(mentions.update().where(mentions.c.id == row_id)
                               .values(version=versions[0]))
    with op.batch_alter_table('paper_mentions', schema=None) as batch_op:
        batch_op.drop_column('versions')
    with op.batch_alter_table('papers', schema=None) as batch_op:
        batch_op.drop_column('retry_after')
        batch_op.drop_column('failures')
        batch_op.drop_column('not_found')
        batch_op.drop_column('versions')
