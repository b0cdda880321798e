"""Papers and repositories that debates cite, and which post cites which.

A ``Paper`` or ``Repository`` row exists as soon as something mentions it;
its metadata arrives later (``flask papers refresh``), so pages show the id
and "details pending" until then. Mention rows say which thread body or reply
cites what; ``source_key`` ("thread:1", "post:5") identifies the citing text,
so one unique key covers both kinds without nullable columns in it.

A mention row is kept, not recreated, while the text goes on citing the same
paper, so its ``created_at`` is the moment the citation was first made
(``forum.papers.linking`` diffs rows on every edit); ``versions`` lists every
version the text names ("cites v2 and v5"), empty when it names none.

``Paper.versions`` is what arXiv told us about each version, ``[{"version":
n, "date": ISO 8601 or null}]`` for v1..vN: the Atom feed dates v1
(``published``) and the latest (``updated``); dates learnt on earlier fetches
are kept, so a version's date, once known, stays known. ``FetchPause`` holds
one row per outside service that asked us to wait (GitHub's quota), so every
fetch of that service waits, not just the one that was answered.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.database import UTCDateTime, utcnow
from forum.extensions import db
from forum.papers.github import safe_github_url
from forum.threads.models import Post, Thread


class Paper(db.Model):
    __tablename__ = "papers"

    id: Mapped[int] = mapped_column(primary_key=True)
    arxiv_id: Mapped[str] = mapped_column(String(40), unique=True)
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list] = mapped_column(JSON, default=list)
    abstract: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    primary_category: Mapped[str | None] = mapped_column(String(40))
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latest_version: Mapped[int | None] = mapped_column(Integer)
    doi: Mapped[str | None] = mapped_column(String(200))
    journal_ref: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    withdrawn: Mapped[bool] = mapped_column(Boolean, default=False)
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetch_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    versions: Mapped[list] = mapped_column(JSON, default=list)
    not_found: Mapped[bool] = mapped_column(Boolean, default=False)  # arXiv has no such paper
    failures: Mapped[int] = mapped_column(Integer, default=0)  # failed fetches in a row
    retry_after: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_pending(self) -> bool:
        return self.fetched_at is None

    @property
    def abs_url(self) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}"

    @property
    def pdf_url(self) -> str:
        return f"https://arxiv.org/pdf/{self.arxiv_id}"

    def version_url(self, version: int) -> str:
        return f"https://arxiv.org/abs/{self.arxiv_id}v{int(version)}"

    @property
    def year(self) -> int | None:
        """The year of v1: from arXiv's date, else from the id's YYMM (an id encodes its month)."""
        if self.published_at:
            return self.published_at.year
        yymm = (self.arxiv_id.split("/")[1] if "/" in self.arxiv_id else self.arxiv_id)[:4]
        if not yymm.isdigit():
            return None
        return (1900 if int(yymm[:2]) >= 91 else 2000) + int(yymm[:2])

    def abstract_start(self, length: int = 280) -> str:
        text = self.abstract or ""
        if len(text) <= length:
            return text
        return text[:length].rsplit(" ", 1)[0].rstrip(",;:") + "…"


class Repository(db.Model):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(primary_key=True)
    full_name: Mapped[str] = mapped_column(String(140))  # as first written
    full_name_lower: Mapped[str] = mapped_column(String(140), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    stars: Mapped[int | None] = mapped_column(Integer)
    language: Mapped[str | None] = mapped_column(String(80))
    license: Mapped[str | None] = mapped_column(String(120))
    topics: Mapped[list] = mapped_column(JSON, default=list)
    pushed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    html_url: Mapped[str | None] = mapped_column(String(300))
    moved_to: Mapped[str | None] = mapped_column(String(140))
    not_found: Mapped[bool] = mapped_column(Boolean, default=False)
    etag: Mapped[str | None] = mapped_column(String(200))
    fetched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fetch_error: Mapped[str | None] = mapped_column(Text)
    retry_after: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def owner(self) -> str:
        return self.full_name.split("/")[0]

    @property
    def name(self) -> str:
        return self.full_name.split("/")[1]

    @property
    def is_pending(self) -> bool:
        return self.fetched_at is None and not self.not_found

    @property
    def github_url(self) -> str:
        """GitHub's own page: the API's ``html_url`` only when it is https://github.com/...,
        so a hostile or broken answer can never put a ``javascript:`` link on our page."""
        return safe_github_url(self.html_url) or f"https://github.com/{self.full_name}"


class FetchPause(db.Model):
    """A service that asked us to stop until ``until`` (GitHub's rate limit)."""
    __tablename__ = "fetch_pauses"

    service: Mapped[str] = mapped_column(String(20), primary_key=True)
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str | None] = mapped_column(Text)


class PaperMention(db.Model):
    __tablename__ = "paper_mentions"
    __table_args__ = (UniqueConstraint("paper_id", "source_key", name="uq_paper_mentions_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    paper_id: Mapped[int] = mapped_column(ForeignKey("papers.id"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(40))
    versions: Mapped[list] = mapped_column(JSON, default=list)  # versions named, ascending
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    paper: Mapped[Paper] = relationship(lazy="raise")
    thread: Mapped[Thread] = relationship(lazy="raise")
    post: Mapped[Post | None] = relationship(lazy="raise")


class RepoMention(db.Model):
    __tablename__ = "repo_mentions"
    __table_args__ = (UniqueConstraint("repository_id", "source_key", name="uq_repo_mentions_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"), index=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id"), index=True)
    post_id: Mapped[int | None] = mapped_column(ForeignKey("posts.id"), index=True)
    source_key: Mapped[str] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    repository: Mapped[Repository] = relationship(lazy="raise")
    thread: Mapped[Thread] = relationship(lazy="raise")
    post: Mapped[Post | None] = relationship(lazy="raise")
