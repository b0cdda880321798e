"""debate mechanics: votes, tags, revisions, up/down counts on replies

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    # Adding columns needs no table rebuild on SQLite (plain ALTER TABLE ADD COLUMN).
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('up_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('down_count', sa.Integer(), server_default='0', nullable=False))
    op.create_table(
        'tags',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tags')),
        sa.UniqueConstraint('name', name=op.f('uq_tags_name')),
    )
    op.create_table(
        'thread_tags',
        sa.Column('thread_id', sa.Integer(), nullable=False),
        sa.Column('tag_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['tag_id'], ['tags.id'], name=op.f('fk_thread_tags_tag_id_tags')),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'],
                                name=op.f('fk_thread_tags_thread_id_threads')),
        sa.PrimaryKeyConstraint('thread_id', 'tag_id', name=op.f('pk_thread_tags')),
    )
    with op.batch_alter_table('thread_tags', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_thread_tags_tag_id'), ['tag_id'], unique=False)

    op.create_table(
        'votes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=True),
        sa.Column('post_id', sa.Integer(), nullable=True),
        sa.Column('value', sa.SmallInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('value IN (-1, 1)', name=op.f('ck_votes_value_is_one')),
        sa.CheckConstraint('(thread_id IS NULL) <> (post_id IS NULL)',
                           name=op.f('ck_votes_one_target')),
        sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_votes_post_id_posts')),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f('fk_votes_thread_id_threads')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_votes_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_votes')),
        sa.UniqueConstraint('user_id', 'thread_id', name='uq_votes_user_id_thread_id'),
        sa.UniqueConstraint('user_id', 'post_id', name='uq_votes_user_id_post_id'),
    )
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_votes_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_votes_thread_id'), ['thread_id'], unique=False)

    op.create_table(
        'revisions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=True),
        sa.Column('post_id', sa.Integer(), nullable=True),
        sa.Column('title', sa.String(length=200), nullable=True),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('written_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('replaced_at', sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint('(thread_id IS NULL) <> (post_id IS NULL)',
                           name=op.f('ck_revisions_one_target')),
        sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f('fk_revisions_post_id_posts')),
        sa.ForeignKeyConstraint(['thread_id'], ['threads.id'],
                                name=op.f('fk_revisions_thread_id_threads')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_revisions')),
    )
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_revisions_post_id'), ['post_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_revisions_thread_id'), ['thread_id'], unique=False)



def downgrade():
    with op.batch_alter_table('posts', schema=None) as batch_op:
        batch_op.drop_column('down_count')
        batch_op.drop_column('up_count')
    with op.batch_alter_table('revisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_revisions_thread_id'))
        batch_op.drop_index(batch_op.f('ix_revisions_post_id'))
    op.drop_table('revisions')
    with op.batch_alter_table('votes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_votes_thread_id'))
        batch_op.drop_index(batch_op.f('ix_votes_post_id'))
    op.drop_table('votes')
    with op.batch_alter_table('thread_tags', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_thread_tags_tag_id'))
    op.drop_table('thread_tags')
    op.drop_table('tags')
