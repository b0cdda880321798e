"""Fetching paper and repository metadata: what is due, and recording results.

Each record is due when it was never fetched, or fetched more than
``REFRESH_AFTER`` ago; a failed fetch is recorded on the row (``fetch_error``)
and retried on the next run. Network calls happen outside any transaction:
we read what is due, fetch, then write each result in its own short commit,
so a crash mid-run keeps what was already fetched. Each commit that changes a
paper's metadata also writes its search outbox row (the search package's
``after_flush`` listener), so the paper is re-indexed with the new title and
abstract, durably, whatever path changed it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from flask import current_app
from sqlalchemy import or_, select

from forum import http
from forum.database import utcnow
from forum.extensions import db
from forum.papers.arxiv import ArxivClient, ArxivError
from forum.papers.github import GitHubClient
from forum.papers.models import Paper, Repository
from forum.papers.rerender import rerender_citing_posts

REFRESH_AFTER = timedelta(days=7)
ARXIV_BATCH = 100  # arXiv accepts up to 100 ids per request


@dataclass
class RefreshSummary:
    fetched: int = 0
    unchanged: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)

    def line(self, what: str) -> str:
        return (f"{what}: {self.fetched} fetched, {self.unchanged} unchanged, "
                f"{self.failed} failed")


def default_http_client() -> http.HttpClient:
    site = current_app.config["FORUM_SITE_NAME"]
    return http.HttpClient(user_agent=f"{site} research forum metadata fetcher (+https://github.com)")


def papers_due(limit: int | None = None) -> list[str]:
    cutoff = utcnow() - REFRESH_AFTER
    query = (select(Paper.arxiv_id)
             .where(or_(Paper.fetched_at.is_(None), Paper.fetched_at < cutoff,
                        Paper.fetch_error.is_not(None)))
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
    for start in range(0, len(ids), ARXIV_BATCH):
        batch = ids[start:start + ARXIV_BATCH]
        try:
            records = {record.arxiv_id: record for record in client.fetch(batch)}
        except (ArxivError, http.HttpError) as error:
            _record_paper_errors(batch, str(error), summary)
        else:
            _record_papers(batch, records, summary)
        if progress:
            progress(len(batch))
    return summary


def _record_papers(batch, records, summary) -> None:
    now = utcnow()
    retitled = []
    for paper in db.session.scalars(select(Paper).where(Paper.arxiv_id.in_(batch))):
        record = records.get(paper.arxiv_id)
        if record is None:
            paper.fetch_error = "arXiv has no paper with this id."
            summary.failed += 1
            continue
        if paper.title != record.title:
            retitled.append(paper.id)
        paper.title, paper.authors, paper.abstract = record.title, list(record.authors), record.abstract
        paper.categories, paper.primary_category = list(record.categories), record.primary_category
        paper.published_at, paper.updated_at = record.published, record.updated
        paper.latest_version, paper.doi, paper.journal_ref = record.version, record.doi, record.journal_ref
        paper.comment, paper.withdrawn = record.comment, record.withdrawn
        paper.fetched_at, paper.fetch_error = now, None
        summary.fetched += 1
    rerender_citing_posts(retitled)  # posts citing them show the new titles, same commit
    db.session.commit()


def _record_paper_errors(batch, message, summary) -> None:
    for paper in db.session.scalars(select(Paper).where(Paper.arxiv_id.in_(batch))):
        paper.fetch_error = message[:500]
        summary.failed += 1
    summary.errors.append(message)
    db.session.commit()


def refresh_repos(client: GitHubClient, names: list[str], progress=None) -> RefreshSummary:
    summary = RefreshSummary()
    for name in names:
        db.session.rollback()
        repo = db.session.scalar(select(Repository).where(Repository.full_name_lower == name.lower()))
        etag = repo.etag if repo.fetch_error is None else None
        db.session.rollback()  # no transaction held across the network
        result = client.fetch_repo(name, etag=etag)
        repo = db.session.scalar(select(Repository).where(Repository.full_name_lower == name.lower()))
        _record_repo(repo, result, summary)
        db.session.commit()
        if progress:
            progress(1)
        if result.status == "rate_limited":
            summary.errors.append(f"GitHub rate limit reached; retrying after {result.retry_at}.")
            break
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
    else:  # rate_limited or error: keep what we had, retry later
        repo.fetch_error = (result.error or result.status)[:500]
        repo.retry_after = result.retry_at
        summary.failed += 1
