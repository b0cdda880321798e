"""The thread page costs a fixed number of SQL queries, whatever its size."""
import pytest
from sqlalchemy import insert

from forum.database import utcnow
from forum.extensions import db
from forum.threads import ranking, services
from forum.threads.models import Thread, Vote
from tests.querycount import count_queries, query_plan
from tests.factories import bulk_replies, make_user


def _thread_with(size: int, authors, viewer) -> Thread:
    """A tagged thread with ``size`` replies (chains and roots), each voted on by the viewer."""
    thread = services.start_thread(db.session.get(type(authors[0]), authors[0].id),
                                   f"Thread of {size}", "Body", "cs.lg nlp stat.ml")
    ids = bulk_replies(thread, authors, size, stances=("supports", None))
    now = utcnow()
    db.session.execute(insert(Vote), [
        {"user_id": viewer.id, "post_id": post_id, "value": 1 if i % 2 else -1, "created_at": now}
        for i, post_id in enumerate(ids)])
    db.session.execute(insert(Vote), [{"user_id": viewer.id, "thread_id": thread.id, "value": 1,
                                       "created_at": now}])
    db.session.commit()
    return db.session.get(Thread, thread.id)


def test_thread_page_costs_the_same_queries_at_5_and_1000_replies(app, client, login):
    app.config["REPLIES_PER_PAGE"] = 1000  # every reply on one page, so all are drawn
    counts = {}
    with app.app_context():
        viewer = make_user()
        authors = [make_user() for _ in range(5)]
    login(viewer)
    for size in (5, 1000):
        with app.app_context():
            thread = _thread_with(size, authors, viewer)
            url = f"/t/{thread.id}/{thread.slug}"
        counts[size], page = count_queries(app, client, url)
        assert page.count('aria-pressed="true"') == size + 1  # the viewer's own votes are shown
        assert 'href="/tags/stat.ml"' in page and f"Reply {size - 1}," in page
        assert f"{size} replies" in page and page.count('class="reply depth-') == size
    assert counts[5] == counts[1000]
    # viewer, thread + author + tags, the replies' outline, the drawn replies + authors,
    # viewer's votes, citations, the header's unread-notification count, the viewer's watch level,
    # the viewer's last visit, and recording this visit (threads/reading.py)
    assert counts[5] <= 10


def test_front_page_costs_the_same_queries_at_any_length(app, client):
    counts = {}
    with app.app_context():
        author = make_user()
    for total in (2, 20):
        with app.app_context():
            for n in range(total - (2 if total == 20 else 0)):
                services.start_thread(db.session.get(type(author), author.id), f"Thread {total} {n}",
                                      "Body", "tag-a tag-b")
        for tab in ("hot", "active", "new", "top"):
            counts[(total, tab)], _ = count_queries(app, client, f"/?tab={tab}&period=all")
    for tab in ("hot", "active", "new", "top"):
        assert counts[(2, tab)] == counts[(20, tab)]


@pytest.mark.parametrize("tab, tagged", [(tab, False) for tab in ranking.TABS] + [("hot", True)])
def test_a_listing_reads_only_its_pages_rows(app, tab, tagged):
    """The page's ids come from ``ix_threads_listed`` alone, and the count too (a tag's
    listing starts from the tag's threads); only the page's own rows are read from the
    table, by primary key. Ordered from the table, every thread's whole row was read,
    body included, on every listing page.

    The plan is SQLite's: PostgreSQL plans by its statistics, and on the test's empty
    tables any order is as cheap (its statements still run here, on both databases)."""
    from forum.threads import queries
    with app.app_context():
        dialect = db.engine.dialect.name
        statement = queries._listing_page(tab, dialect, tagged, "week").params(
            now=utcnow(), since=utcnow(), tag="nlp", limit=25, offset=0)
        plan = query_plan(statement)
    if dialect != "sqlite":
        return
    lines = [line for line in plan.splitlines() if "threads" in line]
    if not tagged:
        assert any("threads_1 USING COVERING INDEX ix_threads_listed" in line for line in lines), plan
    assert all("COVERING INDEX ix_threads_listed" in line or "USING INTEGER PRIMARY KEY" in line
               for line in lines), plan
