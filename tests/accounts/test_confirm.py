"""Email confirmation: the link, what an unconfirmed member may do, resending."""
from __future__ import annotations

from datetime import timedelta

import pytest

from forum.accounts import tokens
from forum.accounts.models import User
from forum.extensions import db
from forum.threads.models import Thread
from tests.accounts.conftest import link_to, signed_ago
from tests.factories import PASSWORD, make_thread, make_user


def sign_up_and_get_link(client, smtp_server, username="newbie") -> str:
    client.post("/auth/register", data={"username": username, "email": f"{username}@example.org",
                                        "password": PASSWORD})
    return link_to(smtp_server.messages[-1], "/auth/confirm/")


def test_the_emailed_link_confirms_after_a_button_press(mail_app, mail_client, smtp_server):
    path = sign_up_and_get_link(mail_client, smtp_server)
    page = mail_client.get(path)  # a mail scanner following the link changes nothing
    assert page.status_code == 200 and "Confirm my address" in page.get_data(as_text=True)
    with mail_app.app_context():
        assert not db.session.scalar(db.select(User)).is_confirmed
    done = mail_client.post(path)
    assert done.status_code == 200 and "Your address is confirmed" in done.get_data(as_text=True)
    with mail_app.app_context():
        assert db.session.scalar(db.select(User)).is_confirmed


def test_confirming_twice_says_it_is_already_done(mail_app, mail_client, smtp_server):
    path = sign_up_and_get_link(mail_client, smtp_server)
    mail_client.post(path)
    for again in (mail_client.get(path), mail_client.post(path)):
        assert again.status_code == 410
        assert "already used" in again.get_data(as_text=True)
        assert "already confirmed" in again.get_data(as_text=True)


@pytest.mark.parametrize("mangle", [
    lambda token: token[:-3],                       # cut short by a mail program
    lambda token: token[:10] + "x" + token[11:],    # tampered with
    lambda token: "not-a-token",
])
def test_a_broken_confirmation_link_is_a_400_with_a_way_on(mail_app, mail_client, smtp_server, mangle):
    path = sign_up_and_get_link(mail_client, smtp_server)
    token = path.rsplit("/", 1)[1]
    response = mail_client.post(f"/auth/confirm/{mangle(token)}")
    assert response.status_code == 400
    assert "This link is not valid" in response.get_data(as_text=True)
    with mail_app.app_context():
        assert not db.session.scalar(db.select(User)).is_confirmed


def test_an_expired_confirmation_link_is_410(mail_app, mail_client):
    with mail_app.app_context(), mail_app.test_request_context():
        user = make_user(confirmed=False)
        with signed_ago(tokens.CONFIRM_MAX_AGE + timedelta(minutes=1)):
            token = tokens.confirm_token(user)
    response = mail_client.post(f"/auth/confirm/{token}")
    assert response.status_code == 410
    assert "This link has expired" in response.get_data(as_text=True)


def test_a_reset_token_is_no_confirmation_token(mail_app, mail_client):
    with mail_app.app_context(), mail_app.test_request_context():
        user = make_user(confirmed=False)
        token = tokens.reset_token(user)
    assert mail_client.post(f"/auth/confirm/{token}").status_code == 400


def test_unconfirmed_member_reads_but_may_not_post_or_vote(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
        newcomer = make_user(confirmed=False)
    login(newcomer)
    front = client.get("/tags").get_data(as_text=True)
    assert "Confirm your email address to post and vote" in front  # the banner
    assert client.get(f"/t/{thread.id}/{thread.slug}").status_code == 200
    refused = client.post("/t/new", data={"title": "A fine title here", "body": "My careful words."})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 403
    assert "Confirm your email address first" in page
    assert "Resend the confirmation email" in page
    assert "My careful words." in page  # what was typed is kept
    assert client.post(f"/t/{thread.id}/reply", data={"body": "Hi"}).status_code == 403
    assert client.get(f"/t/{thread.id}/reply").status_code == 403
    vote = client.post(f"/t/{thread.id}/vote", data={"value": "up"},
                       headers={"Accept": "application/json"})
    assert vote.status_code == 403 and "Confirm your email address" in vote.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(db.select(db.func.count(Thread.id))) == 1
        assert db.session.get(Thread, thread.id).score == 0


def test_confirmed_member_sees_no_banner(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    assert "Confirm your email address" not in client.get("/tags").get_data(as_text=True)


def test_resend_sends_a_fresh_link_that_works(mail_app, mail_client, smtp_server):
    with mail_app.app_context():
        user = make_user(confirmed=False)
    mail_client.post("/auth/login", data={"login": user.username, "password": PASSWORD})
    response = mail_client.post("/auth/confirm/resend", data={"next": "/tags"})
    assert response.headers["Location"] == "/tags"
    (message,) = smtp_server.messages
    assert message["To"] == user.email
    mail_client.post(link_to(message, "/auth/confirm/"))
    with mail_app.app_context():
        assert db.session.get(User, user.id).is_confirmed
    again = mail_client.post("/auth/confirm/resend", follow_redirects=True)
    assert "already confirmed" in again.get_data(as_text=True)
    assert len(smtp_server.messages) == 1


def test_resend_needs_login_and_refuses_a_foreign_next(app, client, login):
    refused = client.post("/auth/confirm/resend")
    assert refused.status_code == 401 or refused.headers["Location"].startswith("/auth/login")
    with app.app_context():
        user = make_user(confirmed=False)
    login(user)
    response = client.post("/auth/confirm/resend", data={"next": "//evil.example/"})
    assert response.headers["Location"] == "/"



def test_the_confirm_page_shows_confirm_first_and_resend_after(app, client, login):
    import re

    from forum.accounts import tokens
    with app.app_context():
        user = make_user(confirmed=False)
        link = f"/auth/confirm/{tokens.confirm_token(user)}"
    login(user)
    page = client.get(link).get_data(as_text=True)
    main = page.split('<main', 1)[1]
    assert main.index("Confirm my address") < main.index("Resend the email")
    assert len(re.findall("Resend the email", page)) == 1  # no banner above the button


@pytest.mark.parametrize("path, field, token", [
    ("/auth/login", "login", "username"), ("/auth/login", "password", "current-password"),
    ("/auth/register", "username", "username"), ("/auth/register", "email", "email"),
    ("/auth/register", "password", "new-password"), ("/auth/reset", "email", "email"),
])
def test_forms_carry_autocomplete_tokens(client, path, field, token):
    import re
    page = client.get(path).get_data(as_text=True)
    tag = re.search(rf'<input[^>]*\bname="{field}"[^>]*>', page).group(0)
    assert f'autocomplete="{token}"' in tag
