"""Rate limits (forum/ratelimits.py): each limited action answers 429 after its limit,
says when to try again, and counts in Redis across worker processes when REDIS_URL is set.

The shared test config switches limits off; these tests build apps with them on.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from limits import parse_many
from sqlalchemy import func, select

from forum import create_app, ratelimits
from forum.accounts.hashing import TEST_GRADE
from forum.database import utcnow
from forum.extensions import db
from forum.threads.models import Thread
from tests.factories import PASSWORD, make_thread, make_user

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/13")  # a db of its own
OLD = timedelta(days=2)  # an established account


def first_allowance(limit: str) -> int:
    """How many requests the tightest part of a limit string lets through."""
    return min(item.amount for item in parse_many(limit))


def config_like(app, **overrides) -> dict:
    # SEARCH_INDEXER too: a background indexer thread of a second app would query the database
    # while the next test empties it (a deadlock on PostgreSQL).
    keys = ("TESTING", "SECRET_KEY", "WTF_CSRF_ENABLED", "SQLALCHEMY_DATABASE_URI", "SEARCH_INDEX_DIR",
            "MAIL_BACKEND", "MAIL_FILE_DIR", "SERVER_NAME", "SEARCH_INDEXER", *TEST_GRADE)
    return {**{key: app.config[key] for key in keys}, "RATELIMIT_ENABLED": True, **overrides}


@pytest.fixture
def limited_app(app):
    """The test app's database and settings, with rate limits on (in this app's memory)."""
    limited = create_app(config_like(app))
    yield limited
    with limited.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def limited(limited_app):
    return limited_app.test_client()


def log_in(client, user):
    response = client.post("/auth/login", data={"login": user.username, "password": PASSWORD})
    assert response.headers["Location"] == "/"


def assert_limited_after(allowed: int, send) -> object:
    """``send(n)`` makes request n; the first ``allowed`` pass, the next is a 429."""
    for n in range(allowed):
        response = send(n)
        assert response.status_code != 429, f"request {n + 1} of {allowed} was refused"
    refused = send(allowed)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    return refused


# -- each limited action ---------------------------------------------------------

@pytest.mark.parametrize("path, data, limit", [
    ("/auth/login", lambda n: {"login": "", "password": ""}, ratelimits.LOGIN),
    ("/auth/register", lambda n: {"username": "", "email": "", "password": ""}, ratelimits.REGISTER),
    ("/auth/reset", lambda n: {"email": f"not-an-address-{n}"}, ratelimits.RESET_REQUEST),
    ("/digest", lambda n: {"email": f"not-an-address-{n}"}, ratelimits.SUBSCRIBE),
])
def test_anonymous_forms_are_limited_per_address(limited, path, data, limit):
    refused = assert_limited_after(first_allowance(limit), lambda n: limited.post(path, data=data(n)))
    page = refused.get_data(as_text=True)
    assert "Too many requests" in page and "Try again in" in page
    # Another address is counted apart; reading the form is never counted.
    other = limited.post(path, data=data(99), environ_base={"REMOTE_ADDR": "198.51.100.7"})
    assert other.status_code != 429
    assert limited.get(path).status_code == 200


def test_reset_requests_are_limited_per_recipient_whoever_asks(limited):
    allowed = first_allowance(ratelimits.RESET_PER_RECIPIENT)
    refused = assert_limited_after(allowed, lambda n: limited.post(
        "/auth/reset", data={"email": "victim@example.org"},
        environ_base={"REMOTE_ADDR": f"192.0.2.{n + 1}"}))
    assert "Try again in" in refused.get_data(as_text=True)


@pytest.mark.parametrize("age, limit", [(OLD, ratelimits.POSTING),
                                        (timedelta(hours=1), ratelimits.POSTING_NEW_ACCOUNT)])
def test_posting_is_limited_and_stricter_for_new_accounts(app, limited_app, limited, age, limit):
    with app.app_context():
        author = make_user(created_at=utcnow() - age)
        thread = make_thread(make_user())
    log_in(limited, author)
    allowed = first_allowance(limit)

    def post(n):  # new threads, replies and edits share one allowance
        if n % 2:
            return limited.post(f"/t/{thread.id}/reply", data={"body": f"Reply {n}"})
        return limited.post("/t/new", data={"title": f"Thread number {n}", "body": "Body"})
    refused = assert_limited_after(allowed, post)
    assert refused.status_code == 429
    with app.app_context():
        assert db.session.scalar(select(func.count(Thread.id))) == 1 + (allowed + 1) // 2


def test_the_429_page_keeps_what_was_typed_and_says_when(app, limited):
    with app.app_context():
        author = make_user(created_at=utcnow() - timedelta(hours=1))
        thread = make_thread(make_user())
    log_in(limited, author)
    for n in range(first_allowance(ratelimits.POSTING_NEW_ACCOUNT)):
        limited.post(f"/t/{thread.id}/reply", data={"body": f"Reply {n}"})
    refused = limited.post(f"/t/{thread.id}/reply", data={"body": "My long and careful answer."})
    page = refused.get_data(as_text=True)
    assert refused.status_code == 429
    seconds = int(refused.headers["Retry-After"])
    assert 1 <= seconds <= 60
    assert ratelimits.describe_wait(seconds) in page  # e.g. "Try again in 58 seconds."
    assert "My long and careful answer." in page
    assert '<footer class="site-footer' in page  # the site's layout


def test_editing_counts_towards_posting(app, limited):
    with app.app_context():
        author = make_user(created_at=utcnow() - timedelta(hours=1))
        thread = make_thread(author)
    log_in(limited, author)
    assert_limited_after(first_allowance(ratelimits.POSTING_NEW_ACCOUNT), lambda n: limited.post(
        f"/t/{thread.id}/edit", data={"title": thread.title, "body": f"Edited {n}", "tags": ""}))


@pytest.mark.parametrize("age, limit", [(OLD, ratelimits.VOTING),
                                        (timedelta(minutes=5), ratelimits.VOTING_NEW_ACCOUNT)])
def test_voting_is_limited_with_json_for_the_script(app, limited, age, limit):
    with app.app_context():
        voter = make_user(created_at=utcnow() - age)
        thread = make_thread(make_user())
    log_in(limited, voter)
    refused = assert_limited_after(first_allowance(limit), lambda n: limited.post(
        f"/t/{thread.id}/vote", data={"value": "up"}, headers={"Accept": "application/json"}))
    body = refused.get_json()
    assert body["error"].endswith(ratelimits.describe_wait(body["retry_after"]))
    assert str(body["retry_after"]) == refused.headers["Retry-After"]


def test_resending_the_confirmation_is_limited(app, limited):
    with app.app_context():
        user = make_user(confirmed=False)
    log_in(limited, user)
    assert_limited_after(first_allowance(ratelimits.RESEND_CONFIRMATION),
                         lambda n: limited.post("/auth/confirm/resend"))


def test_members_are_counted_by_account_not_address(app, limited_app):
    with app.app_context():
        one, two = make_user(created_at=utcnow() - OLD), make_user(created_at=utcnow() - OLD)
        thread = make_thread(make_user())
    first, second = limited_app.test_client(), limited_app.test_client()
    log_in(first, one)
    log_in(second, two)
    vote = lambda client: client.post(f"/t/{thread.id}/vote", data={"value": "nonsense"})  # noqa: E731
    assert_limited_after(first_allowance(ratelimits.VOTING), lambda n: vote(first))
    assert vote(second).status_code != 429  # same address, another member


def test_limits_off_means_never_429(app, client):
    for _ in range(first_allowance(ratelimits.REGISTER) + 2):
        assert client.post("/auth/register", data={}).status_code == 422


@pytest.mark.parametrize("seconds, words", [
    (0, "Try again in 1 second."), (1, "Try again in 1 second."), (40, "Try again in 40 seconds."),
    (119, "Try again in 119 seconds."), (120, "Try again in 2 minutes."),
    (121, "Try again in 3 minutes."), (900, "Try again in 15 minutes."),
    (7199, "Try again in 120 minutes."), (7200, "Try again in 2 hours."),
    (86400, "Try again in 24 hours."),
])
def test_describe_wait(seconds, words):
    assert ratelimits.describe_wait(seconds) == words


# -- one count per app in memory, one count for all workers in Redis -------------------------

@pytest.fixture
def sqlite_copy(sqlite_template, tmp_path):
    target = tmp_path / "forum.db"
    shutil.copy(sqlite_template, target)
    return f"sqlite:///{target}"


def _app(database_url: str, tmp_path, **overrides):
    return create_app({"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                       "SQLALCHEMY_DATABASE_URI": database_url, "SEARCH_INDEX_DIR": str(tmp_path / "index"),
                       "MAIL_BACKEND": "file", "MAIL_FILE_DIR": str(tmp_path / "mail"),
                       "RATELIMIT_ENABLED": True, "SERVER_NAME": None, "SEARCH_INDEXER": "inline",
                       **TEST_GRADE, **overrides})


def _ask_reset(app, n: int):
    return app.test_client().post("/auth/reset", data={"email": f"not-an-address-{n}"})


def test_in_memory_each_app_counts_alone(sqlite_copy, tmp_path):
    """The control for the Redis test: without Redis two workers do not share counts."""
    allowed = first_allowance(ratelimits.RESET_REQUEST)
    one, two = _app(sqlite_copy, tmp_path), _app(sqlite_copy, tmp_path)
    assert_limited_after(allowed, lambda n: _ask_reset(one, n))
    assert _ask_reset(two, 0).status_code == 422
    off = _app(sqlite_copy, tmp_path, RATELIMIT_ENABLED=False)  # a third app, limits off...
    assert _ask_reset(off, 0).status_code == 422
    assert _ask_reset(one, 0).status_code == 429  # ...leaves the first one limited


@pytest.fixture
def redis_prefix():
    import redis
    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.RedisError as error:
        pytest.skip(f"Redis not reachable at {REDIS_URL} ({error}); set TEST_REDIS_URL to run it")
    prefix = f"forum-test-{uuid.uuid4().hex}"
    yield client, prefix
    for key in client.scan_iter(match=f"*{prefix}*"):
        client.delete(key)


def test_in_redis_two_apps_share_one_count(redis_prefix, sqlite_copy, tmp_path):
    client, prefix = redis_prefix
    allowed = first_allowance(ratelimits.RESET_REQUEST)
    settings = {"REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    one, two = _app(sqlite_copy, tmp_path, **settings), _app(sqlite_copy, tmp_path, **settings)
    # Alternate between the two "workers": the limit holds for the pair.
    refused = assert_limited_after(allowed, lambda n: _ask_reset(one if n % 2 else two, n))
    assert "Try again in" in refused.get_data(as_text=True)
    assert _ask_reset(one, 0).status_code == 429
    assert list(client.scan_iter(match=f"*{prefix}*"))  # the count really is in Redis


CHILD = """
import json, sys
from forum import create_app
settings = json.loads(sys.argv[1])
app = create_app(settings)
statuses = [app.test_client().post("/auth/reset", data={"email": f"x{n}"}).status_code
            for n in range(int(sys.argv[2]))]
