"""Rebuilding every search document from the database, beside the live table.

The documents (``forum.search.documents.iter_all``, read in short batches) are
streamed with COPY; a trigger files each into ``search_documents_build`` (with
its weighted ``tsvector``, computed as the row arrives: the database analyzes
while Python reads the next batch) and ``search_texts_build``. Their indexes
and the vocabulary (``ts_stat`` over a sample of the texts) are built after the
rows, several times faster than filling indexed tables. Searches keep reading
the old tables meanwhile.

Where the time goes, and what each step does about it:

- ``to_tsvector`` is most of the work and runs on one core per backend, so the
  batches go round-robin to ``STREAMS`` COPY connections: several backends
  analyze side by side while Python reads the next batch.
- The build tables are UNLOGGED while they fill (no WAL record per row, no
  full-page images after each checkpoint) and are switched to LOGGED in one
  pass before their indexes exist (a rewrite with indexes would build them twice).
- The GIN indexes over the word pairs and over the tsvectors are the longest
  index builds; they get ``BUILD_MEMORY`` (a GIN build that fits in memory
  writes its posting lists once instead of merging dumps). The pairs' index
  (a key per distinct pair: three times as long as the tsvectors') runs on its
  own connection while another builds the tsvectors' index, the keys, the
  other indexes and the vocabulary. Writers that commit during the rebuild keep their outbox
rows (they cannot take ``REBUILD_LOCK`` shared); the final short transaction
locks the live table, applies those rows to the new one, and swaps the tables.

Locks are PostgreSQL advisory locks on the rebuild's own connection, so a
rebuild killed half-way releases them with its connection: nothing is left
to clean up but a scratch table the next rebuild drops.
"""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from typing import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from forum.search import documents
from forum.search.backend import RebuildRunning
from forum.search.postgres.models import GIN_PENDING_KB
from forum.search.postgres.writes import (COLUMNS, REBUILD_LOCK, SEPARATOR, WORD_PATTERN, row,
                                          take_outbox, tsvector_sql, write)

RUNNING_LOCK = 0x5EA2C6  # held for the whole rebuild: a second one fails at once
QUIET_WAIT_S = 60  # how long to wait for writers in flight before the rebuild starts
BUILD_MEMORY = "1GB"  # maintenance_work_mem per index build (taken only as needed)
COPY_BATCH = 1000
STREAMS = 2  # COPY connections: backends computing tsvectors side by side
FACETS = COLUMNS.index("facets")


BUILD = [
    "DROP TABLE IF EXISTS search_build_source, search_documents_build, search_texts_build, "
    "search_words_build",
    # NOT NULL from the start (checked as rows arrive, not by a scan per column afterwards)
    """CREATE UNLOGGED TABLE search_documents_build (key varchar(64) NOT NULL,
       kind varchar(8) NOT NULL, thread_id int, post_id int, paper_id int,
       facets text[] NOT NULL, created timestamptz, score int NOT NULL, tsv tsvector NOT NULL,
       pairs tsvector NOT NULL)""",
    """CREATE UNLOGGED TABLE search_texts_build (key varchar(64) NOT NULL, title text NOT NULL,
       body text NOT NULL)""",
    # what COPY writes to: a trigger files each row into the two tables and keeps nothing
    """CREATE UNLOGGED TABLE search_build_source (key text, kind text, thread_id int, post_id int,
       paper_id int, title text, body text, extra text, facets text[], created timestamptz,
       score int)""",
    # The tsvectors are computed by the database as the rows arrive, while Python reads the
    # next batch of documents: the two halves of a rebuild run side by side.
    # The adjacent word pairs (writes.UPSERT) from the same tsvector, computed once.
    f"""CREATE OR REPLACE FUNCTION search_build_file() RETURNS trigger LANGUAGE plpgsql AS $$
        DECLARE
            tsv tsvector := {tsvector_sql('NEW.title', 'NEW.body', 'NEW.extra')};
        BEGIN
            INSERT INTO search_documents_build VALUES (NEW.key, NEW.kind, NEW.thread_id,
                NEW.post_id, NEW.paper_id, NEW.facets, NEW.created, NEW.score, tsv,
                search_pairs(tsv));
            INSERT INTO search_texts_build VALUES (NEW.key, NEW.title, NEW.body);
            RETURN NULL;
        END $$""",
    "CREATE TRIGGER search_build_file BEFORE INSERT ON search_build_source "
    "FOR EACH ROW EXECUTE FUNCTION search_build_file()",
]
VOCABULARY_SAMPLE_DOCS = 50_000  # words of these documents; later posts add theirs when written
WORDS = f"""CREATE TABLE search_words_build AS
SELECT word::varchar(40) AS word, ndoc FROM ts_stat(
    'SELECT to_tsvector(''simple'', title || '' '' || body)
     FROM search_texts_build LIMIT {VOCABULARY_SAMPLE_DOCS}')
WHERE word ~ '{WORD_PATTERN}'"""
LOGGED = ["ALTER TABLE search_documents_build SET LOGGED",
          "ALTER TABLE search_texts_build SET LOGGED"]
