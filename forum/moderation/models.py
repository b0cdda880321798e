"""Reports from members and the audit log of what moderators did.

A ``Report`` names exactly one thread or one reply; a member reports a target
once (unique per reporter and target). It stays open until a moderator
dismisses it or acts on its target (hide or delete), which resolves every open
report on that target at once.

A ``ModAction`` is written in the same transaction as the change it records,
so the log can never miss an action that happened. ``moderator_id`` is null
for actions taken from the command line (``flask users set-role``).
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.accounts.models import User
from forum.database import UTCDateTime, utcnow
from forum.extensions import db
from forum.threads.models import Post, Thread

REASON_LENGTH = (3, 1000)  # characters, for reports and moderator reasons alike
# What a member can report, as moderators sort it; "other" needs words, the rest may go without.
REPORT_CATEGORIES = {
    "spam": "Spam or advertising",
    "off-topic": "Off-topic",
    "abuse": "Abuse or harassment",
    "misinformation": "Misinformation",
    "other": "Something else",
}


class Report(db.Model):
    __tablename__ = "reports"
    __table_args__ = (
        UniqueConstraint("reporter_id", "thread_id", name="uq_reports_reporter_id_thread_id"),
        UniqueConstraint("reporter_id", "post_id", name="uq_reports_reporter_id_post_id"),
        CheckConstraint("(thread_id IS NULL) <> (post_id IS NULL)", name="one_target"),
        Index("ix_reports_open", "resolved_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reporter_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(20), default="other", server_default="other")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolution: Mapped[str | None] = mapped_column(String(16))  # dismissed, hidden, deleted

    reporter: Mapped[User] = relationship(foreign_keys=[reporter_id], lazy="raise")
    thread: Mapped[Thread | None] = relationship(lazy="raise")
    post: Mapped[Post | None] = relationship(lazy="raise")

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def category_label(self) -> str:
        return REPORT_CATEGORIES.get(self.category, self.category)

    def summary(self) -> str:
        """Category and words, as a moderator's reason is prefilled from it."""
        return f"{self.category_label}: {self.reason}" if self.reason else self.category_label


class ModAction(db.Model):
    """One thing a moderator or admin did: who, what, to what, why and when."""

    __tablename__ = "mod_actions"

    id: Mapped[int] = mapped_column(primary_key=True)
    moderator_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    action: Mapped[str] = mapped_column(String(32))
    thread_id: Mapped[int | None] = mapped_column(ForeignKey("threads.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    detail: Mapped[str] = mapped_column(String(200), default="")  # e.g. "until 2026-12-01", "member -> moderator"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    moderator: Mapped[User | None] = relationship(foreign_keys=[moderator_id], lazy="raise")
    user: Mapped[User | None] = relationship(foreign_keys=[user_id], lazy="raise")
    thread: Mapped[Thread | None] = relationship(lazy="raise")
    post: Mapped[Post | None] = relationship(lazy="raise")
