"""The JSON API v1: what it shows, what it never shows, and how it refuses bad requests."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.threads import services
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user


@pytest.fixture
def forum(app):
    """A debate with a nested, cited reply tree, plus content no visitor may see."""
    with app.app_context():
        ada = make_user(username="ada", display_name="Ada Lovelace", affiliation="Engine Lab",
                        bio="Computing pioneer.")
        grace = make_user(username="grace", display_name="Grace Hopper")
        thread = services.start_thread(db.session.get(User, ada.id), "Is attention all you need?",
                                       "See arXiv:1706.03762.", "attention cs.lg")
        first = make_reply(thread, grace, "Mamba says no: arXiv:2312.00752 and "
                                          "https://github.com/state-spaces/mamba", stance="challenges")
        child = make_reply(thread, ada, "Recall still needs attention.", parent=first,
                           stance="evidence")
        hidden = make_reply(thread, grace, "Secret hidden text.", parent=first)
        make_reply(thread, ada, "Below a hidden reply.", parent=hidden)
        gone = make_reply(thread, grace, "Deleted words.")
        db.session.execute(update(Post).where(Post.id == hidden.id).values(hidden_at=utcnow()))
        db.session.execute(update(Post).where(Post.id == gone.id).values(deleted_at=utcnow()))
        held_thread = make_thread(grace, title="A held thread nobody may see")
        db.session.execute(update(Thread).where(Thread.id == held_thread.id)
                           .values(held_at=utcnow()))
        for n in range(5):
            make_thread(grace, title=f"Filler thread {n}")
        db.session.commit()
        return {"thread": thread.id, "first": first.id, "child": child.id,
                "held_thread": held_thread.id}


def test_threads_listing_pages_by_cursor_without_gaps_or_repeats(client, forum):
    seen, url, pages = [], "/api/v1/threads?tab=new&limit=2", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        assert response.headers["Access-Control-Allow-Origin"] == "*"
        body = response.json
        seen += [thread["id"] for thread in body["threads"]]
        url, pages = body["next"], pages + 1
    assert pages == 3 and len(seen) == len(set(seen)) == 6
    assert forum["held_thread"] not in seen
    tagged = client.get("/api/v1/threads?tag=attention").json["threads"]
    assert [t["title"] for t in tagged] == ["Is attention all you need?"]
    assert tagged[0]["tags"] == ["attention", "cs.lg"]
    assert tagged[0]["author"]["display_name"] == "Ada Lovelace"


def test_a_thread_with_its_reply_tree_stances_scores_and_citations(client, forum):
    body = client.get(f"/api/v1/threads/{forum['thread']}").json["thread"]
    assert body["citations"] == {"papers": ["1706.03762"], "repositories": []}
    (first,) = body["replies"]  # the deleted top-level reply has no public reply below it
    assert first["stance"] == "challenges" and first["score"] == 0
    assert first["citations"] == {"papers": ["2312.00752"], "repositories": ["state-spaces/mamba"]}
    child, removed = first["replies"]
    assert child["id"] == forum["child"] and child["stance"] == "evidence"
    assert removed["removed"] is True and set(removed) == {"removed", "replies"}
    assert removed["replies"][0]["body"] == "Below a hidden reply."
    assert body["stance_counts"]["challenges"] == 1
    text = json.dumps(body)
    assert "Secret hidden text" not in text and "Deleted words" not in text
    assert "@example.org" not in text and "email" not in text


BAD_REQUESTS = [
    ("/api/v1/threads/999999", 404), ("/api/v1/threads/2147483648", 404), ("/api/v1/threads/abc", 404),
    ("/api/v1/threads?cursor=not-a-cursor", 400), ("/api/v1/threads?limit=0", 400),
    ("/api/v1/threads?limit=999999999999999999999", 400), ("/api/v1/threads?limit=-1", 400),
    ("/api/v1/threads?tab=sideways", 400), ("/api/v1/threads?tag=C%2B%2B", 400), ("/api/v1/threads?tag=", 400),
    ("/api/v1/threads?tag=a%00b", 400), ("/api/v1/members/%00ada", 400),
    ("/api/v1/members/nobody", 404), ("/api/v1/papers/not-an-id", 404),
    ("/api/v1/papers/2401.99999", 404), ("/api/v1/repositories/a/b", 404),
    ("/api/v1/search", 400), ("/api/v1/search?q=%20", 400), ("/api/v1/search?q=x&page=51", 400),
    ("/api/v1/threads/1?page=0", 400), ("/api/v2/threads", 404), ("/api/v1/papers?cursor=%FF", 400),
]


def test_bad_requests_answer_json_errors(client, forum, subtests):
    """Each bad request a subtest of its own, on one forum (they only read)."""
    for url, status in BAD_REQUESTS:
        with subtests.test(url=url):
            response = client.get(url)
            assert response.status_code == status, response.get_data(as_text=True)[:200]
            assert response.mimetype == "application/json"
            assert response.json["error"]["status"] == status and response.json["error"]["message"]
            assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_held_hidden_and_deleted_threads(client, forum, app):
    assert client.get(f"/api/v1/threads/{forum['held_thread']}").status_code == 404
    with app.app_context():
        db.session.execute(update(Thread).where(Thread.id == forum["thread"])
                           .values(deleted_at=utcnow()))
        db.session.commit()
    assert client.get(f"/api/v1/threads/{forum['thread']}").status_code == 410


def test_a_cursor_from_another_listing_is_refused(client, forum):
    cursor = client.get("/api/v1/threads?tab=new&limit=1").json["next"].split("cursor=")[1]
    response = client.get(f"/api/v1/threads?tab=top&limit=1&cursor={cursor}")
    assert response.status_code == 400 and "another listing" in response.json["error"]["message"]


def test_odd_accept_headers_and_methods(client, forum):
    assert client.get("/api/v1/threads", headers={"Accept": "text/html"}).status_code == 406
    assert client.get("/api/v1/threads", headers={"Accept": "*/*"}).status_code == 200
    assert client.get("/api/v1/threads", headers={"Accept": "garbage;;q=x"}).status_code in (200, 406)
    response = client.post("/api/v1/threads", data={"title": "x"})
    assert response.status_code == 405 and response.json["error"]["status"] == 405
    assert client.delete("/api/v1/threads/1").status_code == 405


def test_papers_repositories_and_members(client, forum):
    papers = client.get("/api/v1/papers").json
    assert {p["arxiv_id"] for p in papers["papers"]} == {"1706.03762", "2312.00752"}
    paper = client.get("/api/v1/papers/arXiv:1706.03762").json["paper"]
    assert [d["id"] for d in paper["debates"]] == [forum["thread"]]
    repos = client.get("/api/v1/repositories").json["repositories"]
    assert [r["full_name"] for r in repos] == ["state-spaces/mamba"]
    repo = client.get("/api/v1/repositories/State-Spaces/Mamba").json["repository"]
    assert [d["id"] for d in repo["debates"]] == [forum["thread"]]
    member = client.get("/api/v1/members/ADA").json["member"]
    assert member["display_name"] == "Ada Lovelace" and member["affiliation"] == "Engine Lab"
    assert "email" not in json.dumps(member) and "role" not in member
    assert [t["id"] for t in member["recent_threads"]] == [forum["thread"]]
    limited = client.get("/api/v1/papers?limit=1").json
    assert len(limited["papers"]) == 1 and limited["next"]
    assert len(client.get(limited["next"]).json["papers"]) == 1


def test_search_uses_the_query_language(client, forum):
    body = client.get("/api/v1/search?q=tag:attention").json
    assert [r["thread"]["id"] for r in body["results"] if r["kind"] == "thread"] == [forum["thread"]]
    assert "hidden" not in json.dumps(client.get("/api/v1/search?q=secret").json).lower()
    common = client.get("/api/v1/search?q=the").json
    assert common["results"] == [] and common["notes"]


def test_the_api_has_its_own_rate_limit(app, forum):
    from limits import parse_many

    from forum import create_app, ratelimits
    from forum.accounts.hashing import TEST_GRADE
    keys = ("TESTING", "SECRET_KEY", "SQLALCHEMY_DATABASE_URI", "SEARCH_INDEX_DIR", "MAIL_BACKEND",
            "MAIL_FILE_DIR", "SERVER_NAME")
    limited_app = create_app({**{key: app.config[key] for key in keys}, **TEST_GRADE,
                              "RATELIMIT_ENABLED": True, "PAGE_CACHE_SECONDS": 0})
    client = limited_app.test_client()
    allowance = min(item.amount for item in parse_many(ratelimits.API))
    statuses = [client.get("/api/v1/papers").status_code for _ in range(allowance + 1)]
    assert statuses[:allowance] == [200] * allowance and statuses[-1] == 429
    limited = client.get("/api/v1/papers")
    assert limited.json["error"]["status"] == 429 and int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["Access-Control-Allow-Origin"] == "*"
    assert client.get("/").status_code == 200  # pages are not counted against it
    with limited_app.app_context():
        db.session.remove()
        db.engine.dispose()
