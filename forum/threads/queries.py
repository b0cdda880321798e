"""Select builders for the thread pages, each carrying its eager loads."""
from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask_sqlalchemy.pagination import Pagination
from sqlalchemy import Integer, Select, and_, bindparam, func, or_, select
from sqlalchemy.orm import aliased, joinedload

from forum.accounts.models import User
from forum.database import UTCDateTime, id_values, ids_arity, ids_in, utcnow
from forum.extensions import db
from forum.threads import ranking
from forum.threads.models import STANCES, Authored, Moderated, Post, Revision, Tag, Thread, thread_tags

# Deeper replies are drawn at this indentation and say "in reply to @name".
MAX_INDENT = 6


def front_page(tab: str = "active", *, now: datetime | None = None, period: str = "all",
               tag: str | None = None, limit: int, offset: int = 0,
               deleted: bool = True) -> Select:
    """``limit`` threads from ``offset`` on for one front-page tab (see ``ranking``), pinned
    ones first, as ``Thread`` objects with their authors (feeds and the API).

    A deleted thread stays listed while it has replies, unless ``deleted`` is False.
    ``tag`` narrows the list to threads carrying that (normalized) tag. The page's ids
    are picked from an index first (``_page_ids``), so the page is part of the statement.
    """
    return _listing(tab, db.engine.dialect.name, tag is not None, period if tab == "top" else "all",
                    deleted).params(_listing_values(now, period, tag), limit=limit, offset=offset)


class ListingPage(Pagination):
    """One page of a front-page tab or tag listing, and the tag names of its threads.

    Members always get these pages drawn, so the statements are built once per
    process (``_listing_page``) with the time, period and tag as bound parameters:
    SQLAlchemy then reuses its compiled form without walking the hotness
    expression again on each request. Tags come as plain names in one
    statement for the whole page, not as ORM objects. The threads themselves
    are plain rows too (``LISTED_COLUMNS``: what a row shows, its author's name
    and affiliation), not ``Thread`` and ``User`` objects: building those cost
    more than the statement, and bodies, emails and a dozen dates were read
    and converted for nothing. The page's ids are picked from an index before
    any row is read (``_page_ids``).
    The total is not ``count(*) over ()`` on the page's rows: a window makes
    SQLite sort every thread instead of keeping the top few. It is the count
    as an uncorrelated scalar subquery in the page's statement (its last
    column, ``listed_total``), which both databases run once per statement, not
    per row: one statement fewer on every listing page, whose set-up in
    SQLAlchemy cost more than the count. Only a page past the end (no rows to
    read it from) runs the count on its own.
    """

    def _query_items(self) -> list:
        args = self._query_args
        connection = db.session.connection()  # plain rows: see ``_outline_of``
        threads = list(connection.execute(args["page_statement"], {
            **args["values"], "limit": self.per_page, "offset": self._query_offset}))
        self.tags: dict[int, list[str]] = {thread.id: [] for thread in threads}
        if threads:
            for thread_id, name in connection.execute(_tag_names(ids_arity(len(self.tags))),
                                                      id_values(list(self.tags))):
                self.tags[thread_id].append(name)
        return threads

    def _query_count(self) -> int:
        if self.items:
            return self.items[0].listed_total
        if self.page == 1:
            return 0
        return db.session.connection().scalar(self._query_args["count_statement"],
                                              self._query_args["values"])


def front_page_listing(tab: str, *, now: datetime, period: str, tag: str | None, page: int,
                       per_page: int) -> ListingPage:
    """One page of ``front_page``, with its threads' tag names (see ``ListingPage``)."""
    key = (tab, db.engine.dialect.name, tag is not None, period if tab == "top" else "all")
    return ListingPage(page=page, per_page=per_page, error_out=False,
                       page_statement=_listing_page(*key), count_statement=_listing_count(*key),
                       values=_listing_values(now, period, tag))


def _listing_values(now: datetime | None, period: str, tag: str | None) -> dict:
    now = now or utcnow()
    since = ranking.TOP_PERIODS.get(period)
    return {"now": now, "since": now - since if since else None, "tag": tag}


