"""The term-at-a-time ranking gives Whoosh's own BM25F order and scores, deletions included."""
import random

import pytest
from whoosh import query as wq

from forum.search.analysis import analyzed
from forum.search.conjunctive import rank, rank_with_scores
from forum.search.index import SearchIndex

WORDS = "gradient descent momentum kernel policy reward graph token attention loss".split()


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    index = SearchIndex(tmp_path_factory.mktemp("index"))
    index.create_empty()
    rng = random.Random(11)

    def doc(i):
        words = rng.choices(WORDS + ["filler"] * 10, k=rng.randint(3, 60))
        return {"key": f"post:{i}", "kind": "reply", "thread_id": i // 5 + 1, "post_id": i,
                "title": "", "body": " ".join(words), "authors": [f"user{i % 7}"],
                "tags": ["rl" if i % 3 else "nlp"]}
    for start in range(0, 600, 200):  # three segments
        index.apply([(f"post:{i}", doc(i)) for i in range(start, start + 200)])
    index.apply([(f"post:{i}", None) for i in range(0, 600, 9)])  # deletions
    index.apply([(f"post:{i}", doc(i)) for i in range(1, 600, 11)])  # edits: delete + add
    return index


def text(*words):
    return [wq.Term("text", analyzed(w)[0]) for w in words]


@pytest.mark.parametrize("query", [
    wq.And(text("gradient", "descent")),
    wq.Term("text", "kernel"),
    wq.And(text("policy") + [wq.Term("tag", "rl")]),
    wq.AndNot(wq.And(text("reward", "loss")), wq.Or(text("graph", "token"))),
    wq.And([wq.Term("shingles", "gradient descent")]),
])
def test_same_order_and_scores_as_whoosh(index, query):
    searcher = index.searcher()
    ours = rank_with_scores(searcher, query, 40)
    results = searcher.search(query, limit=40)  # (limit=None keeps excluded documents in AndNot)
    theirs = [(results.score(i), results.docnum(i)) for i in range(results.scored_length())]
    assert ours, "the query should match something"
    if any(t.fieldname == "tag" for t in query.leaves() if isinstance(t, wq.Term)):
        # Whoosh also scores the filter term: same documents, order by text scores
        tagged = searcher.search(query, limit=None)
        assert {d for _, d in ours} <= {tagged.docnum(i) for i in range(tagged.scored_length())}
        assert len(ours) == min(40, tagged.scored_length())
        return
    assert [d for _, d in ours] == [d for _, d in theirs[:40]]
    assert [round(s, 9) for s, _ in ours] == [round(s, 9) for s, _ in theirs[:40]]


def test_other_shapes_are_left_to_whoosh(index):
    searcher = index.searcher()
    assert rank(searcher, wq.Or(text("gradient", "kernel")), 10) is None
    assert rank(searcher, wq.Prefix("text", "grad"), 10) is None
    assert rank(searcher, wq.And(text("gradient", "nosuchword")), 10) == []
