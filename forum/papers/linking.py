"""Which papers and repositories each thread (title and body) and reply cites.

Links are derived data, recomputed whenever a thread or reply is written,
edited or deleted, in an ``after_flush`` listener inside the same transaction
as the change, so every code path that writes a post (views, CLI, seeding,
moderation) keeps links right without remembering to. What a text cites is
read from its stored HTML and a thread's title (``forum.papers.citing``
explains why the HTML and not the Markdown source).

Rows are *diffed*, never deleted and recreated: a paper or repository still
cited after an edit keeps its row and so the date it was first cited (an
edit to a 400-day-old post must not make it "cited just now" nor push the
paper into this week's most discussed); only the versions named are
updated. A deleted thread body or reply drops its rows; public listings
filter the rest (``forum.moderation.visibility``).

It only detects identifiers and writes rows; metadata is fetched later by
``flask papers refresh``: writing a post never waits on arXiv or GitHub.
``Paper``/``Repository`` rows are created with INSERT … ON CONFLICT DO
NOTHING, so two people citing a new paper at once cannot collide.
"""
from __future__ import annotations

from sqlalchemy import delete, event, insert, inspect, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from forum.database import utcnow
from forum.papers.citing import Citations, citations_of
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from forum.threads.models import Post, Thread

WATCHED = {Thread: ("title", "body_html", "deleted_at"), Post: ("body_html", "deleted_at")}


def sync_links(connection, *, thread_id: int, post_id: int | None, citations: Citations | None,
               is_new: bool = False) -> None:
    """Make the rows of one thread or reply match ``citations`` (None: it was deleted).

    ``is_new``: the source was just inserted, so it has no rows to compare with.
    """
    source_key = f"post:{post_id}" if post_id else f"thread:{thread_id}"
    citations = citations or Citations()
    now = utcnow()
    _sync_papers(connection, source_key, thread_id, post_id, citations.papers, now, is_new)
    _sync_repos(connection, source_key, thread_id, post_id, citations.repos, now, is_new)


def _sync_papers(connection, source_key, thread_id, post_id, papers: dict[str, list[int]], now, is_new):
    existing = {} if is_new else {
        arxiv_id: (row_id, versions) for row_id, arxiv_id, versions in connection.execute(
            select(PaperMention.id, Paper.arxiv_id, PaperMention.versions)
            .join(Paper, Paper.id == PaperMention.paper_id)
            .where(PaperMention.source_key == source_key))}
    gone = [row_id for arxiv_id, (row_id, _) in existing.items() if arxiv_id not in papers]
    if gone:
        connection.execute(delete(PaperMention).where(PaperMention.id.in_(gone)))
    for arxiv_id, (row_id, versions) in existing.items():
        if arxiv_id in papers and list(versions or []) != papers[arxiv_id]:
            connection.execute(update(PaperMention).where(PaperMention.id == row_id)
                               .values(versions=papers[arxiv_id]))
    new = [arxiv_id for arxiv_id in papers if arxiv_id not in existing]
    if not new:
        return
    _insert_missing(connection, Paper.__table__, "arxiv_id",
                    [{"arxiv_id": pid, "authors": [], "categories": [], "versions": [],
                      "withdrawn": False, "not_found": False, "failures": 0, "created_at": now}
                     for pid in new])
    ids = dict(connection.execute(select(Paper.arxiv_id, Paper.id).where(Paper.arxiv_id.in_(new))).all())
    connection.execute(insert(PaperMention), [
        {"paper_id": ids[pid], "thread_id": thread_id, "post_id": post_id, "source_key": source_key,
         "versions": papers[pid], "created_at": now} for pid in new])


def _sync_repos(connection, source_key, thread_id, post_id, repos: dict[str, str], now, is_new):
    existing = {} if is_new else dict(connection.execute(
        select(Repository.full_name_lower, RepoMention.id)
        .join(Repository, Repository.id == RepoMention.repository_id)
        .where(RepoMention.source_key == source_key)).all())
    gone = [row_id for lower, row_id in existing.items() if lower not in repos]
    if gone:
        connection.execute(delete(RepoMention).where(RepoMention.id.in_(gone)))
    new = [lower for lower in repos if lower not in existing]
    if not new:
        return
    _insert_missing(connection, Repository.__table__, "full_name_lower",
                    [{"full_name": repos[lower], "full_name_lower": lower, "topics": [],
                      "not_found": False, "created_at": now} for lower in new])
    ids = dict(connection.execute(select(Repository.full_name_lower, Repository.id)
                                  .where(Repository.full_name_lower.in_(new))).all())
    connection.execute(insert(RepoMention), [
        {"repository_id": ids[lower], "thread_id": thread_id, "post_id": post_id,
         "source_key": source_key, "created_at": now} for lower in new])


def _insert_missing(connection, table, key: str, rows: list[dict]) -> None:
    dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
    connection.execute(dialect.insert(table).values(rows).on_conflict_do_nothing(index_elements=[key]))


def _changed(obj, was_new: bool) -> bool:
    state = inspect(obj)
    return was_new or any(state.attrs[name].history.has_changes() for name in WATCHED[type(obj)])


@event.listens_for(Session, "after_flush")
def _sync_after_flush(session: Session, flush_context) -> None:
    new = set(map(id, session.new))
    touched = [(obj, id(obj) in new) for obj in list(session.new) + list(session.dirty)
               if type(obj) in WATCHED]
    touched = [(obj, was_new) for obj, was_new in touched if _changed(obj, was_new)]
    if not touched:
        return
    connection = session.connection()
    for obj, was_new in touched:
        deleted = obj.deleted_at is not None
        if isinstance(obj, Thread):
            citations = None if deleted else citations_of(obj.title, obj.body_html)
            sync_links(connection, thread_id=obj.id, post_id=None, citations=citations, is_new=was_new)
        else:
            citations = None if deleted else citations_of(None, obj.body_html)
            sync_links(connection, thread_id=obj.thread_id, post_id=obj.id, citations=citations,
                       is_new=was_new)
