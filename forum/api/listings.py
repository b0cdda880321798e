"""The API's own read queries: citation lists of a thread, and listings of cited works.

Everything else the API shows comes from the pages' query builders
(``forum.threads.queries``, ``forum.papers.queries``).
"""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from forum.extensions import db
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from forum.threads.models import Post, Thread


def thread_citations(thread_id: int) -> tuple[tuple[list, list], dict[int, tuple[list, list]]]:
    """What the thread's body cites and what each reply cites: (papers, repositories), two queries."""
    body: tuple[list, list] = ([], [])
    replies: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    for index, (mention, target, name, key) in enumerate((
            (PaperMention, Paper, Paper.arxiv_id, PaperMention.paper_id),
            (RepoMention, Repository, Repository.full_name, RepoMention.repository_id))):
        rows = db.session.execute(
            select(mention.post_id, name).join(target, target.id == key)
            .where(mention.thread_id == thread_id).order_by(mention.id))
        for post_id, value in rows:
            found = body if post_id is None else replies[post_id]
            if value not in found[index]:
                found[index].append(value)
    return body, dict(replies)


def _cited_publicly(mention, target_column):
    return (select(mention.id).join(Thread, Thread.id == mention.thread_id)
            .outerjoin(Post, Post.id == mention.post_id)
            .where(target_column, Thread.deleted_at.is_(None), Thread.public(),
                   or_(mention.post_id.is_(None), Post.deleted_at.is_(None) & Post.public()))
            .exists())


def cited_papers(before_id: int | None, limit: int) -> list[Paper]:
    """Papers some public post cites, newest first (by id), after a keyset position."""
    query = select(Paper).where(_cited_publicly(PaperMention, PaperMention.paper_id == Paper.id))
    if before_id:
        query = query.where(Paper.id < before_id)
    return list(db.session.scalars(query.order_by(Paper.id.desc()).limit(limit)))


def cited_repositories(before_id: int | None, limit: int) -> list[Repository]:
    query = select(Repository).where(
        _cited_publicly(RepoMention, RepoMention.repository_id == Repository.id))
    if before_id:
        query = query.where(Repository.id < before_id)
    return list(db.session.scalars(query.order_by(Repository.id.desc()).limit(limit)))


def public_threads(ids) -> list[Thread]:
    """The public threads among ``ids`` with author and tags, newest first (one query + tags)."""
    ids = list(ids)
    if not ids:
        return []
    return list(db.session.scalars(
        select(Thread).options(joinedload(Thread.author), selectinload(Thread.tags))
        .where(Thread.id.in_(ids), Thread.deleted_at.is_(None), Thread.public())
        .order_by(Thread.created_at.desc(), Thread.id.desc())).unique())



def public_post_ids(ids) -> set[int]:
    ids = set(ids)
    if not ids:
        return set()
    return set(db.session.scalars(
        select(Post.id).join(Thread, Thread.id == Post.thread_id)
        .where(Post.id.in_(ids), Post.deleted_at.is_(None), Post.public(),
               Thread.deleted_at.is_(None), Thread.public())))
