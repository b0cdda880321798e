"""One contract, every engine: the same searches give the same answers on Whoosh over SQLite,
Whoosh over PostgreSQL and the PostgreSQL full-text engine.

Every test runs three times (the ``app`` fixture below replaces conftest's for this
module). A behaviour that differs between the engines fails here, for the engine that
differs. The data go in through the real services; searches go through
``services.search`` (the one front door) or the page itself.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import select, update

from forum import create_app
from forum.extensions import db
from forum.http import ReplayClient
from forum.moderation import services as moderation
from forum.papers.arxiv import ArxivClient
from forum.papers.models import Paper
from forum.papers.refresh import refresh_papers
from forum.search.backend import get_backend
from forum.search.services import search
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from tests.conftest import _base_config, _empty_tables, _migrated, copy_empty_search_index, fresh_sqlite_url
from tests.factories import make_reply, make_thread, make_user

ENGINES = {  # test id: (SEARCH_BACKEND, database)
    "whoosh-sqlite": ("whoosh", "sqlite"),
    "whoosh-postgres": ("whoosh", "postgresql"),
    "postgres": ("postgres", "postgresql"),
}
ATOM = Path(__file__).resolve().parent.parent / "fixtures/arxiv/api_2016_search_au_del_maestro.xml"
LUTTINGER = "1201.4869"  # a paper of that recorded arXiv answer


@pytest.fixture(params=list(ENGINES))
def app(request, tmp_path):
    engine, database = ENGINES[request.param]
    if database == "sqlite":
        url = fresh_sqlite_url(request)
    else:
        url = request.getfixturevalue("postgres_database")
    app = create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": url,
                      "SEARCH_BACKEND": engine})
    copy_empty_search_index(request, app)
    if database == "postgresql":
        with app.app_context():
            if url not in _migrated:
                upgrade()
                _migrated.add(url)
            _empty_tables()
    yield app
    with app.app_context():
        get_backend(app).close()
        db.session.remove()
        db.engine.dispose()


def outcome(app, text, **kwargs):
    with app.test_request_context():
        return search(text, **kwargs)


def titles(app, text, **kwargs) -> list[str]:
    return [r.thread.title for r in outcome(app, text, **kwargs).results]


# ---------------------------------------------------------------------------
# Every documented query form (templates/search/help.html)

ZEBRAFISH = "Zebrafish gradient noise"
EXPERTS = "Mixture of experts routing"
QUOKKA = "Quokka optimizers compared"

FORMS = [
    ("gradient noise", {ZEBRAFISH}),  # both words
    ("zebrafish", {ZEBRAFISH}),
    ("generalizing", {ZEBRAFISH, QUOKKA}),  # any form of the word
    ("RL", {QUOKKA}),  # two-letter terms
    ('"mixture of experts"', {ZEBRAFISH, EXPERTS}),  # a phrase (the reply R2 has it)
    ('"experts mixture"', set()),  # ...in that order only
    ("adam -quokka", {QUOKKA}),  # the reply without quokka; the opening post is left out
    ("quokka -sgd", set()),
    ('routing -"mixture of experts"', {EXPERTS}),  # found by its reply about routing collapse
    ("zebrafish OR quokka", {ZEBRAFISH, QUOKKA}),
    ("quokk*", {QUOKKA}),
    ("generaliz*", {ZEBRAFISH, QUOKKA}),
    ("author:bob", {ZEBRAFISH, EXPERTS, QUOKKA}),
    ("author:ada routing", {EXPERTS}),
    ("tag:llm", {EXPERTS}),
    ("tag:biology gradient", {ZEBRAFISH}),
    (f"paper:{LUTTINGER}", {ZEBRAFISH}),
    (f"paper:arXiv:{LUTTINGER}v2", {ZEBRAFISH}),
    ("repo:openai/gym", {ZEBRAFISH}),
    ("repo:https://github.com/openai/gym", {ZEBRAFISH}),
    ("stance:challenges", {ZEBRAFISH}),
    ("in:threads routing", {EXPERTS}),
    ("in:replies routing", {ZEBRAFISH, EXPERTS}),
    ("after:2000-01-01 zebrafish", {ZEBRAFISH}),
    ("before:2000-01-01 zebrafish", set()),
]


def tagged_thread(author, title, body, tag):
    thread = threads.start_thread(db.session.get(type(author), author.id), title, body, tags=[tag])
    db.session.refresh(thread)
    db.session.expunge(thread)
    return thread


@pytest.fixture
def forum(app):
    with app.app_context():
        ada, bob = make_user(username="ada"), make_user(username="bob")
        carol = make_user(username="carol")
        t1 = tagged_thread(ada, ZEBRAFISH, f"Does gradient noise help **zebrafish** models "
                                         f"generalize? See arXiv:{LUTTINGER} and "
                                         f"https://github.com/openai/gym for the code.",
                           "biology")
        make_reply(t1, bob, "Gradient noise is overrated; momentum matters more.",
                   stance="challenges")
        make_reply(t1, carol, "We measured mixture of experts routing with noisy gradients.",
                   stance="evidence")
        t2 = tagged_thread(bob, EXPERTS, "Sparse mixture of experts with self-attention layers.",
                           "llm")
        make_reply(t2, ada, "Routing collapse happens with expert imbalance.")
        t3 = tagged_thread(carol, QUOKKA, "Adam versus SGD for quokka training of RL agents, "
                                          "generalizing across tasks.", "optimization")
        make_reply(t3, bob, "The generalization gap of Adam is real.")
    return app


def test_every_documented_query_form(forum, subtests):
    """One forum per engine, every form asked of it (each form a subtest of its own: the
    searches only read, so building the forum again for each would test nothing more)."""
    for query, expected in FORMS:
        with subtests.test(query=query):
            found = outcome(forum, query)
            assert {r.thread.title for r in found.results} == expected
            assert found.total == len(expected)


def test_title_matches_weigh_more_than_body_matches(app):
    with app.app_context():
        author = make_user()
        make_thread(author, "Field notes", "We saw a capybara once, by the river bank.")
        make_thread(author, "Capybara habitats", "Field notes from the river bank.")
    assert titles(app, "capybara") == ["Capybara habitats", "Field notes"]


def test_words_joined_by_dots_slashes_and_at_signs_are_each_found(app):
    """PostgreSQL's parser reads "torch.linalg.lstsq", "mint/cifar", a URL's host or
    an e-mail address as one token each; every engine finds each word in them, as Whoosh's
    ``\\w+`` does."""
    with app.app_context():
        author = make_user()
        make_thread(author, "Least squares", "We call torch.linalg.lstsq on mint/cifar splits.")
        make_thread(author, "A workshop", "See https://openaccess.thecvf.com/content and "
                                          "mail ada@lab.example.org today.")
    for word in ("linalg", "lstsq", "mint", "cifar", "torch.linalg"):
        assert titles(app, word) == ["Least squares"], word
    for word in ("openaccess", "thecvf", "lab"):
        assert titles(app, word) == ["A workshop"], word
    assert titles(app, '"linalg lstsq"') == ["Least squares"]
    assert outcome(app, "./:@&;~=?#+").results == []  # nothing left to search: no error
    assert titles(app, '"./." linalg*') == ["Least squares"]
    assert titles(app, "lstsq.torch") == []  # a word of several parts: its parts in a row
    assert titles(app, "torch." * 300) == []
    # The snippet marks the word found, and shows the text as written, dots and slashes kept.
    for word, marked in (("linalg", "torch.<mark>linalg</mark>.lstsq"),
                         ("cifar", "mint/<mark>cifar</mark> splits")):
        assert marked in outcome(app, word).results[0].group.snippets[0].html, word


def test_an_accent_typed_either_way_finds_the_same_word(app):
    """"ö" is one character (U+00F6) or two ("o" and U+0308, the combining diaeresis), as
    text pasted from a PDF or typed on a Mac often has it; readers see the same word, and
    every engine finds it either way, in the title and the body."""
    composed, decomposed = "Sch\u00f6lkopf", "Scho\u0308lkopf"
    with app.app_context():
        author = make_user()
        make_thread(author, f"Kernels after {decomposed}", "Typed with a combining accent.")
        make_thread(author, "Causal inference", f"As {composed} and Jan\u00e7ing argued.")
    for query in (composed, decomposed, f"{composed}*"[:-3] + "*"):
        assert set(titles(app, query)) == {"Kernels after " + decomposed, "Causal inference"}, query
    assert titles(app, f'"kernels after {composed}"') == ["Kernels after " + decomposed]
    assert titles(app, "Jan\u0303cing") == []  # another accent is another word
    assert titles(app, "Janc\u0327ing") == ["Causal inference"]


# ---------------------------------------------------------------------------
# Grouping per thread, exact counts, pagination, sorting


def test_a_thread_with_many_matching_replies_counts_once_and_hides_nothing(app):
    with app.app_context():
        author = make_user()
        big = make_thread(author, "The big debate", "Opening words.")
        for n in range(25):
            make_reply(big, author, f"Wombat argument number {n}.")
        for n in range(12):
            small = make_thread(author, f"Small thread {n}", "Opening words.")
            make_reply(small, author, "One wombat here.")
    first, second = outcome(app, "wombat"), outcome(app, "wombat", page=2)
    assert first.total == second.total == 13
    assert len(first.results) == 10 and first.has_next
    assert len(second.results) == 3 and not second.has_next
    listed = [r.thread.title for r in first.results + second.results]
    assert len(set(listed)) == 13 and "The big debate" in listed
    big_group = next(r.group for r in first.results + second.results
                     if r.thread.title == "The big debate")
    assert big_group.matches == 25 and len(big_group.snippets) <= 2
    assert outcome(app, "wombat", page=3).results == []


def test_sorting_newest_and_top(app):
    with app.app_context():
        author = make_user()
        made = [make_thread(author, f"Ocelot {name}", "About the ocelot.")
                for name in ("first", "second", "third")]
        db.session.execute(update(Thread).where(Thread.id == made[0].id).values(score=50))
        db.session.execute(update(Thread).where(Thread.id == made[2].id).values(score=5))
        db.session.commit()
    assert titles(app, "ocelot", sort="newest") == ["Ocelot third", "Ocelot second", "Ocelot first"]
    assert titles(app, "ocelot", sort="top") == ["Ocelot first", "Ocelot third", "Ocelot second"]


# ---------------------------------------------------------------------------
# Snippets


def test_snippets_are_plain_text_with_the_matches_marked(app):
    with app.app_context():
        author = make_user()
        make_thread(author, "Markup", "A **bold ocelot** claim with $e^{i\\pi}$ and [a link](https://example.org).")
        make_thread(author, "Phrases", "They trained a sparse mixture of experts model.")
    html = outcome(app, "ocelot").results[0].group.snippets[0].html
    assert "<mark>ocelot</mark>" in html
    assert "**" not in html and "$" not in html and "](" not in html
    phrase = outcome(app, '"mixture of experts"').results[0].group.snippets[0].html
    assert "<mark>mixture of experts</mark>" in phrase


# ---------------------------------------------------------------------------
# What is never found, and freshness after every kind of change


def test_held_hidden_and_deleted_posts_are_never_found_and_changes_show_at_once(app):
    with app.app_context():
        member, moderator = make_user(), make_user(role="moderator")
        newcomer = make_user(new_member=True)
        thread = make_thread(member, "Narwhal sightings", "Opening about whales.")
        shown = make_reply(thread, member, "A narwhal tusk is a tooth.")
        held = make_reply(thread, newcomer, "Held narwhal claim with a beluga.")
        gone = make_thread(member, "Doomed thread", "Nothing here.")
        make_reply(gone, member, "A doomed beluga remark.")
    assert titles(app, "narwhal") == ["Narwhal sightings"]
    assert outcome(app, "beluga").total == 1  # the held reply is not found, the doomed one is
    with app.app_context():
        threads.delete_thread(db.session.get(Thread, gone.id))
    assert outcome(app, "beluga").results == []
    with app.app_context():
        moderation.approve_post(db.session.get(type(moderator), moderator.id),
                                db.session.get(Post, held.id))
    assert titles(app, "beluga") == ["Narwhal sightings"]
    with app.app_context():
        moderation.set_hidden(db.session.get(type(moderator), moderator.id),
                              db.session.get(Post, shown.id), True)
    assert outcome(app, "tusk").results == []
    with app.app_context():
        moderation.set_hidden(db.session.get(type(moderator), moderator.id),
                              db.session.get(Post, shown.id), False)
        threads.edit_post(db.session.get(Post, shown.id), "A narwhal horn is a tooth.")
    assert outcome(app, "tusk").results == [] and titles(app, "horn") == ["Narwhal sightings"]
    with app.app_context():
        threads.delete_post(db.session.get(Post, shown.id))
    assert outcome(app, "horn").results == []


def test_a_reply_through_the_page_is_found_at_once(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Kernel methods revisited")
    login(author)
    client.post(f"/t/{thread.id}/reply", data={"body": "Gaussian processes with a zebraic kernel"})
    page = client.get("/search?q=zebraic").get_data(as_text=True)
    assert "Kernel methods revisited" in page and ">zebraic</mark>" in page


# ---------------------------------------------------------------------------
# Papers and did-you-mean


def test_papers_are_searched_and_listed(app):
    with app.app_context():
        make_thread(make_user(), "Helium in pores", f"Compare arXiv:{LUTTINGER}.")
        ids = list(db.session.scalars(select(Paper.arxiv_id)))
        replay = ReplayClient()
        arxiv = ArxivClient(replay, min_interval=0)
        replay.add(arxiv.batch_url(ids), 200, {"content-type": "application/atom+xml"},
                   ATOM.read_bytes())
        assert refresh_papers(arxiv, ids).fetched == 1
    listed = outcome(app, "luttinger in:papers")
    assert [r.paper.paper.arxiv_id for r in listed.results] == [LUTTINGER]
    assert listed.total == 1 and ">Luttinger</mark>" in listed.results[0].paper.snippet.html
    boxed = outcome(app, "luttinger liquid")
    assert [p.paper.arxiv_id for p in boxed.papers] == [LUTTINGER]
    assert outcome(app, f"paper:{LUTTINGER}").results[0].thread.title == "Helium in pores"


def test_did_you_mean_offers_a_real_different_word(app):
    with app.app_context():
        make_thread(make_user(), "Zebrafish larvae", "Zebrafish swim in gradients.")
    assert outcome(app, "zebrafsh").suggestion == "zebrafish"
    assert outcome(app, "RL").suggestion is None  # short words are never "corrected"
    assert outcome(app, "zebrafish").suggestion is None


# ---------------------------------------------------------------------------
# Bad input: a page with a note or a 400, never a 500

BAD_QUERIES = ['"unbalanced', "((broken", "x" * 2000, "a\x00b", "before:0001-01-01",
               "after:9999-12-31", "after:2024-13-45", "before:-1", "*", "-", "OR", "author:",
               "in:nowhere", "paper:notanid", "repo:/", "a* b*", '""', "-zebrafish",
               "zebra* " * 40, '"' + "word " * 300 + '"',
               "\u0308" * 500, "zebrafi\u0308sh*", '"\u0301 \u0301"']  # combining marks alone
BAD_PAGES = ["0", "-1", "abc", "99999999999999999999", "1e3", "\x00"]


def test_bad_input_never_fails(app, client):
    with app.app_context():
        make_thread(make_user(), "Zebrafish larvae", "Zebrafish swim.")
    for query in BAD_QUERIES:
        response = client.get("/search", query_string={"q": query})
        assert response.status_code in (200, 400), query[:40]
    for page in BAD_PAGES:
        response = client.get("/search", query_string={"q": "zebrafish", "page": page})
        assert response.status_code in (200, 400), page
    response = client.get("/search", query_string={"q": "zebrafish", "sort": "sideways"})
    assert response.status_code == 200 and "Zebrafish larvae" in response.get_data(as_text=True)