# Indexes in two lists run side by side (``_run_side_by_side``): the GIN index over the
# tsvectors alone, everything else on the other connection. CREATE INDEX takes a SHARE lock,
# which other index builds share; a primary key is made from a unique index built that way
# (``ADD ... USING INDEX`` at the end only attaches it), since ``ADD PRIMARY KEY`` itself would
# wait for the GIN build.
GIN_INDEX = [f"CREATE INDEX ix_search_documents_build_tsv ON search_documents_build USING gin (tsv) "
             f"WITH (gin_pending_list_limit = {GIN_PENDING_KB})"]
PAIRS_INDEX = ("CREATE INDEX ix_search_documents_build_pairs ON search_documents_build "
               f"USING gin (pairs) WITH (gin_pending_list_limit = {GIN_PENDING_KB})")
INDEXES = [  # and the constraints, before the swap: only renames wait under its lock
    "CREATE UNIQUE INDEX pk_search_texts_build ON search_texts_build (key)",
    "ALTER TABLE search_texts_build ADD CONSTRAINT pk_search_texts_build "
    "PRIMARY KEY USING INDEX pk_search_texts_build",
    WORDS,
    "ALTER TABLE search_words_build ADD CONSTRAINT pk_search_words_build PRIMARY KEY (word), "
    "ALTER COLUMN ndoc SET NOT NULL",
    "CREATE INDEX ix_search_words_build_trgm ON search_words_build USING gin (word gin_trgm_ops)",
    "CREATE INDEX ix_search_words_build_prefix ON search_words_build (word text_pattern_ops)",
    "CREATE UNIQUE INDEX pk_search_documents_build ON search_documents_build (key)",
    "CREATE INDEX ix_search_documents_build_facets ON search_documents_build USING gin (facets)",
    "CREATE INDEX ix_search_documents_build_paper_tsv ON search_documents_build USING gin (tsv) "
    f"WITH (gin_pending_list_limit = {GIN_PENDING_KB}) WHERE kind = 'paper'",
    "CREATE INDEX ix_search_documents_build_thread_id ON search_documents_build (thread_id)",
    "CREATE INDEX ix_search_documents_build_created ON search_documents_build (created)",
]
PRIMARY_KEY = ("ALTER TABLE search_documents_build ADD CONSTRAINT pk_search_documents_build "
               "PRIMARY KEY USING INDEX pk_search_documents_build")
SWAP = [
    "DROP TABLE search_build_source",
    "DROP FUNCTION search_build_file()",
    "DROP TABLE search_documents, search_texts, search_words",
    *[f"ALTER TABLE {table}_build RENAME TO {table}"
      for table in ("search_documents", "search_texts", "search_words")],
    *[f"ALTER TABLE {table} RENAME CONSTRAINT pk_{table}_build TO pk_{table}"
      for table in ("search_documents", "search_texts", "search_words")],
    *[f"ALTER INDEX ix_{table}_build_{name} RENAME TO ix_{table}_{name}"
      for table, names in (("search_documents", ("tsv", "pairs", "facets", "paper_tsv",
                                                 "thread_id", "created")),
                           ("search_words", ("trgm", "prefix"))) for name in names],
    "DELETE FROM search_state",
]


