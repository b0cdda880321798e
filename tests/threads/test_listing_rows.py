"""Each thread on the front page and the tag listings, as threads/listing.py draws it: what a
person wrote is escaped, and the per-member markers (unread, new replies) are each member's own."""
import re

import pytest
from markupsafe import escape
from sqlalchemy import update

from forum.database import utcnow
from forum.extensions import db
from forum.papers.models import Paper
from forum.threads import services
from forum.threads.models import Thread
from tests.factories import make_reply, make_user

HOSTILE_TITLE = '</a></h2><script>alert("title")</script> & <b>bold</b>'
HOSTILE_NAME = '<script>alert("name")</script>'
HOSTILE_AFFILIATION = '"><img src=x onerror=alert(1)> & Co'
HOSTILE_PAPER = 'Attention <img src=x onerror=alert(2)> & "you"'


def _item(page: str, thread_id: int) -> str:
    """The ``<li>`` of one thread in a listing."""
    for found in re.finditer(r'<li class="thread-item[^"]*">.*?</details>\s*</li>', page, re.S):
        if re.search(rf'href="/t/{thread_id}/', found.group(0)):
            return found.group(0)
    raise AssertionError(f"thread {thread_id} is not listed")


def _body(page: str) -> str:
    """The page after its ``<head>``, without the layout's own script tags."""
    return page.split("</head>", 1)[1]


@pytest.fixture
def listing(app):
    """A thread by a member with a hostile name, citing a paper with a hostile title, and a
    plain one; a reader who will open the first."""
    with app.app_context():
        author = make_user(username="hostile", display_name=HOSTILE_NAME,
                           affiliation=HOSTILE_AFFILIATION)
        other = make_user(username="other")
        reader = make_user(username="reader")
        hostile = services.start_thread(db.session.get(type(author), author.id), HOSTILE_TITLE,
                                        "See arXiv:1706.03762 for the details.", "cs.lg nlp")
        plain = services.start_thread(db.session.get(type(other), other.id), "A plain question",
                                      "Body.", "")
        db.session.execute(update(Paper).where(Paper.arxiv_id == "1706.03762")
                           .values(title=HOSTILE_PAPER))
        db.session.commit()
        ids = {"hostile": hostile.id, "plain": plain.id}
    return {"author": author, "other": other, "reader": reader, **ids}


def test_hostile_titles_names_affiliations_and_paper_titles_are_escaped(client, listing):
    page = client.get("/?tab=new").get_data(as_text=True)
    item = _item(page, listing["hostile"])
    assert "&lt;/a&gt;&lt;/h2&gt;&lt;script&gt;alert(&#34;title&#34;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in item
    assert '<a class="author" href="/u/hostile">&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;</a>' in item
    assert ('<span class="affiliation">(&#34;&gt;&lt;img src=x onerror=alert(1)&gt; &amp; Co)</span>'
            in item)
    assert ('<p class="cited-titles">Cites <a href="/papers/1706.03762">Attention &lt;img src=x '
            'onerror=alert(2)&gt; &amp; &#34;you&#34;</a></p>') in item
    assert '<a class="tag" href="/tags/cs.lg">cs.lg</a>' in item
    body = _body(page)
    assert "<script>" not in body and "<img src=x" not in body and "<b>bold" not in body


def test_a_long_odd_title_links_by_its_slug_and_shows_as_written(app, client):
    with app.app_context():
        author = make_user()
        thread = services.start_thread(db.session.get(type(author), author.id),
                                       ("Ünïcödé — a/b?c#d%e & 'q' " * 10)[:200], "B", "")
        thread_id, slug, title = thread.id, thread.slug, thread.title
    item = _item(client.get("/").get_data(as_text=True), thread_id)
    assert re.fullmatch(r"[a-z0-9-]+", slug)
    assert f'<a href="/t/{thread_id}/{slug}">{escape(title)}</a>' in item


def test_unread_markers_belong_to_each_member(app, client, login, listing):
    # Never opened: "unvisited" for a member, nothing for a visitor.
    visitor_page = client.get("/").get_data(as_text=True)
    assert "unvisited" not in visitor_page and "unread-replies" not in visitor_page
    login(listing["reader"])
    hostile = listing["hostile"]
    assert 'class="thread-item unvisited"' in _item(client.get("/").get_data(as_text=True), hostile)
    with app.app_context():
        slug = db.session.get(Thread, hostile).slug
    client.get(f"/t/{hostile}/{slug}")  # opening it records the visit
    item = _item(client.get("/").get_data(as_text=True), hostile)
    assert 'class="thread-item"' in item and "unread-replies" not in item
    with app.app_context():
        thread = db.session.get(Thread, hostile)
        make_reply(thread, listing["other"], "A new point.")
        make_reply(thread, listing["reader"], "My own reply is not news to me.")
    item = _item(client.get("/").get_data(as_text=True), hostile)
    assert f'<a class="badge unread-replies" href="/t/{hostile}/{slug}">1 new</a>' in item
    assert "2 replies" in item
    # Another member has opened nothing: no badge, both threads unvisited.
    client.post("/auth/logout")
    login(listing["other"])
    page = client.get("/").get_data(as_text=True)
    assert "unread-replies" not in page and page.count('class="thread-item unvisited"') == 2


def test_a_deleted_thread_with_replies_shows_no_title_author_tags_or_citations(app, client, listing):
    with app.app_context():
        thread = db.session.get(Thread, listing["hostile"])
        make_reply(thread, listing["other"], "Still here.")
        db.session.execute(update(Thread).where(Thread.id == thread.id).values(deleted_at=utcnow()))
        db.session.commit()
    item = _item(client.get("/?tab=active").get_data(as_text=True), listing["hostile"])
    assert ">[deleted]</a>" in item and "1 reply" in item
    assert 'class="author"' not in item and 'class="tags"' not in item and "cited-titles" not in item


@pytest.mark.parametrize("tab, why", [
    ("hot", "Hot rank: score 0, 0 replies,"),
    ("active", "Ordered by latest activity: "),
    ("new", "Ordered by creation: "),
    ("top", "Ordered by score (0) among threads started in the period."),
])
def test_each_tab_says_why_a_thread_is_listed(app, client, listing, tab, why):
    with app.app_context():
        db.session.execute(update(Thread).where(Thread.id == listing["plain"]).values(pinned=True))
        db.session.commit()
    item = _item(client.get(f"/?tab={tab}&period=all").get_data(as_text=True), listing["plain"])
    assert '<span class="badge">pinned</span>' in item
    assert f"<p>Pinned by the moderators, so it stays on top. \n      {why}" in item
    assert '<span class="score" title="score">0 points</span>' in item


def test_a_tag_listing_draws_the_same_rows(client, listing):
    front = _item(client.get("/?tab=new").get_data(as_text=True), listing["hostile"])
    tagged = _item(client.get("/tags/nlp?tab=new").get_data(as_text=True), listing["hostile"])
    assert front == tagged
