"""Read-side queries for paper and repository pages, with their eager loads."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from forum.database import utcnow
from forum.extensions import db
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from forum.threads.models import Post, Thread

MOST_DISCUSSED_LIMIT = 20


def paper_by_arxiv_id(arxiv_id: str) -> Paper | None:
    return db.session.scalar(select(Paper).where(Paper.arxiv_id == arxiv_id))


def repo_by_name(full_name: str) -> Repository | None:
    return db.session.scalar(select(Repository).where(Repository.full_name_lower == full_name.lower()))


def _citations(mention, target_column, target_id: int) -> list:
    """Every visible thread body and reply in ``mention`` citing one target, newest first."""
    return list(db.session.scalars(
        select(mention)
        .options(joinedload(mention.thread).joinedload(Thread.author),
                 joinedload(mention.post).joinedload(Post.author))
        .join(Thread, Thread.id == mention.thread_id)
        .outerjoin(Post, Post.id == mention.post_id)
        .where(target_column == target_id, Thread.deleted_at.is_(None), Thread.public(),
               or_(mention.post_id.is_(None), Post.public()))
        .order_by(mention.created_at.desc(), mention.id.desc())
    ).unique())


def paper_citations(paper_id: int) -> list[PaperMention]:
    return _citations(PaperMention, PaperMention.paper_id, paper_id)


def repo_citations(repo_id: int) -> list[RepoMention]:
    return _citations(RepoMention, RepoMention.repository_id, repo_id)


def repos_alongside_paper(paper_id: int) -> list[Repository]:
    """Repositories cited in the same threads as the paper, most co-cited first."""
    threads = select(PaperMention.thread_id).where(PaperMention.paper_id == paper_id)
    return list(db.session.scalars(
        select(Repository).join(RepoMention, RepoMention.repository_id == Repository.id)
        .where(RepoMention.thread_id.in_(threads))
        .group_by(Repository.id).order_by(func.count(RepoMention.id).desc(), Repository.id)
        .limit(20)))


def papers_alongside_repo(repo_id: int) -> list[Paper]:
    threads = select(RepoMention.thread_id).where(RepoMention.repository_id == repo_id)
    return list(db.session.scalars(
        select(Paper).join(PaperMention, PaperMention.paper_id == Paper.id)
        .where(PaperMention.thread_id.in_(threads))
        .group_by(Paper.id).order_by(func.count(PaperMention.id).desc(), Paper.id)
        .limit(20)))


def most_discussed_papers(since=None, limit: int = MOST_DISCUSSED_LIMIT) -> list[tuple[Paper, int]]:
    """Papers by number of citing posts (in threads not deleted), optionally since a moment."""
    count = func.count(PaperMention.id).label("mentions")
    query = (select(Paper, count).join(PaperMention, PaperMention.paper_id == Paper.id)
             .join(Thread, Thread.id == PaperMention.thread_id)
             .outerjoin(Post, Post.id == PaperMention.post_id)
             .where(Thread.deleted_at.is_(None), Thread.public(),
                    or_(PaperMention.post_id.is_(None), Post.public())))
    if since is not None:
        query = query.where(PaperMention.created_at >= since)
    query = query.group_by(Paper.id).order_by(count.desc(), Paper.id.desc()).limit(limit)
    return [(paper, mentions) for paper, mentions in db.session.execute(query).all()]


def most_discussed_this_week() -> list[tuple[Paper, int]]:
    return most_discussed_papers(since=utcnow() - timedelta(days=7))
