"""The term-at-a-time ranking gives Whoosh's own BM25F order and scores, deletions included."""
import random
from datetime import datetime, timedelta, timezone

import pytest
from whoosh import query as wq

from forum.search.whoosh.analysis import analyzed, has_phrase
from forum.search.whoosh.conjunctive import rank, rank_with_scores
from forum.search.whoosh.index import SearchIndex
from forum.search.query import parse
from forum.search.whoosh.wquery import PhraseCheck, paired_words, stored_text, to_whoosh_query

WORDS = "gradient descent momentum kernel policy reward graph token attention loss".split()


def _filled(index):
    rng = random.Random(11)

    def doc(i):
        words = rng.choices(WORDS + ["filler"] * 10, k=rng.randint(3, 60))
        doc = {"key": f"post:{i}", "kind": "reply", "thread_id": i // 5 + 1, "post_id": i,
               "title": "", "body": " ".join(words), "authors": [f"user{i % 7}"],
               "tags": ["rl" if i % 3 else "nlp"], "score": i % 13 - 3}
        if i % 50:  # a few without a date
            doc["created"] = datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(days=i % 97)
        return doc
    for start in range(0, 600, 200):  # three segments
        index.apply([(f"post:{i}", doc(i)) for i in range(start, start + 200)])
    index.apply([(f"post:{i}", None) for i in range(0, 600, 9)])  # deletions
    index.apply([(f"post:{i}", doc(i)) for i in range(1, 600, 11)])  # edits: delete + add
    return index


@pytest.fixture(scope="module")
def index(tmp_path_factory):
    index = SearchIndex(tmp_path_factory.mktemp("index"))
    index.create_empty()  # every adjacent pair of words in ``shingles``
    return _filled(index)


PAIRED = frozenset({"gradient", "descent", "momentum"})


@pytest.fixture(scope="module")
def paired_index(tmp_path_factory):
    """As a rebuilt index is: only pairs of common words (here PAIRED) in ``shingles``."""
    index = SearchIndex(tmp_path_factory.mktemp("paired"))
    index.switch_to(index.new_generation(PAIRED))
    return _filled(index)


def text(*words):
    return [wq.Term("text", analyzed(w)[0]) for w in words]


@pytest.mark.parametrize("query", [
    wq.And(text("gradient", "descent")),
    wq.Term("text", "kernel"),
    wq.And(text("policy") + [wq.Term("tag", "rl")]),
    wq.AndNot(wq.And(text("reward", "loss")), wq.Or(text("graph", "token"))),
    wq.And([wq.Term("shingles", "gradient descent")]),
    wq.Or(text("gradient", "kernel")),  # OR groups (and expanded prefixes) add scores up
    wq.And([wq.Or(text("gradient", "kernel", "graph")), wq.Term("text", "loss")]),
    wq.AndNot(wq.Or(text("policy", "reward")), wq.Or(text("token"))),
])
def test_same_order_and_scores_as_whoosh(index, query):
    searcher = index.searcher()
    ours = rank_with_scores(searcher, query, 40)
    # Whoosh's own top N skips wrongly for an AND with an OR inside, and keeps excluded
    # documents in AndNot when asked for all: compare with every result where it can
    results = searcher.search(query, limit=40 if isinstance(query, wq.AndNot) else None)
    theirs = sorted(((results.score(i), results.docnum(i)) for i in range(results.scored_length())),
                    key=lambda item: (-item[0], item[1]))
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
    assert rank(searcher, wq.Or([wq.Term("text", "gradient"), wq.Term("tag", "rl")]), 10) is None
    assert rank(searcher, wq.Prefix("text", "grad"), 10) is None
    assert rank(searcher, wq.And(text("gradient", "nosuchword")), 10) == []


def _with_phrase(searcher, docnums, words):
    """Which of ``docnums`` have the analyzed ``words`` in a row in their stored text."""
    return {d for d in docnums if has_phrase(stored_text(searcher.stored_fields(d)), words)}


def _all_live(searcher):
    return [d for d in range(searcher.doc_count_all()) if not searcher.reader().is_deleted(d)]


@pytest.mark.parametrize("fixture", ["index", "paired_index"])
@pytest.mark.parametrize("phrase", ["gradient descent",  # a pair of PAIRED words: no check
                                    "descent kernel",  # a rarer word: words, then checked
                                    "gradient descent momentum", "policy reward loss",
                                    "the gradient of descent"])  # stop words drop out
def test_phrases_find_exactly_the_documents_with_the_words_in_a_row(request, fixture, phrase):
    index = request.getfixturevalue(fixture)
    searcher = index.searcher()
    query = to_whoosh_query(parse(f'"{phrase}"'), searcher.reader())
    words = analyzed(phrase)
    expected = _with_phrase(searcher, _all_live(searcher), words)
    ours = rank_with_scores(searcher, query, 1000)
    assert expected, "the phrase should be in some documents"
    assert {d for _, d in ours} == expected
    results = searcher.search(query, limit=1000)  # Whoosh's path: PhraseCheck's own matcher
    theirs = [(results.score(i), results.docnum(i)) for i in range(results.scored_length())]
    assert [d for _, d in ours] == [d for _, d in theirs]
    assert [round(s, 9) for s, _ in ours] == [round(s, 9) for s, _ in theirs]
    top = rank_with_scores(searcher, query, 5)  # checked best first, stops at the limit
    assert top == ours[:5]


