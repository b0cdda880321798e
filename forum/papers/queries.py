"""Read-side queries for paper, repository and thread pages, with their eager loads.

Every query here counts only public citations: the source thread body or
reply passes ``forum.moderation.visibility.public_source`` (not held, hidden
or deleted, and not in a deleted thread). Nothing here works that rule out
again.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import NamedTuple

from sqlalchemy import Integer, bindparam, cast, func, literal, null, select, union_all
from sqlalchemy.orm import joinedload

from forum.database import id_values, ids_arity, ids_in, utcnow
from forum.extensions import db
from forum.moderation.visibility import public_source
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from forum.threads.models import Post, Thread

MOST_DISCUSSED_LIMIT = 20
ALONGSIDE_LIMIT = 20
TITLES_PER_LIST_ITEM = 3  # cited paper titles shown under a thread in a list


def paper_by_arxiv_id(arxiv_id: str) -> Paper | None:
    return db.session.scalar(select(Paper).where(Paper.arxiv_id == arxiv_id))


def repo_by_name(full_name: str) -> Repository | None:
    return db.session.scalar(select(Repository).where(Repository.full_name_lower == full_name.lower()))


def _public(query, mention):
    """``query`` over ``mention`` rows, limited to those whose source is public."""
    return query.where(public_source(mention.thread_id, mention.post_id))


def _citations(mention, target_column, target_id: int) -> list:
    """Every public thread body and reply in ``mention`` citing one target, newest first."""
    return list(db.session.scalars(
        _public(select(mention), mention)
        .options(joinedload(mention.thread).joinedload(Thread.author),
                 joinedload(mention.post).joinedload(Post.author))
        .where(target_column == target_id)
        .order_by(mention.created_at.desc(), mention.id.desc())
    ).unique())


def paper_citations(paper_id: int) -> list[PaperMention]:
    return _citations(PaperMention, PaperMention.paper_id, paper_id)


def repo_citations(repo_id: int) -> list[RepoMention]:
    return _citations(RepoMention, RepoMention.repository_id, repo_id)


def _threads_citing(mention, target_column, target_id: int):
    return _public(select(mention.thread_id), mention).where(target_column == target_id)


def repos_alongside_paper(paper_id: int) -> list[Repository]:
    """Repositories cited publicly in threads that publicly cite the paper, most co-cited first."""
    threads = _threads_citing(PaperMention, PaperMention.paper_id, paper_id)
    return list(db.session.scalars(
        _public(select(Repository).join(RepoMention, RepoMention.repository_id == Repository.id),
                RepoMention)
        .where(RepoMention.thread_id.in_(threads))
        .group_by(Repository.id).order_by(func.count(RepoMention.id).desc(), Repository.id)
        .limit(ALONGSIDE_LIMIT)))


def papers_alongside_repo(repo_id: int) -> list[Paper]:
    threads = _threads_citing(RepoMention, RepoMention.repository_id, repo_id)
    return list(db.session.scalars(
        _public(select(Paper).join(PaperMention, PaperMention.paper_id == Paper.id), PaperMention)
        .where(PaperMention.thread_id.in_(threads))
        .group_by(Paper.id).order_by(func.count(PaperMention.id).desc(), Paper.id)
        .limit(ALONGSIDE_LIMIT)))


def most_discussed_papers(since=None, limit: int = MOST_DISCUSSED_LIMIT) -> list[tuple[Paper, int]]:
    """Papers by number of public citing posts, counting citations first made since a moment."""
    count = func.count(PaperMention.id).label("mentions")
    query = _public(select(Paper, count).join(PaperMention, PaperMention.paper_id == Paper.id),
                    PaperMention)
    if since is not None:
        query = query.where(PaperMention.created_at >= since)
    query = query.group_by(Paper.id).order_by(count.desc(), Paper.id.desc()).limit(limit)
    return [(paper, mentions) for paper, mentions in db.session.execute(query).all()]


def most_discussed_this_week() -> list[tuple[Paper, int]]:
    return most_discussed_papers(since=utcnow() - timedelta(days=7))


@dataclass
class ThreadCitations:
    """What a thread and its public replies cite, in order of first citation (for its cards)."""
    papers: list[Paper] = field(default_factory=list)
    repos: list[Repository] = field(default_factory=list)


def thread_citations(thread_id: int) -> ThreadCitations:
    """The papers and repositories a thread cites publicly: one query, whatever their number
    (the thread page's query count must not grow with its citations)."""
    rows = db.session.execute(_thread_citations(), {"thread_id": thread_id}).all()
    return ThreadCitations([paper for paper, _ in rows if paper is not None],
                           [repo for _, repo in rows if repo is not None])


@functools.cache
def _thread_citations():
    """The statement behind ``thread_citations``, built once with the thread as a parameter:
    every thread page runs it, and building this union anew each time cost more than running it."""
    thread_id = bindparam("thread_id")
    papers = (_public(select(literal(0).label("kind"), PaperMention.paper_id.label("paper_id"),
                             cast(null(), Integer).label("repo_id"),
                             func.min(PaperMention.created_at).label("first")), PaperMention)
              .where(PaperMention.thread_id == thread_id).group_by(PaperMention.paper_id))
    repos = (_public(select(literal(1).label("kind"), cast(null(), Integer).label("paper_id"),
                            RepoMention.repository_id.label("repo_id"),
                            func.min(RepoMention.created_at).label("first")), RepoMention)
             .where(RepoMention.thread_id == thread_id).group_by(RepoMention.repository_id))
    cited = union_all(papers, repos).subquery()
    return (select(Paper, Repository).select_from(cited)
            .outerjoin(Paper, Paper.id == cited.c.paper_id)
            .outerjoin(Repository, Repository.id == cited.c.repo_id)
            .order_by(cited.c.kind, cited.c.first, cited.c.paper_id, cited.c.repo_id))


class CitedTitle(NamedTuple):
    """A paper as a list names it: its arXiv id, and its title (None while pending)."""
    arxiv_id: str
    title: str | None


def cited_titles(thread_ids: list[int], limit: int | None = TITLES_PER_LIST_ITEM) -> dict[int, list[CitedTitle]]:
    """Thread id -> the first papers it cites publicly (lists, digests): one query for them all.

    Lists draw only each paper's id and title, and the front page runs this for every
    member's request: plain rows from a statement built once, not ``Paper`` objects.
    """
    if not thread_ids:
        return {}
    cited: dict[int, list[CitedTitle]] = {}
    rows = db.session.connection().execute(  # no ORM step
        _cited_titles(ids_arity(len(thread_ids))), id_values(list(thread_ids)))
    for thread_id, arxiv_id, title in rows:
        papers = cited.setdefault(thread_id, [])
        if (limit is None or len(papers) < limit) and all(p.arxiv_id != arxiv_id for p in papers):
            papers.append(CitedTitle(arxiv_id, title))
    return cited


@functools.cache
def _cited_titles(arity: int):
    """The statement of ``cited_titles`` (``database.ids_in`` says why not ``expanding``)."""
    return (_public(select(PaperMention.thread_id, Paper.arxiv_id, Paper.title)
                    .join(Paper, Paper.id == PaperMention.paper_id), PaperMention)
            .where(ids_in(PaperMention.thread_id, arity))
            .order_by(PaperMention.thread_id, PaperMention.created_at, PaperMention.id))


@dataclass
class VersionRow:
    version: int
    date: datetime | None
    citations: list = field(default_factory=list)  # PaperMention rows naming this version


def versions_discussed(paper: Paper | None, citations: list[PaperMention]) -> list[VersionRow]:
    """v1..vN (N: the latest arXiv told us, or the highest any debate names), each with its
    date when arXiv gave one and the public citations that name it."""
    known = {int(v["version"]): v.get("date") for v in (paper.versions if paper else []) or []}
    cited = {v for c in citations for v in (c.versions or [])}
    latest = max([(paper.latest_version or 0) if paper else 0, *known, *cited])
    rows = []
    for n in range(1, latest + 1):
        date = known.get(n)
        rows.append(VersionRow(n, datetime.fromisoformat(date) if date else None,
                               [c for c in citations if n in (c.versions or [])]))
    return rows
