"""@mentions are resolved when a post is written; the stored HTML carries the links."""
from sqlalchemy import select

from forum.extensions import db
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user


def test_mention_of_an_existing_member_links_to_the_profile(app):
    with app.app_context():
        author = make_user(username="Ada_L")
        thread = make_thread(author, body="Thanks @ada_l and @nobody_here")
        html = db.session.get(Thread, thread.id).body_html
    assert 'href="/u/Ada_L"' in html
    assert "@nobody_here" in html and "/u/nobody_here" not in html


def test_mention_inside_code_stays_untouched(app):
    with app.app_context():
        author = make_user(username="grace")
        thread = make_thread(author)
        post = make_reply(thread, author, "Inline `@grace` and\n\n```\n@grace\n```\n\nbut @grace here")
        html = db.session.get(Post, post.id).body_html
    assert html.count('href="/u/grace"') == 1
    assert "<code>@grace</code>" in html


def test_mention_is_resolved_at_write_time_not_read_time(app, client):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Mentions thread", body="Hello @latecomer")
        make_user(username="latecomer")  # registers after the post was written
        assert db.session.scalar(select(Thread.body_html)).count("/u/latecomer") == 0
    page = client.get(f"/t/{thread.id}/mentions-thread").get_data(as_text=True)
    assert "@latecomer" in page and 'href="/u/latecomer"' not in page
