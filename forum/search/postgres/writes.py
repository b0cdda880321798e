"""Writing search documents: in the changing transaction, through ``apply``, and by rebuild.

Why in the same transaction: the documents live in the database every web
host reads, so a reply committed through one host is found through every
other host at once, with no index files to copy and no indexer to wait for.
``apply_in_transaction`` runs at ``before_commit`` (registered by the backend):
it flushes, takes this transaction's keys (and any outbox rows left for this
engine), builds their documents with ``forum.search.documents`` (the one
definition of what is searchable, so a held, hidden or deleted post, or one in
a deleted thread, has none) and upserts or deletes them before the commit. A
failure there fails the commit: user data and its search document never
disagree. The background drain of the outbox has nothing left to do with
this engine, and still works (``apply``) if rows remain.

Two writers of one thread's documents could each read the other's old state
and overwrite a newer document; an advisory lock per thread (and per paper),
taken in sorted order before the documents are read, orders them.

While a rebuild runs (it holds ``REBUILD_LOCK`` exclusively), writers keep
their outbox rows (they could not take the lock shared): the rebuild applies
them to the new table before it replaces the old one.
"""
from __future__ import annotations

import logging
from typing import Iterable, Sequence

from sqlalchemy import text

from forum.search.postgres.tsquery import CONFIG, plain_words

log = logging.getLogger(__name__)

REBUILD_LOCK = 0x5EA2C4  # pg_advisory_lock keys: the rebuild ...
WRITER_LOCK = 0x5EA2C5  # ... the outbox drain (backend.writer_lock)
DOC_LOCK_THREAD, DOC_LOCK_PAPER = 0x5EA2, 0x5EA3  # (namespace, id) locks per thread, per paper
SEPARATOR = "\x1f"
SENTINELS = str.maketrans({"\ue000": " ", "\ue001": " "})  # ts_headline's marks (reads.py)
WORD_PATTERN = "^[[:alpha:]]{3,40}$"  # vocabulary: words of letters, as did-you-mean offers them

COLUMNS = ("key", "kind", "thread_id", "post_id", "paper_id", "title", "body", "extra", "facets",
           "created", "score")


def tsvector_sql(title: str, body: str, extra: str) -> str:
    """Title weighs A, body and a paper's extra words D (see reads.RANK_WEIGHTS)."""
    rest = plain_words(f"{body} || ' ' || {extra}")
    return (f"setweight(to_tsvector('{CONFIG}', {plain_words(title)}), 'A') || "
            f"setweight(to_tsvector('{CONFIG}', {rest}), 'D')")


def row(doc: dict) -> tuple:
    """A document of ``forum.search.documents`` as the values of ``COLUMNS``."""
    key = doc["key"]
    facets = ([f"author:{a.lower()}" for a in doc.get("authors") or []]
              + [f"tag:{t.lower()}" for t in doc.get("tags") or []]
              + [f"paper:{p.lower()}" for p in doc.get("papers") or []]
              + [f"repo:{r.lower()}" for r in doc.get("repos") or []]
              + ([f"stance:{doc['stance']}"] if doc.get("stance") else []))
    paper_id = int(key.split(":")[1]) if doc["kind"] == "paper" else None
    return (key, doc["kind"], doc.get("thread_id") or None, doc.get("post_id") or None, paper_id,
            (doc.get("title") or "").translate(SENTINELS), (doc.get("body") or "").translate(SENTINELS),
            (doc.get("extra") or "").translate(SENTINELS), SEPARATOR.join(sorted(set(facets))),
            doc.get("created"), int(doc.get("score") or 0))


ROWS = """unnest(CAST(:key AS text[]), CAST(:kind AS text[]), CAST(:thread_id AS int[]),
            CAST(:post_id AS int[]), CAST(:paper_id AS int[]), CAST(:title AS text[]),
            CAST(:body AS text[]), CAST(:extra AS text[]), CAST(:facets AS text[]),
            CAST(:created AS timestamptz[]), CAST(:score AS int[]))
     AS d(key, kind, thread_id, post_id, paper_id, title, body, extra, facets, created, score)"""
