"""Select builders for the thread pages, each carrying its eager loads."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload, selectinload

from forum.extensions import db
from forum.threads import ranking
from forum.threads.models import STANCES, Post, Revision, Tag, Thread, thread_tags

# Deeper replies are drawn at this indentation and say "in reply to @name".
MAX_INDENT = 6


def front_page(tab: str = "active", *, now: datetime | None = None, period: str = "all",
               tag: str | None = None) -> Select:
    """Threads for one front-page tab (see ``ranking``), pinned ones first.

    A deleted thread stays listed while it has replies. ``tag`` narrows the
    list to threads carrying that (normalized) tag.
    """
    query = (
        select(Thread)
        .options(joinedload(Thread.author), selectinload(Thread.tags))
        .where(or_(Thread.deleted_at.is_(None), Thread.reply_count > 0), Thread.public())
    )
    if tag is not None:
        query = query.where(Thread.id.in_(
            select(thread_tags.c.thread_id).join(Tag, Tag.id == thread_tags.c.tag_id)
            .where(Tag.name == tag)))
    order = [Thread.pinned.desc()]
    if tab == "hot":
        order.append(ranking.hotness_sql(Thread, now or _now(), db.engine.dialect.name).desc())
    elif tab == "new":
        order.append(Thread.created_at.desc())
    elif tab == "top":
        since = ranking.TOP_PERIODS.get(period)
        if since is not None:
            query = query.where(Thread.created_at >= (now or _now()) - since)
        order.append(Thread.score.desc())
    else:
        order.append(Thread.last_activity_at.desc())
    return query.order_by(*order, Thread.id.desc())


def _now() -> datetime:
    from forum.database import utcnow
    return utcnow()


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
    """A thread with what its page shows: author and tags."""
    return db.session.scalar(
        select(Thread).options(joinedload(Thread.author), selectinload(Thread.tags))
        .where(Thread.id == thread_id)
    )


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

    post: Post
    depth: int
    parent: Post | None
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
               viewer=None) -> ReplyTree:
    """The replies of one page of top-level replies, as a depth-first list.

    Two queries whatever the thread's size: the tree's outline (ids, parents,
    stances, votes, dates: no bodies) of every reply, from which the order,
    the pagination and the debate summary are worked out; then the drawn
    replies and their parents in full, with their authors. A 1,000-reply
    thread thus builds full objects only for the page it shows.

    Replies are paginated by top-level reply, each with its whole subtree, so
    a conversation is never cut in half across pages. Siblings follow
    ``sort`` (see ``ranking.reply_sort_key``). With a ``stance``, the page
    lists only the replies taking it, flat, each saying whom it answers.

    Held and hidden replies are shown to moderators and to their author
    (``viewer``); to everyone else they are absent, or a placeholder when
    replies the viewer may see hang below them. Counts are of public replies.
    """
    outline = db.session.execute(
        select(*_OUTLINE).where(Post.thread_id == thread_id).order_by(Post.created_at, Post.id)
    ).all()
    outline, masked = _visible_outline(outline, viewer)
    parent_of = {row.id: row.parent_id for row in outline}
    live = [row for row in outline if not (row.deleted or row.held or row.hidden)]
    counts = Counter(row.stance for row in live if row.stance)
    authors = {row.author_id for row in live} | ({thread_author_id} if thread_author_id else set())
    key = ranking.reply_sort_key(sort)
    children: dict[int | None, list] = {}
    if stance is not None:
        roots = sorted((row for row in live if row.stance == stance), key=key)
    else:
        for row in outline:
            children.setdefault(row.parent_id if row.parent_id in parent_of else None,
                                []).append(row)
        for siblings in children.values():
            siblings.sort(key=key)
        roots = children.get(None, [])
    pages = max(1, -(-len(roots) // per_page))
    page = min(max(page, 1), pages)
    drawn: list[tuple[int, int]] = []
    stack = [(row, 0) for row in reversed(roots[(page - 1) * per_page: page * per_page])]
    while stack:  # iterative, so a 1,000-deep chain cannot hit the recursion limit
        row, depth = stack.pop()
        drawn.append((row.id, depth))
        stack.extend((child, depth + 1) for child in reversed(children.get(row.id, [])))
    wanted = {post_id for post_id, _ in drawn} | {parent_of[post_id] for post_id, _ in drawn}
    wanted.discard(None)
    posts = {post.id: post for post in db.session.scalars(
        select(Post).options(joinedload(Post.author)).where(Post.id.in_(wanted)))} if wanted else {}
    rows = [ReplyRow(posts[post_id], depth, posts.get(parent_of[post_id]), post_id in masked)
            for post_id, depth in drawn]
    return ReplyTree(rows, len(roots), page, pages, sort, stance,
                     {name: counts.get(name, 0) for name in STANCES}, len(authors))


def _visible_outline(outline: list, viewer) -> tuple[list, set[int]]:
    """The outline rows ``viewer`` may see, and the ids of those kept only as placeholders."""
    if viewer is not None and viewer.is_authenticated and viewer.is_moderator:
        return outline, set()
    viewer_id = viewer.id if viewer is not None and viewer.is_authenticated else None
    needed: set[int] = set()
    kept, masked = [], set()
    for row in reversed(outline):  # children come after their parents
        visible = not (row.held or row.hidden) or row.author_id == viewer_id
        if visible or row.id in needed:
            kept.append(row)
            if not visible:
                masked.add(row.id)
            if row.parent_id is not None:
                needed.add(row.parent_id)
    kept.reverse()
    return kept, masked


# What the outline of a reply tree needs: enough to order, paginate and summarise it.
# The states are read as yes/no in SQL: no datetime to convert for a thousand rows.
_OUTLINE = (Post.id, Post.parent_id, Post.author_id, Post.stance, Post.created_at,
            Post.up_count, Post.down_count, Post.deleted_at.is_not(None).label("deleted"),
            Post.held_at.is_not(None).label("held"), Post.hidden_at.is_not(None).label("hidden"))


def page_of_post(post: Post, per_page: int, sort: str = "best") -> int:
    """The thread page on which a reply appears (for permalinks), in ``sort`` order."""
    rows = db.session.execute(
        select(Post.id, Post.parent_id, Post.created_at, Post.up_count, Post.down_count)
        .where(Post.thread_id == post.thread_id)).all()
    parents = {row.id: row.parent_id for row in rows}
    root_id = post.id
    while parents.get(root_id) is not None:
        root_id = parents[root_id]
    roots = sorted((row for row in rows if row.parent_id is None), key=ranking.reply_sort_key(sort))
    ids = [row.id for row in roots]
    return ids.index(root_id) // per_page + 1 if root_id in ids else 1
