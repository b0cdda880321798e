"""Sitemaps: an index, and pages of at most ``URLS_PER_SITEMAP`` addresses each.

The sitemaps protocol caps a file at 50,000 URLs, so ``/sitemap.xml`` is an
index naming ``/sitemaps/<kind>-<n>.xml`` pages: public threads (with the time
of their last activity), papers that public debates cite, and members with
public posts. A page is one bounded query in id order.
"""
from __future__ import annotations

from xml.sax.saxutils import escape

from flask import current_app, url_for
from sqlalchemy import exists, func, select

from forum.accounts.models import User
from forum.extensions import db
from forum.papers.models import Paper, PaperMention
from forum.threads.models import Post, Thread, slugify

URLS_PER_SITEMAP = 50_000  # the protocol's limit per file
KINDS = ("threads", "papers", "members")
XMLNS = "http://www.sitemaps.org/schemas/sitemap/0.9"


def per_page() -> int:
    return min(int(current_app.config.get("SITEMAP_URLS_PER_FILE", URLS_PER_SITEMAP)),
               URLS_PER_SITEMAP)


def _public_threads():
    return select(Thread.id).where(Thread.deleted_at.is_(None), Thread.public())


def _cited_papers():
    return (select(Paper.id).where(exists().where(
        PaperMention.paper_id == Paper.id, PaperMention.thread_id.in_(_public_threads()))))


def _members():
    threads = exists().where(Thread.author_id == User.id, Thread.deleted_at.is_(None),
                             Thread.public())
    posts = exists().where(Post.author_id == User.id, Post.deleted_at.is_(None), Post.public())
    return select(User.id).where(threads | posts)


_IDS = {"threads": _public_threads, "papers": _cited_papers, "members": _members}


def index_xml() -> str:
    size = per_page()
    counts = {kind: db.session.scalar(select(func.count()).select_from(_IDS[kind]().subquery()))
              for kind in KINDS}
    items = []
    for kind in KINDS:
        for n in range(1, max(1, -(-counts[kind] // size)) + 1):
            loc = url_for("opendata.sitemap_page", kind=kind, number=n, _external=True)
            items.append(f"<sitemap><loc>{escape(loc)}</loc></sitemap>")
    return (f'<?xml version="1.0" encoding="UTF-8"?>\n<sitemapindex xmlns="{XMLNS}">'
            + "".join(items) + "</sitemapindex>\n")


def _link_maker(endpoint: str, *names: str):
    """Absolute links for ``endpoint`` filled in by string formatting: 50,000 ``url_for`` calls
    would cost a second. (Slugs and usernames hold only URL-safe characters.)"""
    markers = {name: 9081726350 + n for n, name in enumerate(names)}  # digits: fit int converters
    pattern = url_for(endpoint, _external=True, **markers)
    for name, marker in markers.items():
        pattern = pattern.replace(str(marker), "{" + name + "}")
    return lambda *values: pattern.format(**dict(zip(names, map(str, values))))


def page_xml(kind: str, number: int) -> str | None:
    """One sitemap page, or None when ``number`` is past the last page."""
    size = per_page()
    ids = _IDS[kind]().order_by(None)
    offset = (number - 1) * size
    if kind == "threads":
        rows = db.session.execute(
            select(Thread.id, Thread.title, Thread.last_activity_at)
            .where(Thread.id.in_(ids)).order_by(Thread.id).offset(offset).limit(size)).all()
        link = _link_maker("threads.show", "thread_id", "slug")
        # The canonical address (with the slug), not the permalink that redirects to it.
        urls = [(link(row.id, slugify(row.title)), row.last_activity_at) for row in rows]
    elif kind == "papers":
        rows = db.session.scalars(select(Paper.arxiv_id).where(Paper.id.in_(ids))
                                  .order_by(Paper.id).offset(offset).limit(size)).all()
        urls = [(url_for("papers.paper", ident=arxiv_id, _external=True), None) for arxiv_id in rows]
    else:
        rows = db.session.scalars(select(User.username).where(User.id.in_(ids))
                                  .order_by(User.id).offset(offset).limit(size)).all()
        link = _link_maker("accounts.profile", "username")
        urls = [(link(name), None) for name in rows]
    if not urls and number > 1:
        return None
    items = "".join(
        f"<url><loc>{escape(loc)}</loc>"
        + (f"<lastmod>{moment.strftime('%Y-%m-%dT%H:%M:%S+00:00')}</lastmod>" if moment else "")
        + "</url>" for loc, moment in urls)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="{XMLNS}">{items}</urlset>\n'
