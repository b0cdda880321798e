"""Search documents built from the database: one plain dict per thread, reply or paper.

A document is ``None`` when its row is gone, soft-deleted, held for approval
or hidden by a moderator, which tells the index to delete the key. Replies
carry their thread's tags, so ``tag:`` finds
them too. Cited papers and repositories come from the papers package's link
rows.

Papers (``paper:<row id>``) are indexed once their arXiv metadata has been
fetched: title, abstract, and, as extra searchable words, the arXiv id, the
authors' names and the categories. A pending paper (id only) has no document:
the posts citing it are already found with ``paper:``. Its ``paper`` field is
its own arXiv id, so ``paper:1706.03762`` finds the paper and its citations.
"""
from __future__ import annotations

import re
from collections import defaultdict
from html import unescape
from typing import Iterator

from sqlalchemy import Integer, and_, cast, func, literal_column, null, or_, select, union_all
from sqlalchemy.orm import Session

from forum.accounts.models import User
from forum.moderation import visibility
from forum.papers.models import Paper, PaperMention, RepoMention, Repository
from forum.search.query import canonical
from forum.threads.models import Post, Tag, Thread, thread_tags

BATCH = 1000
# The rendered HTML (stored at write time) to the words a reader sees: searched, and shown
# in snippets, so neither has Markdown or LaTeX source. Block ends become line breaks.
_BLOCK_TAG = re.compile(r"</?(?:p|div|li|ul|ol|h[1-6]|blockquote|pre|tr|td|th|table|br|hr|math"
                        r"|details|summary|figure|figcaption|dd|dt|dl)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]*>")
_SPACES = re.compile(r"[ \t\r\f\v]+")
_ODD_SPACES = ("  ", "\t", "\r", "\f", "\v")  # what _SPACES would change


def plain_text(html: str | None) -> str:
    r"""The text of a rendered post, tags removed and entities decoded: runs of spaces
    made one, and each line break with the whitespace around it made one line break.

    A rebuild reads every post, and regular expressions that try a match at each
    space (``[ \t]+``, ``\s*\n\s*``) were most of this function's time, so each step
    runs only on text that has what it changes, and lines are stripped with
    ``str.split``/``str.strip`` (the same whitespace as ``\s``; a test compares)."""
    if not html:
        return ""
    text = unescape(_TAG.sub("", _BLOCK_TAG.sub("\n", html)))
    if any(odd in text for odd in _ODD_SPACES):
        text = _SPACES.sub(" ", text)
    if "\n" in text:
        text = "\n".join(filter(None, map(str.strip, text.split("\n"))))
    return canonical(text.strip())


def _extras_of(session: Session, thread_ids: set[int]) -> tuple[dict, dict, dict]:
    """The tags of each thread (by name), and (thread_id, post_id or None) -> cited arXiv
    ids, and -> repositories (owner/name, lower case), in one statement: a reply's commit
    asks for them (on PostgreSQL, before it can commit), and each statement is a round trip."""
    tags: dict = defaultdict(list)
    papers: dict = defaultdict(list)
    repos: dict = defaultdict(list)
    if not thread_ids:
        return tags, papers, repos
    no_post = cast(null(), Integer)
    rows = session.execute(union_all(
        select(literal_column("'tag'").label("kind"), thread_tags.c.thread_id,
               no_post.label("post_id"), Tag.name.label("value"))
        .join(Tag, Tag.id == thread_tags.c.tag_id).where(thread_tags.c.thread_id.in_(thread_ids)),
        select(literal_column("'paper'"), PaperMention.thread_id, PaperMention.post_id,
               Paper.arxiv_id)
        .join(Paper, Paper.id == PaperMention.paper_id).where(PaperMention.thread_id.in_(thread_ids)),
        select(literal_column("'repo'"), RepoMention.thread_id, RepoMention.post_id,
               Repository.full_name_lower)
        .join(Repository, Repository.id == RepoMention.repository_id)
        .where(RepoMention.thread_id.in_(thread_ids)),
    ).order_by("kind", "value"))
    for kind, thread_id, post_id, value in rows:
        if kind == "tag":
            tags[thread_id].append(value)
        elif kind == "paper":
            papers[(thread_id, post_id)].append(value.lower())
        else:
            repos[(thread_id, post_id)].append(value)
    return tags, papers, repos


def thread_document(thread: Thread, papers: dict, repos: dict) -> dict | None:
    if thread.deleted_at is not None or not thread.is_public:  # held or hidden: not searchable
        return None
    return _thread_fields(thread.id, thread.title, thread.body_html, thread.author.username,
                          [t.name for t in thread.tags], thread.created_at, thread.score, papers, repos)


def post_document(post: Post, papers: dict, repos: dict) -> dict | None:
    if (post.deleted_at is not None or post.thread.deleted_at is not None
            or not post.is_public or not post.thread.is_public):
        return None
    return _reply_fields(post.id, post.thread_id, post.body_html, post.author.username,
                         [t.name for t in post.thread.tags], post.stance, post.created_at,
                         post.score, papers, repos)