@functools.cache
def _listing(tab: str, dialect: str, tagged: bool, period: str, deleted: bool) -> Select:
    """The statement behind ``front_page``, with ``now``, ``since``, ``tag``, ``limit`` and
    ``offset`` as parameters."""
    page = _page_ids(tab, dialect, tagged, period, deleted)
    return (select(Thread).join(page, page.c.id == Thread.id).options(joinedload(Thread.author))
            .order_by(*_order(Thread, tab, dialect)))


def _page_ids(tab: str, dialect: str, tagged: bool, period: str, deleted: bool = True):
    """The ids of one page of a listing, in a subquery over an alias of ``threads`` that
    reads only what ``ix_threads_listed`` holds (the order's and the filter's columns).

    The statements around it read only those rows, and put them in order again.
    Ordered and counted straight from the table, every thread's whole row was read, body
    included, on every listing page. The index is in Active's order, so there the
    subquery stops at the page's end; Hot still computes every listed thread's hotness
    (README "Speed" has the figures at 100,000 threads).
    """
    listed = aliased(Thread)
    query = select(listed.id)
    if not deleted:
        query = query.where(listed.deleted_at.is_(None))
    return (_in_order(query, tab, dialect, tagged, period, listed)
            .limit(bindparam("limit", type_=Integer)).offset(bindparam("offset", type_=Integer))
            .subquery("page"))


def _in_order(query: Select, tab: str, dialect: str, tagged: bool, period: str,
              thread=Thread) -> Select:
    """``query`` over ``thread`` (``Thread`` or an alias of it) narrowed to the listed threads
    and put in the tab's order."""
    query = query.where(or_(thread.deleted_at.is_(None), thread.reply_count > 0), thread.public())
    if tagged:
        query = query.where(thread.id.in_(
            select(thread_tags.c.thread_id).join(Tag, Tag.id == thread_tags.c.tag_id)
            .where(Tag.name == bindparam("tag"))))
    if tab == "top" and ranking.TOP_PERIODS.get(period) is not None:
        query = query.where(thread.created_at >= bindparam("since"))
    return query.order_by(*_order(thread, tab, dialect))


def _order(thread, tab: str, dialect: str) -> list:
    """A tab's order over ``thread``: pinned threads first, then the tab's value, newest first."""
    if tab == "hot":
        key = ranking.hotness_sql(thread, bindparam("now", type_=UTCDateTime()), dialect)
    elif tab == "new":
        key = thread.created_at
    elif tab == "top":
        key = thread.score
    else:
        key = thread.last_activity_at
    return [thread.pinned.desc(), key.desc(), thread.id.desc()]


# What a listed thread's row shows, and of its author what a byline names.
LISTED_COLUMNS = (Thread.id, Thread.title, Thread.author_id, Thread.created_at,
                  Thread.last_activity_at, Thread.score, Thread.reply_count, Thread.pinned,
                  Thread.deleted_at, User.username, User.display_name, User.affiliation)


@functools.cache
def _listing_page(tab: str, dialect: str, tagged: bool, period: str) -> Select:
    """One page of the listing as plain rows of ``LISTED_COLUMNS`` and the listing's total
    (see ``ListingPage``); the page's ids come from ``_page_ids``."""
    page = _page_ids(tab, dialect, tagged, period)
    total = _listing_count(tab, dialect, tagged, period).scalar_subquery().label("listed_total")
    return (select(*LISTED_COLUMNS, total).select_from(page)
            .join(Thread, Thread.id == page.c.id).join(User, User.id == Thread.author_id)
            .order_by(*_order(Thread, tab, dialect)))


@functools.cache
def _listing_count(tab: str, dialect: str, tagged: bool, period: str) -> Select:
    return select(func.count()).select_from(
        _in_order(select(Thread.id), tab, dialect, tagged, period).order_by(None).subquery())


@functools.cache
def _tag_names(arity: int) -> Select:
    """The tag names of a page's threads (``database.ids_in`` says why not ``expanding``)."""
    return (select(thread_tags.c.thread_id, Tag.name)
            .join(Tag, Tag.id == thread_tags.c.tag_id)
            .where(ids_in(thread_tags.c.thread_id, arity))
            .order_by(Tag.name))


