"""The query language: parsing (pure) and what each construct finds in a real index."""
import re
from datetime import date

import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forum.extensions import db
from forum.search.query import parse
from forum.search.services import search
from forum.threads import services as threads
from forum.threads.models import Thread
from tests.factories import make_reply, make_thread, make_user


@pytest.mark.parametrize("text, terms, excluded, filters", [
    ("graph neural", ["graph", "neural"], [], []),
    ('"exact phrase" word', ['"exact phrase"', "word"], [], []),
    ("a -b", ["a"], ["b"], []),
    ("gnn OR transformer", ["gnn OR transformer"], [], []),
    ("optim*", ["optim*"], [], []),
    ("author:Ada tag:RL", [], [], [("author", "ada"), ("tag", "rl")]),
    ("stance:challenges in:replies", [], [], [("stance", "challenges"), ("in", "reply")]),
    ("after:2024-01-31", [], [], [("after", date(2024, 1, 31))]),
    ("paper:arXiv:2301.12345v2", [], [], [("paper", "2301.12345")]),
    ("paper:https://arxiv.org/abs/2301.12345", [], [], [("paper", "2301.12345")]),
    ("repo:https://github.com/Karpathy/nanoGPT", [], [], [("repo", "karpathy/nanogpt")]),
    ("(rl OR gp) qa", ["rl OR gp", "qa"], [], []),
])
def test_parse(text, terms, excluded, filters):
    parsed = parse(text)
    assert [str(t) for t in parsed.terms] == terms
    assert [str(t) for t in parsed.excluded] == excluded
    assert parsed.filters == filters
    assert parsed.notes == []


@pytest.mark.parametrize("text, note", [
    ('"unbalanced quote', "do not pair up"),
    ("(unbalanced paren", "do not pair up"),
    ("colour:red", "no colour: filter"),
    ("after:2024-13-45", "not a date"),
    ("before:yesterday", "not a date"),
    ("stance:angry", "not one of"),
    ("in:everything", "threads, replies or papers"),
    ("paper:notanid", "not an arXiv identifier"),
    ("word " * 400, "cut to its first"),
])
def test_parse_explains_what_it_could_not_use(text, note):
    assert any(note in n for n in parse(text).notes)


def _titles(app, text, **kwargs):
    with app.test_request_context():
        return [r.thread.title for r in search(text, **kwargs).results]


@pytest.fixture
def corpus(app):
    with app.app_context():
        ada, grace = make_user(username="ada"), make_user(username="grace")
        rl = threads.start_thread(db.session.get(type(ada), ada.id), "Offline RL benchmarks",
                                  "Is D4RL saturated? Training policies offline.", tags="rl")
        gp = make_thread(grace, title="GP kernels for QA", body="Gaussian process kernels.")
        make_reply(gp, ada, "Spectral mixture kernels are the right answer here.",
                   stance="challenges")
        make_thread(grace, title="Optimization tricks", body="Warmup and optimizer state.")
        return {"rl": rl.id}


def test_two_letter_terms_are_searchable(app, corpus):
    assert _titles(app, "RL") == ["Offline RL benchmarks"]
    assert _titles(app, "GP qa") == ["GP kernels for QA"]


def test_stemming_phrases_exclusion_or_prefix(app, corpus):
    assert _titles(app, "trained policy") == ["Offline RL benchmarks"]
    assert _titles(app, '"spectral mixture kernels"') == ["GP kernels for QA"]
    assert _titles(app, '"mixture spectral"') == []
    assert _titles(app, "spectral -mixture") == []
    assert _titles(app, "kernels -spectral") == ["GP kernels for QA"]  # the thread itself matches
    assert set(_titles(app, "warmup OR saturated")) == {"Optimization tricks", "Offline RL benchmarks"}
    assert _titles(app, "optimi*") == ["Optimization tricks"]


def test_filters(app, corpus):
    assert _titles(app, "author:ada kernels") == ["GP kernels for QA"]
    assert _titles(app, "tag:rl") == ["Offline RL benchmarks"]
    assert _titles(app, "stance:challenges") == ["GP kernels for QA"]
    assert _titles(app, "kernels in:threads") == ["GP kernels for QA"]
    assert _titles(app, "after:2000-01-01 warmup") == ["Optimization tricks"]
    assert _titles(app, "before:2000-01-01 warmup") == []


def test_tag_change_reaches_replies(app, corpus):
    with app.app_context():
        thread = db.session.get(Thread, corpus["rl"])
        make_reply(thread, make_user(), "Conservative Q-learning helps.")
        loaded = db.session.scalar(select(Thread).where(Thread.id == corpus["rl"])
                                   .options(selectinload(Thread.tags)))
        threads.edit_thread(loaded, "Offline RL benchmarks",
                            "Is D4RL saturated? Training policies offline.", tags="offline-rl")
    assert _titles(app, "tag:offline-rl conservative") == ["Offline RL benchmarks"]
    assert _titles(app, "tag:rl") == []


def test_did_you_mean_from_index_vocabulary(app, client, corpus):
    with app.test_request_context():
        outcome = search("gausian kernels")
    assert outcome.suggestion == "gaussian kernels"
    page = client.get("/search?q=gausian+kernels").get_data(as_text=True)
    assert "Did you mean" in page and "gaussian kernels" in page


def test_sorts_and_grouping(app, corpus):
    assert _titles(app, "kernels", sort="newest") == ["GP kernels for QA"]  # thread + reply: once
    assert set(_titles(app, "warmup OR kernels", sort="top")) == {"GP kernels for QA",
                                                                  "Optimization tricks"}


def test_results_mark_phrases_as_one_and_words_and_prefixes_alone(app, client, corpus):
    def marks(text):
        with app.test_request_context():
            return [re.findall(r"<mark>(.*?)</mark>", s.html)
                    for r in search(text).results for s in r.group.snippets]
    assert marks('"spectral mixture kernels" answer') == [["Spectral mixture kernels", "answer"]]
    assert marks("optimi* -saturated") == [["optimizer"]]  # the body, "Warmup and optimizer state."
    page = client.get('/search?q="spectral+mixture+kernels"').get_data(as_text=True)
    assert "<mark>Spectral mixture kernels</mark>" in page