def rebuild(engine, progress: Callable[[int], None] | None = None) -> int:
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as locks:
        if not locks.scalar(text("SELECT pg_try_advisory_lock(:k)"), {"k": RUNNING_LOCK}):
            raise RebuildRunning("another rebuild of the search documents is running")
        try:
            _wait_for_writers(locks)
            return _build_and_swap(engine, progress)
        finally:
            locks.execute(text("SELECT pg_advisory_unlock_all()"))


def _wait_for_writers(locks) -> None:
    """Take ``REBUILD_LOCK`` once the writers in flight (holding it shared) commit."""
    locks.execute(text(f"SET lock_timeout = '{QUIET_WAIT_S}s'"))
    locks.execute(text("SELECT pg_advisory_lock(:k)"), {"k": REBUILD_LOCK})
    locks.execute(text("SET lock_timeout = 0"))


def _build_and_swap(engine, progress) -> int:
    with engine.begin() as connection:
        for statement in BUILD:
            connection.execute(text(statement))
    count = _copy_documents(engine, progress)
    _run_side_by_side(engine, [LOGGED[:1], LOGGED[1:]])
    # the pairs' index is the longest build (a key per word pair): alone on its connection
    _run_side_by_side(engine, [[PAIRS_INDEX], GIN_INDEX + INDEXES])
    with engine.begin() as connection:
        connection.execute(text(PRIMARY_KEY))
    with engine.begin() as connection:
        connection.execute(text("SET LOCAL lock_timeout = '30s'"))
        connection.execute(text("LOCK TABLE search_documents IN ACCESS EXCLUSIVE MODE"))
        with Session(bind=connection) as session:  # what writers committed meanwhile
            changes = documents.for_keys(session, list(take_outbox(connection, keep=False).items()))
        write(connection, changes, table="search_documents_build", texts="search_texts_build",
              words="search_words_build")
        for statement in SWAP:
            connection.execute(text(statement))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("ANALYZE search_documents"))
        connection.execute(text("ANALYZE search_words"))
    return count


def _run_side_by_side(engine, scripts: list[list[str]]) -> None:
    """Each list of statements in its own transaction on its own connection, all at once."""
    def run(statements):
        with engine.begin() as connection:
            connection.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
            for statement in statements:
                connection.execute(text(statement))

    with ThreadPoolExecutor(max_workers=len(scripts)) as pool:
        for done in [pool.submit(run, statements) for statements in scripts]:
            done.result()  # the first error, raised here


def _copy_documents(engine, progress) -> int:
    """Every document into ``search_build_source``, batches dealt round-robin to ``STREAMS``
    COPY connections (committed together at the end: a failure leaves only scratch tables)."""
    count = 0
    raws = [engine.raw_connection() for _ in range(STREAMS)]
    try:
        with ExitStack() as stack:
            copies = [stack.enter_context(raw.driver_connection.cursor().copy(
                f"COPY search_build_source ({', '.join(COLUMNS)}) FROM STDIN")) for raw in raws]
            batch = 0
            for doc in documents.iter_all(lambda: Session(engine)):
                values = row(doc)
                copies[(count // COPY_BATCH) % STREAMS].write_row(
                    values[:FACETS] + (values[FACETS].split(SEPARATOR) if values[FACETS] else [],)
                    + values[FACETS + 1:])
                count += 1
                batch += 1
                if batch == COPY_BATCH:
                    if progress is not None:
                        progress(batch)
                    batch = 0
            if progress is not None and batch:
                progress(batch)
        for raw in raws:
            raw.commit()
    finally:
        for raw in raws:
            raw.close()
    return count


def is_running(connection) -> bool:
    return bool(connection.scalar(text(
        "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid = 0 AND objid = :k AND objsubid = 1 AND database = "
        "(SELECT oid FROM pg_database WHERE datname = current_database()))"),
        {"k": RUNNING_LOCK}))
