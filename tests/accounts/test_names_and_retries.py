"""Sign-up retried after a mail failure, and names that would impersonate or inject lines."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.accounts import services
from forum.accounts.models import User
from forum.extensions import db
from tests.accounts.conftest import link_to
from tests.factories import PASSWORD, make_user


def register(client, **fields):
    data = {"username": "newbie", "email": "newbie@example.org", "password": PASSWORD, **fields}
    return client.post("/auth/register", data=data)


def test_the_same_sign_up_after_a_mail_failure_resends_the_confirmation(mail_app, mail_client,
                                                                         smtp_server):
    smtp_server.fail_next(1, code=451)
    assert register(mail_client).status_code == 503
    again = register(mail_client, username="NEWBIE", email="Newbie@Example.org")
    page = again.get_data(as_text=True)
    assert again.status_code == 200, page
    assert "Check your inbox" in page and "That username is taken" not in page
    (message,) = smtp_server.messages
    assert message["To"] == "newbie@example.org"
    assert "Confirm your email address" in message["Subject"]
    mail_client.post(link_to(message, "/auth/confirm/"))
    with mail_app.app_context():
        (user,) = db.session.scalars(select(User)).all()
        assert user.is_confirmed


def test_a_taken_username_with_another_address_is_still_taken(app, client):
    with app.app_context():
        make_user(username="newbie", email="first@example.org", confirmed=False)
    response = register(client, email="second@example.org")
    assert response.status_code == 422
    assert "That username is taken." in response.get_data(as_text=True)


BAD_NAMES = [
    ("\u202eecalevoL adA", "text-direction"),
    ("Ada \u2066Lovelace\u2069", "text-direction"),
    ("Ada\u200bLovelace", "zero-width"),
    ("Ada\ufeffLovelace", "zero-width"),
    ("Ada Lovelace\r\nBcc: everyone@example.org", "one line"),
    ("Ada\nLovelace", "one line"),
    ("Ada\x1bLovelace", "control characters"),
]


@pytest.mark.parametrize("name, message", BAD_NAMES)
def test_display_names_refuse_invisible_and_line_breaking_characters(app, client, login, name,
                                                                      message):
    with app.app_context():
        user = make_user(display_name="Grace")
    login(user)
    response = client.post("/settings", data={"display_name": name, "affiliation": "My lab",
                                              "bio": "Still here.", "save_profile": "Save"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and "My lab" in page and "Still here." in page
    with app.app_context():
        assert db.session.get(User, user.id).display_name == "Grace"


def test_affiliations_refuse_them_too(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/settings", data={"display_name": "Ada", "affiliation": "Lab\u202e",
                                              "save_profile": "Save"})
    assert response.status_code == 422
    assert "text-direction" in response.get_data(as_text=True)


def test_a_name_in_another_script_is_fine(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/settings", data={"display_name": "Эмми Нётер", "affiliation": "جامعة",
                                              "save_profile": "Save"})
    assert response.headers["Location"] == "/settings"


@pytest.mark.parametrize("username, message", [
    ("newbie\n", "one line"),
    ("new\u200bbie", "zero-width"),
    ("\u202enewbie", "text-direction"),
])
def test_usernames_refuse_them_with_a_clear_message(app, client, username, message):
    response = register(client, username=username)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


def test_register_service_refuses_a_trailing_newline(app):
    # "$" in a regular expression matches before a final newline; the service uses fullmatch.
    with app.app_context():
        with pytest.raises(services.AccountError, match="one line"):
            services.register("newbie\n", "n@example.org", PASSWORD)
        with pytest.raises(services.AccountError, match="text-direction"):
            services.register("newbie", "n@example.org", PASSWORD, display_name="\u202eAda")