# ``search_pairs(tsv)`` (migration 0023pp): one lexeme per two ADJACENT positions of the
# tsvector (a short hash of 'mixtur expert'), no positions of its own. A phrase
# ``a <-> b <-> c`` can only match a document holding the pairs 'a b' and 'b c'; the
# tsvector's GIN index has no positions, so without them every document holding the three
# words anywhere is a candidate whose tsvector must be read to test the phrase. A stop word
# leaves a gap in the positions and so makes no pair, as ``<2>`` in the phrase is no
# ``<->``; both sides of a search use the same function (tsquery.PAIRS), so the pairs mean
# what ``<->`` means.
UPSERT = f"""
INSERT INTO {{table}} (key, kind, thread_id, post_id, paper_id, facets, created, score, tsv,
                       pairs)
SELECT key, kind, thread_id, post_id, paper_id,
       CASE WHEN facets = '' THEN ARRAY[]::text[] ELSE string_to_array(facets, E'\\x1f') END,
       created, score, v.tsv, search_pairs(v.tsv)
FROM {ROWS}
CROSS JOIN LATERAL (SELECT {tsvector_sql('title', 'body', 'extra')} AS tsv
                    OFFSET 0) v  -- OFFSET 0: computed once, not once per use
ORDER BY key
ON CONFLICT (key) DO UPDATE SET kind = excluded.kind, thread_id = excluded.thread_id,
    post_id = excluded.post_id, paper_id = excluded.paper_id, facets = excluded.facets,
    created = excluded.created, score = excluded.score, tsv = excluded.tsv,
    pairs = excluded.pairs
"""
UPSERT_TEXTS = f"""
INSERT INTO {{table}} (key, title, body) SELECT key, title, body FROM {ROWS} ORDER BY key
ON CONFLICT (key) DO UPDATE SET title = excluded.title, body = excluded.body
"""

ADD_WORDS = f"""
INSERT INTO {{table}} (word, ndoc)
SELECT DISTINCT w, 1 FROM unnest(CAST(:texts AS text[])) AS t(text),
       unnest(tsvector_to_array(to_tsvector('simple', t.text))) AS w
WHERE w ~ '{WORD_PATTERN}' ORDER BY 1
ON CONFLICT (word) DO NOTHING
"""


def write(connection, changes: Sequence[tuple[str, dict | None]], *,
          table: str = "search_documents", texts: str = "search_texts",
          words: str = "search_words") -> int:
    """Upsert (dict) or delete (None) each key, on ``connection``'s transaction."""
    gone = sorted({key for key, doc in changes if doc is None})
    docs = {doc["key"]: doc for key, doc in changes if doc is not None}
    for name in (table, texts) if gone else ():
        connection.execute(text(f"DELETE FROM {name} WHERE key = ANY(CAST(:keys AS text[]))"),
                           {"keys": gone})
    if docs:
        rows = [row(docs[key]) for key in sorted(docs)]
        columns = dict(zip(COLUMNS, map(list, zip(*rows))))
        # one statement (data-modifying CTEs): each is a round trip of the changing commit
        connection.execute(text(
            f"WITH documents AS ({UPSERT.replace('{table}', table)} RETURNING 1), "
            f"texts AS ({UPSERT_TEXTS.replace('{table}', texts)} RETURNING 1) "
            f"{ADD_WORDS.replace('{table}', words)}"),
            {**columns, "texts": [f"{r[5]} {r[6]} {r[7]}" for r in rows]})
    return len(gone) + len(docs)


