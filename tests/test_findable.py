"""Findable and citable: robots.txt, sitemaps, head tags, JSON-LD, the Cite box and its downloads."""
from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import update

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.threads import services
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
SCRIPT_TITLE = "Why </script><script>alert(1)</script> & co?"


@pytest.fixture
def debate(app):
    with app.app_context():
        ada = make_user(username="ada", display_name="Ada Lovelace", bio="I write {notes} & 100% more.")
        thread = services.start_thread(db.session.get(User, ada.id), SCRIPT_TITLE,
                                       "A long *body* about attention. " * 20, "attention")
        reply = make_reply(thread, make_user(display_name="Grace Hopper"), "A reply with $math$.",
                           stance="supports")
        return {"thread": thread.id, "slug": thread.slug, "reply": reply.id}


def test_robots_txt_names_the_sitemap(client):
    response = client.get("/robots.txt")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    assert "Disallow: /auth/" in response.get_data(as_text=True)
    assert "Sitemap: http://localhost/sitemap.xml" in response.get_data(as_text=True)


def test_sitemap_index_splits_pages_at_the_configured_size(app, client):
    app.config["SITEMAP_URLS_PER_FILE"] = 2
    with app.app_context():
        author = make_user(username="writer")
        ids = [make_thread(author, title=f"Sitemapped thread {n}").id for n in range(5)]
        db.session.execute(update(Thread).where(Thread.id == ids[0]).values(hidden_at=utcnow()))
        db.session.commit()
    index = ET.fromstring(client.get("/sitemap.xml").data)
    locations = [loc.text for loc in index.iter(f"{SITEMAP}loc")]
    assert [loc for loc in locations if "threads" in loc] == [
        f"http://localhost/sitemaps/threads-{n}.xml" for n in (1, 2)]
    listed = []
    for location in locations:
        page = client.get(location.replace("http://localhost", ""))
        assert page.status_code == 200 and page.mimetype == "application/xml"
        urls = [loc.text for loc in ET.fromstring(page.data).iter(f"{SITEMAP}loc")]
        assert len(urls) <= 2
        listed += urls
    assert sorted(u for u in listed if "/t/" in u) == sorted(
        f"http://localhost/t/{i}/sitemapped-thread-{n}" for n, i in enumerate(ids) if n)
    assert "http://localhost/u/writer" in listed
    assert client.get("/sitemaps/threads-3.xml").status_code == 404
    assert client.get("/sitemaps/secrets-1.xml").status_code == 404
    assert client.get("/sitemaps/threads-0.xml").status_code == 404


def test_the_size_limit_is_the_protocols(app):
    from forum.opendata import sitemap
    app.config["SITEMAP_URLS_PER_FILE"] = 10**6
    with app.app_context():
        assert sitemap.per_page() == 50_000


def test_thread_page_has_canonical_description_opengraph_and_json_ld(client, debate):
    page = client.get(f"/t/{debate['thread']}/{debate['slug']}").get_data(as_text=True)
    head = page.split("</head>")[0]
    assert f'<link rel="canonical" href="http://localhost/t/{debate["thread"]}/{debate["slug"]}">' in head
    assert '<meta name="description" content="A long body about attention.' in head
    assert '<meta property="og:type" content="article">' in head
    assert '<meta property="og:site_name" content="Idea Exchange">' in head
    assert '<meta property="og:title" content="Why &lt;/script&gt;' in head
    scripts = re.findall(r'<script type="application/ld\+json">(.*?)</script>', head, re.S)
    assert len(scripts) == 1 and "</" not in scripts[0]
    data = json.loads(scripts[0])
    assert data["@type"] == "DiscussionForumPosting" and data["headline"] == SCRIPT_TITLE
    assert data["author"]["name"] == "Ada Lovelace" and data["url"].startswith("http://localhost/t/")
    assert data["comment"][0]["author"]["name"] == "Grace Hopper"
    assert data["interactionStatistic"][0]["userInteractionCount"] == 1


def test_paper_and_profile_pages_have_descriptions_and_opengraph(client, debate):
    for url, kind in (("/papers/1706.03762", "article"), ("/u/ada", "profile")):
        head = client.get(url).get_data(as_text=True).split("</head>")[0]
        assert '<link rel="canonical" href="http://localhost' in head
        assert '<meta name="description" content="' in head
        assert f'<meta property="og:type" content="{kind}">' in head
    assert 'content="I write {notes} &amp; 100% more."' in client.get("/u/ada").get_data(as_text=True)


