"""Who is told about a new post, watch levels, reading and clearing notifications.

Design notes (decisions the issue left open):

- ``post_published(post_or_thread)`` is the entry point for a post already
  committed and public (a new thread; moderation calls it on approval, never
  twice for one post). It runs in its own short transaction and costs a
  constant number of queries whatever the number of watchers: one to read the
  post, its thread's author and its parent's author; one to resolve @mentions;
  one for the thread's watch rows; one for existing notifications of that post
  (so a second call adds nothing); one bulk INSERT.
- ``reply_published(post, thread, parent)`` is the same for a new public reply,
  inside the reply's own transaction (threads/services.py), so a reply costs
  one commit (one WAL flush on PostgreSQL) rather than two. It runs in a
  SAVEPOINT: a failure rolls back the notifications only, and the reply still
  commits. What the first query read it takes from the objects the reply was
  made from, and a post not yet committed can have no notifications, so it
  costs the watch rows, the @mentions (only when the text has one) and the INSERT.
- Who hears about a reply, and why (``REASONS``, strongest first): the author
  of the reply it answers (``post_reply``); the thread's author, for a
  top-level reply (``thread_reply``); anyone it @mentions (``mention``); anyone
  watching the thread (``watching``). A person gets ONE notification per post,
  with the strongest reason, and never one about their own post.
- Watch levels per thread: ``watching`` (every reply), ``normal`` (replies to
  you and mentions), ``muted`` (mentions only). Without a row the level is
  ``normal``, except for the thread's author, who watches implicitly; any
  explicit choice (including "stop watching" = ``normal``) overrides that.
- Muting silences every reply notification from the thread, including replies
  to your own replies, but an @mention still notifies: a mention is someone
  addressing you by name on purpose, which is what notifications are for;
  muting is about a thread's volume. Abusive mentions are a moderation matter.
- Replying to a thread does not make you watch it: you hear about direct
  replies to you anyway, and the thread's author is the only implicit watcher.
- A thread's opening post notifies only the people it @mentions. Mentions added
  by a later edit do not notify (an edit is not a new post).
- A notification is marked read only by following it (a POST, never a write on
  GET) or by "mark all read". Email is in ``emails.py``.
- Notifications are a side effect of an already committed post: a database
  error while writing them is logged and rolled back, never shown to the
  person who posted.
"""
from __future__ import annotations

import logging

from flask import current_app, g, has_app_context
from sqlalchemy import bindparam, func, inspect, or_, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import aliased, joinedload

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.markup import find_mentions
from forum.notifications.models import (LEVELS, REASONS, Notification, NotificationSettings,
                                        ThreadWatch)
from forum.threads.models import Post, Thread

log = logging.getLogger(__name__)

PER_PAGE = 30  # notifications on one page of /notifications


# -- publishing ------------------------------------------------------------------

def post_published(target: Post | Thread) -> int:
    """Notify everyone a newly public reply or thread concerns; return how many were notified."""
    try:
        rows = _rows_for_post(target) if isinstance(target, Post) else _rows_for_thread(target)
        if rows:
            db.session.execute(Notification.__table__.insert(), rows)  # one executemany
        db.session.commit()
    except SQLAlchemyError:
        db.session.rollback()
        log.exception("Could not write notifications for %r; the post itself is saved", target)
        return 0
    return len(rows)


def reply_published(post: Post, thread: Thread, parent: Post | None) -> int:
    """``post_published`` for a new public reply, before its transaction commits (flushed:
    it has its id), from the objects it was made from; a failure rolls back to the
    savepoint and is logged, and the reply commits without its notifications."""
    if post.deleted_at is not None or thread.deleted_at is not None:
        return 0
    try:
        with db.session.begin_nested():
            rows = _reply_rows(post.id, thread.id, post.author_id, post.parent_id, post.body,
                               thread.author_id, parent.author_id if parent else None,
                               already=set())  # a post not yet committed has none
            if rows:
                db.session.execute(Notification.__table__.insert(), rows)  # one executemany
    except SQLAlchemyError:
        log.exception("Could not write notifications for %r; the reply itself is saved", post)
        return 0
    return len(rows)


