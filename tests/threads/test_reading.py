"""What is new since a member's last visit: unread counts on lists, markers and a jump link."""
from datetime import timedelta

from sqlalchemy import select

from forum.extensions import db
from forum.threads.models import Post
from forum.threads.reading import ThreadRead
from tests.factories import make_reply, make_thread, make_user
from tests.querycount import count_queries, query_plan, statements_of


def _backdate_visit(app, user, thread, minutes=10):
    """Move the visit (and everything written before it) into the past, so that what is
    written next is clearly after it."""
    with app.app_context():
        row = db.session.scalar(select(ThreadRead).where(ThreadRead.user_id == user.id,
                                                         ThreadRead.thread_id == thread.id))
        row.read_at -= timedelta(minutes=minutes)
        for post in db.session.scalars(select(Post).where(Post.thread_id == thread.id)):
            post.created_at -= timedelta(minutes=2 * minutes)
        db.session.commit()


def test_new_replies_since_the_last_visit_are_counted_and_marked(app, client, login):
    with app.app_context():
        reader, other = make_user(), make_user()
        thread = make_thread(other, title="Watching this one")
        make_reply(thread, other, "Old reply, read already")
    login(reader)
    url = f"/t/{thread.id}/{thread.slug}"
    first = client.get(url).get_data(as_text=True)
    assert 'class="badge new-reply"' not in first and "jump-unread" not in first
    _backdate_visit(app, reader, thread)
    with app.app_context():
        fresh = make_reply(thread, other, "A fresh reply")
        make_reply(thread, other, "Another fresh one")
        make_reply(thread, reader, "My own reply is never new to me")
    front = client.get("/").get_data(as_text=True)
    assert ">2 new</a>" in front
    page = client.get(url).get_data(as_text=True)
    assert page.count('class="badge new-reply"') == 2
    assert "Jump to the first new reply" in page and f'href="#p{fresh.id}"' in page
    again = client.get(url).get_data(as_text=True)
    assert 'class="badge new-reply"' not in again
    assert " new</a>" not in client.get("/").get_data(as_text=True)


def test_threads_never_opened_are_marked_and_visitors_write_nothing(app, client, login):
    with app.app_context():
        reader, other = make_user(), make_user()
        thread = make_thread(other, title="Never opened")
    anonymous = client.get(f"/t/{thread.id}/{thread.slug}")
    assert anonymous.status_code == 200
    with app.app_context():
        assert db.session.scalar(select(ThreadRead)) is None
    login(reader)
    assert 'class="thread-item unvisited"' in client.get("/").get_data(as_text=True)
    client.get(f"/t/{thread.id}/{thread.slug}")
    assert 'class="thread-item unvisited"' not in client.get("/").get_data(as_text=True)


def test_unread_counts_cost_one_query_whatever_the_list(app, client, login):
    with app.app_context():
        reader, other = make_user(), make_user()
        threads = [make_thread(other, title=f"Thread {n}") for n in range(6)]
    login(reader)
    for thread in threads[:2]:
        client.get(f"/t/{thread.id}/{thread.slug}")
    few, _ = count_queries(app, client, "/?tab=new")
    for thread in threads[2:]:
        client.get(f"/t/{thread.id}/{thread.slug}")
    with app.app_context():
        for thread in threads:
            make_reply(thread, other, "New here")
    many, page = count_queries(app, client, "/?tab=new")
    assert many == few and page.count(">1 new</a>") == 6


def test_re_reading_an_unchanged_thread_writes_nothing(app, client, login):
    with app.app_context():
        reader, other = make_user(), make_user()
        thread = make_thread(other, title="Read twice")
        make_reply(thread, other, "Said before the first visit")
    login(reader)
    url = f"/t/{thread.id}/{thread.slug}"
    client.get(url)
    with app.app_context():
        first_visit = db.session.scalar(select(ThreadRead.read_at))
    statements, _page = statements_of(app, client, url)
    assert [sql for sql in statements if "thread_reads" in sql and not sql.lstrip().startswith("SELECT")] == []
    with app.app_context():
        assert db.session.scalar(select(ThreadRead.read_at)) == first_visit
        make_reply(thread, other, "Said after it")
    client.get(url)
    with app.app_context():
        assert db.session.scalar(select(ThreadRead.read_at)) > first_visit


def test_unread_counts_read_only_the_replies_after_the_visit(app):
    """The count walks the (thread, created) index from the visit on: a member who once
    opened a thousand-reply thread does not pay for a thousand rows on every list page."""
    from forum.database import id_values, ids_arity
    from forum.threads.reading import _unread_counts
    with app.app_context():
        ids = list(range(1, ids_arity(2) + 1))  # a full list: literal NULLs would warn
        plan = query_plan(_unread_counts(ids_arity(2)).params(user_id=1, **id_values(ids)))
    assert "ix_posts_thread_created" in plan, plan
