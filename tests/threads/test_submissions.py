"""A reply or thread form sent twice (double click, retry after a timeout) makes one post."""
from __future__ import annotations

import re
import threading

from sqlalchemy import func, select

from forum.extensions import db
from forum.threads import services
from forum.threads.models import Post, Thread
from tests.factories import make_thread, make_user

def _token(client, path: str) -> str:
    page = client.get(path).get_data(as_text=True)
    found = re.search(r'name="submission_token"[^>]*value="([^"]+)"', page) or re.search(
        r'value="([^"]+)"[^>]*name="submission_token"', page)
    assert found, "the form carries no submission token"
    return found.group(1)


def test_a_reply_sent_twice_makes_one_reply_and_both_redirect_to_it(app, client, login):
    with app.app_context():
        user = make_user()
        thread = make_thread(user)
    login(user)
    token = _token(client, f"/t/{thread.id}/a-thread-about-ideas")
    data = {"body": "Sent with a double click.", "submission_token": token}
    first = client.post(f"/t/{thread.id}/reply", data=data)
    second = client.post(f"/t/{thread.id}/reply", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    assert "#p" in first.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 1
        assert db.session.get(Thread, thread.id).reply_count == 1


def test_two_forms_make_two_replies(app, client, login):
    with app.app_context():
        user = make_user()
        thread = make_thread(user)
    login(user)
    for n in range(2):
        token = _token(client, f"/t/{thread.id}/reply")
        client.post(f"/t/{thread.id}/reply", data={"body": f"Reply {n}.", "submission_token": token})
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 2


def test_a_refused_reply_keeps_its_token_so_the_fixed_one_still_counts_once(app, client, login):
    with app.app_context():
        user = make_user()
        thread = make_thread(user)
    login(user)
    token = _token(client, f"/t/{thread.id}/reply")
    refused = client.post(f"/t/{thread.id}/reply", data={"body": "", "submission_token": token})
    assert refused.status_code == 422
    assert token in refused.get_data(as_text=True)


def test_a_new_thread_sent_twice_makes_one_thread(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    token = _token(client, "/t/new")
    data = {"title": "One debate, sent twice", "body": "Body.", "submission_token": token}
    first, second = client.post("/t/new", data=data), client.post("/t/new", data=data)
    assert first.headers["Location"] == second.headers["Location"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Thread.id))) == 1


def test_the_same_token_from_another_member_is_theirs(app, login):
    with app.app_context():
        ada, grace = make_user(), make_user()
        thread = make_thread(ada)
    token = "x" * 24
    for user in (ada, grace):
        client = app.test_client()
        client.post("/auth/login", data={"login": user.username, "password": "correct horse battery"})
        client.post(f"/t/{thread.id}/reply", data={"body": "Mine.", "submission_token": token})
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 2


def test_concurrent_copies_race_and_make_one_reply(app):
    """Two copies at once: the unique key on (author, token) lets one commit."""
    with app.app_context():
        user = make_user()
        thread = make_thread(user)
    results, errors = [], []

    def send():
        try:
            with app.app_context():
                post = services.reply(db.session.get(Thread, thread.id),
                                      db.session.get(type(user), user.id), "Twice at once.",
                                      submission_token="t" * 24)
                results.append(post.id)
        except Exception as error:  # noqa: BLE001  (reported below)
            errors.append(error)

    workers = [threading.Thread(target=send) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=30)
    assert errors == [] and len(results) == 4 and len(set(results)) == 1
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 1
        assert db.session.get(Thread, thread.id).reply_count == 1
