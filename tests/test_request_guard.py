"""NUL characters anywhere in a request get a 400 with a message, never a 500 (PostgreSQL
refuses them in text), and the form's other text comes back on the page."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.extensions import db
from forum.moderation.models import Report
from forum.threads.models import Post, Thread
from tests.factories import PASSWORD, make_reply, make_thread, make_user
from tests.moderation.conftest import as_user, make_staff  # noqa: F401  (a fixture)

MESSAGE = "NUL character"


def _assert_refused(response, *kept):
    page = response.get_data(as_text=True)
    assert response.status_code == 400, page[:500]
    assert MESSAGE in page
    for text in kept:
        assert text in page
    if kept:
        assert '<textarea id="typed-' in page and "\x00" not in page  # shown back, cleaned


@pytest.mark.parametrize("url", [
    "/u/a%00b", "/digest/2026-W49%00", "/search?q=a%00b", "/search?q%00=x", "/tags/ai%00",
    "/t/1/slug%00", "/?tab=hot%00", "/auth/login?next=/x%00", "/papers/2301.00001%00",
])
def test_a_nul_in_a_link_is_a_400(app, client, url):
    _assert_refused(client.get(url))


def test_a_nul_in_the_members_search_is_a_400(app, as_user):
    with app.app_context():
        admin = make_staff("admin")
    _assert_refused(as_user(admin).get("/moderation/members?q=ad%00a"))


def test_a_nul_in_the_login_field(app, client):
    _assert_refused(client.post("/auth/login", data={"login": "ada\x00", "password": "x"}), "ada")


def test_a_nul_in_a_new_thread_keeps_the_text(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/t/new", data={"title": "A title with\x00 a NUL",
                                           "body": "The body I spent an hour on.", "tags": "ml"})
    _assert_refused(response, "A title with a NUL", "The body I spent an hour on.")
    with app.app_context():
        assert db.session.scalar(select(func.count(Thread.id))) == 0


def test_a_nul_in_a_reply_body_keeps_the_text(app, client, login):
    with app.app_context():
        user = make_user()
        thread = make_thread(user)
    login(user)
    response = client.post(f"/t/{thread.id}/reply", data={"body": "My long\x00 answer.",
                                                         "stance": "supports"})
    _assert_refused(response, "My long answer.")
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 0


def test_a_nul_in_an_edit(app, client, login):
    with app.app_context():
        user = make_user()
        thread = make_thread(user)
        post = make_reply(thread, user)
    login(user)
    _assert_refused(client.post(f"/p/{post.id}/edit", data={"body": "Edited\x00."}), "Edited.")
    _assert_refused(client.post(f"/t/{thread.id}/edit", data={"title": "New\x00 title",
                                                             "body": "Body."}), "New title")


def test_a_nul_in_a_profile(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/settings", data={"display_name": "Ada\x00", "bio": "My bio.",
                                              "save_profile": "Save"})
    _assert_refused(response, "My bio.")


def test_a_nul_in_a_report_reason(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
    login(reader)
    response = client.post(f"/report/thread/{thread.id}", data={"reason": "Spam\x00 links"})
    _assert_refused(response, "Spam links")
    with app.app_context():
        assert db.session.scalar(select(func.count(Report.id))) == 0


def test_a_nul_in_a_moderator_reason(app, as_user):
    with app.app_context():
        moderator = make_staff()
        thread = make_thread(make_user())
    response = as_user(moderator).post(f"/moderation/thread/{thread.id}/lock",
                                       data={"reason": "Heated\x00"})
    _assert_refused(response, "Heated")


def test_a_nul_in_a_field_name(app, client):
    _assert_refused(client.post("/auth/login", data={"login\x00": "ada", "password": PASSWORD}))


def test_a_nul_in_json(app, client):
    response = client.post("/auth/login", json={"login": ["ada\x00"]})
    assert response.status_code == 400
    assert MESSAGE in response.get_json()["error"]


def test_a_nul_in_a_digest_subscription(app, client):
    _assert_refused(client.post("/digest", data={"email": "a\x00@example.org"}))


def test_ordinary_requests_pass(app, client):
    assert client.get("/search?q=attention").status_code == 200
    assert client.get("/u/nobody").status_code == 404