def lock_documents(connection, keys: Iterable[str]) -> None:
    """Advisory locks (until the transaction ends) on the threads and papers of ``keys``,
    in one sorted order, so two writers of one thread's documents take turns. One
    statement (a reply's thread is looked up in it): each is a round trip of the commit."""
    thread_ids, post_ids, paper_ids = set(), set(), set()
    for key in keys:
        prefix, _, number = key.partition(":")
        {"thread": thread_ids, "post": post_ids, "paper": paper_ids}[prefix].add(int(number))
    if not (thread_ids or post_ids or paper_ids):
        return
    connection.execute(text(
        "SELECT pg_advisory_xact_lock(n, i) FROM ("
        "SELECT :thread AS n, unnest(CAST(:threads AS int[])) AS i "
        "UNION SELECT :thread, thread_id FROM posts WHERE id = ANY(CAST(:posts AS int[])) "
        "UNION SELECT :paper, unnest(CAST(:papers AS int[]))) AS l ORDER BY n, i"),
        {"thread": DOC_LOCK_THREAD, "paper": DOC_LOCK_PAPER, "threads": sorted(thread_ids),
         "posts": sorted(post_ids), "papers": sorted(paper_ids)})


# One statement, the first of a changing commit's search work (each statement is a round trip
# of that commit): is a rebuild running (then nothing is taken: the rebuild applies the
# outbox's rows), the outbox rows left for this engine (by a change made outside an app,
# say) taken, and the documents' advisory locks taken (``lock_documents``'s, in the same
# order) on the threads and papers of those keys and of ``:keys``, this transaction's.
BEGIN = """
WITH rebuild AS (SELECT NOT pg_try_advisory_xact_lock_shared(:rebuild) AS running),
taken AS (DELETE FROM search_outbox WHERE id IN (
            SELECT id FROM search_outbox WHERE NOT (SELECT running FROM rebuild)
            ORDER BY id FOR UPDATE)
          RETURNING id, key, op),
keys AS (SELECT split_part(key, ':', 1) AS kind, split_part(key, ':', 2)::int AS id
         FROM (SELECT key FROM taken UNION SELECT unnest(CAST(:keys AS text[]))) AS k),
locks AS (SELECT pg_advisory_xact_lock(n, i) FROM (
            SELECT :thread AS n, id AS i FROM keys WHERE kind = 'thread'
            UNION SELECT :thread, posts.thread_id FROM keys JOIN posts ON posts.id = keys.id
                  WHERE keys.kind = 'post'
            UNION SELECT :paper, id FROM keys WHERE kind = 'paper') AS l ORDER BY n, i)
SELECT rebuild.running, (SELECT count(*) FROM locks) AS locked, taken.key, taken.op
FROM rebuild LEFT JOIN taken ON true ORDER BY taken.id
"""


def begin(connection, keys: Iterable[str]) -> tuple[bool, dict[str, str]]:
    """(a rebuild is running, the outbox's keys taken, merged), the documents of those keys
    and of ``keys`` locked: ``rebuild_running``, ``take_outbox`` and ``lock_documents`` at
    once, when no rebuild runs (while one runs, nothing is taken: the caller keeps its rows
    for the rebuild)."""
    rows = connection.execute(text(BEGIN), {
        "rebuild": REBUILD_LOCK, "thread": DOC_LOCK_THREAD, "paper": DOC_LOCK_PAPER,
        "keys": sorted(keys)}).all()
    merged: dict[str, str] = {}
    for _, _, key, op in rows:
        if key is not None:
            merged[key] = "tags" if op == "tags" else merged.get(key, op)
    return rows[0].running, merged


def take_outbox(connection, *, keep: bool) -> dict[str, str]:
    """The pending outbox keys (this transaction's and any left over), merged; deleted
    unless ``keep``."""
    if keep:
        rows = connection.execute(text("SELECT key, op FROM search_outbox ORDER BY id")).all()
    else:
        rows = connection.execute(text(
            "DELETE FROM search_outbox WHERE id IN (SELECT id FROM search_outbox ORDER BY id "
            "FOR UPDATE) RETURNING key, op")).all()
    merged: dict[str, str] = {}
    for key, op in rows:
        merged[key] = "tags" if op == "tags" else merged.get(key, op)
    return merged
