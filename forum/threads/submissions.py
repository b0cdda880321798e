"""Sending the same reply or thread form twice makes one post: an idempotency token.

Each reply and new-thread form carries a random ``submission_token`` (a hidden
field made when the form is drawn, kept when it is drawn again with an error).
The post is written together with a ``Submission`` row naming its author and
token, unique per author, in the same transaction. A second request with the
same token (a double click, or a retry after a timeout whose first attempt in
fact committed) finds that row and gets the post already made, so the view
redirects to it as it did the first time. Two copies arriving at the same
moment race to insert the row; the loser's transaction rolls back (its post
and counter increments with it) and it answers with the winner's post.

A form sent without a token (an old page, a script) behaves as before.
"""
from __future__ import annotations

import re
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.database import UTCDateTime, utcnow
from forum.extensions import db
from forum.threads.models import Post, Thread

TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_token() -> str:
    return secrets.token_urlsafe(18)


def is_valid_token(token: str | None) -> bool:
    return bool(token) and TOKEN_PATTERN.fullmatch(token) is not None


class Submission(db.Model):
    """One sent form: who sent which token, and the thread or reply it made."""
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("user_id", "token", name="uq_submissions_user_id_token"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    token: Mapped[str] = mapped_column(String(64))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"),
                                                  index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id", ondelete="CASCADE"),
                                                index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    thread: Mapped[Thread | None] = relationship(lazy="raise")
    post: Mapped[Post | None] = relationship(lazy="raise")


def record(user_id: int, token: str | None, target: Thread | Post) -> None:
    """Add the Submission row for ``target`` to the session (committed with the post)."""
    if not is_valid_token(token):
        return
    key = "thread" if isinstance(target, Thread) else "post"
    db.session.add(Submission(user_id=user_id, token=token, **{key: target}))


def earlier_reply(user_id: int, token: str | None, thread_id: int) -> Post | None:
    """The reply this token already made in this thread, if any."""
    if not is_valid_token(token):
        return None
    return db.session.scalar(select(Post).join(Submission, Submission.post_id == Post.id)
                             .where(Submission.user_id == user_id, Submission.token == token,
                                    Post.thread_id == thread_id))


def earlier_thread(user_id: int, token: str | None) -> Thread | None:
    """The thread this token already started, if any."""
    if not is_valid_token(token):
        return None
    return db.session.scalar(select(Thread).join(Submission, Submission.thread_id == Thread.id)
                             .where(Submission.user_id == user_id, Submission.token == token))
