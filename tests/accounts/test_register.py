import re

import pytest
from sqlalchemy import func, select

from forum.accounts.models import User
from forum.extensions import db
from tests.accounts.conftest import link_to
from tests.factories import PASSWORD, make_user


def register(client, **fields):
    data = {"username": "newbie", "email": "newbie@example.org", "password": PASSWORD, **fields}
    return client.post("/auth/register", data=data)


def test_register_makes_an_unconfirmed_account_and_emails_the_link(mail_app, mail_client, smtp_server):
    response = register(mail_client)
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Check your inbox" in page and "newbie@example.org" in page
    with mail_app.app_context():
        user = db.session.scalar(select(User))
        assert user.username == "newbie" and user.email == "newbie@example.org"
        assert user.password_hash.startswith("$argon2id$")
        assert user.check_password(PASSWORD) and not user.check_password("wrong" + PASSWORD)
        assert not user.is_confirmed
    (message,) = smtp_server.messages
    assert message["To"] == "newbie@example.org"
    assert "Confirm your email address" in message["Subject"]
    assert link_to(message, "/auth/confirm/")
    assert "@newbie" not in mail_client.get("/").get_data(as_text=True)  # not logged in: same as a taken address


@pytest.mark.parametrize("fields, message", [
    ({"username": ""}, "This field is required."),
    ({"username": "ab"}, "between 3 and 30 characters"),
    ({"username": "x" * 31}, "between 3 and 30 characters"),
    ({"username": "bad name!"}, "letters, digits"),
    ({"username": "évariste"}, "letters, digits"),
    ({"email": ""}, "This field is required."),
    ({"email": "not-an-email"}, "Enter a valid email address."),
    ({"password": ""}, "This field is required."),
    ({"password": "short1234"}, "at least 10 characters"),
    ({"password": "Password123"}, "most common"),
    ({"password": "1234567890"}, "most common"),
    ({"password": "newbie-user", "username": "newbie-user"}, "must not be your username"),
])
def test_register_rejects_bad_input_and_keeps_what_was_typed(app, client, fields, message):
    response = register(client, **fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    if fields.get("username") or "username" not in fields:
        assert f'value="{fields.get("username", "newbie")}"'.replace("!", "!") in page or "bad name!" in page
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 0


@pytest.mark.parametrize("username", ["TAKEN", "taken"])
def test_a_taken_username_is_said_to_be_taken(app, client, username):
    # Usernames are public on profile pages: saying so reveals nothing.
    with app.app_context():
        make_user(username="Taken", email="taken@example.org")
    response = register(client, username=username)
    assert response.status_code == 422
    assert "That username is taken." in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1


def test_a_taken_address_reads_like_a_new_one_and_tells_its_owner(mail_app, mail_client, smtp_server):
    with mail_app.app_context():
        make_user(username="owner", email="taken@example.org")
    new = register(mail_client, username="someone", email="fresh@example.org")
    taken = register(mail_client, username="intruder", email="Taken@Example.org")
    assert taken.status_code == new.status_code == 200
    assert same_page(taken, new, "Taken@Example.org", "fresh@example.org")
    with mail_app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 2  # owner + someone; no intruder
        assert find_username("intruder") is None
    assert "@someone" not in mail_client.get("/").get_data(as_text=True)  # neither path logs in
    warning = smtp_server.messages[-1]
    assert warning["To"] == "taken@example.org"
    assert "tried to join" in warning["Subject"]
    text = warning.get_content()
    assert "owner" in text and "/auth/reset" in text
    assert "/auth/confirm/" not in text  # the owner's address is already confirmed


def test_a_taken_unconfirmed_address_gets_a_fresh_confirmation_link(mail_app, mail_client, smtp_server):
    with mail_app.app_context():
        make_user(username="owner", email="taken@example.org", confirmed=False)
    register(mail_client, username="again", email="taken@example.org")
    (warning,) = smtp_server.messages
    path = link_to(warning, "/auth/confirm/")
    mail_client.post(path)
    with mail_app.app_context():
        assert find_username("owner").is_confirmed


def test_register_when_mail_is_down_says_so_and_keeps_the_form(mail_app, mail_client, smtp_server):
    smtp_server.fail_next(1, code=554)
    response = register(mail_client)
    page = response.get_data(as_text=True)
    assert response.status_code == 503
    assert "could not send the email" in page and 'value="newbie"' in page


def find_username(name):
    from forum.accounts.services import find_by_username
    return find_by_username(name)


def same_page(one, other, typed_one: str, typed_other: str) -> bool:
    """The two answers are the same page but for the address typed and the CSRF token's timestamp."""
    def normalize(response, typed):
        page = response.get_data(as_text=True).replace(typed, "ADDRESS")
        return re.sub(r'name="csrf_token" value="[^"]*"', "CSRF", page)
    return normalize(one, typed_one) == normalize(other, typed_other)
