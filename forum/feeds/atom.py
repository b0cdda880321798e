"""One Atom document from a feed description and its entries, and the HTTP answer for it."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timezone

from feedgen.feed import FeedGenerator
from flask import Response, current_app

# Characters XML 1.0 cannot carry at all; lxml refuses them, so they are dropped. (A table for
# str.translate: several times faster than a regex over every post. Text read from the database
# is decoded UTF-8, so it holds no lone surrogates.)
NOT_XML = dict.fromkeys([*range(0x00, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0xFFFE, 0xFFFF])
MIMETYPE = "application/atom+xml"
# An empty feed's <updated> (Atom requires one): fixed, so its ETag stays the same between polls.
EMPTY_FEED_UPDATED = datetime(2025, 1, 1, tzinfo=timezone.utc)


def xml_text(text: str | None) -> str:
    return (text or "").translate(NOT_XML)


@dataclass
class Entry:
    id: str  # absolute permalink; never changes when a title is edited
    title: str  # plain text
    url: str
    author_name: str
    author_url: str
    published: datetime
    updated: datetime
    html: str  # the stored, sanitized rendering of the post
    categories: list[str] = field(default_factory=list)


@dataclass
class Feed:
    title: str
    self_url: str
    page_url: str  # the HTML page this feed follows
    subtitle: str = ""
    entries: list[Entry] = field(default_factory=list)
    updated: datetime | None = None  # when there are no entries: the newest thing it knows of

    @property
    def last_changed(self) -> datetime | None:
        moments = [entry.updated for entry in self.entries]
        if self.updated is not None:
            moments.append(self.updated)
        return max(moments) if moments else None


def render(feed: Feed, fallback_updated: datetime = EMPTY_FEED_UPDATED) -> bytes:
    generator = FeedGenerator()
    site = current_app.config["FORUM_SITE_NAME"]
    generator.id(feed.self_url)
    generator.title(xml_text(feed.title))
    if feed.subtitle:
        generator.subtitle(xml_text(feed.subtitle))
    generator.author(name=xml_text(site))
    generator.link(href=feed.self_url, rel="self", type=MIMETYPE)
    generator.link(href=feed.page_url, rel="alternate", type="text/html")
    generator.generator(xml_text(site))
    generator.updated(feed.last_changed or fallback_updated)
    for item in feed.entries:
        entry = generator.add_entry(order="append")
        entry.id(item.id)
        entry.title(xml_text(item.title))
        entry.link(href=item.url, rel="alternate", type="text/html")
        entry.author(name=xml_text(item.author_name), uri=item.author_url)
        entry.published(item.published)
        entry.updated(item.updated)
        entry.content(xml_text(item.html), type="html")
        for term in item.categories:
            entry.category(term=term)
    return generator.atom_str(pretty=False)


def answer(feed: Feed, fallback_updated: datetime = EMPTY_FEED_UPDATED) -> Response:
    """The 200 answer, with a strong ETag and Last-Modified; ``cache.shared`` makes it conditional."""
    body = render(feed, fallback_updated)
    response = Response(body, mimetype=MIMETYPE)
    response.set_etag(hashlib.sha256(body).hexdigest()[:32])
    response.last_modified = feed.last_changed or fallback_updated
    return response
