"""Atom feeds: valid, escaped, public-only, absolute, discoverable and conditional."""
from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import timedelta

from types import SimpleNamespace

import pytest
from sqlalchemy import update

from forum.database import utcnow
from forum.accounts.models import User
from forum.extensions import db
from forum.threads import services
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user

ATOM = "{http://www.w3.org/2005/Atom}"
EVIL_TITLE = 'x</summary><link rel="alternate" href="https://evil.example/"/> <img src=x>'


def parse(response) -> ET.Element:
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/atom+xml"
    return ET.fromstring(response.data)


def entries(feed: ET.Element) -> list[ET.Element]:
    return feed.findall(f"{ATOM}entry")


def text(element: ET.Element, name: str) -> str:
    return element.find(f"{ATOM}{name}").text or ""


@pytest.fixture
def debate(app):
    with app.app_context():
        ada = make_user(username="ada", display_name="Ada Lovelace")
        grace = make_user(username="grace", display_name="Grace Hopper")
        thread = services.start_thread(db.session.get(User, ada.id), EVIL_TITLE,
                                       "Attention and *arXiv:1706.03762*, "
                                       "code at https://github.com/karpathy/nanoGPT", "attention")
        reply = make_reply(thread, grace, "I disagree <script>alert(1)</script> **strongly**.",
                           stance="challenges")
        hidden = make_reply(thread, grace, "A reply a moderator hid.")
        db.session.execute(update(Post).where(Post.id == hidden.id).values(hidden_at=utcnow()))
        held = make_reply(thread, grace, "A reply awaiting approval.")
        db.session.execute(update(Post).where(Post.id == held.id).values(held_at=utcnow()))
        gone = make_reply(thread, grace, "A reply its author deleted.")
        db.session.execute(update(Post).where(Post.id == gone.id).values(deleted_at=utcnow()))
        db.session.commit()
        return {"thread": SimpleNamespace(id=thread.id, slug=thread.slug), "reply": reply}


def test_thread_feed_lists_public_replies_escaped_with_absolute_links(client, debate):
    thread, reply = debate["thread"], debate["reply"]
    feed = parse(client.get(f"/t/{thread.id}.atom"))
    assert text(feed, "title") == f"Replies to: {EVIL_TITLE}"
    assert feed.find(f"{ATOM}link[@rel='self']").get("href") == f"http://localhost/t/{thread.id}.atom"
    found = entries(feed)
    assert [text(e, "id") for e in found] == [f"http://localhost/p/{reply.id}",
                                              f"http://localhost/t/{thread.id}"]
    first = found[0]
    assert text(first, "title") == f"Reply by Grace Hopper (challenges): {EVIL_TITLE}"
    assert first.find(f"{ATOM}author/{ATOM}name").text == "Grace Hopper"
    assert first.find(f"{ATOM}author/{ATOM}uri").text == "http://localhost/u/grace"
    assert first.find(f"{ATOM}link").get("href") == f"http://localhost/p/{reply.id}"
    content = first.find(f"{ATOM}content")
    assert content.get("type") == "html" and "<strong>strongly</strong>" in content.text
    assert "<script>" not in content.text  # sanitized when written, escaped in the XML
    assert text(first, "updated") and text(first, "published")
    body = client.get(f"/t/{thread.id}.atom").get_data(as_text=True)
    for secret in ("moderator hid", "awaiting approval", "its author deleted"):
        assert secret not in body
    assert "<img" not in body and "&lt;img" in body  # text, not an element
    assert all(link.get("href").startswith("http://localhost/") for link in feed.iter(f"{ATOM}link"))
    assert [c.get("term") for c in found[1].findall(f"{ATOM}category")] == ["attention"]


def test_every_listing_has_a_feed_that_is_valid_xml(client, debate, app):
    thread = debate["thread"]
    for url in ("/feed.atom", "/feed.atom?tab=new", "/feed.atom?tab=top&period=all",
                "/feed.atom?tab=active", "/tags/attention.atom", "/u/ada.atom", "/u/grace.atom",
                "/papers/1706.03762.atom", "/repos/karpathy/nanoGPT.atom", "/digest/feed.atom"):
        feed = parse(client.get(url))
        assert text(feed, "title") and text(feed, "updated") and text(feed, "id").startswith("http")
    assert EVIL_TITLE in [text(e, "title") for e in entries(parse(client.get("/feed.atom")))]
    assert len(entries(parse(client.get("/u/grace.atom")))) == 1  # hidden/held/deleted left out
    assert len(entries(parse(client.get("/papers/1706.03762.atom")))) == 1
    assert client.get("/papers/arXiv:1706.03762.atom").headers["Location"].endswith(
        "/papers/1706.03762.atom")
    assert client.get(f"/t/{thread.id}/some-slug.atom").headers["Location"].endswith(
        f"/t/{thread.id}.atom")


def test_search_feed_lists_new_matching_posts(client, app):
    with app.app_context():
        author = make_user(username="alan")
        thread = make_thread(author, title="Gradient accumulation on one GPU", body="Loss curves.")
        make_reply(thread, author, "Gradient clipping matters more than accumulation.")
    feed = parse(client.get("/search.atom?q=gradient"))
    assert {text(e, "title") for e in entries(feed)} >= {"Gradient accumulation on one GPU"}
    assert len(entries(feed)) == 2
    assert client.get("/search.atom").status_code == 400
    assert client.get("/search.atom?q=the").status_code == 400


