"""Which papers and repositories each thread body and reply cites.

Links are derived data: recomputed from the text whenever a thread or reply
is written, edited or deleted, idempotently (delete the source's links, then
insert what the text mentions now). This runs in an ``after_flush``
listener, inside the same transaction as the change, so every code path that
writes a post (views, CLI, seeding, moderation) keeps links right without
remembering to. It only detects identifiers and writes rows; metadata is
fetched later by ``flask papers refresh``: writing a post never waits on
arXiv or GitHub.

``Paper``/``Repository`` rows are created with INSERT … ON CONFLICT DO
NOTHING, so two people citing a new paper at once cannot collide.
"""
from __future__ import annotations

from sqlalchemy import delete, event, insert, inspect, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from forum.database import utcnow
from forum.papers.arxiv import iter_arxiv_mentions
from forum.papers.github import find_repos
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from forum.threads.models import Post, Thread

WATCHED_ATTRIBUTES = ("body", "deleted_at")


def cited_papers(text: str) -> dict[str, int | None]:
    """arXiv id -> the version first cited (None when cited without one)."""
    cited: dict[str, int | None] = {}
    for mention in iter_arxiv_mentions(text):
        if cited.get(mention.arxiv_id) is None:
            cited[mention.arxiv_id] = mention.version
    return cited


def sync_links(connection, *, thread_id: int, post_id: int | None, text: str | None) -> None:
    """Make the links of one thread body or reply match ``text`` (None: it was deleted)."""
    source_key = f"post:{post_id}" if post_id else f"thread:{thread_id}"
    connection.execute(delete(PaperMention).where(PaperMention.source_key == source_key))
    connection.execute(delete(RepoMention).where(RepoMention.source_key == source_key))
    if not text:
        return
    now = utcnow()
    papers = cited_papers(text)
    if papers:
        _insert_missing(connection, Paper.__table__, "arxiv_id",
                        [{"arxiv_id": pid, "authors": [], "categories": [], "withdrawn": False,
                          "created_at": now} for pid in papers])
        ids = dict(connection.execute(
            select(Paper.arxiv_id, Paper.id).where(Paper.arxiv_id.in_(papers))).all())
        connection.execute(insert(PaperMention), [
            {"paper_id": ids[pid], "thread_id": thread_id, "post_id": post_id,
             "source_key": source_key, "version": version, "created_at": now}
            for pid, version in papers.items()])
    repos = {name.lower(): name for name in reversed(find_repos(text))}
    if repos:
        _insert_missing(connection, Repository.__table__, "full_name_lower",
                        [{"full_name": name, "full_name_lower": lower, "topics": [],
                          "not_found": False, "created_at": now} for lower, name in repos.items()])
        ids = dict(connection.execute(select(Repository.full_name_lower, Repository.id)
                                      .where(Repository.full_name_lower.in_(repos))).all())
        connection.execute(insert(RepoMention), [
            {"repository_id": ids[lower], "thread_id": thread_id, "post_id": post_id,
             "source_key": source_key, "created_at": now} for lower in repos])


def _insert_missing(connection, table, key: str, rows: list[dict]) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=[key]))


def _changed(obj) -> bool:
    state = inspect(obj)
    return state.pending or any(state.attrs[name].history.has_changes() for name in WATCHED_ATTRIBUTES)


@event.listens_for(Session, "after_flush")
def _sync_after_flush(session: Session, flush_context) -> None:
    touched = [obj for obj in list(session.new) + list(session.dirty)
               if isinstance(obj, (Thread, Post)) and _changed(obj)]
    if not touched:
        return
    connection = session.connection()
    for obj in touched:
        text = None if obj.deleted_at is not None else obj.body
        if isinstance(obj, Thread):
            sync_links(connection, thread_id=obj.id, post_id=None, text=text)
        else:
            sync_links(connection, thread_id=obj.thread_id, post_id=obj.id, text=text)
