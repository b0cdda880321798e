"""The thread page costs a fixed number of SQL queries, whatever its size."""
from sqlalchemy import insert

from forum.database import utcnow
from forum.extensions import db
from forum.threads import services
from forum.threads.models import Thread, Vote
from tests.querycount import count_queries
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