def all_tags() -> list[tuple[str, int]]:
    """Every tag with the number of live threads carrying it, most used first."""
    count = func.count(Thread.id)
    return db.session.execute(
        select(Tag.name, count)
        .join(thread_tags, thread_tags.c.tag_id == Tag.id)
        .join(Thread, Thread.id == thread_tags.c.thread_id)
        .where(Thread.deleted_at.is_(None), Thread.public())
        .group_by(Tag.name).order_by(count.desc(), Tag.name)
    ).all()


def tag_exists(name: str) -> bool:
    return db.session.scalar(select(Tag.id).where(Tag.name == name)) is not None


def tag_suggestions(limit: int = 200) -> list[str]:
    return [name for name, _ in all_tags()[:limit]]


def thread_for_page(thread_id: int) -> Thread | None:
    """A thread with what its page shows: author and tags, in one statement."""
    return db.session.scalars(_THREAD_FOR_PAGE, {"thread_id": thread_id}).unique().one_or_none()


# Built once, as the reply statements below: every thread page (and the API's) runs it.
# Tags are joined rather than read by a second SELECT (selectinload): for one thread's
# few tags the second statement and its loader cost more than the repeated thread columns.
_THREAD_FOR_PAGE = (select(Thread).options(joinedload(Thread.author), joinedload(Thread.tags))
                    .where(Thread.id == bindparam("thread_id")))


def thread_with_author(thread_id: int) -> Thread | None:
    return db.session.scalar(
        select(Thread).options(joinedload(Thread.author)).where(Thread.id == thread_id)
    )


def post_with_thread(post_id: int) -> Post | None:
    return db.session.scalar(
        select(Post).options(joinedload(Post.thread), joinedload(Post.author))
        .where(Post.id == post_id)
    )


def revisions_of(target: Thread | Post) -> list[Revision]:
    column = Revision.thread_id if isinstance(target, Thread) else Revision.post_id
    return list(db.session.scalars(
        select(Revision).where(column == target.id).order_by(Revision.id)))


def karma_of(user_id: int) -> int:
    """The sum of the scores of a member's threads and replies (deleted ones too: votes stay)."""
    threads = select(func.coalesce(func.sum(Thread.score), 0)).where(Thread.author_id == user_id)
    posts = select(func.coalesce(func.sum(Post.score), 0)).where(Post.author_id == user_id)
    return int(db.session.scalar(select(threads.scalar_subquery() + posts.scalar_subquery())))


def stance_counts_of(user_id: int) -> dict[str, int]:
    rows = db.session.execute(
        select(Post.stance, func.count(Post.id))
        .where(Post.author_id == user_id, Post.deleted_at.is_(None), Post.stance.is_not(None),
               Post.public())
        .group_by(Post.stance)).all()
    found = dict(rows)
    return {stance: found.get(stance, 0) for stance in STANCES}


def threads_by(user_id: int) -> Select:
    return (select(Thread).options(joinedload(Thread.author))
            .where(Thread.author_id == user_id, Thread.deleted_at.is_(None), Thread.public())
            .order_by(Thread.created_at.desc()))


def replies_by(user_id: int) -> Select:
    return (select(Post).options(joinedload(Post.thread))
            .join(Thread, Thread.id == Post.thread_id)
            .where(Post.author_id == user_id, Post.deleted_at.is_(None), Post.public(),
                   Thread.public())
            .order_by(Post.created_at.desc()))


@dataclass
class ReplyRow:
    """One reply as the thread page draws it."""

    post: ShownReply | Post  # a Post when the tree was read ``with_source``
    depth: int
    parent: ShownReply | Post | None
    masked: bool = False  # held or hidden, drawn as a placeholder because visible replies hang below

    @property
    def indent(self) -> int:
        return min(self.depth, MAX_INDENT)

    @property
    def shows_parent_link(self) -> bool:
        return self.depth > MAX_INDENT


@dataclass
class ReplyTree:
    rows: list[ReplyRow]
    top_level_count: int
    page: int
    pages: int
    sort: str = "best"
    stance: str | None = None
    stance_counts: dict[str, int] = field(default_factory=dict)
    participants: int = 0


