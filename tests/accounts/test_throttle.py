"""Failed-login throttling per typed name and per address, kept in the database."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forum import create_app
from forum.accounts.hashing import TEST_GRADE
from forum.accounts import throttle
from forum.accounts.models import LoginFailure
from forum.database import utcnow
from forum.extensions import db
from tests.factories import PASSWORD, make_user


def attempt(client, login, password, address="192.0.2.1"):
    return client.post("/auth/login", data={"login": login, "password": password},
                       environ_base={"REMOTE_ADDR": address})


def fail(client, login, times, address="192.0.2.1"):
    for _ in range(times):
        assert attempt(client, login, "not the password", address).status_code == 401


def test_after_five_failures_even_the_right_password_is_refused(app, client):
    with app.app_context():
        user = make_user(username="ada")
    fail(client, "ada", throttle.ACCOUNT_FAILURES)
    refused = attempt(client, "ada", PASSWORD)
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    assert "Too many failed log-ins" in page and "Try again in 15 minutes." in page
    assert 890 <= int(refused.headers["Retry-After"]) <= 900
    assert 'value="ada"' in page  # what was typed stays
    assert f"@{user.username}" not in client.get("/tags").get_data(as_text=True)
    # From another address the name is still locked: it is the account being guessed at.
    assert attempt(client, "ada", PASSWORD, address="198.51.100.7").status_code == 429


def test_unknown_names_are_throttled_alike(app, client):
    with app.app_context():
        make_user(username="ada")
    fail(client, "ada", throttle.ACCOUNT_FAILURES)
    fail(client, "nobody", throttle.ACCOUNT_FAILURES, address="198.51.100.7")
    real = attempt(client, "ada", "not the password")
    missing = attempt(client, "nobody", "not the password", address="198.51.100.7")
    assert real.status_code == missing.status_code == 429
    text = lambda response: response.get_data(as_text=True).split("<form")[1].split("</form>")[0]  # noqa: E731
    assert text(real).replace("ada", "NAME") == text(missing).replace("nobody", "NAME")


def test_the_name_is_compared_without_case_or_spaces(app, client):
    with app.app_context():
        make_user(username="ada")
    fail(client, " ADA ", throttle.ACCOUNT_FAILURES)
    assert attempt(client, "ada", PASSWORD).status_code == 429


def test_one_address_is_throttled_across_names(app, client):
    with app.app_context():
        make_user(username="ada")
    for n in range(throttle.ADDRESS_FAILURES):
        attempt(client, f"guess{n}", "not the password", address="203.0.113.9")
    assert attempt(client, "ada", PASSWORD, address="203.0.113.9").status_code == 429
    ok = attempt(client, "ada", PASSWORD, address="203.0.113.10")
    assert ok.headers["Location"] == "/"


def test_a_successful_login_forgets_the_names_failures(app, client):
    with app.app_context():
        make_user(username="ada")
    fail(client, "ada", throttle.ACCOUNT_FAILURES - 1)
    assert attempt(client, "ada", PASSWORD).headers["Location"] == "/"
    client.post("/auth/logout")
    fail(client, "ada", throttle.ACCOUNT_FAILURES - 1)
    assert attempt(client, "ada", PASSWORD).headers["Location"] == "/"


def test_failures_age_out_after_the_window(app):
    with app.app_context():
        for _ in range(throttle.ACCOUNT_FAILURES):
            throttle.record_failure("ada", "192.0.2.1")
        now = utcnow()
        assert throttle.seconds_to_wait("ada", None, now) > 0
        assert throttle.seconds_to_wait("someone-else", None, now) == 0
        later = now + throttle.WINDOW + timedelta(seconds=1)
        assert throttle.seconds_to_wait("ada", None, later) == 0


def test_rows_that_no_longer_count_are_deleted_as_new_failures_come_in(app):
    with app.app_context():
        old = utcnow() - throttle.WINDOW - timedelta(minutes=1)
        db.session.add_all(LoginFailure(key=f"old{n}", failed_at=old) for n in range(3))
        db.session.commit()
        throttle.record_failure("ada", "192.0.2.1")
        assert db.session.scalar(select(func.count(LoginFailure.id))) == 2  # the name and the address


def test_no_typed_name_or_address_is_stored_in_clear(app):
    with app.app_context():
        throttle.record_failure("my-secret-password", "192.0.2.1")
        keys = db.session.scalars(select(LoginFailure.key)).all()
    assert len(keys) == 2
    assert not any("secret" in key or "192.0.2" in key for key in keys)


def test_the_count_is_shared_by_every_worker(app, client):
    """Two apps on one database stand for two worker processes."""
    with app.app_context():
        make_user(username="ada")
    fail(client, "ada", throttle.ACCOUNT_FAILURES)
    other = create_app({**_config_of(app)})
    try:
        assert attempt(other.test_client(), "ada", PASSWORD).status_code == 429
    finally:
        with other.app_context():
            db.engine.dispose()


def _config_of(app) -> dict:
    keys = ("TESTING", "SECRET_KEY", "WTF_CSRF_ENABLED", "SQLALCHEMY_DATABASE_URI", "SEARCH_INDEX_DIR",
            "MAIL_BACKEND", "MAIL_FILE_DIR", "RATELIMIT_ENABLED", "SERVER_NAME", "SEARCH_INDEXER",
            *TEST_GRADE)
    return {key: app.config[key] for key in keys}


@pytest.mark.parametrize("blank", [""])
def test_an_empty_form_is_not_a_failure(app, client, blank):
    response = attempt(client, blank, blank)
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(func.count(LoginFailure.id))) == 0
