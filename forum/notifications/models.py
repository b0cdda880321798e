"""Notification rows, per-thread watch levels, and each member's email preference.

A ``Notification`` tells one member (``user_id``) that someone (``actor_id``)
wrote something in a thread: a reply (``post_id``) or the thread itself
(``post_id`` null, only for an @mention in the opening post). ``read_at`` and
``emailed_at`` are the two things that happen to it later. The header's unread
count is a COUNT on the ``(user_id, read_at)`` index.

A ``ThreadWatch`` row holds a member's explicit choice for one thread (see
``LEVELS``); no row means the default, which for the thread's author is
"watching". ``NotificationSettings`` holds the email opt-in and when the last
notification email went out (at most one an hour).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.accounts.models import User
from forum.database import UTCDateTime, utcnow
from forum.extensions import db
from forum.threads.models import Post, Thread

# Why a member was told, strongest first: one post gives a member one notification,
# with the strongest reason that applies (see services.post_published).
REASONS = ("post_reply", "thread_reply", "mention", "watching")

# A member's choice for one thread: "watching" (every reply), "normal" (replies to
# you and mentions; the default for everyone but the thread's author), "muted"
# (mentions only).
LEVELS = ("watching", "normal", "muted")

# "<actor> replied to your reply in <thread title>", in the list and in emails.
PHRASES = {
    "post_reply": "replied to your reply in",
    "thread_reply": "replied to your thread",
    "mention": "mentioned you in",
    "watching": "replied in",
}


def excerpt(text: str, chars: int) -> str:
    """The first ``chars`` characters of a post's source, on one line."""
    flat = " ".join(text.split())
    return flat if len(flat) <= chars else flat[:chars - 1].rstrip() + "…"


class Notification(db.Model):
    __tablename__ = "notifications"
    __table_args__ = (
        # The header count and the unread filter: WHERE user_id = ? AND read_at IS NULL.
        Index("ix_notifications_user_id_read_at", "user_id", "read_at"),
        # The list page: WHERE user_id = ? ORDER BY id DESC.
        Index("ix_notifications_user_id_id", "user_id", "id"),
        # One notification per member and reply, even if publishing ran twice.
        UniqueConstraint("user_id", "post_id", name="uq_notifications_user_id_post_id"),
        CheckConstraint("reason IN ('post_reply', 'thread_reply', 'mention', 'watching')",
                        name="known_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    reason: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    actor: Mapped[User] = relationship(foreign_keys=[actor_id], lazy="raise")
    thread: Mapped[Thread] = relationship(lazy="raise")
    post: Mapped[Post | None] = relationship(lazy="raise")

    @property
    def is_unread(self) -> bool:
        return self.read_at is None

    @property
    def phrase(self) -> str:
        return PHRASES[self.reason]

    @property
    def where(self) -> str:
        """The thread's title, unless the thread is gone (needs ``thread`` loaded)."""
        if self.thread.is_deleted:
            return "[deleted]"
        # Hidden by a moderator: its words stay out of lists and emails.
        return self.thread.title if self.thread.is_public else "[hidden]"

    def excerpt(self, chars: int = 160) -> str:
        """The start of what was written (needs ``thread`` and ``post`` loaded)."""
        target = self.post if self.post_id is not None else self.thread
        if target.is_deleted:
            return "[deleted]"
        if not (target.is_public and self.thread.is_public):
            return "[hidden by a moderator]"
        return excerpt(target.body, chars)

    def __repr__(self) -> str:
        return f"<Notification {self.id} {self.reason} for user {self.user_id}>"


class ThreadWatch(db.Model):
    __tablename__ = "thread_watches"
    __table_args__ = (
        CheckConstraint("level IN ('watching', 'normal', 'muted')", name="known_level"),
    )

    # thread_id first: publishing a reply looks up one thread's watchers.
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True, index=True)
    level: Mapped[str] = mapped_column(String(8))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class NotificationSettings(db.Model):
    __tablename__ = "notification_settings"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    email_enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    last_emailed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
