"""Password reset by email: one answer for every address, a single-use one-hour link."""
from __future__ import annotations

from datetime import timedelta

import pytest

from forum.accounts import tokens
from forum.accounts.models import User
from forum.extensions import db
from tests.accounts.conftest import link_to, signed_ago
from tests.factories import PASSWORD, make_user

NEW_PASSWORD = "a brand new secret"


def ask_for_reset(client, email):
    return client.post("/auth/reset", data={"email": email})


def test_login_page_links_to_the_reset_form(client):
    page = client.get("/auth/login").get_data(as_text=True)
    assert 'href="/auth/reset"' in page and "Forgot password?" in page


def test_known_and_unknown_addresses_get_the_same_answer(mail_app, mail_client, smtp_server):
    with mail_app.app_context():
        make_user(username="ada", email="ada@example.org")
    known = ask_for_reset(mail_client, "ADA@example.org")
    unknown = ask_for_reset(mail_client, "nobody@example.org")
    assert known.status_code == unknown.status_code == 200
    for response, typed in ((known, "ADA@example.org"), (unknown, "nobody@example.org")):
        page = response.get_data(as_text=True)
        assert f"If an account exists for <strong>{typed}</strong>, we sent a link" in page
    to_known, to_unknown = smtp_server.messages
    assert to_known["To"] == "ada@example.org" and link_to(to_known, "/auth/reset/")
    # The address without an account learns so in its own inbox, with no reset link.
    assert to_unknown["To"] == "nobody@example.org"
    assert "no account uses it" in to_unknown.get_content()
    assert not [path for path in _links(to_unknown) if path.startswith("/auth/reset/")]


@pytest.mark.parametrize("email, message", [("", "This field is required."),
                                            ("not-an-address", "Enter a valid email address.")])
def test_reset_request_rejects_bad_input(client, email, message):
    response = ask_for_reset(client, email)
    assert response.status_code == 422 and message in response.get_data(as_text=True)


def test_reset_sets_the_password_logs_in_and_ends_other_sessions(mail_app, mail_client, smtp_server):
    with mail_app.app_context():
        user = make_user(username="ada", email="ada@example.org")
    other = mail_app.test_client()
    other.post("/auth/login", data={"login": "ada", "password": PASSWORD})
    assert "@ada" in other.get("/tags").get_data(as_text=True)
    ask_for_reset(mail_client, "ada@example.org")
    path = link_to(smtp_server.messages[-1], "/auth/reset/")
    form = mail_client.get(path)
    assert form.status_code == 200 and "Choose a new password" in form.get_data(as_text=True)
    assert form.headers["Cache-Control"] == "no-store"
    assert form.headers["Referrer-Policy"] == "no-referrer"  # the token stays out of Referer
    done = mail_client.post(path, data={"password": NEW_PASSWORD})
    assert done.headers["Location"] == "/"
    assert "@ada" in mail_client.get("/tags").get_data(as_text=True)  # logged in here
    assert "@ada" not in other.get("/tags").get_data(as_text=True)   # and nowhere else
    with mail_app.app_context():
        saved = db.session.get(User, user.id)
        assert saved.check_password(NEW_PASSWORD) and not saved.check_password(PASSWORD)


def test_a_used_reset_link_is_dead(mail_app, mail_client, smtp_server):
    with mail_app.app_context():
        make_user(username="ada", email="ada@example.org")
    ask_for_reset(mail_client, "ada@example.org")
    path = link_to(smtp_server.messages[-1], "/auth/reset/")
    mail_client.post(path, data={"password": NEW_PASSWORD})
    for again in (mail_client.get(path), mail_client.post(path, data={"password": "yet another secret"})):
        page = again.get_data(as_text=True)
        assert again.status_code == 410
        assert "This link was already used" in page and 'href="/auth/reset"' in page
    with mail_app.app_context():
        assert db.session.scalar(db.select(User)).check_password(NEW_PASSWORD)


def test_a_newer_password_voids_an_older_link(mail_app, mail_client, smtp_server):
    with mail_app.app_context():
        make_user(username="ada", email="ada@example.org")
    ask_for_reset(mail_client, "ada@example.org")
    ask_for_reset(mail_client, "ada@example.org")
    first, second = (link_to(message, "/auth/reset/") for message in smtp_server.messages)
    mail_client.post(second, data={"password": NEW_PASSWORD})
    assert mail_client.get(first).status_code == 410


def test_an_expired_reset_link_is_410(mail_app, mail_client):
    with mail_app.app_context(), mail_app.test_request_context():
        user = make_user()
        with signed_ago(tokens.RESET_MAX_AGE + timedelta(seconds=5)):
            token = tokens.reset_token(user)
    response = mail_client.get(f"/auth/reset/{token}")
    page = response.get_data(as_text=True)
    assert response.status_code == 410
    assert "This link has expired" in page and "one hour" in page and 'href="/auth/reset"' in page


def test_a_link_just_under_an_hour_old_still_works(mail_app, mail_client):
    with mail_app.app_context(), mail_app.test_request_context():
        user = make_user()
        with signed_ago(tokens.RESET_MAX_AGE - timedelta(minutes=1)):
            token = tokens.reset_token(user)
    assert mail_client.get(f"/auth/reset/{token}").status_code == 200


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-4],
    lambda token: token.replace(".", ".x", 1),
    lambda token: "garbage",
    lambda token: token + "A",
])
def test_a_tampered_reset_link_is_400(mail_app, mail_client, mangle):
    with mail_app.app_context(), mail_app.test_request_context():
        user = make_user()
        token = tokens.reset_token(user)
    for response in (mail_client.get(f"/auth/reset/{mangle(token)}"),
                     mail_client.post(f"/auth/reset/{mangle(token)}", data={"password": NEW_PASSWORD})):
        assert response.status_code == 400
        assert "This link is not valid" in response.get_data(as_text=True)
    with mail_app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)


def test_a_confirmation_token_is_no_reset_token(mail_app, mail_client):
    with mail_app.app_context(), mail_app.test_request_context():
        token = tokens.confirm_token(make_user())
    assert mail_client.get(f"/auth/reset/{token}").status_code == 400


@pytest.mark.parametrize("password, message", [
    ("short", "at least 10 characters"),
    ("1234567890", "most common"),
    ("ada-lovelace", "must not be your username"),
    ("", "This field is required."),
])
def test_the_new_password_follows_the_sign_up_rules(mail_app, mail_client, password, message):
    with mail_app.app_context(), mail_app.test_request_context():
        user = make_user(username="ada-lovelace")
        token = tokens.reset_token(user)
    response = mail_client.post(f"/auth/reset/{token}", data={"password": password})
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    with mail_app.app_context():
        assert db.session.get(User, user.id).check_password(PASSWORD)
    assert mail_client.get(f"/auth/reset/{token}").status_code == 200  # the link still works


def test_reset_confirms_an_unconfirmed_address(mail_app, mail_client):
    with mail_app.app_context(), mail_app.test_request_context():
        user = make_user(confirmed=False)
        token = tokens.reset_token(user)
    mail_client.post(f"/auth/reset/{token}", data={"password": NEW_PASSWORD})
    with mail_app.app_context():
        assert db.session.get(User, user.id).is_confirmed


def test_reset_request_when_mail_is_down_keeps_the_address(mail_app, mail_client, smtp_server):
    smtp_server.fail_next(1, code=554)
    response = ask_for_reset(mail_client, "someone@example.org")
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "could not send the email" in page and 'value="someone@example.org"' in page


def _links(message):
    from tests.accounts.conftest import links_in
    return links_in(message)
