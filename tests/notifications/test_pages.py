"""The header count, the /notifications page, following and clearing notifications."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import insert, select

from forum.database import utcnow
from forum.extensions import db
from forum.notifications.models import Notification
from forum.threads.models import Post, Thread
from tests.factories import bulk_replies, make_reply, make_thread, make_user
from tests.notifications.conftest import refused_anonymously
from tests.querycount import count_queries, statements_of


def _replies(thread, author, count, start=0):
    return [make_reply(thread, author, f"Answer number {n}") for n in range(start, start + count)]


def _unread(user_id):
    return db.session.scalars(select(Notification.id).where(
        Notification.user_id == user_id, Notification.read_at.is_(None))).all()


def test_header_shows_the_unread_count(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        _replies(thread, bob, 3)
    assert "Notifications" not in client.get("/tags").get_data(as_text=True)
    login(alice)
    page = client.get("/tags").get_data(as_text=True)
    assert 'aria-label="Notifications, 3 unread"' in page
    assert '<span class="badge unread-count">3</span>' in page
    login_page = client.get("/tags")
    assert login_page.status_code == 200


def test_header_count_costs_exactly_one_query(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
    login(alice)
    before, _ = count_queries(app, client, "/tags")
    with app.app_context():  # rows written directly: the header is under test, not publishing
        ids = bulk_replies(thread, [bob], 25)
        db.session.execute(insert(Notification), [
            {"user_id": alice.id, "actor_id": bob.id, "thread_id": thread.id, "post_id": post_id,
             "reason": "thread_reply", "created_at": utcnow()} for post_id in ids])
        db.session.commit()
    after, page = count_queries(app, client, "/tags")
    assert after == before and "unread-count\">25<" in page
    statements, _ = statements_of(app, client, "/tags")
    mine = [s for s in statements if "notifications" in s]
    assert len(mine) == 1 and "count(" in mine[0].lower()


def test_a_member_page_counts_unread_in_the_user_loaders_statement(app, client, login):
    """The header's count comes with the member (accounts/sessions.py): a member's page
    with nothing else to read runs one statement, the user loader's."""
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        _replies(thread, bob, 2)
    login(alice)
    statements, page = statements_of(app, client, "/search/help")
    assert len(statements) == 1, statements
    assert "login_sessions" in statements[0] and "notifications" in statements[0]
    assert '<span class="badge unread-count">2</span>' in page


def test_marking_read_forgets_the_count_the_loader_brought(app, client, login):
    """A request that marks notifications read and then draws a header shows the new count,
    not the one the user loader read before."""
    from flask import render_template_string
    from flask_login import current_user

    from forum.notifications import services
    from forum.notifications.views import _unread_count

    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        _replies(thread, bob, 3)
    login(alice)
    cookie = client.get_cookie("session").value
    with app.test_request_context("/", headers={"Cookie": f"session={cookie}"}):
        assert current_user.unread_notifications == 3 and _unread_count() == 3
        services.mark_all_read(current_user)
        assert _unread_count() == 0
        assert "unread-count" not in render_template_string("{% extends 'base.html' %}")


def test_list_is_newest_first_with_who_what_where(app, client, login):
    with app.app_context():
        alice, bob = make_user(display_name="Alice A"), make_user(display_name="Bob B")
        thread = make_thread(alice, title="Sparse attention at scale")
        first = make_reply(thread, bob, "Older answer")
        second = make_reply(thread, bob, "Newer answer")
    login(alice)
    page = client.get("/notifications").get_data(as_text=True)
    assert page.index(f"/p/{second.id}") < page.index(f"/p/{first.id}")
    assert "Bob B" in page and "replied to your thread" in page and "Sparse attention at scale" in page
    assert page.count('class="notification unread"') == 2 and "2 unread." in page


def test_list_is_paginated_and_costs_the_same_queries_at_any_length(app, client, login):
    app.config["NOTIFICATIONS_PER_PAGE"] = 5
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        posts = _replies(thread, bob, 3)
    login(alice)
    small, _ = count_queries(app, client, "/notifications")
    with app.app_context():
        posts += _replies(thread, bob, 9, start=3)
    large, page = count_queries(app, client, "/notifications")
    assert small == large <= 5  # member, header count, page count, page rows
    assert "Page 1 of 3" in page and f"/p/{posts[-1].id}" in page and f"/p/{posts[0].id}\"" not in page
    last = client.get("/notifications?page=3").get_data(as_text=True)
    assert f"/p/{posts[0].id}\"" in last
    beyond = client.get("/notifications?page=4")
    assert beyond.status_code == 404 and "There is no page 4" in beyond.get_data(as_text=True)
    assert client.get("/notifications?page=nonsense").status_code == 200


