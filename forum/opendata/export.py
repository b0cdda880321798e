"""The open data export: every public thing on the forum as JSON Lines, plus a README.

What is written (one JSON object per line, UTF-8):

- ``threads.jsonl``: public threads (not held, hidden or deleted) with Markdown
  source and rendered HTML, vote totals, tags and the papers/repositories the
  opening post cites;
- ``replies.jsonl``: public replies in those threads, likewise, with stance
  and parent;
- ``members.jsonl``: public profile fields only (never email addresses,
  password hashes, roles, bans or settings);
- ``papers.jsonl`` and ``repositories.jsonl``: the cited works' metadata;
- ``README.md``: the schema and the licence (``CONTENT_LICENSE``).

Why it runs in constant memory: every table is read in keyset batches
(``WHERE id > last ORDER BY id LIMIT batch``) as plain rows, never ORM
objects, and each batch's tags, citations and vote totals come from one query
per kind for the batch's ids; each line is written as soon as it is built.
The number of queries grows with the number of batches, not of rows, and
memory with the batch size (``EXPORT_BATCH_SIZE``), never with the forum.
"""
from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import current_app, render_template
from sqlalchemy import case, func, select

from forum.accounts.models import User
from forum.extensions import db
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from forum.threads.models import Post, Tag, Thread, Vote, thread_tags

DEFAULT_BATCH_SIZE = 1000
FILES = ("threads", "replies", "members", "papers", "repositories")


@dataclass
class ExportSummary:
    path: Path
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(FILES, 0))

    def line(self) -> str:
        parts = ", ".join(f"{self.counts[name]} {name}" for name in FILES)
        return f"Exported {parts} to {self.path}."


def batch_size() -> int:
    return max(1, int(current_app.config.get("EXPORT_BATCH_SIZE", DEFAULT_BATCH_SIZE)))


def public_threads():
    """The one definition of a public thread, as a selectable condition list."""
    return (Thread.deleted_at.is_(None), Thread.public())


def total_rows() -> int:
    """How many rows the export will write (for the progress bar), in one query."""
    threads = select(func.count(Thread.id)).where(*public_threads()).scalar_subquery()
    replies = (select(func.count(Post.id)).join(Thread, Thread.id == Post.thread_id)
               .where(Post.deleted_at.is_(None), Post.public(), *public_threads())
               .scalar_subquery())
    members = select(func.count(User.id)).scalar_subquery()
    return int(db.session.scalar(select(threads + replies + members)) or 0)


def export(path: Path, progress: Callable[[int], None] = lambda n: None) -> ExportSummary:
    path.mkdir(parents=True, exist_ok=True)
    summary = ExportSummary(path)
    writers = {"threads": (_thread_lines(), progress), "replies": (_reply_lines(), progress),
               "members": (_member_lines(), progress), "papers": (_paper_lines(), _quiet),
               "repositories": (_repo_lines(), _quiet)}
    for name, (lines, report) in writers.items():
        summary.counts[name] = _write(path / f"{name}.jsonl", lines, report)
    (path / "README.md").write_text(render_template(
        "opendata/export_readme.md", site_name=current_app.config["FORUM_SITE_NAME"],
        license=current_app.config.get("CONTENT_LICENSE") or "CC BY 4.0", counts=summary.counts))
    return summary


def _quiet(count: int) -> None:
    """Papers and repositories are few and not counted in the progress bar."""