def test_footer_shows_the_content_licence(app, client):
    assert "Posts are shared under CC BY 4.0" in client.get("/").get_data(as_text=True)
    app.config["CONTENT_LICENSE"] = "CC0 1.0"
    app.config["PAGE_CACHE_SECONDS"] = 0
    assert "Posts are shared under CC0 1.0" in client.get("/").get_data(as_text=True)


def test_every_thread_and_reply_has_a_cite_box(client, debate):
    page = client.get(f"/t/{debate['thread']}/{debate['slug']}").get_data(as_text=True)
    assert page.count('<details class="cite">') == 2
    assert f'<code>http://localhost/t/{debate["thread"]}</code>' in page
    assert f'href="/p/{debate["reply"]}/cite.bib"' in page
    assert f'href="/t/{debate["thread"]}/cite.json"' in page


def test_bibtex_of_a_thread(client, debate):
    response = client.get(f"/t/{debate['thread']}/cite.bib")
    assert response.status_code == 200 and response.mimetype == "application/x-bibtex"
    assert "attachment" in response.headers["Content-Disposition"]
    bib = response.get_data(as_text=True)
    today = utcnow().date()
    assert bib.startswith(f"@misc{{ideaexchange-t{debate['thread']},")
    assert "author = {{Ada Lovelace}}" in bib
    assert r"title = {{Why </script><script>alert(1)</script> \& co?}}" in bib
    assert f"year = {{{today.year}}}" in bib and f"month = {today.strftime('%b').lower()}," in bib
    assert f"url = {{http://localhost/t/{debate['thread']}}}" in bib
    assert "howpublished = {Idea Exchange, online research forum (thread)}" in bib
    assert f"note = {{Retrieved {today.isoformat()}}}" in bib


def test_csl_json_of_a_reply(client, debate):
    response = client.get(f"/p/{debate['reply']}/cite.json")
    assert response.mimetype == "application/vnd.citationstyles.csl+json"
    (item,) = json.loads(response.data)
    assert item["type"] == "post" and item["author"] == [{"literal": "Grace Hopper"}]
    assert item["title"] == f"Reply to: {SCRIPT_TITLE}"
    assert item["URL"] == f"http://localhost/p/{debate['reply']}"
    assert item["container-title"] == "Idea Exchange" and item["accessed"]["date-parts"][0][0] >= 2024


def test_permalinks_survive_a_title_edit(client, debate, app):
    before = client.get(f"/t/{debate['thread']}/cite.bib").get_data(as_text=True)
    with app.app_context():
        thread = db.session.get(Thread, debate["thread"])
        services.edit_thread(thread, "A completely new title", thread.body)
    after = client.get(f"/t/{debate['thread']}/cite.bib").get_data(as_text=True)
    url = f"url = {{http://localhost/t/{debate['thread']}}}"
    assert url in before and url in after and "A completely new title" in after
    moved = client.get(f"/t/{debate['thread']}")
    assert moved.headers["Location"].endswith(f"/t/{debate['thread']}/a-completely-new-title")
    old_slug = client.get(f"/t/{debate['thread']}/{debate['slug']}")
    assert old_slug.headers["Location"].endswith("/a-completely-new-title")
    reply = client.get(f"/p/{debate['reply']}")
    assert "/a-completely-new-title#p" in reply.headers["Location"]


def test_only_public_posts_can_be_cited(client, debate, app):
    with app.app_context():
        db.session.execute(update(Post).where(Post.id == debate["reply"]).values(held_at=utcnow()))
        db.session.commit()
    assert client.get(f"/p/{debate['reply']}/cite.bib").status_code == 404
    assert client.get(f"/p/{debate['reply']}/cite.json").status_code == 404
    assert client.get("/t/999999/cite.bib").status_code == 404
    page = client.get(f"/t/{debate['thread']}/{debate['slug']}").get_data(as_text=True)
    assert page.count('<details class="cite">') == 1
    with app.app_context():
        db.session.execute(update(Thread).where(Thread.id == debate["thread"])
                           .values(deleted_at=utcnow()))
        db.session.commit()
    assert client.get(f"/t/{debate['thread']}/cite.bib").status_code == 410


@pytest.mark.parametrize("html,text", [
    ("<p>One <em>two</em> <a href='x'>three</a>.</p><p>Four</p>", "One two three. Four"),
    ("<p>a &amp; b &lt;c&gt;</p>", "a & b <c>"),
    ("<p>" + "word " * 100 + "</p>", ("word " * 40).strip() + "…"),
    ("", ""),
])
def test_plain_excerpt(html, text):
    from forum.opendata.findable import plain_excerpt
    assert plain_excerpt(html) == text
