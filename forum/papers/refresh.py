"""Fetching paper and repository metadata: what is due, and recording results.

Each record is due when it was never fetched, or fetched more than
``REFRESH_AFTER`` ago. Network calls happen outside any transaction: we read
what is due, fetch, then write each result in its own short commit, so a
crash mid-run keeps what was already fetched. Each commit that changes a
paper's metadata also writes its search outbox row (the search package's
``after_flush`` listener), so the paper is re-indexed durably.

Politeness, as arXiv's API terms and GitHub's REST docs ask:
- A paper whose fetch failed, or that arXiv says does not exist (remembered
  as ``not_found``, shown on its page), is retried only after a back-off that
  grows with each failure in a row: ``BACKOFF`` (1 h, 6 h, 1 day, then every
  week), never on every run.
- One malformed entry in a feed fails only its own paper; ids missing from an
  answer that also had unreadable entries count as failures, not "no such
  paper", since we cannot tell which entry was theirs.
- A ``Retry-After`` from arXiv, or a spent GitHub quota (``X-RateLimit-
  Remaining: 0`` on *any* answer, or a 403/429 rate limit) is stored as a
  ``FetchPause`` for the whole service: the run stops asking it, and later
  runs skip it until the pause ends.
- Requests carry a User-Agent naming the site and a contact address
  (``CONTACT_EMAIL``); without one, outside tests, nothing is fetched.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import or_, select

from forum import http
from forum.database import utcnow
from forum.extensions import db
from forum.papers.arxiv import ArxivClient, AtomFeed, BatchResult
from forum.papers.github import GitHubClient
from forum.papers.models import FetchPause, Paper, Repository
from forum.papers.rerender import rerender_citing_posts

REFRESH_AFTER = timedelta(days=7)
BACKOFF = (timedelta(hours=1), timedelta(hours=6), timedelta(days=1), timedelta(weeks=1))
ARXIV_MIN_INTERVAL = 3.0  # seconds between any two arXiv requests (API terms of use)
ARXIV_HOST = "export.arxiv.org"
NO_SUCH_PAPER = "arXiv has no paper with this id."


class ContactMissing(RuntimeError):
    """Fetching was asked for without a contact address for the User-Agent."""


@dataclass
class RefreshSummary:
    fetched: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self, what: str) -> str:
        return (f"{what}: {self.fetched} fetched, {self.unchanged} unchanged, "
                f"{self.failed} failed")


def user_agent(config) -> str:
    """``<site> metadata fetcher (mailto:<CONTACT_EMAIL>)``; refuses without a usable address."""
    contact = (config.get("CONTACT_EMAIL") or "").strip()
    if not contact or "@" not in contact or any(c.isspace() or ord(c) < 32 for c in contact):
        raise ContactMissing(
            "Set CONTACT_EMAIL to an address arXiv and GitHub can reach you at (it goes in the "
            "User-Agent of every request, as arXiv's API terms ask); nothing was fetched.")
    site = config["FORUM_SITE_NAME"].replace("\r", " ").replace("\n", " ")
    return f"{site} research forum metadata fetcher (mailto:{contact})"


def default_http_client() -> http.HttpClient:
    """The real client: paced for arXiv (every attempt, retries included), contact in the UA."""
    return http.HttpClient(user_agent=user_agent(current_app.config),
                           pacers={ARXIV_HOST: http.Pacer(ARXIV_MIN_INTERVAL)})


def backoff_after(failures: int) -> timedelta:
    return BACKOFF[min(max(failures, 1), len(BACKOFF)) - 1]


def paused_until(service: str, now: datetime | None = None) -> datetime | None:
    pause = db.session.get(FetchPause, service)
    if pause is not None and pause.until > (now or utcnow()):
        return pause.until
    return None


def pause(service: str, until: datetime, reason: str) -> None:
    row = db.session.get(FetchPause, service) or FetchPause(service=service)
    row.until, row.reason = until, reason[:500]
    db.session.add(row)


def papers_due(limit: int | None = None) -> list[str]:
    now = utcnow()
    query = (select(Paper.arxiv_id)
             .where(or_(Paper.fetched_at.is_(None), Paper.fetched_at < now - REFRESH_AFTER,
                        Paper.fetch_error.is_not(None)))
             .where(or_(Paper.retry_after.is_(None), Paper.retry_after <= now))
             .order_by(Paper.fetched_at.is_not(None), Paper.id))
    return list(db.session.scalars(query.limit(limit) if limit else query))


def repos_due(limit: int | None = None) -> list[str]:
    now = utcnow()
    query = (select(Repository.full_name)
             .where(or_(Repository.fetched_at.is_(None), Repository.fetched_at < now - REFRESH_AFTER,
                        Repository.fetch_error.is_not(None)))
             .where(or_(Repository.retry_after.is_(None), Repository.retry_after <= now))
             .order_by(Repository.fetched_at.is_not(None), Repository.id))
    return list(db.session.scalars(query.limit(limit) if limit else query))


def refresh_papers(client: ArxivClient, ids: list[str], progress=None) -> RefreshSummary:
    summary = RefreshSummary()
    db.session.rollback()  # no transaction held across the network
    until = paused_until("arxiv")
    if until:
        summary.errors.append(f"arXiv asked us to wait; not asking again before {until:%Y-%m-%d %H:%M} UTC.")
        return summary
    for result in client.fetch_batches(ids):
        if result.error:
            _record_paper_errors(result, summary)
        else:
            _record_papers(result.ids, result.feed, summary)
        if progress:
            progress(len(result.ids))
    return summary


def record_feed(ids: list[str], feed: AtomFeed) -> RefreshSummary:
    """Record an already-read feed for these ids (the demo's bundled recordings)."""
    summary = RefreshSummary()
    _record_papers(ids, feed, summary)
    return summary


def _record_papers(batch: list[str], feed: AtomFeed, summary: RefreshSummary) -> None:
    now = utcnow()
    records = {record.arxiv_id: record for record in feed.records}
    retitled = []
    for paper in db.session.scalars(select(Paper).where(Paper.arxiv_id.in_(batch))):
        record = records.get(paper.arxiv_id)
        if record is None:
            problem = feed.failed.get(paper.arxiv_id) or (
                "arXiv's answer had an unreadable entry, perhaps this one's." if feed.unreadable else None)
            _failed(paper, problem or NO_SUCH_PAPER, now, not_found=problem is None)
            summary.failed += 1
            continue
        if paper.title != record.title:
            retitled.append(paper.id)
        paper.title, paper.authors, paper.abstract = record.title, list(record.authors), record.abstract
        paper.categories, paper.primary_category = list(record.categories), record.primary_category
        paper.published_at, paper.updated_at = record.published, record.updated
        paper.latest_version, paper.doi, paper.journal_ref = record.version, record.doi, record.journal_ref
        paper.comment, paper.withdrawn = record.comment, record.withdrawn
        paper.versions = merged_versions(paper.versions, record.version, record.version_dates)
        paper.fetched_at, paper.fetch_error, paper.not_found = now, None, False
        paper.failures, paper.retry_after = 0, None
        summary.fetched += 1
    summary.errors.extend(feed.unreadable)
    rerender_citing_posts(retitled)  # posts citing them show the new titles, same commit
    db.session.commit()


def merged_versions(known: list | None, latest: int | None, dates: dict[int, datetime]) -> list[dict]:
    """v1..v<latest> with their dates: today's answer first, then dates learnt on earlier fetches."""
    before = {int(v["version"]): v.get("date") for v in known or []}
    count = max([latest or 0, *before, *dates])
    return [{"version": n,
             "date": dates[n].isoformat() if n in dates else before.get(n)}
            for n in range(1, count + 1)]


def _failed(paper: Paper, message: str, now: datetime, *, not_found: bool = False) -> None:
    paper.failures = (paper.failures or 0) + 1
    paper.retry_after = now + backoff_after(paper.failures)
    paper.fetch_error, paper.not_found = message[:500], not_found


def _record_paper_errors(result: BatchResult, summary: RefreshSummary) -> None:
    now = utcnow()
    for paper in db.session.scalars(select(Paper).where(Paper.arxiv_id.in_(result.ids))):
        _failed(paper, result.error, now)
        summary.failed += 1
    summary.errors.append(result.error)
    if result.retry_after is not None:
        pause("arxiv", now + timedelta(seconds=result.retry_after), result.error)
    db.session.commit()


def refresh_repos(client: GitHubClient, names: list[str], progress=None) -> RefreshSummary:
    summary = RefreshSummary()
    for name in names:
        db.session.rollback()
        until = paused_until("github")
        if until:
            summary.errors.append(f"GitHub's rate limit is spent; no GitHub fetch before "
                                  f"{until:%Y-%m-%d %H:%M} UTC.")
            break
        repo = db.session.scalar(select(Repository).where(Repository.full_name_lower == name.lower()))
        etag = repo.etag if repo.fetch_error is None else None
        db.session.rollback()  # no transaction held across the network
        result = client.fetch_repo(name, etag=etag)
        repo = db.session.scalar(select(Repository).where(Repository.full_name_lower == name.lower()))
        _record_repo(repo, result, summary)
        if result.pause_until is not None:
            pause("github", result.pause_until, result.error or "X-RateLimit-Remaining: 0")
        db.session.commit()
        if progress:
            progress(1)
    return summary


def _record_repo(repo: Repository, result, summary: RefreshSummary) -> None:
    now = utcnow()
    if result.status in ("ok", "moved") and result.metadata is not None:
        meta = result.metadata
        repo.description, repo.stars, repo.language = meta.description, meta.stars, meta.language
        repo.license, repo.topics, repo.pushed_at = meta.license, list(meta.topics), meta.pushed_at
        repo.html_url, repo.etag = meta.html_url, result.etag
        repo.moved_to = result.new_full_name if result.status == "moved" else None
        repo.not_found, repo.fetched_at, repo.fetch_error, repo.retry_after = False, now, None, None
        summary.fetched += 1
    elif result.status == "moved":
        repo.moved_to, repo.fetched_at, repo.fetch_error = result.new_full_name, now, None
        summary.fetched += 1
    elif result.status == "not_modified":
        repo.fetched_at, repo.fetch_error = now, None
        summary.unchanged += 1
    elif result.status == "not_found":
        repo.not_found, repo.fetched_at, repo.fetch_error = True, now, None
        summary.fetched += 1
    else:  # rate_limited or error: keep what we had, retry later (a rate limit pauses all of GitHub)
        repo.fetch_error = (result.error or result.status)[:500]
        repo.retry_after = None if result.status == "rate_limited" else result.retry_at
        summary.failed += 1
