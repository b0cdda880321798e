"""Rendered posts link arXiv ids to our paper pages; titles appear once `flask papers refresh` knows them."""
import re
from pathlib import Path

from sqlalchemy import select

from forum.extensions import db
from forum.http import ReplayClient
from forum.papers.arxiv import ArxivClient
from forum.papers.models import Paper
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def replay_arxiv(app, ids):
    replay = ReplayClient()
    replay.add(ArxivClient(replay).batch_url(ids), 200, {"content-type": "application/atom+xml"},
               (FIXTURES / "arxiv/api_2016_search_au_del_maestro.xml").read_bytes())
    app.config["HTTP_CLIENT"] = replay


def paper_links(page: str) -> list[str]:
    """Links to our paper pages inside posts: bare ids, and the small link beside an arXiv link."""
    return re.findall(r'<a href="(/papers/[^"]+)" class="paper-(?:link|page)"', page)


def test_citations_link_to_paper_pages_and_show_titles_once_fetched(app, runner, client):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Cites two papers", body="Start from arXiv:1201.4869.")
        make_reply(thread, author, body="Also https://arxiv.org/abs/cond-mat/0412498v2 and `1201.4869`.")
        ids = db.session.scalars(select(Paper.arxiv_id).order_by(Paper.id)).all()
        url = f"/t/{thread.id}/cites-two-papers"
    assert ids == ["1201.4869", "cond-mat/0412498"]

    page = client.get(url).get_data(as_text=True)
    assert paper_links(page) == ["/papers/1201.4869", "/papers/cond-mat/0412498"]
    assert 'title="arXiv:1201.4869"' in page and "paper-title" not in page
    # an arXiv link keeps pointing to arXiv, with a small link to our page beside it
    assert re.search(r'<a href="https://arxiv.org/abs/cond-mat/0412498v2"[^>]*>[^<]*</a> '
                     r'<a href="/papers/cond-mat/0412498" class="paper-page"', page)
    assert "<code>1201.4869</code>" in page  # code is left alone

    replay_arxiv(app, ids)
    result = runner.invoke(args=["papers", "refresh"])
    assert result.exit_code == 0, result.output
    with app.app_context():
        titles = dict(db.session.execute(select(Paper.arxiv_id, Paper.title)).all())
        assert all(titles.values())
        stored = [db.session.get(Thread, thread.id).body_html] + list(
            db.session.scalars(select(Post.body_html).where(Post.thread_id == thread.id)))
    page = client.get(url).get_data(as_text=True)
    assert paper_links(page) == ["/papers/1201.4869", "/papers/cond-mat/0412498"]
    assert page.count('class="paper-title"') == 1  # the bare id; the arXiv link has its own text
    first_word = titles["1201.4869"].split()[0]
    assert f'<a href="/papers/1201.4869" class="paper-link" title="{first_word}' in page
    other = titles["cond-mat/0412498"].split()[0]
    assert f'<a href="/papers/cond-mat/0412498" class="paper-page" title="{other}' in page
    assert all('title="arXiv:' not in html for html in stored)  # rendered again with titles


def test_a_new_post_citing_a_known_paper_shows_its_title_at_once(app, runner, client):
    with app.app_context():
        author = make_user()
        make_thread(author, title="First", body="arXiv:1201.4869 and cond-mat/0412498")
        ids = db.session.scalars(select(Paper.arxiv_id).order_by(Paper.id)).all()
    replay_arxiv(app, ids)
    assert runner.invoke(args=["papers", "refresh"]).exit_code == 0
    with app.app_context():
        title = db.session.scalar(select(Paper.title).where(Paper.arxiv_id == "1201.4869"))
        later = make_thread(make_user(), title="Later", body="As 1201.4869 shows")
        url = f"/t/{later.id}/later"
    page = client.get(url).get_data(as_text=True)
    assert paper_links(page) == ["/papers/1201.4869"]
    assert '<span class="paper-title">(' in page and title.split()[0] in page


def test_refresh_renders_again_only_the_citing_text(app, runner):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Mixed", body="No citations here.")
        reply = make_reply(thread, author, body="arXiv:1201.4869 and cond-mat/0412498")
        ids = db.session.scalars(select(Paper.arxiv_id).order_by(Paper.id)).all()
        before = db.session.get(Thread, thread.id).body_html
    replay_arxiv(app, ids)
    assert runner.invoke(args=["papers", "refresh"]).exit_code == 0
    with app.app_context():
        assert db.session.get(Thread, thread.id).body_html == before
        assert "paper-title" in db.session.get(Post, reply.id).body_html
