"""Thread and reply use cases. One use case, one function, one commit.

Counters on the thread (reply count, last activity) are changed with SQL
increments in the same transaction as the reply, never read-modify-write,
so concurrent replies cannot lose an update.
"""
from __future__ import annotations

from sqlalchemy import update

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.threads.models import STANCES, Post, Thread
from forum.threads.rendering import render_post_body

TITLE_LENGTH = (5, 200)
BODY_MAX_LENGTH = 50_000


class PostingError(ValueError):
    """A request that cannot be carried out; ``status`` is the HTTP status to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


def start_thread(author: User, title: str, body: str) -> Thread:
    thread = Thread(author=author, title=title.strip(), body=body,
                    body_html=render_post_body(body))
    db.session.add(thread)
    db.session.commit()
    return thread


def edit_thread(thread: Thread, title: str, body: str) -> Thread:
    _refuse_if_deleted(thread, "This thread was deleted and can no longer be edited.")
    thread.title = title.strip()
    thread.body = body
    thread.body_html = render_post_body(body)
    thread.edited_at = utcnow()
    db.session.commit()
    return thread


def delete_thread(thread: Thread) -> None:
    """Soft delete: the thread shows "[deleted]" and its replies stay readable."""
    if thread.deleted_at is None:
        thread.deleted_at = utcnow()
        db.session.commit()


def reply(thread: Thread, author: User, body: str, *, parent_id: int | None = None,
          stance: str | None = None) -> Post:
    _refuse_if_deleted(thread, "This thread was deleted; it takes no new replies.")
    if thread.locked:
        raise PostingError("This thread is locked; it takes no new replies.", 403)
    if stance is not None and stance not in STANCES:
        raise PostingError(f"Unknown stance {stance!r}.", 400)
    if parent_id is not None:
        parent = db.session.get(Post, parent_id)
        if parent is None or parent.thread_id != thread.id:
            raise PostingError("The reply you answered is not part of this thread.", 400)
    now = utcnow()
    post = Post(thread=thread, parent_id=parent_id, author=author, body=body,
                body_html=render_post_body(body), stance=stance, created_at=now)
    db.session.add(post)
    db.session.execute(
        update(Thread).where(Thread.id == thread.id)
        .values(reply_count=Thread.reply_count + 1, last_activity_at=now)
    )
    db.session.commit()
    return post


def edit_post(post: Post, body: str) -> Post:
    _refuse_if_deleted(post, "This reply was deleted and can no longer be edited.")
    post.body = body
    post.body_html = render_post_body(body)
    post.edited_at = utcnow()
    db.session.commit()
    return post


def delete_post(post: Post) -> None:
    """Soft delete: the reply shows "[deleted]" and the replies below it stay."""
    if post.deleted_at is not None:
        return
    post.deleted_at = utcnow()
    db.session.execute(
        update(Thread).where(Thread.id == post.thread_id)
        .values(reply_count=Thread.reply_count - 1)
    )
    db.session.commit()


def _refuse_if_deleted(target, message: str) -> None:
    if target.deleted_at is not None:
        raise PostingError(message, 410)
