"""moderation: reports, the audit log, bans with reason and end date, held and hidden posts

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('banned_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('ban_reason', sa.Text(), server_default='', nullable=False))
        batch_op.add_column(sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True))
    # Members who joined before new-member holds existed are trusted already.
    op.execute(sa.text('UPDATE users SET approved_at = created_at'))

    for table in ('threads', 'posts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('held_at', sa.DateTime(timezone=True), nullable=True))
            batch_op.add_column(sa.Column('hidden_at', sa.DateTime(timezone=True), nullable=True))

    op.create_table('reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('reporter_id', sa.Integer(), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.Column('resolution', sa.String(length=16), nullable=True),
    sa.CheckConstraint('(thread_id IS NULL) <> (post_id IS NULL)', name=op.f('ck_reports_one_target')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_reports_post_id_posts')),
    sa.ForeignKeyConstraint(['reporter_id'], ['users.id'], name=op.f('fk_reports_reporter_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_reports_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_reports_thread_id_threads')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reports')),
    sa.UniqueConstraint('reporter_id', 'post_id', name='uq_reports_reporter_id_post_id'),
    sa.UniqueConstraint('reporter_id', 'thread_id', name='uq_reports_reporter_id_thread_id')
    )
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.create_index('ix_reports_open', ['resolved_at', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_reports_thread_id'), ['thread_id'], unique=False)

    op.create_table('mod_actions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('moderator_id', sa.Integer(), nullable=True),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('thread_id', sa.Integer(), nullable=True),
    sa.Column('post_id', sa.Integer(), nullable=True),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('detail', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['moderator_id'], ['users.id'], name=op.f('fk_mod_actions_moderator_id_users')),
    sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_mod_actions_post_id_posts')),
    sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_mod_actions_thread_id_threads')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_mod_actions_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mod_actions'))
    )
    with op.batch_alter_table('mod_actions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_mod_actions_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_mod_actions_moderator_id'), ['moderator_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mod_actions_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mod_actions_thread_id'), ['thread_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_mod_actions_user_id'), ['user_id'], unique=False)


def downgrade():
    with op.batch_alter_table('mod_actions', schema=None) as batch_op:
        for column in ('user_id', 'thread_id', 'post_id', 'moderator_id', 'created_at'):
            batch_op.drop_index(batch_op.f(f'ix_mod_actions_{column}'))
    op.drop_table('mod_actions')
    with op.batch_alter_table('reports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_reports_thread_id'))
        batch_op.drop_index(batch_op.f('ix_reports_post_id'))
        batch_op.drop_index('ix_reports_open')
    op.drop_table('reports')

    for table in ('posts', 'threads'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('hidden_at')
            batch_op.drop_column('held_at')

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('approved_at')
        batch_op.drop_column('ban_reason')
        batch_op.drop_column('banned_until')
