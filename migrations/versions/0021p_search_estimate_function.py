"""PostgreSQL search: search_estimate(), the planner's estimate of a search's matches

A search first asks the planner how many documents its conditions match
(``forum/search/postgres/reads.py``: rank every match, or only the newest).
That was an ``EXPLAIN`` of its own, one more round trip after the one that
analyzes the query's words; this function runs the ``EXPLAIN`` inside that
first statement, on the tsquery the statement has just built. The condition
comes from the forum's code with ``%1$L``..``%5$L`` for the values, which
``format`` quotes as literals: the planner then estimates with the values
themselves, as it did for the separate ``EXPLAIN``.

Revision ID: 0021p
Revises: 0020p
Create Date: 2026-12-02
"""
from alembic import op

revision = '0021p'
down_revision = '0020p'
branch_labels = None
depends_on = None

FUNCTION = """
CREATE OR REPLACE FUNCTION search_estimate(condition text, tsq text, facets text[], kind text,
                                           after timestamptz, before timestamptz)
RETURNS float8 LANGUAGE plpgsql VOLATILE AS $$  -- EXPLAIN: volatile only
DECLARE
    plan json;
BEGIN
    EXECUTE format('EXPLAIN (FORMAT JSON) SELECT 1 FROM search_documents d WHERE ' || condition,
                   tsq, facets, kind, after, before) INTO plan;
    RETURN (plan -> 0 -> 'Plan' ->> 'Plan Rows')::float8;
END
$$
"""


def upgrade():
    if op.get_bind().dialect.name != "postgresql":
        return  # the PostgreSQL engine refuses SQLite (see 0013p)
    op.execute(FUNCTION)


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP FUNCTION IF EXISTS search_estimate(text, text, text[], text, timestamptz, "
               "timestamptz)")