def _rows_for_post(post: Post) -> list[dict]:
    post_id = _primary_key(post)
    parent = aliased(Post)
    row = db.session.execute(
        select(Post.thread_id, Post.author_id, Post.parent_id, Post.body, Post.deleted_at,
               Thread.author_id, Thread.deleted_at, parent.author_id)
        .join(Thread, Thread.id == Post.thread_id)
        .outerjoin(parent, parent.id == Post.parent_id)
        .where(Post.id == post_id)).one_or_none()
    if row is None:
        return []
    thread_id, author_id, parent_id, body, deleted, thread_author_id, thread_deleted, parent_author_id = row
    if deleted is not None or thread_deleted is not None:
        return []
    already = set(db.session.scalars(select(Notification.user_id)
                                     .where(Notification.post_id == post_id)))
    return _reply_rows(post_id, thread_id, author_id, parent_id, body, thread_author_id,
                       parent_author_id, already)


def _reply_rows(post_id: int, thread_id: int, author_id: int, parent_id: int | None, body: str,
                thread_author_id: int, parent_author_id: int | None, already: set[int]) -> list[dict]:
    """Who hears of a reply and why (the rules at the top of this module)."""
    reasons: dict[int, set[str]] = {}
    if parent_id is None:
        reasons.setdefault(thread_author_id, set()).add("thread_reply")
    else:
        reasons.setdefault(parent_author_id, set()).add("post_reply")
    for user_id in _mentioned_user_ids(body):
        reasons.setdefault(user_id, set()).add("mention")
    levels = dict(db.session.execute(
        select(ThreadWatch.user_id, ThreadWatch.level)
        .where(ThreadWatch.thread_id == thread_id,
               or_(ThreadWatch.level != "normal", ThreadWatch.user_id == thread_author_id))).all())
    levels.setdefault(thread_author_id, "watching")  # the author watches unless they chose otherwise
    for user_id, level in levels.items():
        if level == "watching":
            reasons.setdefault(user_id, set()).add("watching")
        elif level == "muted" and user_id in reasons:
            reasons[user_id] &= {"mention"}  # muting silences replies, not mentions
    return _rows(reasons, author_id, thread_id, post_id, already)


def _rows_for_thread(thread: Thread) -> list[dict]:
    thread_id = _primary_key(thread)
    row = db.session.execute(select(Thread.author_id, Thread.body, Thread.deleted_at)
                             .where(Thread.id == thread_id)).one_or_none()
    if row is None or row.deleted_at is not None:
        return []
    reasons = {user_id: {"mention"} for user_id in _mentioned_user_ids(row.body)}
    if not reasons:
        return []
    already = set(db.session.scalars(
        select(Notification.user_id)
        .where(Notification.thread_id == thread_id, Notification.post_id.is_(None))))
    return _rows(reasons, row.author_id, thread_id, None, already)


def _rows(reasons: dict[int, set[str]], actor_id: int, thread_id: int, post_id: int | None,
          already: set[int]) -> list[dict]:
    now = utcnow()
    rows = []
    for user_id, why in sorted(reasons.items()):
        if not why or user_id == actor_id or user_id in already:
            continue
        strongest = min(why, key=REASONS.index)
        rows.append({"user_id": user_id, "actor_id": actor_id, "thread_id": thread_id,
                     "post_id": post_id, "reason": strongest, "created_at": now})
    return rows


def _mentioned_user_ids(body: str) -> list[int]:
    names = find_mentions(body)
    if not names:
        return []
    return list(db.session.scalars(
        select(User.id).where(func.lower(User.username).in_([name.lower() for name in names]))))


def _primary_key(obj) -> int:
    """The id without a refresh query (the caller has just committed, which expired the object)."""
    return inspect(obj).identity[0]


# -- reading -----------------------------------------------------------------------

def unread_count(user_id: int) -> int:
    """One COUNT on the (user_id, read_at) index: cheap enough for every page header
    (the statement is built once and run without the ORM's per-statement set-up, since
    every page a member opens runs it)."""
    return db.session.connection().scalar(_UNREAD_COUNT, {"user_id": user_id}) or 0


