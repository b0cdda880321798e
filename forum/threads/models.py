"""Threads and their reply trees.

A ``Post`` is a reply; ``parent_id`` is null for a reply to the thread itself.
Deletes are soft (``deleted_at``) so the tree below a deleted reply stays
readable. Markdown is rendered once, when written, into ``body_html``.
Relationships that list pages touch are ``lazy="raise"``: an accidental N+1
fails in a test instead of slowing a page; queries name their eager loads.

Scores (and a reply's up/down counts) are stored on the row and changed only
by SQL increments in ``votes.py``; a ``Vote`` row per member and target is the
truth they can be rebuilt from. A ``Revision`` keeps each replaced version of
a thread or reply; tags hang off threads through ``thread_tags``.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from datetime import datetime

from sqlalchemy import (Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, SmallInteger,
                        String, Table, Text, UniqueConstraint, and_)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.accounts.models import User
from forum.database import UTCDateTime, utcnow
from forum.extensions import db

STANCES = ("supports", "challenges", "question", "evidence")


@functools.lru_cache(maxsize=4096)  # pure, and drawn for every thread of every listing
def slugify(title: str, max_length: int = 80) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:max_length].rstrip("-") or "thread"


thread_tags = Table(
    "thread_tags", db.metadata,
    Column("thread_id", ForeignKey("threads.id"), primary_key=True),
    Column("tag_id", ForeignKey("tags.id"), primary_key=True, index=True),
)


class Tag(db.Model):
    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)  # already normalized

    def __repr__(self) -> str:
        return f"<Tag {self.name}>"


class Moderated:
    """Who may see a thread or reply: held (a new member's post awaiting approval) and
    hidden (by a moderator) content is shown only to moderators and its author."""

    @property
    def is_held(self) -> bool:
        return self.held_at is not None

    @property
    def is_hidden(self) -> bool:
        return self.hidden_at is not None

    @property
    def is_public(self) -> bool:
        return self.held_at is None and self.hidden_at is None

    def can_be_seen_by(self, user) -> bool:
        return self.is_public or (user.is_authenticated
                                  and (user.is_moderator or user.id == self.author_id))

    @classmethod
    def public(cls):
        """The SQL condition "neither held nor hidden", for every public listing."""
        return and_(cls.held_at.is_(None), cls.hidden_at.is_(None))


class Authored:
    """Who may change, vote on or read the history of a thread or reply: one rule for both.

    A banned or unconfirmed member changes nothing, their own posts included (the
    pages then show why instead of buttons that would answer 403). A moderator
    may edit or delete anyone's post through the members' own pages; doing so to
    someone else's post ``needs_reason_from`` them, and is written to the audit log.
    """

    def can_be_edited_by(self, user) -> bool:
        return (not self.is_deleted and user.is_authenticated and user.can_participate
                and (user.id == self.author_id or user.is_moderator))

    can_be_deleted_by = can_be_edited_by

    def needs_reason_from(self, user) -> bool:
        """True when ``user`` changes this as a moderator, not as its author."""
        return user.is_authenticated and user.is_moderator and user.id != self.author_id

    def can_be_voted_on_by(self, user) -> bool:
        return (user.is_authenticated and not self.is_deleted and user.id != self.author_id
                and not user.is_banned and self.is_public)

    def can_show_history_to(self, user) -> bool:
        return not self.is_deleted or (user.is_authenticated and user.is_moderator)


class Thread(Authored, Moderated, db.Model):
    __tablename__ = "threads"
    # Every column a listing's order and filter read (migration 0024 says why).
    __table_args__ = (Index("ix_threads_listed", "pinned", "last_activity_at", "created_at", "score",
                            "reply_count", "deleted_at", "held_at", "hidden_at"),)

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
    # Moderation: held = a new member's post awaiting approval; hidden = hidden by a moderator.
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    author: Mapped[User] = relationship(lazy="raise")
    tags: Mapped[list[Tag]] = relationship(secondary=thread_tags, lazy="raise", order_by=Tag.name)

    @property
    def slug(self) -> str:
        return slugify(self.title)

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def can_be_replied_to_by(self, user) -> bool:
        return (user.is_authenticated and not self.is_deleted and not self.locked
                and user.can_participate and self.can_be_seen_by(user))

    def __repr__(self) -> str:
        return f"<Thread {self.id} {self.title!r}>"


class Post(Authored, Moderated, db.Model):
    __tablename__ = "posts"
    # A thread's replies after a moment: what a member has not read yet (reading.unread_counts,
    # on every list page a member opens) reads only those, however long the thread. It is
    # also the index of every lookup by thread_id alone (migration 0026).
    __table_args__ = (Index("ix_posts_thread_created", "thread_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str] = mapped_column(Text)
    stance: Mapped[str | None] = mapped_column(String(16))
    score: Mapped[int] = mapped_column(Integer, default=0)
    # Kept beside the score because Best order needs both (a Wilson bound, not a difference).
    up_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    down_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    edited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    hidden_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    thread: Mapped[Thread] = relationship(lazy="raise")
    author: Mapped[User] = relationship(lazy="raise")

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    @property
    def anchor(self) -> str:
        return f"p{self.id}"

    def __repr__(self) -> str:
        return f"<Post {self.id} in thread {self.thread_id}>"


class Vote(db.Model):
    """One member's +1 or -1 on one thread or one reply (exactly one of the two)."""

    __tablename__ = "votes"
    __table_args__ = (
        UniqueConstraint("user_id", "thread_id", name="uq_votes_user_id_thread_id"),
        UniqueConstraint("user_id", "post_id", name="uq_votes_user_id_post_id"),
        CheckConstraint("value IN (-1, 1)", name="value_is_one"),
        CheckConstraint("(thread_id IS NULL) <> (post_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    value: Mapped[int] = mapped_column(SmallInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Revision(db.Model):
    """A version of a thread or reply as it was before an edit replaced it."""

    __tablename__ = "revisions"
    __table_args__ = (
        CheckConstraint("(thread_id IS NULL) <> (post_id IS NULL)", name="one_target"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    title: Mapped[str | None] = mapped_column(String(200))  # threads only
    body: Mapped[str] = mapped_column(Text)
    stance: Mapped[str | None] = mapped_column(String(16))  # replies: the stance this version took
    written_at: Mapped[datetime] = mapped_column(UTCDateTime)  # when this version was written
    replaced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Who made the edit that replaced this version (null before this was recorded).
    replaced_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    def was_replaced_by_moderator(self, target) -> bool:
        """The edit after this version was made by someone other than ``target``'s author."""
        return self.replaced_by_id is not None and self.replaced_by_id != target.author_id
