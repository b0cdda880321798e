"""The PostgreSQL engine's phrase pairs (``search_documents.pairs``, migration 0023pp): a
phrase's adjacent word pairs only narrow its candidates, so every page is exactly the page
without them, and a three-word phrase is answered from the pairs' index."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import event, text

from forum.extensions import db
from forum.search.backend import get_backend
from forum.search.postgres import tsquery
from forum.search.postgres.writes import write
from forum.search.query import parse
from tests.factories import make_reply, make_thread, make_user
from tests.search.test_postgres_engine import app  # noqa: F401  (the PostgreSQL app fixture)

TEXTS = [  # (title, body of the thread, replies)
    ("Mixture of experts", "A mixture of experts routes tokens; experts and gating network.",
     ["The mixture experts layer.", "Experts or gating network decide.", "of experts mixture"]),
    ("Sparse attention", "heads prune themselves.",
     ["Attention heads, pruned: sparse attention heads win.", "heads attention sparse"]),
    ("Loss curves", "loss loss curve rises while deep networks train slowly",
     ["loss curve loss", "curve loss loss curve", "neural the network is not a neural network"]),
    ("Odd text", "self-attention, layer-norm! It's Müller's café: naïve résumé \u201cquoted\u201d",
     ["C:\\path\\to\\file and back\\slash it's 'quoted' text", "深度 学习 and 深度学习 again",
      "mail ada@example.org or https://example.org/a_b?c=d now", "emoji 🚀 rocket launch"]),
]
PHRASES = [
    '"mixture of experts"', '"mixture experts"', '"experts and gating network"',
    '"gating network"', '"of experts mixture"', '"neural network"', '"neural the network"',
    '"sparse attention heads"', '"attention heads"', '"attention heads pruned"',
    '"sparse attention"', '"loss loss curve"', '"curve loss loss curve"', '"loss curve loss"',
    '"loss loss"', '"deep networks train"', '"self-attention layer-norm"', '"layer norm"',
    '"Müller\'s café"',
    '"café naïve résumé"', '"back\\slash it\'s"', '"quoted text"', '"深度 学习"',
    '"ada@example.org or https://example.org/a_b?c=d"', '"🚀 rocket launch"', '"rocket launch"',
    '"experts" "gating network"', '"gating network" -"mixture experts"',
    '"gating network" OR "sparse attention"', '"sparse attention" heads',
    '"attention heads" in:replies',
    '"deep networks" after:2020-01-01', '"experts"', '"of the"',
]


def _forum(app) -> None:
    with app.app_context():
        author = make_user()
        for title, body, replies in TEXTS:
            thread = make_thread(author, title, body)
            for reply in replies:
                make_reply(thread, author, reply)


def _page(app, query: str, sort: str = "relevance"):
    with app.test_request_context():
        return get_backend().search(parse(query), sort=sort)


@pytest.mark.parametrize("sort", ["relevance", "newest"])
def test_the_pairs_change_no_page_of_any_phrase(app, monkeypatch, sort):
    _forum(app)
    with_pairs = {query: _page(app, query, sort) for query in PHRASES}
    with app.test_request_context():  # the prefilter is really asked for adjacent words
        connection = db.session.connection()
        keys = connection.execute(text(  # search_pairs' keys: hashes of the pairs' lexemes
            "SELECT left(md5('loss curv'), 5), left(md5('loss loss'), 5), "
            "left(md5('gate network'), 5)")).one()
        assert tsquery.translate(connection, parse('"loss loss curve"')).pairs == \
            " & ".join(f"'{key}'" for key in sorted(keys[:2]))
        assert tsquery.translate(connection, parse('"mixture of experts"')).pairs is None
        assert tsquery.translate(connection, parse('"experts" "gating network"')).pairs == \
            f"'{keys[2]}'"
        assert tsquery.translate(connection, parse('"back\\slash it\'s"')).pairs is not None
    monkeypatch.setattr(tsquery, "PAIRS", "NULL")  # the same searches without the prefilter
    without = {query: _page(app, query, sort) for query in PHRASES}
    assert with_pairs == without
    found = {query for query, page in without.items() if page.groups}
    assert {'"mixture of experts"', '"loss loss curve"', '"sparse attention heads"',
            '"深度 学习"', '"quoted text"', '"rocket launch"'} <= found
    assert '"loss curve loss"' in found and '"neural the network"' in found


def test_every_phrase_match_holds_its_pairs_and_the_pairs_mean_adjacent(app):
    """At the row level: ``tsv @@ phrase`` implies ``pairs @@ its pairs``, for every document
    and phrase, and a stop word between two words makes no pair of them."""
    _forum(app)
    with app.test_request_context():
        connection = db.session.connection()
        for query in PHRASES:
            q = tsquery.translate(connection, parse(query))
            if q.pairs is None:
                continue
            missed = connection.scalar(text(
                "SELECT count(*) FROM search_documents WHERE tsv @@ CAST(:t AS tsquery) "
                "AND NOT pairs @@ CAST(:p AS tsquery)"), {"t": q.tsquery, "p": q.pairs})
            assert missed == 0, query
        pairs = connection.scalar(text(
            "SELECT search_pairs(to_tsvector('english', 'neural the network, neural network')) "
            "= array_to_tsvector(ARRAY[left(md5('network neural'), 5), "
            "left(md5('neural network'), 5)])"))
        assert pairs
        assert connection.scalar(text(
            "SELECT search_pairs(to_tsvector('english', 'the a of'))")) == ""


def test_a_three_word_phrase_is_answered_from_the_pairs_index(app, monkeypatch):
    """Many documents hold the three words apart, few side by side: the page's statement
    reads the pairs' GIN index, not every document holding the words. Pairs the planner
    expects in more than ``PAIRS_UP_TO`` documents are left out, and the page is the same."""
    start = datetime(2024, 1, 1, tzinfo=timezone.utc)
    docs = []
    for n in range(900):  # under reads.EXACT_UP_TO: every match ranked, no window of dates
        together = n % 90 == 0
        body = ("neural network gradient flows" if together
                else f"gradient of a network is neural {n} word{n % 97} network")
        docs.append((f"post:{n + 1}", {"key": f"post:{n + 1}", "kind": "reply", "thread_id": n + 1,
                                       "post_id": n + 1, "title": "", "body": body,
                                       "created": start + timedelta(minutes=n), "score": 0}))
    with app.app_context():
        write(db.session.connection(), docs)
        db.session.commit()
        db.session.execute(text("ANALYZE search_documents"))
        db.session.commit()
    statements = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        statements.append((statement, parameters))

    with app.test_request_context():
        event.listen(db.engine, "before_cursor_execute", keep)
        try:
            page = get_backend().search(parse('"neural network gradient"'))
        finally:
            event.remove(db.engine, "before_cursor_execute", keep)
        assert page.total == 10 and all(len(g.keys) == 1 for g in page.groups)
        statement, parameters = next(s for s in statements if "WITH hits" in s[0])
        cursor = db.session.connection().connection.driver_connection.cursor()
        cursor.execute("SET LOCAL enable_seqscan = off")  # as the search says (tsquery.STATE)
        cursor.execute("EXPLAIN " + statement, parameters)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "ix_search_documents_pairs" in plan, plan
    monkeypatch.setattr(tsquery, "PAIRS_UP_TO", 0)
    with app.test_request_context():
        assert tsquery.translate(db.session.connection(),
                                 parse('"neural network gradient"')).pairs is None
    assert _page(app, '"neural network gradient"') == page