def test_which_pairs_a_phrase_looks_up(paired_index):
    reader = paired_index.searcher().reader()
    assert paired_words(reader.schema) == PAIRED

    def parts(phrase):
        query = to_whoosh_query(parse(f'"{phrase}"'), reader)
        return ({t.text for t in query.subqueries if isinstance(t, wq.Term) and t.fieldname == "shingles"},
                any(isinstance(t, PhraseCheck) for t in query.subqueries))
    assert parts("gradient descent") == ({"gradient descent"}, False)
    assert parts("descent kernel") == (set(), True)
    assert parts("gradient descent kernel") == ({"gradient descent"}, True)
    pairs = {tuple(p.split(" ")) for p in reader.field_terms("shingles")}
    assert pairs and all(a in PAIRED and b in PAIRED for a, b in pairs)


@pytest.mark.parametrize("fixture", ["index", "paired_index"])
def test_phrases_under_or_and_exclusion_go_through_whoosh_correctly(request, fixture):
    index = request.getfixturevalue(fixture)
    searcher = index.searcher()
    live = _all_live(searcher)
    phrase = _with_phrase(searcher, live, ["descent", "kernel"])
    token = {d for d in live if "token" in searcher.stored_fields(d)["body"].split()}
    either = to_whoosh_query(parse('"descent kernel" OR token'), searcher.reader())
    assert rank(searcher, either, 10) is None  # not an AND: Whoosh ranks it
    found = searcher.search(either, limit=1000)
    assert {found.docnum(i) for i in range(found.scored_length())} == phrase | token
    without = to_whoosh_query(parse('kernel -"descent kernel"'), searcher.reader())
    found = searcher.search(without, limit=1000)
    kernel = {d for d in live if "kernel" in searcher.stored_fields(d)["body"].split()}
    assert {found.docnum(i) for i in range(found.scored_length())} == kernel - phrase


def test_prefixes_are_ranked_here_and_find_what_whoosh_prefix_finds(index):
    searcher = index.searcher()
    query = to_whoosh_query(parse("gra* loss"), searcher.reader())  # gradient, graph
    ours = rank_with_scores(searcher, query, 1000)
    assert ours is not None, "an expanded prefix is an OR of terms: no Whoosh fallback"
    whoosh = searcher.search(wq.And([wq.Prefix("text", "gra"), wq.Term("text", "loss")]), limit=None)
    assert {d for _, d in ours} == {whoosh.docnum(i) for i in range(whoosh.scored_length())}


def _whoosh_set(searcher, query):
    found = searcher.search(query, limit=None)
    return {found.docnum(i) for i in range(found.scored_length())}


@pytest.mark.parametrize("text", ["gradient after:2024-02-01", "gradient before:2024-03-15 loss",
                                  "after:2024-02-01 before:2024-02-10", "before:2024-01-02",
                                  '"descent kernel" after:2024-01-20'])
def test_date_ranges_are_ranked_here_with_whoosh_s_matches(paired_index, text):
    searcher = paired_index.searcher()
    query = to_whoosh_query(parse(text), searcher.reader())
    ours = rank_with_scores(searcher, query, 1000)
    assert ours is not None, "date ranges are column filters here: no Whoosh fallback"
    assert ours and {d for _, d in ours} == _whoosh_set(searcher, query)


@pytest.mark.parametrize("sort", ["newest", "top"])
@pytest.mark.parametrize("text", ["gradient", "policy -token", '"descent kernel"', "gra*"])
def test_newest_and_top_sorts(index, sort, text):
    searcher = index.searcher()
    query = to_whoosh_query(parse(text), searcher.reader())
    created = searcher.reader().column_reader("created", translate=False)  # datetime_to_long
    score = searcher.reader().column_reader("score")

    def key(docnum):  # newest first (no date last), top: score first; then document order
        stamp = float("inf") if created[docnum] == 2 ** 64 - 1 else -created[docnum]
        return (stamp, docnum) if sort == "newest" else (-score[docnum], stamp, docnum)
    expected = sorted(_whoosh_set(searcher, query), key=key)[:25]
    assert rank(searcher, query, 25, sort) == expected


def test_field_lengths_read_from_the_whole_column_match_whoosh_s_column_reader(index):
    from whoosh.codec.whoosh3 import LENGTHS_COLUMN, _lenfield
    from whoosh.util.numeric import byte_to_length
    for leaf, _ in index.searcher().reader().leaf_readers():
        perdoc = leaf._perdoc
        column = perdoc._cached_reader(_lenfield("text"), LENGTHS_COLUMN)
        for docnum in range(leaf.doc_count_all()):
            encoded = column[docnum]
            assert perdoc.doc_field_length(docnum, "text") == (
                byte_to_length(encoded) if encoded else None)
        assert perdoc.doc_field_length(0, "tag", default=7) == 7  # unscored: no column


@pytest.mark.parametrize("text", ['(gradient OR "descent kernel") after:2024-02-01',
                                  '(policy OR "descent kernel") before:2024-03-15'])
def test_a_date_filter_on_whoosh_s_path_reads_the_date_column(paired_index, text):
    """``created`` has no terms, only a column: where Whoosh answers (an OR with a phrase
    inside), the date filter's own matcher keeps the documents in range, no others."""
    searcher = paired_index.searcher()
    query = to_whoosh_query(parse(text), searcher.reader())
    assert rank(searcher, query, 10) is None, "an OR with a phrase inside is Whoosh's to rank"
    without_date = to_whoosh_query(parse(text.split(")")[0] + ")"), searcher.reader())
    created = searcher.reader().column_reader("created", translate=False)
    bound = (datetime(2024, 2, 1) if "after" in text else datetime(2024, 3, 15))
    from whoosh.util.times import datetime_to_long
    bound = datetime_to_long(bound)

    def in_range(docnum):
        value = created[docnum]
        return value != 2 ** 64 - 1 and (value >= bound if "after" in text else value < bound)
    expected = {d for d in _whoosh_set(searcher, without_date) if in_range(d)}
    assert expected and _whoosh_set(searcher, query) == expected