def _thread_fields(thread_id: int, title: str, body_html: str | None, username: str, tags: list[str],
                   created, score: int, papers: dict, repos: dict) -> dict:
    """A thread's document, from its values: one shape for ORM rows and a rebuild's plain rows."""
    return {"key": f"thread:{thread_id}", "kind": "thread", "thread_id": thread_id,
            "title": canonical(title), "body": plain_text(body_html), "authors": [username],
            "tags": tags,
            "papers": papers.get((thread_id, None), []), "repos": repos.get((thread_id, None), []),
            "created": created, "score": score}


def _reply_fields(post_id: int, thread_id: int, body_html: str | None, username: str, tags: list[str],
                  stance: str | None, created, score: int, papers: dict, repos: dict) -> dict:
    """A reply's document, from its values (see ``_thread_fields``)."""
    return {"key": f"post:{post_id}", "kind": "reply", "thread_id": thread_id,
            "post_id": post_id, "title": "", "body": plain_text(body_html), "authors": [username],
            "tags": tags, "papers": papers.get((thread_id, post_id), []),
            "repos": repos.get((thread_id, post_id), []), "stance": stance,
            "created": created, "score": score}


def paper_document(paper) -> dict | None:
    if paper.fetched_at is None or not paper.title:
        return None
    extra = [paper.arxiv_id, *(paper.authors or []), *(paper.categories or [])]
    return {"key": f"paper:{paper.id}", "kind": "paper", "title": canonical(paper.title),
            "body": canonical(paper.abstract or ""), "extra": canonical("\n".join(extra)),
            "authors": [], "tags": [],
            "papers": [paper.arxiv_id.lower()], "repos": [],
            "created": paper.published_at or paper.created_at, "score": 0}


def _papers(session: Session, ids) -> list:
    return list(session.scalars(select(Paper).where(Paper.id.in_(ids))))


def for_keys(session: Session, keys: list[tuple[str, str]]) -> list[tuple[str, dict | None]]:
    """(key, op) pairs to (key, document or None), in key order, each key once.

    Read as plain rows (``_thread_rows``, ``_post_rows``: the rebuild's reads, by key), with
    the tags and citations of every thread involved read once: a reply's commit asks for
    its own document and its thread's, and each statement is a round trip of that commit."""
    paper_ids = {int(k.split(":")[1]) for k, _ in keys if k.startswith("paper:")}
    thread_ids = {int(k.split(":")[1]) for k, _ in keys if k.startswith("thread:")}
    post_ids = {int(k.split(":")[1]) for k, _ in keys if k.startswith("post:")}
    tag_threads = {int(k.split(":")[1]) for k, op in keys if op == "tags" and k.startswith("thread:")}
    thread_rows = _thread_rows(session, Thread.id.in_(thread_ids)) if thread_ids else []
    post_rows = []
    if post_ids or tag_threads:
        post_rows = _post_rows(session, or_(Post.id.in_(post_ids), Post.thread_id.in_(tag_threads)))
        post_ids.update(r.id for r in post_rows)
    threads = {r.id: r for r in thread_rows if r.public}
    posts = {r.id: r for r in post_rows if r.public}
    involved = set(threads) | {r.thread_id for r in posts.values()}
    tags, papers, repos = _extras_of(session, involved)
    out = [(f"thread:{i}", _thread_doc(threads[i], tags, papers, repos) if i in threads else None)
           for i in sorted(thread_ids)]
    out += [(f"post:{i}", _post_doc(posts[i], tags, papers, repos) if i in posts else None)
            for i in sorted(post_ids)]
    if paper_ids:
        found = {p.id: p for p in _papers(session, paper_ids)}
        out += [(f"paper:{i}", paper_document(found[i]) if i in found else None)
                for i in sorted(paper_ids)]
    return out


def iter_all(session_factory, after: tuple[int, int] = (0, 0),
             until: tuple[int, int] | None = None) -> Iterator[dict]:
    """Every live document, read in short transactions of ``BATCH`` rows (keyset by id):
    threads, then replies, then papers, each in id order. ``after`` and ``until`` (a
    ``(stage, id)`` position: stage 0 threads, 1 replies, 2 papers, as ``parts`` gives
    them) keep the rows after one position, up to and including another.

    The same documents ``for_keys`` builds, read with plain column queries instead of ORM
    objects: a rebuild reads every row of the forum, and building an ORM object (with its
    author, thread and tags) per row cost several times more than the document itself.
    What is public is decided in SQL by ``moderation.visibility.public``, the definition
    ``Thread.is_public``/``Post.is_public`` and ``deleted_at`` spell out row by row."""
    for stage, read in enumerate((_thread_batch, _post_batch, _paper_batch)):
        if stage < after[0] or (until is not None and stage > until[0]):
            continue
        last = after[1] if stage == after[0] else 0
        upto = until[1] if until is not None and stage == until[0] else None
        while True:
            with session_factory() as session:
                docs, last = read(session, last, upto)
            if last is None:
                break
            yield from docs