def test_following_marks_read_and_goes_to_the_post(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        post = make_reply(thread, bob, "Read me")
        note_id = _unread(alice.id)[0]
    login(alice)
    response = client.get(f"/notifications/{note_id}")
    assert response.headers["Location"].endswith(f"/p/{post.id}")
    with app.app_context():
        assert _unread(alice.id) == []
    page = client.get("/notifications").get_data(as_text=True)
    assert 'class="notification read"' in page and "unread-count" not in page
    again = client.get(f"/notifications/{note_id}")  # already read: still goes there
    assert again.headers["Location"].endswith(f"/p/{post.id}")


def test_following_a_thread_mention_goes_to_the_thread(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user(username="mentioned_one")
        thread = make_thread(alice, body="What does @mentioned_one think?")
        note_id = _unread(bob.id)[0]
    login(bob)
    assert "mentioned you in" in client.get("/notifications").get_data(as_text=True)
    response = client.get(f"/notifications/{note_id}")
    assert response.headers["Location"].endswith(f"/t/{thread.id}")


@pytest.mark.parametrize("whose", ["someone else's", "missing"])
def test_following_a_notification_that_is_not_yours_is_404(app, client, login, whose):
    with app.app_context():
        alice, bob, mallory = make_user(), make_user(), make_user()
        thread = make_thread(alice)
        make_reply(thread, bob, "For alice")
        note_id = _unread(alice.id)[0] if whose == "someone else's" else 999_999
    login(mallory)
    response = client.get(f"/notifications/{note_id}")
    assert response.status_code == 404 and "no such notification" in response.get_data(as_text=True)
    with app.app_context():
        assert len(_unread(alice.id)) == 1


def test_mark_all_read(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        _replies(thread, bob, 4)
        other = make_thread(bob)
        make_reply(other, alice, "Bob keeps his")
    login(alice)
    response = client.post("/notifications/read-all", follow_redirects=True)
    page = response.get_data(as_text=True)
    assert "Marked 4 notifications read." in page and "unread-count" not in page
    with app.app_context():
        assert _unread(alice.id) == [] and len(_unread(bob.id)) == 1


def test_anonymous_visitors_are_sent_to_log_in(app, client):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        make_reply(thread, bob, "x")
        note_id = _unread(alice.id)[0]
    for method, url in [("get", "/notifications"), ("get", f"/notifications/{note_id}"),
                        ("post", "/notifications/read-all")]:
        assert refused_anonymously(getattr(client, method)(url))
    with app.app_context():
        assert len(_unread(alice.id)) == 1


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


def _login_with_token(client, user):
    page = client.get("/auth/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    client.post("/auth/login", data={"login": user.username, "password": "correct horse battery",
                                     "csrf_token": token})


def test_without_a_csrf_token_nothing_changes(csrf_app):
    client = csrf_app.test_client()
    with csrf_app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        make_reply(thread, bob, "x")
        note_id = _unread(alice.id)[0]
    _login_with_token(client, alice)
    assert client.post("/notifications/read-all").status_code == 400
    with csrf_app.app_context():
        assert len(_unread(alice.id)) == 1
    page = client.get("/notifications").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    response = client.post("/notifications/read-all", data={"csrf_token": token})
    assert response.status_code in (302, 303)
    with csrf_app.app_context():
        assert _unread(alice.id) == []


def test_list_shows_an_excerpt_and_escapes_what_members_wrote(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user(display_name="<b>Bob</b>")
        thread = make_thread(alice, title="<script>alert(1)</script> title")
        make_reply(thread, bob, "An answer <img src=x onerror=alert(1)> " + "long " * 100)
    login(alice)
    page = client.get("/notifications").get_data(as_text=True)
    assert "<script>alert(1)" not in page and "&lt;script&gt;alert(1)&lt;/script&gt; title" in page
    assert "<img src=x" not in page and "An answer &lt;img src=x" in page
    assert "&lt;b&gt;Bob&lt;/b&gt;" in page
    assert "long …" in page or "long…" in page


def test_hidden_words_stay_out_of_the_list(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice, title="A thread that stays")
        make_reply(thread, bob, "Abusive words here")
        other = make_thread(bob, title="Spam title", body=f"@{alice.username} buy now")
        db.session.get(Post, db.session.scalar(select(Post.id).where(Post.thread_id == thread.id))
                       ).hidden_at = utcnow()
        db.session.get(Thread, other.id).hidden_at = utcnow()
        db.session.commit()
    login(alice)
    page = client.get("/notifications").get_data(as_text=True)
    assert "Abusive words" not in page and "Spam title" not in page and "buy now" not in page
    assert page.count("[hidden by a moderator]") == 2 and "“[hidden]”" in page


def test_notifications_are_links_that_open_in_a_new_tab(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        make_reply(thread, bob, "Read me")
        note_id = _unread(alice.id)[0]
    login(alice)
    page = client.get("/notifications").get_data(as_text=True)
    link = re.search(r'<a class="notification-target" href="([^"]+)" target="_blank" rel="noopener">', page)
    assert link and link.group(1) == f"/notifications/{note_id}"
    assert 'formaction' not in page and f"/notifications/{note_id}/follow" not in page
