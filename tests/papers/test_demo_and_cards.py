"""The demo shows full cards offline; a thread shows a card per cited paper and repository,
lists show cited titles, and the thread page costs the same queries with 20 papers and 10
repositories as with none."""
import re

from sqlalchemy import func, insert, select

from forum.database import utcnow
from forum.extensions import db
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from forum.threads.models import Thread
from tests.factories import make_thread, make_user
from tests.querycount import count_queries


def test_seed_demo_ships_real_metadata_for_every_citation(app, runner, client):
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "8 papers and 2 repositories with recorded details" in result.output
    with app.app_context():
        assert db.session.scalar(select(func.count(Paper.id))) == 8
        assert db.session.scalar(select(func.count(Paper.id)).where(Paper.fetched_at.is_(None))) == 0
        assert db.session.scalar(select(func.count(Repository.id)).where(Repository.fetched_at.is_(None))) == 0
        thread = db.session.scalar(select(Thread).where(Thread.title.like("Is attention%")))
        url = f"/t/{thread.id}/{thread.slug}"
        forks = db.session.scalar(select(Thread).where(Thread.title.like("Citing code%")))
        forks_url = f"/t/{forks.id}/{forks.slug}"
    page = client.get(url).get_data(as_text=True)
    assert page.count('class="card paper-card"') == 5 and "Details pending" not in page
    assert "FlashAttention-4: Algorithm and Kernel Pipelining" in page
    assert "Tri Dao" in page or "et al." in page
    assert "Attention, as a core layer of the ubiquitous Transformer" in page  # abstract's start
    assert 'href="https://arxiv.org/abs/2603.05451"' in page and 'href="/papers/2603.05451"' in page
    forks_page = client.get(forks_url).get_data(as_text=True)
    assert forks_page.count('class="card repo-card"') == 2
    assert "Typed interactions with the GitHub API v3" in forks_page and "★ 7122" in forks_page
    assert 'href="/repos/PyGithub/PyGithub"' in forks_page and "(repo page)" in forks_page
    assert 'href="https://github.com/PyGithub/PyGithub"' in forks_page
    front = client.get("/?tab=new").get_data(as_text=True)
    assert "Cites <a" in front and "FlashAttention-4" in front


def _thread_citing(n_papers: int, n_repos: int, author) -> str:
    thread = make_thread(author, title=f"Cites {n_papers} and {n_repos}", body="Body")
    now = utcnow()
    if n_papers:
        ids = db.session.execute(insert(Paper).returning(Paper.id), [
            {"arxiv_id": f"2301.{n_papers * 100 + k:05d}", "title": f"Paper {k}", "authors": ["A B"],
             "categories": [], "versions": [], "withdrawn": False, "not_found": False, "failures": 0,
             "abstract": "Abstract text.", "fetched_at": now, "created_at": now}
            for k in range(n_papers)]).scalars().all()
        db.session.execute(insert(PaperMention), [
            {"paper_id": pid, "thread_id": thread.id, "source_key": f"thread:{thread.id}",
             "versions": [], "created_at": now} for pid in ids])
    if n_repos:
        ids = db.session.execute(insert(Repository).returning(Repository.id), [
            {"full_name": f"o{k}/r{thread.id}", "full_name_lower": f"o{k}/r{thread.id}", "topics": [],
             "not_found": False, "stars": k, "fetched_at": now, "created_at": now}
            for k in range(n_repos)]).scalars().all()
        db.session.execute(insert(RepoMention), [
            {"repository_id": rid, "thread_id": thread.id, "source_key": f"thread:{thread.id}",
             "created_at": now} for rid in ids])
    db.session.commit()
    return f"/t/{thread.id}/{thread.slug}"


def test_thread_page_costs_the_same_queries_with_20_papers_and_10_repositories(app, client):
    with app.app_context():
        author = make_user()
        none = _thread_citing(0, 0, author)
        many = _thread_citing(20, 10, author)
    without, _ = count_queries(app, client, none)
    with_cards, page = count_queries(app, client, many)
    assert with_cards == without
    assert page.count('class="card paper-card"') == 20 and page.count('class="card repo-card"') == 10
    assert 'href="#cited-papers">20 papers</a>' in page and 'href="#cited-repos">10 repositories</a>' in page


def test_front_page_with_cited_titles_costs_the_same_queries(app, client):
    with app.app_context():
        author = make_user()
        _thread_citing(0, 0, author)
    few, _ = count_queries(app, client, "/?tab=new")
    with app.app_context():
        author = db.session.get(type(author), author.id)
        for n in range(1, 6):
            _thread_citing(n, 1, author)
    more, page = count_queries(app, client, "/?tab=new")
    assert few == more
    assert len(re.findall(r'class="cited-titles"', page)) == 5
