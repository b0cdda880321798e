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
