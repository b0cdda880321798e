"""The page cache: logged-out visitors share a few seconds of rendered pages, safely."""
import re

import pytest
from sqlalchemy import update

from forum import pagecache
from forum.extensions import db
from forum.threads.models import Thread
from tests.factories import make_reply, make_thread, make_user
from tests.querycount import count_queries

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def cached_app(app):
    app.config["PAGE_CACHE_SECONDS"] = 30
    return app


def test_a_logged_out_visitor_gets_the_front_page_without_a_query(cached_app, client):
    with cached_app.app_context():
        make_thread(make_user(), title="Do sparse autoencoders find features?")
    first, page = count_queries(cached_app, client, "/")
    again, cached = count_queries(cached_app, client, "/")
    assert first > 0 and again == 0
    assert "Do sparse autoencoders find features?" in cached
    assert TOKEN.sub("", page) == TOKEN.sub("", cached)


def test_thread_and_tag_pages_are_cached_too(cached_app, client):
    with cached_app.app_context():
        thread = make_thread(make_user(), title="Scaling laws revisited")
        db.session.get(Thread, thread.id)
    url = client.get(f"/t/{thread.id}").headers["Location"]
    count_queries(cached_app, client, url)
    assert count_queries(cached_app, client, url)[0] == 0
    count_queries(cached_app, client, "/tags/ml")
    assert count_queries(cached_app, client, "/tags/ml")[0] == 0


def test_a_write_in_the_process_shows_at_once(cached_app, client):
    with cached_app.app_context():
        author = make_user()
        thread = make_thread(author, title="First debate")
    client.get("/")
    with cached_app.app_context():
        make_thread(author, title="Second debate, just posted")
        make_reply(thread, author, "A reply that bumps the first.")
    queries, page = count_queries(cached_app, client, "/")
    assert queries > 0 and "Second debate, just posted" in page


def test_a_plain_update_statement_clears_the_cache_too(cached_app, client):
    with cached_app.app_context():
        thread = make_thread(make_user(), title="Votes change scores with UPDATE statements")
    client.get("/")
    with cached_app.app_context():
        db.session.execute(update(Thread).where(Thread.id == thread.id).values(score=42))
        db.session.commit()
    assert "42 points" in count_queries(cached_app, client, "/")[1]


def test_another_process_write_shows_when_the_entry_expires(cached_app, client, monkeypatch):
    with cached_app.app_context():
        thread = make_thread(make_user(), title="Old title for a cached list")
    client.get("/")
    with cached_app.app_context(), db.engine.begin() as conn:  # no ORM session: as another process
        conn.execute(update(Thread).where(Thread.id == thread.id).values(title="New title"))
    assert "Old title for a cached list" in client.get("/").get_data(as_text=True)
    later = pagecache.time.monotonic() + 31
    monkeypatch.setattr(pagecache.time, "monotonic", lambda: later)
    assert "New title" in client.get("/").get_data(as_text=True)


def test_members_always_get_a_page_drawn_for_them(cached_app, client, login):
    with cached_app.app_context():
        member = make_user(username="reader")
    client.get("/")  # a logged-out copy exists
    login(member)
    queries, page = count_queries(cached_app, client, "/")
    assert queries > 0 and "@reader" in page
    assert count_queries(cached_app, client, "/")[0] > 0


def test_a_flashed_message_is_never_lost_to_the_cache(cached_app, client, login):
    with cached_app.app_context():
        member = make_user()
    client.get("/")
    login(member)
    client.post("/auth/logout")
    page = client.get("/").get_data(as_text=True)
    assert "You are logged out." in page


def test_each_visitor_gets_a_working_token_of_their_own(cached_app):
    cached_app.config["WTF_CSRF_ENABLED"] = True
    first, second = cached_app.test_client(), cached_app.test_client()
    token_one = TOKEN.search(first.get("/").get_data(as_text=True)).group(1)
    token_two = TOKEN.search(second.get("/").get_data(as_text=True)).group(1)
    assert pagecache.PLACEHOLDER not in token_one + token_two
    assert token_one != token_two
    for client, token in ((first, token_one), (second, token_two)):
        response = client.post("/digest", data={"email": "reader@example.org",
                                                          "csrf_token": token})
        assert response.status_code in (200, 302, 303)
    assert second.post("/digest", data={"email": "x@example.org",
                                                  "csrf_token": token_one}).status_code == 400


def test_only_good_answers_are_kept(cached_app, client):
    assert client.get("/?tab=nonsense").status_code == 400
    assert client.get("/?tab=nonsense").status_code == 400
    assert count_queries(cached_app, client, "/?tab=new")[0] >= 0
    assert len(cached_app.extensions["pagecache"]) == 1


def test_a_zero_lifetime_turns_it_off(app, client):
    app.config["PAGE_CACHE_SECONDS"] = 0
    with app.app_context():
        make_thread(make_user())
    count_queries(app, client, "/")
    assert count_queries(app, client, "/")[0] > 0
