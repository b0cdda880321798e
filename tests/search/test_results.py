"""Complete and relevant results: every matching thread once, counted; Snowball stems;
titles above bodies; repo:owner/name; OR between filters; did-you-mean; plain snippets;
the papers each thread cites."""
import re

import pytest

from forum.accounts.models import User
from forum.extensions import db
from forum.moderation import services as moderation
from forum.search import outbox
from forum.search.services import PER_PAGE, search
from forum.threads.models import Post
from tests.factories import bulk_replies, make_reply, make_thread, make_user

OTHER_THREADS = 25
BIG_THREAD_REPLIES = 60


def _outcome(app, text, **kwargs):
    with app.test_request_context():
        return search(text, **kwargs)


def _titles(app, text, **kwargs):
    return [r.thread.title for r in _outcome(app, text, **kwargs).results]


@pytest.fixture
def crowded(app):
    """One thread whose many replies all match, and many threads that match once.

    Written with the indexer off and indexed by one rebuild: how posts reach the index is
    tested elsewhere (test_freshness, test_indexer), what is found here."""
    app.config["SEARCH_INDEXER"] = "off"
    with app.app_context():
        author = make_user()
        big = make_thread(author, title="The long debate", body="Gradient noise, first take.")
        bulk_replies(big, [author], BIG_THREAD_REPLIES, body="Gradient noise again, take {n}.")
        for n in range(OTHER_THREADS):
            make_thread(author, title=f"Small thread {n}", body=f"Some gradient noise here ({n}).")
        db.session.commit()  # the rebuild writes through connections of its own
        outbox.rebuild()
    app.config["SEARCH_INDEXER"] = "inline"
    return app


def test_every_matching_thread_is_listed_once_however_matches_spread(crowded, subtests):
    for sort in ("relevance", "newest", "top"):  # one forum, read in each order
        with subtests.test(sort=sort):
            _every_matching_thread_once(crowded, sort)