def reply_tree(thread_id: int, page: int, per_page: int, *, sort: str = "best",
               stance: str | None = None, thread_author_id: int | None = None,
               viewer=None, with_source: bool = False) -> ReplyTree:
    """The replies of one page of top-level replies, as a depth-first list.

    Two queries whatever the thread's size: the tree's outline (ids, parents,
    stances, votes, states: no bodies, no dates) of every reply, from which the order,
    the pagination and the debate summary are worked out; then the drawn
    replies and their parents, with their authors (``ShownReply``: what a page
    draws; full ``Post`` objects ``with_source``, for the API). A 1,000-reply
    thread thus reads bodies only for the page it shows.

    Replies are paginated by top-level reply, each with its whole subtree, so
    a conversation is never cut in half across pages. Siblings follow
    ``sort`` (see ``ranking.order_replies``). With a ``stance``, the page
    lists only the replies taking it, flat, each saying whom it answers.

    Held and hidden replies are shown to moderators and to their author
    (``viewer``); to everyone else they are absent, or a placeholder when
    replies the viewer may see hang below them. Counts are of public replies.
    """
    outline, masked = _visible_outline(_outline_of(thread_id), viewer)
    parent_of = {node.id: node.parent_id for node in outline}
    live = [node for node in outline if node.is_live]
    counts = Counter(node.stance for node in live if node.stance)
    authors = {node.author_id for node in live} | ({thread_author_id} if thread_author_id else set())
    children: dict[int | None, list[_Node]] = {}
    if stance is not None:
        roots = [node for node in live if node.stance == stance]
        ranking.order_replies(roots, sort)
    else:
        for node in outline:
            children.setdefault(node.parent_id if node.parent_id in parent_of else None,
                                []).append(node)
        for siblings in children.values():
            ranking.order_replies(siblings, sort)
        roots = children.get(None, [])
    pages = max(1, -(-len(roots) // per_page))
    page = min(max(page, 1), pages)
    drawn: list[tuple[int, int]] = []
    stack = [(node, 0) for node in reversed(roots[(page - 1) * per_page: page * per_page])]
    while stack:  # iterative, so a 1,000-deep chain cannot hit the recursion limit
        node, depth = stack.pop()
        drawn.append((node.id, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(node.id, [])))
    wanted = {post_id for post_id, _ in drawn} | {parent_of[post_id] for post_id, _ in drawn}
    wanted.discard(None)
    posts = (_drawn_replies(list(wanted), with_source) if wanted else {})
    rows = [ReplyRow(posts[post_id], depth, posts.get(parent_of[post_id]), post_id in masked)
            for post_id, depth in drawn]
    return ReplyTree(rows, len(roots), page, pages, sort, stance,
                     {name: counts.get(name, 0) for name in STANCES}, len(authors))


@dataclass(slots=True)
class _Node:
    """One reply in a tree's outline: enough to order, paginate and summarise it.

    Plain slots rather than the result's rows: the tree is walked several times
    over every reply, and reading a field by name from a SQLAlchemy ``Row``
    goes through a Python-level lookup each time, where a slot is one step.
    """

    id: int
    parent_id: int | None
    author_id: int
    stance: str | None
    up_count: int
    down_count: int
    is_live: bool  # neither deleted, held nor hidden
    is_public: bool  # neither held nor hidden


def _outline_of(thread_id: int) -> list[_Node]:
    """Every reply of a thread, oldest first (by creation, then id), without bodies.

    No dates are read: the order comes from SQL and the sorts keep it for
    ties (``ranking.order_replies``); the states are read as yes/no in SQL.
    Run on the session's connection rather than through ``session.execute``:
    the ORM would pass each of a long thread's rows through a Python step of
    its own, for plain columns that need none, and its per-statement set-up
    costs about as much as a small statement itself. (No autoflush: the callers read
    before they change anything, or after their service has committed.)
    """
    rows = db.session.connection().execute(_OUTLINE, {"thread_id": thread_id})
    return [_Node(*row) for row in rows]


# Built once: a thread page runs both, and SQLAlchemy then finds its compiled
# form without walking the statement again.
_PUBLIC_REPLY = and_(Post.held_at.is_(None), Post.hidden_at.is_(None))
_OUTLINE = (select(Post.id, Post.parent_id, Post.author_id, Post.stance, Post.up_count,
                   Post.down_count, and_(_PUBLIC_REPLY, Post.deleted_at.is_(None)), _PUBLIC_REPLY)
            .where(Post.thread_id == bindparam("thread_id")).order_by(Post.created_at, Post.id))
# What a thread page draws of a reply and of its author (see ShownReply).
# The states come as yes/no, as in the outline: a page asks whether, never when.
_DRAWN_REPLIES = (select(Post.id, Post.author_id, Post.body_html, Post.stance, Post.score,
                         Post.created_at, Post.edited_at, Post.deleted_at.is_not(None),
                         Post.held_at.is_not(None), Post.hidden_at.is_not(None),
                         User.username, User.display_name, User.affiliation)
                  .join(User, User.id == Post.author_id)
                  .where(Post.id.in_(bindparam("ids", expanding=True))))
# The API also gives each reply's Markdown source (``with_source``).
_DRAWN_REPLIES_WITH_SOURCE = (select(Post).options(joinedload(Post.author))
                              .where(Post.id.in_(bindparam("ids", expanding=True))))


def _drawn_replies(ids: list[int], with_source: bool) -> dict[int, ShownReply | Post]:
    """Reply id -> the reply as drawn (``ShownReply``), or as a full ``Post`` ``with_source``."""
    if with_source:
        return {post.id: post for post in db.session.scalars(_DRAWN_REPLIES_WITH_SOURCE, {"ids": ids})}
    rows = db.session.connection().execute(_DRAWN_REPLIES, {"ids": ids})
    return {row[0]: ShownReply(*row[:10], Byline(row[1], *row[10:])) for row in rows}


class Byline:
    """A reply author as a thread page names them: the columns a byline draws, no more."""

    __slots__ = ("id", "username", "display_name", "affiliation")

    def __init__(self, id: int, username: str, display_name: str, affiliation: str):
        self.id, self.username = id, username
        self.display_name, self.affiliation = display_name, affiliation

    name = User.name  # the same property: the display name, else the username


class ShownReply(Authored, Moderated):
    """A reply as a thread page draws it: plain attributes from one row of
    ``_DRAWN_REPLIES``, with ``Post``'s own permission predicates.

    Not an ORM object: a page draws hundreds of replies, and building and
    registering an ORM instance (and its author) for each cost more than reading
    the rows; the page only reads them. Whether it is deleted, held or hidden is
    kept as yes/no (the predicates ask only that), not the dates; columns not
    read here (those dates, the Markdown source, the thread) raise AttributeError,
    as an unloaded column would.
    """

    __slots__ = ("id", "author_id", "body_html", "stance", "score", "created_at", "edited_at",
                 "is_deleted", "is_held", "is_hidden", "is_public", "author")

    def __init__(self, id, author_id, body_html, stance, score, created_at, edited_at,
                 is_deleted, is_held, is_hidden, author: Byline):
        self.id, self.author_id, self.body_html, self.stance, self.score = (
            id, author_id, body_html, stance, score)
        self.created_at, self.edited_at, self.author = created_at, edited_at, author
        self.is_deleted, self.is_held, self.is_hidden = is_deleted, is_held, is_hidden
        self.is_public = not (self.is_held or self.is_hidden)  # as Moderated.is_public

    anchor = Post.anchor  # the same property as a Post's


def _visible_outline(outline: list[_Node], viewer) -> tuple[list[_Node], set[int]]:
    """The outline nodes ``viewer`` may see, and the ids of those kept only as placeholders."""
    if viewer is not None and viewer.is_authenticated and viewer.is_moderator:
        return outline, set()
    viewer_id = viewer.id if viewer is not None and viewer.is_authenticated else None
    needed: set[int] = set()
    kept, masked = [], set()
    for node in reversed(outline):  # children come after their parents
        visible = node.is_public or node.author_id == viewer_id
        if visible or node.id in needed:
            kept.append(node)
            if not visible:
                masked.add(node.id)
            if node.parent_id is not None:
                needed.add(node.parent_id)
    kept.reverse()
    return kept, masked


def page_of_post(post: Post, per_page: int, sort: str = "best") -> int:
    """The thread page on which a reply appears (for permalinks), in ``sort`` order."""
    outline = _outline_of(post.thread_id)
    parents = {node.id: node.parent_id for node in outline}
    root_id = post.id
    while parents.get(root_id) is not None:
        root_id = parents[root_id]
    roots = [node for node in outline if node.parent_id is None]
    ranking.order_replies(roots, sort)
    ids = [node.id for node in roots]
    return ids.index(root_id) // per_page + 1 if root_id in ids else 1
