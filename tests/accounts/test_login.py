import pytest

from forum.accounts.services import safe_next
from tests.factories import PASSWORD, make_user


@pytest.mark.parametrize("login_with", ["username", "email", "upper"])
def test_login_with_username_or_email(app, client, login_with):
    with app.app_context():
        user = make_user(username="Noether", email="emmy@example.org")
    value = {"username": "Noether", "email": "emmy@example.org", "upper": "EMMY@EXAMPLE.ORG"}[login_with]
    response = client.post("/auth/login", data={"login": value, "password": PASSWORD})
    assert response.headers["Location"] == "/"
    assert f"@{user.username}" in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("login, password", [
    ("nobody", PASSWORD),           # unknown username
    ("alice", "wrong password 1"),  # wrong password
    ("nobody@example.org", PASSWORD),
])
def test_wrong_username_and_wrong_password_read_the_same(app, client, login, password):
    with app.app_context():
        make_user(username="alice")
    response = client.post("/auth/login", data={"login": login, "password": password})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Wrong username, email or password." in page
    assert f'value="{login}"' in page  # what was typed stays


def test_remember_me_sets_a_remember_cookie(app, client):
    with app.app_context():
        user = make_user()
    client.post("/auth/login", data={"login": user.username, "password": PASSWORD, "remember": "y"})
    assert client.get_cookie("remember_token") is not None


def test_logout_is_post_only(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    assert client.get("/auth/logout").status_code == 405
    client.post("/auth/logout")
    assert f"@{user.username}" not in client.get("/").get_data(as_text=True)


@pytest.mark.parametrize("target, expected", [
    ("/t/1/a-thread", "/t/1/a-thread"),
    ("/settings?tab=profile", "/settings?tab=profile"),
    ("/", "/"),
    ("//evil.example", None),
    ("/\\evil.example", None),
    ("https://evil.example/", None),
    ("http:/evil.example", None),
    ("evil.example", None),
    ("javascript:alert(1)", None),
    ("/\t/evil.example", None),
    ("", None),
    (None, None),
])
def test_safe_next(target, expected):
    assert safe_next(target) == expected


@pytest.mark.parametrize("target, expected", [
    ("/settings", "/settings"),
    ("//evil.example", "/"),
    ("/\\evil.example", "/"),
    ("https://evil.example/x", "/"),
])
def test_login_follows_only_local_next(app, client, target, expected):
    with app.app_context():
        user = make_user()
    response = client.post("/auth/login", query_string={"next": target},
                           data={"login": user.username, "password": PASSWORD})
    assert response.headers["Location"] == expected