print(json.dumps(statuses))
"""


def test_in_redis_another_process_shares_the_count(redis_prefix, sqlite_copy, tmp_path):
    """A second worker for real: a separate Python process spends most of the allowance."""
    _, prefix = redis_prefix
    allowed = first_allowance(ratelimits.RESET_REQUEST)
    settings = {"TESTING": True, "SECRET_KEY": "test-secret", "WTF_CSRF_ENABLED": False,
                "SQLALCHEMY_DATABASE_URI": sqlite_copy, "SEARCH_INDEX_DIR": str(tmp_path / "index"),
                "MAIL_BACKEND": "file", "MAIL_FILE_DIR": str(tmp_path / "mail"), "SERVER_NAME": None,
                "RATELIMIT_ENABLED": True, "REDIS_URL": REDIS_URL, "RATELIMIT_KEY_PREFIX": prefix}
    child = subprocess.run([sys.executable, "-c", CHILD, json.dumps(settings), str(allowed - 1)],
                           cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert child.returncode == 0, child.stderr
    assert json.loads(child.stdout.strip().splitlines()[-1]) == [422] * (allowed - 1)
    here = _app(sqlite_copy, tmp_path, REDIS_URL=REDIS_URL, RATELIMIT_KEY_PREFIX=prefix)
    assert _ask_reset(here, 0).status_code == 422  # the last one left
    assert _ask_reset(here, 1).status_code == 429


def test_a_dead_redis_falls_back_to_memory_instead_of_failing(sqlite_copy, tmp_path):
    app = _app(sqlite_copy, tmp_path, REDIS_URL="redis://127.0.0.1:1/0")  # nothing listens on port 1
    allowed = first_allowance(ratelimits.RESET_REQUEST)
    refused = assert_limited_after(allowed, lambda n: _ask_reset(app, n))
    assert refused.status_code == 429


def test_behind_a_trusted_proxy_the_forwarded_address_counts(sqlite_copy, tmp_path):
    allowed = first_allowance(ratelimits.RESET_REQUEST)
    proxied = _app(sqlite_copy, tmp_path, TRUSTED_PROXIES=1)
    send = lambda app, n, client_address: app.test_client().post(  # noqa: E731
        "/auth/reset", data={"email": f"x{n}"}, headers={"X-Forwarded-For": client_address})
    assert_limited_after(allowed, lambda n: send(proxied, n, "192.0.2.1"))
    assert send(proxied, 0, "192.0.2.2").status_code == 422  # another visitor behind the same proxy
    # Without a trusted proxy the header is the client's word and is ignored.
    direct = _app(sqlite_copy, tmp_path)
    assert_limited_after(allowed, lambda n: send(direct, n, f"192.0.2.{n + 10}"))


@pytest.mark.parametrize("age, limit", [(OLD, ratelimits.REPORTING),
                                        (timedelta(hours=2), ratelimits.REPORTING_NEW_ACCOUNT)])
def test_reporting_is_limited(app, limited_app, limited, age, limit):
    if "moderation.report_thread" not in limited_app.view_functions:
        pytest.skip("no report route in this tree (forum/moderation/views.py)")
    with app.app_context():
        reporter = make_user(created_at=utcnow() - age)
        thread = make_thread(make_user())
    log_in(limited, reporter)
    # An empty reason is refused (422) but still counts: every POST does.
    refused = assert_limited_after(first_allowance(limit), lambda n: limited.post(
        f"/report/thread/{thread.id}", data={"reason": ""}))
    assert "Try again in" in refused.get_data(as_text=True)
