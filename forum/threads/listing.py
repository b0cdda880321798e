"""The rows of the front page and the tag listings, drawn in Python.

Members always get these pages drawn (the page cache serves visitors only),
and drawing 25 rows through the template was most of the request: Jinja's
per-row include, per-attribute lookups and macro calls cost far more than
the markup. ``thread_items`` draws the same bytes the template's loop drew,
so the pages (and their tests) are unchanged.

What every row shares (the links cut around a thread id, each author's
linked name, each tag's link) is worked out once per request. Every value
that comes from a person (titles, names, affiliations, tags, paper titles)
is escaped here; the result is ``Markup``, safe to insert as it is.
"""
from __future__ import annotations

from datetime import datetime
from typing import NamedTuple
from urllib.parse import quote

from flask import url_for
from markupsafe import Markup, escape

from forum.accounts.models import User
from forum.templating import link_around, plural, quick_url, time_tag_text
from forum.threads import ranking
from forum.threads.models import slugify
from forum.threads.widgets import _author

# Between rows: the blank lines the template's loop drew, so the page's bytes stay as they were.
_BEFORE, _AFTER = "\n  \n  ", "\n  "
_PINNED = '<span class="badge">pinned</span>'
_PINNED_WHY = "Pinned by the moderators, so it stays on top. "


class _Author(NamedTuple):
    """What a byline reads of its author (``widgets._author``), from a listing row."""
    username: str
    name: str
    affiliation: str | None


def thread_items(threads, *, tags: dict[int, list[str]], cited: dict, unread: dict, tab: str,
                 now: datetime) -> Markup:
    """Each thread's ``<li>`` in a listing's ``<ol>``: title, tags, cited papers, score,
    byline, replies (and how many are new to this member), and why it is listed here.

    ``threads`` are rows of ``queries.LISTED_COLUMNS`` (the thread's columns, and its
    author's ``username``, ``display_name`` and ``affiliation``) and the listing's total.
    ``unread`` is ``reading.unread_counts``: thread id -> new replies, None for a thread
    the member never opened (empty for a visitor); ``cited`` is
    ``papers.queries.cited_titles``.
    """
    before_id, between, after_slug = link_around("threads.show", "thread_id", "slug")
    before_user, after_user = link_around("accounts.profile", "username")
    drawn: dict = {}  # author id, tag name or arXiv id -> its link, drawn once per page
    rows = []
    for thread in threads:
        (thread_id, title, author_id, created_at, last_activity_at, score, reply_count, pinned,
         deleted_at, username, display_name, affiliation, _) = thread
        deleted = deleted_at is not None
        link = f"{before_id}{thread_id}{between}{slugify(title)}{after_slug}"
        news = unread.get(thread_id) if unread else None
        unvisited = " unvisited" if unread and thread_id in unread and news is None else ""
        if deleted:
            byline = tag_list = papers = ""
        else:
            author = drawn.get(author_id)
            if author is None:  # (the row has both columns ``User.name`` reads)
                author = drawn[author_id] = _author(  # the profile link as quick_url draws it
                    _Author(username, User.name.fget(thread), affiliation),
                    f"{before_user}{quote(username, safe='')}{after_user}")
            byline = f"{author}\n  · {time_tag_text(created_at, now)} · "
            tag_list = _tag_list(tags.get(thread_id, ()), drawn)
            papers = _cited(cited.get(thread_id) if cited else None, drawn)
        badge = (f' · <a class="badge unread-replies" href="{link}">{news} new</a>' if news else "")
        rows.append(
            f'{_BEFORE}<li class="thread-item{unvisited}">\n'
            f'    <h2 class="thread-title">\n'
            f'      {_PINNED if pinned else ""}\n'
            f'      <a href="{link}">{"[deleted]" if deleted else escape(title)}</a>\n'
            f'    </h2>\n'
            f'    {tag_list}\n'
            f'    \n\n{papers}\n'
            f'    <p class="meta">\n'
            f'      <span class="score" title="score">{plural(score, "point")}</span> ·\n'
            f'      {byline}\n'
            f'      {plural(reply_count, "reply", "replies")}{badge}\n'
            f'      · last activity {time_tag_text(last_activity_at, now)}\n'
            f'    </p>\n'
            f'    <details class="rank">\n'
            f'      <summary>Why here?</summary>\n'
            f'      <p>{_PINNED_WHY if pinned else ""}\n'
            f'      {_why(tab, score, reply_count, created_at, last_activity_at, now)}</p>\n'
            f'    </details>\n'
            f'  </li>{_AFTER}')
    return Markup("".join(rows))


def _why(tab: str, score: int, replies: int, created_at: datetime, last_activity_at: datetime,
         now: datetime) -> str:
    """The "Why here?" sentence for the tab's order. Nothing in it needs escaping: it is
    numbers, dates and fixed words (so no ``escape`` call per row)."""
    if tab == "hot":
        return f"Hot rank: {ranking.hotness_explained(score, replies, created_at, now)}.\n      "
    if tab == "active":
        return f"Ordered by latest activity: {last_activity_at.strftime('%Y-%m-%d %H:%M UTC')}.\n      "
    if tab == "new":
        return f"Ordered by creation: {created_at.strftime('%Y-%m-%d %H:%M UTC')}.\n      "
    return f"Ordered by score ({int(score)}) among threads started in the period."


def _tag_list(names, drawn: dict) -> str:
    """As ``widgets.tag_links``, each tag's item drawn once per page."""
    items = []
    for name in names:
        key = ("tag", name)
        item = drawn.get(key)
        if item is None:
            item = drawn[key] = (f'<li><a class="tag" href="{quick_url("threads.tag", tag=name)}">'
                                 f'{escape(name)}</a></li>')
        items.append(item)
    return f'<ul class="tags" aria-label="Tags">{"".join(items)}</ul>' if items else ""


def _cited(papers, drawn: dict) -> str:
    """The titles of the first papers a thread cites, each linked to its paper page
    (each paper's link drawn once per page)."""
    if not papers:
        return ""
    links = []
    for paper in papers:
        key = ("paper", paper.arxiv_id)
        link = drawn.get(key)
        if link is None:
            link = drawn[key] = (f'<a href="{escape(url_for("papers.paper", ident=paper.arxiv_id))}">'
                                 f'{escape(paper.title or "arXiv:" + paper.arxiv_id)}</a>')
        links.append(link)
    return f'\n<p class="cited-titles">Cites {"; ".join(links)}</p>\n'