def unread_count_statement(user_id):
    """COUNT of the unread notifications of ``user_id`` (a value, a parameter or a column):
    here, and correlated in the user loader's statement (accounts/sessions.py)."""
    return (select(func.count()).select_from(Notification)
            .where(Notification.user_id == user_id, Notification.read_at.is_(None)))


_UNREAD_COUNT = unread_count_statement(bindparam("user_id"))


def forget_unread_count(user: User) -> None:
    """After marking read: the header's count, if already worked out in this request (by
    the user loader or the header), is counted again when next asked for."""
    user.unread_notifications = None
    if has_app_context():
        g.pop("unread_notifications", None)


def notifications_of(user_id: int):
    """A member's notifications, newest first, with who, where and what already loaded."""
    return (select(Notification).where(Notification.user_id == user_id)
            .options(joinedload(Notification.actor), joinedload(Notification.thread),
                     joinedload(Notification.post))
            .order_by(Notification.id.desc()))


def open_notification(user: User, notification_id: int) -> tuple[int, int | None] | None:
    """(thread id, post id) that one of ``user``'s notifications points to, marking it read;
    None when it is not theirs (or does not exist).

    Called from a GET, the one place where following a link writes: opening a notification
    is reading it. The read ends first, and the write is one plain UPDATE of that row that
    touches nothing else (STYLE's rule for writes a GET may make), so on SQLite it never
    upgrades a read transaction (which would fail at once under concurrent writers).
    """
    row = db.session.execute(select(Notification.thread_id, Notification.post_id).where(
        Notification.id == notification_id, Notification.user_id == user.id)).first()
    db.session.commit()
    if row is None:
        return None
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    forget_unread_count(user)
    return row.thread_id, row.post_id


def mark_read(user: User, notification_id: int) -> Notification | None:
    """Mark one of ``user``'s notifications read; None when it is not theirs (or does not exist)."""
    notification = db.session.scalar(select(Notification).where(
        Notification.id == notification_id, Notification.user_id == user.id))
    if notification is None:
        db.session.rollback()
        return None
    if notification.read_at is None:
        notification.read_at = utcnow()
    db.session.commit()
    forget_unread_count(user)
    return notification


def mark_all_read(user: User) -> int:
    result = db.session.execute(
        update(Notification)
        .where(Notification.user_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow()).execution_options(synchronize_session=False))
    db.session.commit()
    forget_unread_count(user)
    return result.rowcount or 0


# -- watch levels -------------------------------------------------------------------

def watch_level(user_id: int, thread: Thread) -> str:
    """The level in effect: the member's choice, else "watching" for the author, else "normal"."""
    level = db.session.connection().scalar(_WATCH_LEVEL, {"thread_id": thread.id, "user_id": user_id})
    return level or ("watching" if thread.author_id == user_id else "normal")


# Built once and run on the session's connection: every thread page drawn for a member
# asks it, and building the statement and passing it through the ORM cost more than running it.
_WATCH_LEVEL = select(ThreadWatch.level).where(ThreadWatch.thread_id == bindparam("thread_id"),
                                               ThreadWatch.user_id == bindparam("user_id"))


def set_watch_level(user: User, thread: Thread, level: str) -> None:
    if level not in LEVELS:
        raise ValueError(f"Unknown watch level {level!r}.")
    _upsert(ThreadWatch, {"thread_id": thread.id, "user_id": user.id},
            {"level": level, "updated_at": utcnow()})
    db.session.commit()


# -- email preference ----------------------------------------------------------------

def wants_email(user_id: int) -> bool:
    return bool(db.session.scalar(select(NotificationSettings.email_enabled)
                                  .where(NotificationSettings.user_id == user_id)))


def set_email_enabled(user: User, enabled: bool) -> None:
    _upsert(NotificationSettings, {"user_id": user.id}, {"email_enabled": bool(enabled)})
    db.session.commit()


def _upsert(model, key: dict, values: dict) -> None:
    """INSERT ... ON CONFLICT DO UPDATE: two clicks at once cannot collide on the key."""
    if db.engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    statement = dialect_insert(model).values(**key, **values)
    db.session.execute(statement.on_conflict_do_update(index_elements=list(key), set_=values))


def per_page() -> int:
    return int(current_app.config.get("NOTIFICATIONS_PER_PAGE") or PER_PAGE)
