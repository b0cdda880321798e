"""What each feed lists: the same public queries the pages use, made into Atom entries.

Every feed costs a fixed number of queries, whatever the size of the thread,
tag or member behind it: the entries are one bounded query with their authors
(and tags) eager-loaded, and entry links are permalinks (``/t/<id>``,
``/p/<id>``) that need no lookup of the page a reply sits on.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from flask import url_for

from forum.database import utcnow
from forum.extensions import db
from forum.feeds.atom import Entry, Feed
from forum.threads import queries as thread_queries
from forum.threads.models import Post, Thread

FEED_SIZE = 30  # entries per feed: a reader polling hourly misses nothing on a busy day


def thread_permalink(thread_id: int) -> str:
    """Stable through title edits: the slug is left out (the page redirects to add it)."""
    return url_for("threads.show", thread_id=thread_id, _external=True)


def reply_permalink(post_id: int) -> str:
    return url_for("threads.permalink", post_id=post_id, _external=True)


def profile_url(username: str) -> str:
    return url_for("accounts.profile", username=username, _external=True)


def thread_entry(thread: Thread, *, tagged: bool = True) -> Entry:
    """``tagged=False`` when the tags were not loaded with the thread (citation lists)."""
    return Entry(id=thread_permalink(thread.id), title=thread.title,
                 url=url_for("threads.show", thread_id=thread.id, slug=thread.slug, _external=True),
                 author_name=thread.author.name, author_url=profile_url(thread.author.username),
                 published=thread.created_at, updated=thread.edited_at or thread.created_at,
                 html=thread.body_html,
                 categories=[tag.name for tag in thread.tags] if tagged else [])


def reply_entry(post: Post, thread: Thread, author) -> Entry:
    stance = f" ({post.stance})" if post.stance else ""
    return Entry(id=reply_permalink(post.id), title=f"Reply by {author.name}{stance}: {thread.title}",
                 url=reply_permalink(post.id), author_name=author.name,
                 author_url=profile_url(author.username), published=post.created_at,
                 updated=post.edited_at or post.created_at, html=post.body_html)


def front_page(tab: str, period: str, tag: str | None = None) -> Feed:
    threads = db.session.scalars(
        thread_queries.front_page(tab, now=utcnow(), period=period, tag=tag, limit=FEED_SIZE,
                                  deleted=False)
        .options(selectinload(Thread.tags))).unique().all()
    args = {"tab": tab, **({"period": period} if tab == "top" else {})}
    if tag is None:
        title = f"{_site()}: {tab} debates"
        self_url = url_for("feeds.front_page", _external=True, **args)
        page_url = url_for("threads.index", _external=True, **args)
    else:
        title = f"{_site()}: debates tagged {tag} ({tab})"
        self_url = url_for("feeds.tag", tag=tag, _external=True, **args)
        page_url = url_for("threads.tag", tag=tag, _external=True, **args)
    # Last-Modified follows activity too: a reply reorders the "active" tab without editing a thread.
    return Feed(title=title, self_url=self_url, page_url=page_url,
                entries=[thread_entry(thread) for thread in threads],
                updated=max((thread.last_activity_at for thread in threads), default=None))


def thread_feed(thread: Thread) -> Feed:
    """The thread's newest public replies, and its opening post when they are few."""
    replies = db.session.scalars(
        select(Post).options(joinedload(Post.author))
        .where(Post.thread_id == thread.id, Post.deleted_at.is_(None), Post.public())
        .order_by(Post.created_at.desc(), Post.id.desc()).limit(FEED_SIZE)).all()
    entries = [reply_entry(post, thread, post.author) for post in replies]
    if len(entries) < FEED_SIZE:
        entries.append(thread_entry(thread))
    return Feed(title=f"Replies to: {thread.title}",
                self_url=url_for("feeds.thread", thread_id=thread.id, _external=True),
                page_url=url_for("threads.show", thread_id=thread.id, slug=thread.slug,
                                 _external=True), entries=entries)


def citations_feed(title: str, self_url: str, page_url: str, mentions) -> Feed:
    """Debates citing a paper or repository: each citing thread body or reply, newest first."""
    entries = []
    for mention in mentions:
        if mention.post is None:
            entries.append(thread_entry(mention.thread, tagged=False))
        elif not mention.post.is_deleted:
            entries.append(reply_entry(mention.post, mention.thread, mention.post.author))
        if len(entries) == FEED_SIZE:
            break
    return Feed(title=title, self_url=self_url, page_url=page_url, entries=entries)


def member_feed(user) -> Feed:
    """A member's public threads and replies, newest first."""
    threads = db.session.scalars(thread_queries.threads_by(user.id)
                                 .options(selectinload(Thread.tags)).limit(FEED_SIZE)).all()
    replies = db.session.scalars(thread_queries.replies_by(user.id)
                                 .where(Thread.deleted_at.is_(None)).limit(FEED_SIZE)).all()
    entries = ([thread_entry(thread) for thread in threads]
               + [reply_entry(post, post.thread, user) for post in replies])
    entries.sort(key=lambda entry: entry.published, reverse=True)
    return Feed(title=f"{user.name} on {_site()}",
                self_url=url_for("feeds.member", username=user.username, _external=True),
                page_url=profile_url(user.username), entries=entries[:FEED_SIZE])


def search_feed(text: str, outcome) -> Feed:
    """The newest threads and replies matching a query: a saved search is this feed's URL."""
    wanted_threads, wanted_posts = [], []
    for result in outcome.results:
        for key in result.group.keys:
            kind, _, ident = key.partition(":")
            if kind == "thread" and ident.isdigit():
                wanted_threads.append(int(ident))
            elif kind == "post" and ident.isdigit():
                wanted_posts.append(int(ident))
    threads = _public_threads(wanted_threads)
    posts = _public_posts(wanted_posts)
    entries = [thread_entry(threads[i]) for i in wanted_threads if i in threads]
    entries += [reply_entry(posts[i], posts[i].thread, posts[i].author)
                for i in wanted_posts if i in posts]
    entries.sort(key=lambda entry: entry.published, reverse=True)
    return Feed(title=f"{_site()}: search for {text}",
                self_url=url_for("feeds.search", q=text, _external=True),
                page_url=url_for("search.search", q=text, sort="newest", _external=True),
                entries=entries[:FEED_SIZE])


def _public_threads(ids: list[int]) -> dict[int, Thread]:
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Thread).options(joinedload(Thread.author), selectinload(Thread.tags))
        .where(Thread.id.in_(ids), Thread.deleted_at.is_(None), Thread.public()))
    return {thread.id: thread for thread in rows.unique()}


def _public_posts(ids: list[int]) -> dict[int, Post]:
    if not ids:
        return {}
    rows = db.session.scalars(
        select(Post).options(joinedload(Post.author), joinedload(Post.thread))
        .join(Thread, Thread.id == Post.thread_id)
        .where(Post.id.in_(ids), Post.deleted_at.is_(None), Post.public(),
               Thread.deleted_at.is_(None), Thread.public()))
    return {post.id: post for post in rows.unique()}


def _site() -> str:
    from flask import current_app
    return current_app.config["FORUM_SITE_NAME"]
