"""The search outbox: one row per pending index change, written in the changing transaction."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from forum.database import UTCDateTime, utcnow
from forum.extensions import db

OPS = ("update", "tags")  # update: rebuild the key's document (or delete it); tags: also its replies


class SearchOutbox(db.Model):
    __tablename__ = "search_outbox"
    # Ids must never be reused: a drain deletes the ids it applied, perhaps after another
    # drain already did, and SQLite would otherwise hand a deleted id to a new pending row.
    __table_args__ = {"sqlite_autoincrement": True}

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64))  # "thread:1", "post:42"
    op: Mapped[str] = mapped_column(String(16), default="update")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