@pytest.mark.parametrize("url,status", [
    ("/tags/attention.json", 404), ("/tags/c++.atom", 404), ("/u/nobody.atom", 404),
    ("/papers/not-an-id.atom", 404), ("/repos/-a/b.atom", 404),
    # a path below a repository is a pasted GitHub link: it leads to the repository (ISSUE-15)
    ("/repos/a/b/c.atom", 301), ("/t/999999.atom", 404),
    ("/feed.atom?tab=sideways", 400), ("/tags/attention.atom?tab=sideways", 400),
    ("/u/ad%00a.atom", 400), ("/search.atom?q=a%00b", 400), ("/t/2147483648.atom", 404),
])
def test_bad_feed_addresses(client, debate, url, status):
    assert client.get(url).status_code == status


def test_unknown_suffixes_on_tag_and_thread_pages_are_404(client, debate):
    thread = debate["thread"]
    assert client.get("/tags/attention.json").status_code == 404
    assert client.get(f"/t/{thread.id}/{thread.slug}.json").status_code == 404
    assert client.get("/tags/attention").status_code == 200
    assert client.get("/tags/ml").status_code == 200  # an unused tag is still an empty page


def test_hidden_held_and_deleted_threads_have_no_feed(client, app):
    with app.app_context():
        author = make_user()
        ids = [make_thread(author, title=f"Thread number {n}").id for n in range(3)]
        now = utcnow()
        for column, thread_id in zip(("hidden_at", "held_at", "deleted_at"), ids):
            db.session.execute(update(Thread).where(Thread.id == thread_id).values({column: now}))
        db.session.commit()
    assert [client.get(f"/t/{i}.atom").status_code for i in ids] == [404, 404, 410]
    body = client.get("/feed.atom?tab=new").get_data(as_text=True)
    assert "Thread number" not in body


def test_conditional_get_answers_304(client, debate, app):
    url = f"/t/{debate['thread'].id}.atom"
    first = client.get(url)
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 304
    assert client.get(url, headers={"If-Modified-Since": modified}).status_code == 304
    with app.app_context():
        make_reply(db.session.get(Thread, debate["thread"].id), make_user(), "A new reply changes the feed.")
    assert client.get(url, headers={"If-None-Match": etag}).status_code == 200


def test_feeds_are_cached_for_everyone_and_forgotten_on_write(client, debate, app):
    from tests.querycount import count_queries
    app.config["PAGE_CACHE_SECONDS"] = 30
    url = "/feed.atom?tab=new"
    count_queries(app, client, url)
    assert count_queries(app, client, url)[0] == 0
    with app.app_context():
        make_thread(make_user(), title="A brand new debate appears")
    queries, body = count_queries(app, client, url)
    assert queries > 0 and "A brand new debate appears" in body


def test_pages_link_their_feeds_in_the_head(client, debate):
    thread = debate["thread"]
    pages = {"/": "/feed.atom?tab=hot", "/?tab=new": "/feed.atom?tab=new",
             "/tags/attention": "/tags/attention.atom?tab=hot",
             f"/t/{thread.id}/{thread.slug}": f"/t/{thread.id}.atom",
             "/papers/1706.03762": "/papers/1706.03762.atom",
             "/repos/karpathy/nanoGPT": "/repos/karpathy/nanoGPT.atom",
             "/u/ada": "/u/ada.atom", "/search?q=attention": "/search.atom?q=attention"}
    for page, feed in pages.items():
        html = client.get(page).get_data(as_text=True)
        head = html.split("</head>")[0]
        assert f'type="application/atom+xml"' in head, page
        assert f'href="http://localhost{feed}"' in head, (page, head[-600:])


def test_the_digest_feed_escapes_titles(client, app):
    from forum.digest.models import DigestIssue
    with app.app_context():
        db.session.add(DigestIssue(week="2026-W01", created_at=utcnow() - timedelta(days=1),
                                   sections={"top": [{"id": 1, "title": EVIL_TITLE}]}))
        db.session.commit()
    feed = parse(client.get("/digest/feed.atom"))
    (entry,) = entries(feed)
    html = entry.find(f"{ATOM}content").text  # HTML, whose text is the escaped title
    assert "x&lt;/summary&gt;&lt;link" in html and "<img" not in html
    assert all(e.get("href").startswith("http://localhost/") for e in feed.iter(f"{ATOM}link"))


def test_control_characters_do_not_break_the_xml(client, app):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Bell \x07 and form feed \x0c in a title")
    feed = parse(client.get(f"/t/{thread.id}.atom"))
    assert "Bell  and form feed  in a title" in text(feed, "title")


def test_a_forged_host_header_cannot_poison_cached_answers(client, debate, app):
    app.config["PAGE_CACHE_SECONDS"] = 30
    thread = debate["thread"]
    for url in ("/feed.atom?tab=new", f"/t/{thread.id}/{thread.slug}", "/api/v1/threads"):
        client.get(url, headers={"Host": "attacker.invalid"})
        assert "attacker.invalid" not in client.get(url).get_data(as_text=True), url


def test_api_answers_are_conditional_too(client, debate):
    first = client.get("/api/v1/threads")
    assert first.headers["ETag"]
    again = client.get("/api/v1/threads", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    assert client.head("/feed.atom").status_code == 200
