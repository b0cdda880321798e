"""Read-side queries for the moderation pages, each naming its eager loads."""
from __future__ import annotations

from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import joinedload

from forum.accounts.models import User
from forum.extensions import db
from forum.moderation.models import ModAction, Report
from forum.threads.models import Post, Thread

HELD_SHOWN = 100  # held posts listed on the queue page, newest first


def open_reports() -> Select:
    """Open reports, newest first, with what the queue draws for each."""
    return (select(Report)
            .options(joinedload(Report.reporter),
                     joinedload(Report.thread).joinedload(Thread.author),
                     joinedload(Report.post).joinedload(Post.author),
                     joinedload(Report.post).joinedload(Post.thread))
            .where(Report.resolved_at.is_(None))
            .order_by(Report.created_at.desc(), Report.id.desc()))


def held_content(limit: int = HELD_SHOWN) -> list[Thread | Post]:
    """Held threads and replies awaiting approval, newest first (two queries)."""
    held_threads = db.session.scalars(
        select(Thread).options(joinedload(Thread.author))
        .where(Thread.held_at.is_not(None), Thread.deleted_at.is_(None))
        .order_by(Thread.held_at.desc()).limit(limit))
    held_posts = db.session.scalars(
        select(Post).options(joinedload(Post.author), joinedload(Post.thread))
        .where(Post.held_at.is_not(None), Post.deleted_at.is_(None))
        .order_by(Post.held_at.desc()).limit(limit))
    items = [*held_threads, *held_posts]
    items.sort(key=lambda item: item.held_at, reverse=True)
    return items[:limit]


def open_item_count() -> int:
    """Open reports plus held posts: the number beside "Moderation" in the header (one query)."""
    reports = select(func.count(Report.id)).where(Report.resolved_at.is_(None)).scalar_subquery()
    threads = (select(func.count(Thread.id))
               .where(Thread.held_at.is_not(None), Thread.deleted_at.is_(None)).scalar_subquery())
    posts = (select(func.count(Post.id))
             .where(Post.held_at.is_not(None), Post.deleted_at.is_(None)).scalar_subquery())
    return int(db.session.scalar(select(reports + threads + posts)) or 0)


def reports_on(target: Thread | Post) -> list[Report]:
    column = Report.thread_id if isinstance(target, Thread) else Report.post_id
    return list(db.session.scalars(
        select(Report).options(joinedload(Report.reporter))
        .where(column == target.id).order_by(Report.created_at.desc())))


def audit_log(user_id: int | None = None) -> Select:
    """Every moderator action, newest first; optionally only those about one member."""
    query = (select(ModAction)
             .options(joinedload(ModAction.moderator), joinedload(ModAction.user),
                      joinedload(ModAction.thread),
                      joinedload(ModAction.post).joinedload(Post.thread))
             .order_by(ModAction.created_at.desc(), ModAction.id.desc()))
    if user_id is not None:
        query = query.where(ModAction.user_id == user_id)
    return query


def members(search: str = "") -> Select:
    """Members for the admin's roles page: staff first, then by name; ``search`` narrows."""
    query = select(User)
    search = search.strip().lower()
    if search:
        like = f"%{search.replace('%', '').replace('_', '')}%"
        query = query.where(or_(func.lower(User.username).like(like), User.email.like(like)))
    staff_first = (User.role == "member")  # False sorts first: admins and moderators on top
    return query.order_by(staff_first, func.lower(User.username))


def held_count_of(user_id: int) -> int:
    threads = (select(func.count(Thread.id))
               .where(Thread.author_id == user_id, Thread.held_at.is_not(None),
                      Thread.deleted_at.is_(None)).scalar_subquery())
    posts = (select(func.count(Post.id))
             .where(Post.author_id == user_id, Post.held_at.is_not(None),
                    Post.deleted_at.is_(None)).scalar_subquery())
    return int(db.session.scalar(select(threads + posts)) or 0)


RECENT_SHOWN = 10


def recent_posts_of(user_id: int, limit: int = RECENT_SHOWN) -> list[Thread | Post]:
    """A member's newest threads and replies, whatever their state (moderators see it all),
    newest first, with the thread of each reply loaded: two queries."""
    threads = db.session.scalars(select(Thread).where(Thread.author_id == user_id)
                                 .order_by(Thread.created_at.desc()).limit(limit)).all()
    posts = db.session.scalars(select(Post).options(joinedload(Post.thread))
                               .where(Post.author_id == user_id)
                               .order_by(Post.created_at.desc()).limit(limit)).all()
    return sorted([*threads, *posts], key=lambda item: item.created_at, reverse=True)[:limit]