def _write(target: Path, batches: Iterator[list[dict]], progress) -> int:
    written = 0
    with target.open("w", encoding="utf-8") as out:
        for batch in batches:
            for record in batch:
                out.write(json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n")
            written += len(batch)
            progress(len(batch))
    return written


def keyset_batches(query, id_column) -> Iterator[list]:
    """``query``'s rows in id order, ``batch_size()`` at a time: memory stays one batch."""
    size, last = batch_size(), 0
    while True:
        rows = db.session.execute(query.where(id_column > last).order_by(id_column).limit(size)).all()
        if not rows:
            return
        yield rows
        last = rows[-1].id
        if len(rows) < size:
            return


def _thread_lines() -> Iterator[list[dict]]:
    query = (select(Thread.id, Thread.title, Thread.body, Thread.body_html, Thread.created_at,
                    Thread.edited_at, Thread.last_activity_at, Thread.score, Thread.reply_count,
                    Thread.locked, User.username)
             .join(User, User.id == Thread.author_id).where(*public_threads()))
    for rows in keyset_batches(query, Thread.id):
        ids = [row.id for row in rows]
        tags = _tags_of(ids)
        papers, repos = _citations(Thread.id, ids, thread_only=True)
        votes = _thread_votes(ids)
        yield [{"id": row.id, "url": _url(f"/t/{row.id}"), "title": row.title,
                "author": row.username, "created_at": _iso(row.created_at),
                "edited_at": _iso(row.edited_at), "last_activity_at": _iso(row.last_activity_at),
                "score": row.score, "upvotes": votes.get(row.id, (0, 0))[0],
                "downvotes": votes.get(row.id, (0, 0))[1], "reply_count": row.reply_count,
                "locked": bool(row.locked), "tags": tags.get(row.id, []),
                "cites_papers": _names(papers.get(row.id)),
                "cites_repositories": _names(repos.get(row.id)),
                "body": row.body, "body_html": row.body_html} for row in rows]


def _reply_lines() -> Iterator[list[dict]]:
    query = (select(Post.id, Post.thread_id, Post.parent_id, Post.stance, Post.body, Post.body_html,
                    Post.created_at, Post.edited_at, Post.score, Post.up_count, Post.down_count,
                    User.username)
             .join(User, User.id == Post.author_id).join(Thread, Thread.id == Post.thread_id)
             .where(Post.deleted_at.is_(None), Post.public(), *public_threads()))
    for rows in keyset_batches(query, Post.id):
        papers, repos = _citations(Post.id, [row.id for row in rows])
        yield [{"id": row.id, "url": _url(f"/p/{row.id}"), "thread_id": row.thread_id,
                "parent_id": row.parent_id, "author": row.username, "stance": row.stance,
                "created_at": _iso(row.created_at), "edited_at": _iso(row.edited_at),
                "score": row.score, "upvotes": row.up_count, "downvotes": row.down_count,
                "cites_papers": _names(papers.get(row.id)),
                "cites_repositories": _names(repos.get(row.id)),
                "body": row.body, "body_html": row.body_html} for row in rows]


def _member_lines() -> Iterator[list[dict]]:
    query = select(User.id, User.username, User.display_name, User.affiliation, User.bio,
                   User.created_at)
    for rows in keyset_batches(query, User.id):
        yield [{"username": row.username, "display_name": row.display_name,
                "affiliation": row.affiliation, "bio": row.bio,
                "joined_at": _iso(row.created_at), "url": _url(f"/u/{row.username}")}
               for row in rows]


def _publicly_cited(mention, target_column):
    """The condition "some public thread body or reply cites this" (papers, repositories)."""
    return (select(mention.id).join(Thread, Thread.id == mention.thread_id)
            .outerjoin(Post, Post.id == mention.post_id)
            .where(target_column, *public_threads(),
                   (mention.post_id.is_(None)) | (Post.deleted_at.is_(None) & Post.public()))
            .exists())


def _paper_lines() -> Iterator[list[dict]]:
    query = (select(Paper.id, Paper.arxiv_id, Paper.title, Paper.authors, Paper.published_at,
                    Paper.primary_category, Paper.doi)
             .where(_publicly_cited(PaperMention, PaperMention.paper_id == Paper.id)))
    for rows in keyset_batches(query, Paper.id):
        yield [{"arxiv_id": row.arxiv_id, "title": row.title, "authors": row.authors or [],
                "published_at": _iso(row.published_at), "primary_category": row.primary_category,
                "doi": row.doi, "url": f"https://arxiv.org/abs/{row.arxiv_id}"} for row in rows]


def _repo_lines() -> Iterator[list[dict]]:
    query = (select(Repository.id, Repository.full_name, Repository.description, Repository.stars,
                    Repository.language, Repository.license)
             .where(_publicly_cited(RepoMention, RepoMention.repository_id == Repository.id)))
    for rows in keyset_batches(query, Repository.id):
        yield [{"full_name": row.full_name, "description": row.description, "stars": row.stars,
                "language": row.language, "license": row.license,
                "url": f"https://github.com/{row.full_name}"} for row in rows]


def _tags_of(thread_ids: list[int]) -> dict[int, list[str]]:
    found: dict[int, list[str]] = defaultdict(list)
    for thread_id, name in db.session.execute(
            select(thread_tags.c.thread_id, Tag.name).join(Tag, Tag.id == thread_tags.c.tag_id)
            .where(thread_tags.c.thread_id.in_(thread_ids)).order_by(Tag.name)):
        found[thread_id].append(name)
    return found


def _citations(column, ids: list[int], thread_only: bool = False):
    """{id: [(paper id, arxiv id)]} and {id: [(repo id, full name)]} for a batch (two queries)."""
    out = []
    for mention, target, name in ((PaperMention, Paper, Paper.arxiv_id),
                                  (RepoMention, Repository, Repository.full_name)):
        owner = mention.thread_id if thread_only else mention.post_id
        query = (select(owner.label("owner"), target.id, name)
                 .join(target, target.id == (mention.paper_id if target is Paper
                                             else mention.repository_id))
                 .where(owner.in_(ids)).order_by(mention.id))
        if thread_only:
            query = query.where(mention.post_id.is_(None))
        found: dict[int, list] = defaultdict(list)
        for row in db.session.execute(query):
            found[row[0]].append((row[1], row[2]))
        out.append(found)
    return out[0], out[1]


def _thread_votes(ids: list[int]) -> dict[int, tuple[int, int]]:
    rows = db.session.execute(
        select(Vote.thread_id, func.sum(case((Vote.value > 0, 1), else_=0)),
               func.sum(case((Vote.value < 0, 1), else_=0)))
        .where(Vote.thread_id.in_(ids)).group_by(Vote.thread_id))
    return {row[0]: (int(row[1] or 0), int(row[2] or 0)) for row in rows}


def _names(pairs) -> list[str]:
    names = []
    for _, name in pairs or ():
        if name not in names:
            names.append(name)
    return names


def _url(path: str) -> str:
    """Absolute when the site's address is known (``SERVER_NAME``), else site-relative."""
    server = current_app.config.get("SERVER_NAME")
    scheme = current_app.config.get("PREFERRED_URL_SCHEME", "http")
    return f"{scheme}://{server}{path}" if server else path


def _iso(moment) -> str | None:
    return moment.isoformat() if moment is not None else None