def _every_matching_thread_once(crowded, sort: str) -> None:
    seen: list[str] = []
    page = 1
    while True:
        outcome = _outcome(crowded, "gradient noise", sort=sort, page=page)
        assert outcome.total == OTHER_THREADS + 1 and outcome.total_exact
        seen += [r.thread.title for r in outcome.results]
        if not outcome.has_next:
            break
        page += 1
    assert page == -(-(OTHER_THREADS + 1) // PER_PAGE)
    assert len(seen) == len(set(seen)) == OTHER_THREADS + 1
    big = next(r for p in range(1, page + 1)
               for r in _outcome(crowded, "gradient noise", sort=sort, page=p).results
               if r.thread.title == "The long debate")
    assert big.group.matches == BIG_THREAD_REPLIES + 1
    assert len(big.group.snippets) <= 2


def test_the_page_shows_how_many_threads_matched(crowded, client):
    page = client.get("/search", query_string={"q": "gradient noise"}).get_data(as_text=True)
    assert f"{OTHER_THREADS + 1} threads matched" in page
    assert "more matching posts in this thread" in page
    assert 'rel="next"' in page


@pytest.fixture
def stems(app):
    with app.app_context():
        author = make_user()
        make_thread(author, title="On generalization in deep nets", body="Why nets work.")
        make_thread(author, title="Generative models", body="Diffusion and flows.")
    return app


def test_snowball_stemming_joins_inflections_and_keeps_generative_apart(stems):
    assert _titles(stems, "generalizing") == ["On generalization in deep nets"]
    assert _titles(stems, "generalized") == ["On generalization in deep nets"]
    assert _titles(stems, "generation") == ["Generative models"]
    assert _titles(stems, "generalization") == ["On generalization in deep nets"]


def test_a_title_match_outranks_a_body_match(app):
    with app.app_context():
        author = make_user()
        make_thread(author, title="Notes on training", body="We tried sparse updates once, a "
                    "long time ago, with a sparse mask, but the rest of this post is elsewhere.")
        make_thread(author, title="Sparse attention", body="Long contexts are costly.")
    assert _titles(app, "sparse")[0] == "Sparse attention"


@pytest.mark.parametrize("query", ["repo:karpathy/nanoGPT", "repo:github.com/karpathy/nanogpt",
                                   "repo:https://github.com/Karpathy/nanoGPT",
                                   "repo:https://github.com/karpathy/nanoGPT.git"])
def test_repo_filter_takes_owner_name_and_every_url_form(app, query):
    with app.app_context():
        author = make_user()
        make_thread(author, title="Tiny GPTs", body="See https://github.com/karpathy/nanoGPT for code.")
        make_thread(author, title="Other GPTs", body="No repository here.")
    outcome = _outcome(app, query)
    assert [r.thread.title for r in outcome.results] == ["Tiny GPTs"]
    assert outcome.notes == []


def test_or_between_filters_says_it_does_not_join_them(app, client):
    with app.app_context():
        make_thread(make_user(), title="Tagged")
    page = client.get("/search", query_string={"q": "tag:rl OR tag:nlp"}).get_data(as_text=True)
    assert "OR does not join filters" in page


@pytest.mark.parametrize("query, expected", [
    ("transfromer", "transformer"),
    ("RL", None),  # two letters: never "i"
    ("((broken", None),  # a known word: nothing to correct, never "((token"
    ("attention", None),
    ("zzzzqqq", None),
])
def test_did_you_mean_suggests_only_real_different_words(app, query, expected):
    with app.app_context():
        author = make_user()
        make_thread(author, title="A transformer with broken attention", body="I think RL helps. I do.")
        make_thread(author, title="Tokens", body="Every token counts.")
    outcome = _outcome(app, query)
    assert outcome.suggestion == expected
    if outcome.suggestion:
        assert outcome.suggestion != query


def test_snippets_are_plain_text_of_the_rendered_post_with_marks(app):
    with app.app_context():
        author = make_user()
        make_thread(author, title="Markup", body="The **wombat** bound is $x^2 + y$ in "
                    "[the paper](https://example.org/p) and `wombat_code`.")
    (result,) = _outcome(app, "wombat").results
    html = result.group.snippets[0].html
    assert "<mark>wombat</mark>" in html
    for source in ("**", "$", "](", "`", "https://example.org"):
        assert source not in html
    assert "the paper" in html


def test_each_result_lists_the_papers_its_thread_cites(app, client):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Attention revisited", body="See arXiv:1706.03762.")
        make_reply(thread, author, "And 2005.14165 too.")
        hidden = make_reply(thread, author, "Also 2303.08774.")
        moderator = make_user(role="moderator")
        moderation.set_hidden(db.session.get(User, moderator.id), db.session.get(Post, hidden.id),
                              True, "spam")
    (result,) = _outcome(app, "attention").results
    assert sorted(p.arxiv_id for p in result.cites) == ["1706.03762", "2005.14165"]
    page = client.get("/search", query_string={"q": "attention"}).get_data(as_text=True)
    assert re.search(r"Cites:.*arXiv:1706\.03762", page)


def _statements(app, client, query: str) -> int:
    from sqlalchemy import event
    seen: list[str] = []

    def count(conn, cursor, statement, *args):
        seen.append(statement)
    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        assert client.get("/search", query_string={"q": query}).status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len([s for s in seen if s.lstrip().upper().startswith("SELECT")])


def test_a_results_page_costs_the_same_queries_whatever_it_shows(app, client):
    with app.app_context():
        author = make_user()
        for n in range(12):
            thread = make_thread(author, title=f"Wombat study {n}", body=f"See arXiv:2301.{12345 + n}.")
            make_reply(thread, author, "A wombat reply.")
        make_thread(author, title="Lonely numbat", body="See arXiv:2301.00001.")
    client.get("/search", query_string={"q": "wombat"})  # warm (the session's user, caches)
    assert _statements(app, client, "wombat") == _statements(app, client, "numbat")


def test_a_checked_phrase_reads_only_what_the_page_needs_and_says_about(app, client):
    """A phrase checked on the stored text stops once the page's threads are found: the
    count is then an estimate, labelled "About"; the last page, all read, is exact."""
    with app.app_context():
        author = make_user()
        for n in range(20):
            make_thread(author, title=f"Match {n}", body="We saw alpha beta gamma here.")
        for n in range(10):
            make_thread(author, title=f"Near miss {n}", body="Alpha beta, then beta gamma.")
    first = _outcome(app, '"alpha beta gamma"')
    assert not first.total_exact and first.total >= PER_PAGE
    assert all(r.thread.title.startswith("Match") for r in first.results)
    assert "About " in client.get("/search", query_string={"q": '"alpha beta gamma"'}).get_data(as_text=True)
    last = _outcome(app, '"alpha beta gamma"', page=2)
    assert last.total_exact and last.total == 20 and not last.has_next
    assert len(first.results) + len(last.results) == 20


@pytest.mark.parametrize("query", ["attention", "self-attention", '"self attention"', "Self-Attention"])
def test_hyphenated_words_are_found_by_their_parts(app, query):
    with app.app_context():
        author = make_user()
        make_thread(author, title="Linear self-attention", body="Kernels instead of softmax.")
        make_thread(author, title="Self study", body="Attention please: unrelated.")
    titles = _titles(app, query)
    assert titles[0] == "Linear self-attention"
    assert ("Self study" in titles) == (query == "attention")
