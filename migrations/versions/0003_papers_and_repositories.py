"""papers, repositories and the mentions that tie them to debates

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-29
"""
from alembic import op
import sqlalchemy as sa

revision = '0003'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'papers',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('arxiv_id', sa.String(length=40), nullable=False),
        sa.Column('title', sa.Text(), nullable=True),
        sa.Column('authors', sa.JSON(), nullable=False),
        sa.Column('abstract', sa.Text(), nullable=True),
        sa.Column('categories', sa.JSON(), nullable=False),
        sa.Column('primary_category', sa.String(length=40), nullable=True),
        sa.Column('published_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('latest_version', sa.Integer(), nullable=True),
        sa.Column('doi', sa.String(length=200), nullable=True),
        sa.Column('journal_ref', sa.Text(), nullable=True),
        sa.Column('comment', sa.Text(), nullable=True),
        sa.Column('withdrawn', sa.Boolean(), nullable=False),
        sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('fetch_error', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_papers')),
        sa.UniqueConstraint('arxiv_id', name=op.f('uq_papers_arxiv_id')),
    )
    op.create_table(
        'repositories',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('full_name', sa.String(length=140), nullable=False),
        sa.Column('full_name_lower', sa.String(length=140), nullable=False),
        sa.Column('description', sa.Text(), nullable=True),
        sa.Column('stars', sa.Integer(), nullable=True),
        sa.Column('language', sa.String(length=80), nullable=True),
        sa.Column('license', sa.String(length=120), nullable=True),
        sa.Column('topics', sa.JSON(), nullable=False),
        sa.Column('pushed_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('html_url', sa.String(length=300), nullable=True),
        sa.Column('moved_to', sa.String(length=140), nullable=True),
        sa.Column('not_found', sa.Boolean(), nullable=False),
        sa.Column('etag', sa.String(length=200), nullable=True),
        sa.Column('fetched_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('fetch_error', sa.Text(), nullable=True),
        sa.Column('retry_after', sa.DateTime(timezone=True), nullable=True),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_repositories')),
        sa.UniqueConstraint('full_name_lower', name=op.f('uq_repositories_full_name_lower')),
    )
    for table, target, target_col in (('paper_mentions', 'papers', 'paper_id'),
                                      ('repo_mentions', 'repositories', 'repository_id')):
        columns = [
            sa.Column('id', sa.Integer(), nullable=False),
            sa.Column(target_col, sa.Integer(), nullable=False),
            sa.Column('thread_id', sa.Integer(), nullable=False),
            sa.Column('post_id', sa.Integer(), nullable=True),
            sa.Column('source_key', sa.String(length=40), nullable=False),
        ]
        if table == 'paper_mentions':
            columns.append(sa.Column('version', sa.Integer(), nullable=True))
        columns += [
            sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint([target_col], [f'{target}.id'], name=op.f(f'fk_{table}_{target_col}_{target}')),
            sa.ForeignKeyConstraint(['thread_id'], ['threads.id'], name=op.f(f'fk_{table}_thread_id_threads')),
            sa.ForeignKeyConstraint(['post_id'], ['posts.id'], name=op.f(f'fk_{table}_post_id_posts')),
            sa.PrimaryKeyConstraint('id', name=op.f(f'pk_{table}')),
            sa.UniqueConstraint(target_col, 'source_key', name=f'uq_{table}_source'),
        ]
        op.create_table(table, *columns)
        with op.batch_alter_table(table) as batch_op:
            for column in (target_col, 'thread_id', 'post_id'):
                batch_op.create_index(batch_op.f(f'ix_{table}_{column}'), [column], unique=False)


def downgrade():
    op.drop_table('repo_mentions')
    op.drop_table('paper_mentions')
    op.drop_table('repositories')
    op.drop_table('papers')
