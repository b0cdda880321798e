"""PostgreSQL search: each document's adjacent word pairs (search_pairs(), a GIN index), for phrases

The tsvector's GIN index holds no positions: for a phrase ``a <-> b <-> c`` it
yields every document holding the three words anywhere, and each such
candidate's tsvector is read to test the phrase. ``pairs`` holds one lexeme
per two adjacent positions of the same tsvector (a hash of 'a b', of 'b c'), so a phrase's
pairs narrow the candidates to the documents that can match before the exact
test (``forum/search/postgres/tsquery.py``). Positions are the ``english``
analysis's, so a stop word leaves a gap and makes no pair, exactly as the
phrase's ``<2>`` is no ``<->``.

Existing documents get their pairs here (an UPDATE of every document: on a big
forum this migration takes about as long as computing them in a rebuild). The
same UPDATE gives replies and threads their tsvector anew, from the texts kept
beside them, with words joined by dots, slashes and the like split apart
(``tsquery.plain_words``, the same round); papers, whose extra words are not
kept, are queued in the outbox, which the indexer applies.

Revision ID: 0023pp
Revises: 0022
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '0023pp'
down_revision = '0022'
branch_labels = None
depends_on = None

TSVECTOR = postgresql.TSVECTOR().with_variant(sa.Text(), "sqlite")
GIN_PENDING_KB = 256  # as the tsvector indexes (0020p)

# A lexeme per two adjacent positions: the first five hex digits of the md5 of the two
# lexemes (a million keys in all). Two pairs with one key only add candidates (the
# tsvector's own test decides); without the hash, the pairs' GIN index held a key per
# distinct pair, seven times the tsvectors' index at 100,000 posts and three times as long
# to build; with it, half that. md5, not hashtext: stored keys must stay the keys a later
# server computes. A join on positions, not the next position in order: lexemes may share
# a position (tsvector positions stop at 16383).
FUNCTION = """
CREATE OR REPLACE FUNCTION search_pairs(tsv tsvector) RETURNS tsvector
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
BEGIN
    RETURN coalesce((
        SELECT array_to_tsvector(array_agg(left(md5(a.lexeme || ' ' || b.lexeme), 5)))
        FROM (SELECT u.lexeme, p FROM unnest(tsv) u, unnest(u.positions) p) a
        JOIN (SELECT u.lexeme, p FROM unnest(tsv) u, unnest(u.positions) p) b ON b.p = a.p + 1),
        ''::tsvector);
END
$$
"""
# ``writes.tsvector_sql`` as this revision wrote it (a thread's or reply's extra words are '')
PLAIN = "'./:@&;~=?#+', '           '"
TSV = (f"setweight(to_tsvector('english', translate(t.title, {PLAIN})), 'A') || "
       f"setweight(to_tsvector('english', translate(t.body || ' ' || '', {PLAIN})), 'D')")
REFILL = f"""
UPDATE search_documents d SET tsv = v.tsv, pairs = search_pairs(v.tsv)
FROM search_texts t, LATERAL (SELECT {TSV} AS tsv) v
WHERE t.key = d.key AND d.kind <> 'paper'
"""
QUEUE_PAPERS = """
INSERT INTO search_outbox (key, op, created_at)
SELECT key, 'update', now() FROM search_documents WHERE kind = 'paper' ORDER BY key
"""


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(FUNCTION)
        op.add_column('search_documents', sa.Column('pairs', TSVECTOR, nullable=True))
        op.execute(REFILL)
        op.execute("UPDATE search_documents SET pairs = search_pairs(tsv) WHERE kind = 'paper'")
        op.execute(QUEUE_PAPERS)
        op.alter_column('search_documents', 'pairs', nullable=False)
    else:  # the tables stay empty on SQLite (see 0013p)
        with op.batch_alter_table('search_documents') as batch:
            batch.add_column(sa.Column('pairs', TSVECTOR, nullable=False, server_default=''))
        with op.batch_alter_table('search_documents') as batch:
            batch.alter_column('pairs', server_default=None)
    op.create_index('ix_search_documents_pairs', 'search_documents', ['pairs'],
                    postgresql_using='gin',
                    postgresql_with={'gin_pending_list_limit': GIN_PENDING_KB})


def downgrade():
    op.drop_index('ix_search_documents_pairs', table_name='search_documents')
    with op.batch_alter_table('search_documents') as batch:
        batch.drop_column('pairs')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS search_pairs(tsvector)")
