"""PostgreSQL full-text search: search documents (weighted tsvector, GIN), their texts, vocabulary (pg_trgm)

The tables exist on both databases (one schema for ``flask db check``); only
PostgreSQL gets the ``pg_trgm`` extension, and only there are the documents
ever written. On a forum that already has posts, a ``search_state`` row says a
rebuild is owed (``flask search reindex``, or the background indexer).

Revision ID: 0013p
Revises: 0011
Create Date: 2026-12-01
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0013p'
down_revision = '0011'
branch_labels = None
depends_on = None

TSVECTOR = postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite")
TEXT_ARRAY = postgresql.ARRAY(sa.Text()).with_variant(sa.JSON(), "sqlite")


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.create_table(
        'search_documents',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=8), nullable=False),
        sa.Column('thread_id', sa.Integer(), nullable=True),
        sa.Column('post_id', sa.Integer(), nullable=True),
        sa.Column('paper_id', sa.Integer(), nullable=True),
        sa.Column('facets', TEXT_ARRAY, nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=True),
        sa.Column('score', sa.Integer(), nullable=False),
        sa.Column('tsv', TSVECTOR, nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_search_documents')),
    )
    op.create_index('ix_search_documents_tsv', 'search_documents', ['tsv'],
                    postgresql_using='gin')
    op.create_index('ix_search_documents_facets', 'search_documents', ['facets'],
                    postgresql_using='gin')
    op.create_index('ix_search_documents_paper_tsv', 'search_documents', ['tsv'],
                    postgresql_using='gin', postgresql_where=sa.text("kind = 'paper'"))
    op.create_index('ix_search_documents_thread_id', 'search_documents', ['thread_id'])
    op.create_index('ix_search_documents_created', 'search_documents', ['created'])
    op.create_table(
        'search_texts',
        sa.Column('key', sa.String(length=64), nullable=False),
        sa.Column('title', sa.Text(), nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_search_texts')),
    )
    op.create_table(
        'search_words',
        sa.Column('word', sa.String(length=40), nullable=False),
        sa.Column('ndoc', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('word', name=op.f('pk_search_words')),
    )
    op.create_index('ix_search_words_trgm', 'search_words', ['word'], postgresql_using='gin',
                    postgresql_ops={'word': 'gin_trgm_ops'})
    op.create_index('ix_search_words_prefix', 'search_words', ['word'],
                    postgresql_ops={'word': 'text_pattern_ops'})
    op.create_table(
        'search_state',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('needs_rebuild', sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_search_state')),
    )
    if postgres:  # posts written before this engine existed have no document yet
        op.execute("INSERT INTO search_state (id, needs_rebuild) "
                   "SELECT 1, true WHERE EXISTS (SELECT 1 FROM threads)")


def downgrade():
    op.drop_table('search_state')
    op.drop_index('ix_search_words_prefix', table_name='search_words')
    op.drop_index('ix_search_words_trgm', table_name='search_words')
    op.drop_table('search_words')
    op.drop_table('search_texts')
    op.drop_index('ix_search_documents_created', table_name='search_documents')
    op.drop_index('ix_search_documents_thread_id', table_name='search_documents')
    op.drop_index('ix_search_documents_paper_tsv', table_name='search_documents')
    op.drop_index('ix_search_documents_facets', table_name='search_documents')
    op.drop_index('ix_search_documents_tsv', table_name='search_documents')
    op.drop_table('search_documents')
    # pg_trgm stays: other schemas in the database may use it
