import pytest
from sqlalchemy import func, select

from forum.accounts.models import User
from forum.extensions import db
from tests.factories import PASSWORD, make_user


def register(client, **fields):
    data = {"username": "newbie", "email": "newbie@example.org", "password": PASSWORD, **fields}
    return client.post("/auth/register", data=data)


def test_register_logs_in_and_hashes_with_argon2id(app, client):
    response = register(client)
    assert response.headers["Location"] == "/"
    with app.app_context():
        user = db.session.scalar(select(User))
        assert user.username == "newbie" and user.email == "newbie@example.org"
        assert user.password_hash.startswith("$argon2id$")
        assert user.check_password(PASSWORD) and not user.check_password("wrong" + PASSWORD)
    assert "@newbie" in client.get("/").get_data(as_text=True)


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


@pytest.mark.parametrize("fields, message", [
    ({"username": "TAKEN"}, "That username is taken."),
    ({"username": "taken"}, "That username is taken."),
    ({"email": "Taken@Example.org"}, "An account with that email address already exists."),
])
def test_register_refuses_duplicates_case_insensitively(app, client, fields, message):
    with app.app_context():
        make_user(username="Taken", email="taken@example.org")
    response = register(client, **fields)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(func.count(User.id))) == 1
