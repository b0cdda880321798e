"""Threads and their reply trees.

A ``Post`` is a reply; ``parent_id`` is null for a reply to the thread itself.
Deletes are soft (``deleted_at``) so the tree below a deleted reply stays
readable. Markdown is rendered once, when written, into ``body_html``.
Relationships that list pages touch are ``lazy="raise"``: an accidental N+1
fails in a test instead of slowing a page; queries name their eager loads.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.accounts.models import User
from forum.database import UTCDateTime, utcnow
from forum.extensions import db

STANCES = ("supports", "challenges", "question", "evidence")


def slugify(title: str, max_length: int = 80) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "thread"


class Thread(db.Model):
    __tablename__ = "threads"
    __table_args__ = (Index("ix_threads_listing", "deleted_at", "last_activity_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_activity_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    score: Mapped[int] = mapped_column(Integer, default=0)
    reply_count: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(lazy="raise")

    @property
    def slug(self) -> str:
        return slugify(self.title)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def can_be_edited_by(self, user) -> bool:
        return (not self.is_deleted and user.is_authenticated
                and (user.id == self.author_id or user.is_moderator))

    can_be_deleted_by = can_be_edited_by

    def can_be_replied_to_by(self, user) -> bool:
        return user.is_authenticated and not self.is_deleted and not self.locked

    def __repr__(self) -> str:
        return f"<Thread {self.id} {self.title!r}>"


class Post(db.Model):
    __tablename__ = "posts"

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    stance: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    thread: Mapped[Thread] = relationship(lazy="raise")
    author: Mapped[User] = relationship(lazy="raise")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def anchor(self) -> str:
        return f"p{self.id}"

    def can_be_edited_by(self, user) -> bool:
        return (not self.is_deleted and user.is_authenticated
                and (user.id == self.author_id or user.is_moderator))

    can_be_deleted_by = can_be_edited_by

    def __repr__(self) -> str:
        return f"<Post {self.id} in thread {self.thread_id}>"
