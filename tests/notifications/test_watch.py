"""Watch, stop watching and mute a thread: the routes, the control on the thread page, bad input."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from forum.database import utcnow
from forum.extensions import db
from forum.notifications.models import ThreadWatch
from forum.threads import services as threads
from forum.threads.models import Thread
from tests.factories import make_reply, make_thread, make_user
from tests.notifications.conftest import notified, refused_anonymously


def _page(client, thread):
    return client.get(f"/t/{thread.id}/{thread.slug}").get_data(as_text=True)


def test_watch_then_hear_every_reply(app, client, login):
    with app.app_context():
        alice, bob, watcher = make_user(), make_user(), make_user()
        thread = make_thread(alice, title="Watch this debate")
        first = make_reply(thread, bob, "First")
    login(watcher)
    assert "Not watching" in _page(client, thread)
    response = client.post(f"/t/{thread.id}/watch")
    assert response.headers["Location"].endswith(f"/t/{thread.id}/{thread.slug}#top")
    page = _page(client, thread)
    assert "Watching</span> Every reply notifies you." in page
    assert f'action="/t/{thread.id}/unwatch"' in page and f'action="/t/{thread.id}/mute"' in page
    assert f'action="/t/{thread.id}/watch"' not in page
    with app.app_context():
        nested = make_reply(thread, alice, "Alice answers bob", parent=first)
        assert notified(nested)[watcher.id] == "watching"


def test_the_author_watches_until_they_choose_otherwise(app, client, login):
    with app.app_context():
        alice = make_user()
        thread = make_thread(alice)
    login(alice)
    assert "Watching</span>" in _page(client, thread)
    client.post(f"/t/{thread.id}/unwatch")
    assert "Not watching</span>" in _page(client, thread)
    client.post(f"/t/{thread.id}/mute")
    page = _page(client, thread)
    assert "Muted</span> Only mentions of you notify you." in page and ">Unmute<" in page
    client.post(f"/t/{thread.id}/unwatch")
    assert "Not watching</span>" in _page(client, thread)
    with app.app_context():
        assert db.session.scalars(select(ThreadWatch.level)).all() == ["normal"]


def test_mute_from_the_page_silences_replies(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
    login(alice)
    client.post(f"/t/{thread.id}/mute")
    with app.app_context():
        post = make_reply(thread, bob, "Nobody hears this")
        assert notified(post) == {}


def test_logged_out_visitors_see_no_control(app, client):
    with app.app_context():
        thread = make_thread(make_user())
    assert 'id="watch"' not in _page(client, thread)


@pytest.mark.parametrize("action", ["watch", "unwatch", "mute"])
def test_missing_or_deleted_thread_is_404(app, client, login, action):
    with app.app_context():
        alice = make_user()
        thread = make_thread(alice)
        threads.delete_thread(db.session.get(Thread, thread.id))
    login(alice)
    for thread_id in (thread.id, 999_999):
        response = client.post(f"/t/{thread_id}/{action}")
        assert response.status_code == 404 and "does not exist" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(ThreadWatch)) is None


@pytest.mark.parametrize("action", ["watch", "unwatch", "mute"])
def test_anonymous_is_sent_to_log_in(app, client, action):
    with app.app_context():
        thread = make_thread(make_user())
    assert refused_anonymously(client.post(f"/t/{thread.id}/{action}"))
    with app.app_context():
        assert db.session.scalar(select(ThreadWatch)) is None


def test_watch_without_csrf_token_is_refused(app, client, login):
    with app.app_context():
        alice = make_user()
        thread = make_thread(alice)
    login(alice)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post(f"/t/{thread.id}/mute").status_code == 400
    with app.app_context():
        assert db.session.scalar(select(ThreadWatch)) is None


def test_a_hidden_thread_cannot_be_watched_by_others(app, client, login):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        db.session.get(Thread, thread.id).hidden_at = utcnow()
        db.session.commit()
    login(bob)
    assert client.post(f"/t/{thread.id}/watch").status_code == 404
    with app.app_context():
        assert db.session.scalar(select(ThreadWatch)) is None
