"""Select builders for the thread pages, each carrying its eager loads."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import joinedload

from forum.extensions import db
from forum.threads.models import Post, Thread

# Deeper replies are drawn at this indentation and say "in reply to @name".
MAX_INDENT = 6


def front_page() -> Select:
    """Threads by latest activity; a deleted thread stays listed while it has replies."""
    return (
        select(Thread)
        .options(joinedload(Thread.author))
        .where(or_(Thread.deleted_at.is_(None), Thread.reply_count > 0))
        .order_by(Thread.pinned.desc(), Thread.last_activity_at.desc(), Thread.id.desc())
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


def threads_by(user_id: int) -> Select:
    return (select(Thread).options(joinedload(Thread.author))
            .where(Thread.author_id == user_id, Thread.deleted_at.is_(None))
            .order_by(Thread.created_at.desc()))


def replies_by(user_id: int) -> Select:
    return (select(Post).options(joinedload(Post.thread))
            .where(Post.author_id == user_id, Post.deleted_at.is_(None))
            .order_by(Post.created_at.desc()))


@dataclass
class ReplyRow:
    """One reply as the thread page draws it."""

    post: Post
    depth: int
    parent: Post | None

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


def reply_tree(thread_id: int, page: int, per_page: int) -> ReplyTree:
    """All replies in one query, as a depth-first list for one page of top-level replies.

    Replies are paginated by top-level reply, each with its whole subtree, so
    a conversation is never cut in half across pages.
    """
    posts = db.session.scalars(
        select(Post).options(joinedload(Post.author))
        .where(Post.thread_id == thread_id).order_by(Post.created_at, Post.id)
    ).all()
    by_id = {post.id: post for post in posts}
    children: dict[int | None, list[Post]] = {}
    for post in posts:
        parent_id = post.parent_id if post.parent_id in by_id else None
        children.setdefault(parent_id, []).append(post)
    roots = children.get(None, [])
    pages = max(1, -(-len(roots) // per_page))
    page = min(max(page, 1), pages)
    rows: list[ReplyRow] = []
    stack = [(post, 0) for post in reversed(roots[(page - 1) * per_page: page * per_page])]
    while stack:  # iterative, so a 1,000-deep chain cannot hit the recursion limit
        post, depth = stack.pop()
        rows.append(ReplyRow(post, depth, by_id.get(post.parent_id)))
        stack.extend((child, depth + 1) for child in reversed(children.get(post.id, [])))
    return ReplyTree(rows, len(roots), page, pages)


def page_of_post(post: Post, per_page: int) -> int:
    """The thread page on which a reply appears (for permalinks)."""
    parents = dict(db.session.execute(
        select(Post.id, Post.parent_id).where(Post.thread_id == post.thread_id)).all())
    root_id = post.id
    while parents.get(root_id) is not None:
        root_id = parents[root_id]
    roots = db.session.scalars(
        select(Post.id).where(Post.thread_id == post.thread_id, Post.parent_id.is_(None))
        .order_by(Post.created_at, Post.id)).all()
    return roots.index(root_id) // per_page + 1 if root_id in roots else 1
