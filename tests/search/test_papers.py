"""Papers in the index: indexed when their metadata arrives, a box above the debates,
``in:papers``, and the scoped search boxes on paper, repository and tag pages."""
import pytest
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from sqlalchemy import select

from forum.extensions import db
from forum.http import ReplayClient
from forum.papers.arxiv import ArxivClient
from forum.papers.models import Paper
from forum.papers.refresh import refresh_papers
from forum.search import outbox
from forum.search.backend import get_backend
from forum.search.models import SearchOutbox
from forum.search.services import search
from tests.factories import make_reply, make_thread, make_user

ATOM = Path(__file__).resolve().parent.parent / "fixtures/arxiv/api_2016_search_au_del_maestro.xml"
LUTTINGER = "1201.4869"  # "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores"
MELTING = "cond-mat/0412498"  # "Thermal melting of density waves on the square lattice"


def cite_and_refresh(app, body=f"Compare arXiv:{LUTTINGER} with {MELTING}.", title="Helium in pores"):
    """A thread citing the papers, then `papers refresh` against the recorded arXiv answer."""
    with app.app_context():
        thread = make_thread(make_user(), title=title, body=body)
        ids = list(db.session.scalars(select(Paper.arxiv_id).order_by(Paper.id)))
        replay = ReplayClient()
        client = ArxivClient(replay, min_interval=0)
        replay.add(client.batch_url(ids), 200, {"content-type": "application/atom+xml"},
                   ATOM.read_bytes())
        summary = refresh_papers(client, ids)
        assert summary.fetched == len(ids), summary
        return thread


def outcome(app, text, **kwargs):
    with app.test_request_context():
        return search(text, **kwargs)


@pytest.mark.index_at_commit
def test_pending_papers_are_not_indexed_and_refresh_indexes_them(app):
    with app.app_context():
        make_thread(make_user(), title="Pores", body=f"See arXiv:{LUTTINGER}.")
    assert outcome(app, "luttinger in:papers").results == []
    cite_and_refresh(app)
    with app.app_context():
        assert db.session.scalar(select(SearchOutbox.id)) is None  # drained after the commit
    found = outcome(app, "luttinger in:papers")
    assert [r.paper.paper.arxiv_id for r in found.results] == [LUTTINGER]
    assert found.results[0].paper.citing_threads == 2  # the first thread and cite_and_refresh's
    assert ">Luttinger</mark>" in found.results[0].paper.snippet.html
    # authors' names, categories and the arXiv id are searchable words too
    by_author = outcome(app, "sachdev in:papers")
    assert [r.paper.paper.arxiv_id for r in by_author.results] == [MELTING]
    by_category = outcome(app, "cond-mat.str-el in:papers")
    assert [r.paper.paper.arxiv_id for r in by_category.results] == [MELTING]


def test_refresh_writes_an_outbox_row_in_its_commit(app):
    with app.app_context():
        get_backend().index.create_empty()
    app.config["SEARCH_INDEXER"] = "off"  # keep the rows to look at them
    cite_and_refresh(app)
    with app.app_context():
        ids = db.session.scalars(select(Paper.id).order_by(Paper.id)).all()
        keys = set(db.session.scalars(select(SearchOutbox.key)))
        assert {f"paper:{i}" for i in ids} <= keys
    assert outcome(app, "luttinger in:papers").results == []  # not applied yet
    with app.app_context():
        outbox.drain()
    assert len(outcome(app, "luttinger in:papers").results) == 1


def test_plain_search_lists_debates_with_a_papers_box_above(app, client):
    cite_and_refresh(app, body=f"Does the Luttinger liquid survive? arXiv:{LUTTINGER}",
                     title="Luttinger liquids in nanopores")
    found = outcome(app, "luttinger")
    assert found.results and all(r.thread is not None for r in found.results)
    assert [p.paper.arxiv_id for p in found.papers] == [LUTTINGER]
    page = client.get("/search?q=luttinger").get_data(as_text=True)
    box, debates = page.index('id="papers-box-heading"'), page.index("Luttinger liquids in nanopores")
    assert box < debates
    assert f'href="/papers/{LUTTINGER}"' in page and "cited in 1 thread" in page
    # the box only on a plain first page by relevance
    assert outcome(app, "luttinger in:threads").papers == []
    assert outcome(app, "luttinger", sort="newest").papers == []
    assert outcome(app, "luttinger", page=2).papers == []


def test_in_papers_page_and_paper_filter(app, client):
    thread = cite_and_refresh(app)
    page = client.get("/search?q=helium+in%3Apapers").get_data(as_text=True)
    assert "A Luttinger Liquid Core Inside Helium-4 Filled Nanopores" in page
    assert f'href="/papers/{LUTTINGER}"' in page and "Del Maestro" in page
    assert "Helium in pores" not in page  # the thread is left out with in:papers
    cited = outcome(app, f"paper:arXiv:{LUTTINGER}v2")
    assert [r.thread.id for r in cited.results] == [thread.id]
    assert [p.paper.arxiv_id for p in cited.papers] == [LUTTINGER]
    empty = client.get("/search?q=zeppelin+in%3Apapers").get_data(as_text=True)
    assert "No papers match" in empty


def test_reindex_includes_papers(app, runner):
    cite_and_refresh(app)
    with app.app_context():
        make_reply(make_thread(make_user(), title="Other"), make_user(), "Unrelated reply.")
    result = runner.invoke(args=["search", "reindex", "--procs", "1"])
    assert result.exit_code == 0, result.output
    assert "Indexed 5 documents" in result.output  # 2 threads, 1 reply, 2 papers
    assert len(outcome(app, "square lattice in:papers").results) == 1


def test_deleting_the_citing_thread_keeps_the_paper_with_no_citations(app, client, login):
    thread = cite_and_refresh(app)
    with app.app_context():
        from forum.threads import services as threads
        from forum.threads.models import Thread
        threads.delete_thread(db.session.get(Thread, thread.id))
    found = outcome(app, "luttinger in:papers")
    assert [r.paper.citing_threads for r in found.results] == [0]


def test_paper_repo_and_tag_pages_link_to_scoped_search(app, client):
    with app.app_context():
        author = make_user()
        from forum.threads import services as threads
        threads.start_thread(db.session.merge(author), "Attention again",
                             "arXiv:1706.03762 and https://github.com/pallets/flask", "nlp")
    paper = client.get("/papers/1706.03762").get_data(as_text=True)
    assert 'href="/search?q=paper:1706.03762"' in paper
    assert 'name="within" value="paper:1706.03762"' in paper
    repo = client.get("/repos/pallets/flask").get_data(as_text=True)
    assert 'name="within" value="repo:pallets/flask"' in repo
    tag = client.get("/tags/nlp").get_data(as_text=True)
    assert 'name="within" value="tag:nlp"' in tag and 'href="/search?q=tag:nlp"' in tag
    response = client.get("/search?within=paper:1706.03762&q=attention&sort=top")
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {
        "q": ["paper:1706.03762 attention"], "sort": ["top"]}
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Attention again" in page


def test_scoped_search_with_bad_input_is_a_clear_page(app, client):
    response = client.get("/search?within=in:nonsense&q=&sort=bogus")
    assert parse_qs(urlsplit(response.headers["Location"]).query) == {"q": ["in:nonsense"]}
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert "should be threads, replies or papers" in page.get_data(as_text=True)
    empty = client.get("/search?within=")
    assert empty.status_code in (301, 302, 303, 307, 308)
    assert client.get(empty.headers["Location"]).status_code == 200
