"""Public means public: held, hidden and deleted posts, and posts in deleted threads, never
show on a paper page, a repository page, the papers index, a thread's cards or a list.

Each test builds the same world: a public thread citing a paper and a repository, and four
non-public sources citing *other* ones (so leaking any of them is visible by name)."""
import pytest

from forum.extensions import db
from forum.moderation import services as moderation
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user

PUBLIC = ("Public debate", "arXiv:1706.03762 with https://github.com/pallets/flask")
# (what makes it non-public, the paper and repository only it cites)
HIDDEN_SOURCES = {
    "held": ("2312.00752", "spammer/held-repo"),
    "hidden": ("2005.14165", "spammer/hidden-repo"),
    "deleted": ("2001.08361", "spammer/deleted-repo"),
    "deleted-thread": ("2203.15556", "spammer/thread-gone"),
}


def _cites(kind: str) -> str:
    paper, repo = HIDDEN_SOURCES[kind]
    return f"{kind} cites 1706.03762 and {paper}, https://github.com/pallets/flask and https://github.com/{repo}"


@pytest.fixture
def world(app):
    with app.app_context():
        author = make_user()
        moderator = make_user(role="moderator")
        thread = make_thread(author, title=PUBLIC[0], body=PUBLIC[1])
        make_reply(thread, make_user(new_member=True), _cites("held"))
        hidden = make_reply(thread, author, _cites("hidden"))
        moderation.set_hidden(db.session.get(type(moderator), moderator.id),
                              db.session.get(Post, hidden.id), True, "spam")
        deleted = make_reply(thread, author, "placeholder")
        threads.edit_post(db.session.get(Post, deleted.id), _cites("deleted"))
        threads.delete_post(db.session.get(Post, deleted.id))
        # A row left behind by a bulk soft delete (an UPDATE the listener never sees): the
        # queries must still leave it out, not rely on the listener having removed it.
        _leave_rows_behind(deleted, thread)
        gone = make_thread(author, title="Thread later deleted", body="Nothing cited in the body")
        make_reply(gone, author, _cites("deleted-thread"))
        threads.delete_thread(db.session.get(Thread, gone.id))
        return {"thread": f"/t/{thread.id}/public-debate"}


def _leave_rows_behind(post, thread):
    from sqlalchemy import insert, select

    from forum.database import utcnow
    from forum.papers.models import Paper, PaperMention, RepoMention, Repository
    paper_id = db.session.scalar(select(Paper.id).where(Paper.arxiv_id == "2001.08361"))
    repo_id = db.session.scalar(select(Repository.id).where(
        Repository.full_name_lower == "spammer/deleted-repo"))
    source = {"thread_id": thread.id, "post_id": post.id, "source_key": f"post:{post.id}",
              "created_at": utcnow()}
    db.session.execute(insert(PaperMention), [{**source, "paper_id": paper_id, "versions": []}])
    db.session.execute(insert(RepoMention), [{**source, "repository_id": repo_id}])
    db.session.commit()


def _assert_nothing_hidden_shows(page: str):
    for kind, (paper, repo) in HIDDEN_SOURCES.items():
        assert paper not in page, kind
        assert repo not in page, kind
        assert f"{kind} cites" not in page, kind
    assert "Thread later deleted" not in page


def test_paper_page_lists_only_public_citations_and_repositories(world, client):
    page = client.get("/papers/1706.03762").get_data(as_text=True)
    assert "Public debate" in page and "pallets/flask" in page
    _assert_nothing_hidden_shows(page)
    assert page.count("Reply by") == 0  # only the thread body cites it publicly


def test_a_paper_cited_only_by_hidden_posts_shows_no_debate(world, client, subtests):
    for kind, (paper, _) in HIDDEN_SOURCES.items():  # one world, each kind of hidden source
        with subtests.test(kind=kind):
            page = client.get(f"/papers/{paper}").get_data(as_text=True)
            assert "No debates cite this yet." in page
            assert "Public debate" not in page and "pallets/flask" not in page


def test_repository_page_lists_only_public_citations_and_papers(world, client):
    page = client.get("/repos/pallets/flask").get_data(as_text=True)
    assert "Public debate" in page and "1706.03762" in page
    _assert_nothing_hidden_shows(page)


def test_a_repository_cited_only_by_hidden_posts_shows_no_debate(world, client, subtests):
    for kind, (_, repository) in HIDDEN_SOURCES.items():
        with subtests.test(kind=kind):
            page = client.get(f"/repos/{repository}").get_data(as_text=True)
            assert "No debates cite this yet." in page and "1706.03762" not in page


def test_papers_index_counts_only_public_citations(world, client):
    page = client.get("/papers").get_data(as_text=True)
    assert "1 citation" in page and "2 citations" not in page
    _assert_nothing_hidden_shows(page)


def test_thread_page_cards_and_counts_show_only_public_citations(world, client):
    page = client.get(world["thread"]).get_data(as_text=True)
    assert 'href="#cited-papers">1 paper</a>' in page and 'href="#cited-repos">1 repository</a>' in page
    assert 'class="card paper-card"' in page and 'class="card repo-card"' in page
    cards = page[page.index('class="citation-cards"'):page.index('class="replies"')]
    _assert_nothing_hidden_shows(cards)


def test_front_page_lists_only_publicly_cited_titles(world, client):
    page = client.get("/?tab=new").get_data(as_text=True)
    assert 'class="cited-titles"' in page and "arXiv:1706.03762" in page
    _assert_nothing_hidden_shows(page)


def test_the_weekly_digest_lists_only_publicly_cited_papers(world, app):
    from datetime import timedelta

    from forum.database import utcnow
    from forum.digest.selection import select_week

    with app.app_context():
        now = utcnow()
        sections = select_week(now - timedelta(days=1), now + timedelta(days=1))
    cited = {p["arxiv_id"] for item in sections["top"] + sections["new"] for p in item["papers"]}
    assert cited == {"1706.03762"}
    assert {p["arxiv_id"] for p in sections["papers"]} <= {"1706.03762"}


@pytest.mark.parametrize("narrowed_by", ["thread_id", "paper_id"])
def test_public_citations_start_from_the_rows_asked_for(app, narrowed_by):
    """The public test looks each source up by its primary key; it never walks the threads.

    With ``threads`` joined, SQLite's planner (which keeps no statistics) started from every
    live thread, as ``deleted_at IS NULL`` looked selective to it, so a member's front page
    read the whole forum for its cited titles. The plan, not a timing, is what this
    checks: a listing's cited titles (narrowed by thread ids) and a paper's page."""
    from sqlalchemy import select

    from forum.database import id_values, ids_arity
    from forum.papers.models import PaperMention
    from forum.papers.queries import _cited_titles, _public
    from tests.querycount import query_plan
    if narrowed_by == "paper_id":
        statement = _public(select(PaperMention), PaperMention).where(PaperMention.paper_id == 1)
    else:
        ids = list(range(1, ids_arity(25) + 1))  # a full list: literal NULLs would warn
        statement = _cited_titles(ids_arity(25)).params(**id_values(ids))
    index = f"ix_paper_mentions_{narrowed_by}"
    with app.app_context():
        plan = query_plan(statement)
        dialect = db.engine.dialect.name
    assert index in plan, plan
    if dialect == "sqlite":  # PostgreSQL plans by its statistics: on empty tables any order is cheap
        assert plan.splitlines()[0].endswith(f"SEARCH paper_mentions USING INDEX {index} ({narrowed_by}=?)')"), plan
        assert all("threads USING INTEGER PRIMARY KEY" in line
                   for line in plan.splitlines() if "threads" in line), plan
