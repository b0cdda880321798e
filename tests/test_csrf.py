"""CSRF is on for every form; a refused form gives back what was typed."""
import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.threads.models import Thread
from tests.factories import PASSWORD, make_thread, make_user


@pytest.fixture
def csrf_app(app):
    app.config["WTF_CSRF_ENABLED"] = True
    return app


@pytest.mark.parametrize("token", [None, "forged-token"])
def test_post_without_valid_token_is_refused_and_keeps_text(csrf_app, token):
    client = csrf_app.test_client()
    with csrf_app.app_context():
        user = make_user()
    # Log in needs its own token: take it from the form, as a browser does.
    page = client.get("/auth/login").get_data(as_text=True)
    real_token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"login": user.username, "password": PASSWORD,
                                     "csrf_token": real_token})
    data = {"title": "Carefully written title", "body": "Three hours of writing"}
    if token:
        data["csrf_token"] = token
    response = client.post("/t/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Three hours of writing" in page and "Carefully written title" in page
    with csrf_app.app_context():
        assert db.session.scalar(select(Thread)) is None


def test_delete_without_token_changes_nothing(csrf_app):
    client = csrf_app.test_client()
    with csrf_app.app_context():
        user = make_user()
        thread = make_thread(user)
    page = client.get("/auth/login").get_data(as_text=True)
    real_token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
    client.post("/auth/login", data={"login": user.username, "password": PASSWORD,
                                     "csrf_token": real_token})
    assert client.post(f"/t/{thread.id}/delete").status_code == 400
    with csrf_app.app_context():
        assert db.session.get(Thread, thread.id).deleted_at is None


def test_the_signed_token_is_kept_per_session_and_still_checked(csrf_app):
    """security.csrf_token signs a session's token once per process: the same signed token on
    every page of one session, another session's refused, and the forms still checked."""
    def logged_in_client():
        client = csrf_app.test_client()
        page = client.get("/auth/login").get_data(as_text=True)
        token = page.split('name="csrf_token" type="hidden" value="')[1].split('"')[0]
        client.post("/auth/login", data={"login": user.username, "password": PASSWORD,
                                         "csrf_token": token})
        return client

    def header_token(client):
        page = client.get("/search/help").get_data(as_text=True)
        return page.split('name="csrf_token" value="')[1].split('"')[0]

    with csrf_app.app_context():
        user = make_user()
    mine, theirs = logged_in_client(), logged_in_client()
    token = header_token(mine)
    assert header_token(mine) == token and header_token(theirs) != token
    data = {"title": "Carefully written title", "body": "Three hours of writing"}
    assert theirs.post("/t/new", data={**data, "csrf_token": token}).status_code == 400
    assert mine.post("/t/new", data={**data, "csrf_token": token}).status_code == 302
    with csrf_app.app_context():
        assert db.session.scalar(select(Thread.title)) == "Carefully written title"