STAGES = (Thread, Post, Paper)  # iter_all's order


def parts(session: Session, count: int) -> list[tuple[tuple[int, int], tuple[int, int] | None]]:
    """``iter_all``'s rows cut into ``count`` runs of about as many rows, in order, as
    ``(after, until)`` pairs for it (the last one's ``until`` None: to the end)."""
    sizes = [session.scalar(select(func.count(model.id))) or 0 for model in STAGES]
    total = sum(sizes)
    cuts = []
    for number in range(1, count):
        at, stage = total * number // count, 0  # the first row of the next run
        while stage < len(sizes) - 1 and at >= sizes[stage]:
            at -= sizes[stage]
            stage += 1
        model = STAGES[stage]
        last = session.scalar(select(model.id).order_by(model.id).offset(at - 1).limit(1)) \
            if at else 0
        cuts.append((stage, last or 0))
    starts = [(0, 0)] + cuts
    return list(zip(starts, cuts + [None]))


def _thread_rows(session: Session, condition, limit: int | None = None) -> list:
    """Threads (id order) with their author's name and whether they are public, in SQL by
    ``moderation.visibility`` (what ``Thread.is_public`` and ``deleted_at`` spell out)."""
    query = (select(Thread.id, Thread.title, Thread.body_html, Thread.created_at, Thread.score,
                    User.username, visibility.public_thread().label("public"))
             .join(User, User.id == Thread.author_id).where(condition).order_by(Thread.id))
    return session.execute(query if limit is None else query.limit(limit)).all()


def _post_rows(session: Session, condition, limit: int | None = None) -> list:
    """Replies (id order) with their author's name and whether they are public (their
    thread's state included)."""
    query = (select(Post.id, Post.thread_id, Post.body_html, Post.created_at, Post.score,
                    Post.stance, User.username, visibility.public(Post).label("public"))
             .join(User, User.id == Post.author_id).join(Thread, Thread.id == Post.thread_id)
             .where(condition).order_by(Post.id))
    return session.execute(query if limit is None else query.limit(limit)).all()


def _thread_doc(r, tags: dict, papers: dict, repos: dict) -> dict:
    return _thread_fields(r.id, r.title, r.body_html, r.username, list(tags.get(r.id, [])),
                          r.created_at, r.score, papers, repos)


def _post_doc(r, tags: dict, papers: dict, repos: dict) -> dict:
    return _reply_fields(r.id, r.thread_id, r.body_html, r.username, list(tags.get(r.thread_id, [])),
                         r.stance, r.created_at, r.score, papers, repos)


def _after(model, last: int, upto: int | None):
    return model.id > last if upto is None else and_(model.id > last, model.id <= upto)


def _thread_batch(session: Session, last: int, upto: int | None = None
                  ) -> tuple[list[dict], int | None]:
    """``thread_document`` for the next ``BATCH`` threads after id ``last`` (up to ``upto``),
    and the last id read (None: no more)."""
    rows = _thread_rows(session, _after(Thread, last, upto), BATCH)
    if not rows:
        return [], None
    shown = {r.id for r in rows if r.public}
    tags, papers, repos = _extras_of(session, shown)
    return [_thread_doc(r, tags, papers, repos) for r in rows if r.public], rows[-1].id


def _post_batch(session: Session, last: int, upto: int | None = None
                ) -> tuple[list[dict], int | None]:
    """``post_document`` for the next ``BATCH`` replies after id ``last`` (up to ``upto``),
    and the last id read (None: no more)."""
    rows = _post_rows(session, _after(Post, last, upto), BATCH)
    if not rows:
        return [], None
    shown = [r for r in rows if r.public]
    thread_ids = {r.thread_id for r in shown}
    tags, papers, repos = _extras_of(session, thread_ids)
    return [_post_doc(r, tags, papers, repos) for r in shown], rows[-1].id


def _paper_batch(session: Session, last: int, upto: int | None = None
                 ) -> tuple[list[dict], int | None]:
    """Papers are few: their documents come from the ORM rows, as in ``for_keys``."""
    ids = list(session.scalars(select(Paper.id).where(_after(Paper, last, upto))
                               .order_by(Paper.id).limit(BATCH)))
    if not ids:
        return [], None
    docs = [paper_document(p) for p in _papers(session, ids)]
    return [doc for doc in docs if doc is not None], ids[-1]


def count_all(session: Session) -> int:
    """Rows the rebuild reads (an upper bound of the documents: deleted rows are skipped)."""
    from sqlalchemy import func
    models = [Thread, Post, Paper]
    return sum(session.scalar(select(func.count(model.id))) or 0 for model in models)
