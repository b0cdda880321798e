"""Digest subscriptions, issues and deliveries.

``DigestDelivery`` is the key to sending each digest exactly once: one row per
(issue, subscription), unique, whose ``status`` moves pending -> sending
(claimed by a run) -> sent (the server accepted it), or to failed (a
temporary refusal, retried with backoff up to a limit), bounced (a permanent
refusal) or cancelled (the reader left before it went out). Statuses are
booked per batch; ``stage`` records each message's fate the moment it is
known, so a run killed outright leaves the truth behind (``journal.py``).

A ``DigestRun`` is one ``flask digest send`` process: its heartbeat and how it
ended let a run tell another live run's batch from one a crash or a SIGTERM
left behind.

A subscription's follows are a small JSON document ``{"tags": [...],
"papers": [...], "threads": [...]}`` (tag names, arXiv ids, thread ids): read
whole with the row, never queried into, so a join table would add nothing.
A suppressed subscription (``suppressed_at``) gets no digest: its address
refused mail for good (``flask digest suppressions`` lists and lifts them).
"""
from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.database import UTCDateTime, utcnow
from forum.extensions import db

STATUSES = ("pending", "sending", "sent", "failed", "bounced", "cancelled")


def new_token() -> str:
    return secrets.token_urlsafe(24)


class Subscription(db.Model):
    __tablename__ = "digest_subscriptions"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)  # stored lower-cased
    # The secret inside unsubscribe links; rotating it voids every link already sent.
    token: Mapped[str] = mapped_column(String(64), unique=True, default=new_token)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    follows: Mapped[dict] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unsubscribed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The address refused mail for good (a 5xx, or temporary refusals issue after issue).
    suppressed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    suppression_reason: Mapped[str | None] = mapped_column(Text)
    # Issues in a row given up after temporary refusals; reset by any accepted digest.
    soft_bounces: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    @property
    def is_active(self) -> bool:
        return self.confirmed_at is not None and self.unsubscribed_at is None and self.suppressed_at is None

    @property
    def followed_tags(self) -> list[str]:
        return list((self.follows or {}).get("tags", []))

    @property
    def followed_papers(self) -> list[str]:
        return list((self.follows or {}).get("papers", []))

    @property
    def followed_threads(self) -> list[int]:
        return [int(t) for t in (self.follows or {}).get("threads", [])]


class DigestIssue(db.Model):
    __tablename__ = "digest_issues"

    id: Mapped[int] = mapped_column(primary_key=True)
    week: Mapped[str] = mapped_column(String(8), unique=True)  # ISO week, "2026-W48"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The selection as it was when the issue was made: archive pages and late
    # retries show the same content even after threads change or get deleted.
    sections: Mapped[dict] = mapped_column(JSON)


class DigestRun(db.Model):
    __tablename__ = "digest_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("digest_issues.id"), index=True)
    process: Mapped[str] = mapped_column(String(255))  # "host pid": where to look for it
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # at each claim
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # How it ended: "completed", "interrupted by SIGTERM", "interrupted by Ctrl-C", "stopped: <error>".
    outcome: Mapped[str | None] = mapped_column(Text)


class DigestDelivery(db.Model):
    __tablename__ = "digest_deliveries"
    __table_args__ = (UniqueConstraint("issue_id", "subscription_id",
                                       name="uq_digest_deliveries_issue_id"),
                      # The next pending deliveries of an issue in id order, read straight off
                      # the index: each claim costs the same at the first row and the last.
                      Index("ix_digest_deliveries_due", "issue_id", "status", "id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("digest_issues.id"))
    subscription_id: Mapped[int] = mapped_column(ForeignKey("digest_subscriptions.id"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    message_id: Mapped[str | None] = mapped_column(String(255))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("digest_runs.id"), index=True)  # the last claim's
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a failed delivery waits until then
    # While "sending": null until its fate is known, then 1 accepted, 2 refused, 3 cancelled (journal.py).
    stage: Mapped[int | None] = mapped_column(SmallInteger)

    issue: Mapped[DigestIssue] = relationship(lazy="raise")
    subscription: Mapped[Subscription] = relationship(lazy="raise")
