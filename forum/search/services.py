"""Answering a search: parse, ask the index, load the threads shown, suggest a correction.

The engine (``backend.get_backend()``, see ``backend.py`` for the contract)
answers with one group per thread; the threads (with authors and tags) are then
loaded in one query and kept in the engine's order. With no usable index the
engine raises ``SearchUnavailable``: the page answers 503 and the background
indexer rebuilds (``indexer.request_rebuild``); no request ever rebuilds.

How papers mix in (as a catalogue next to discussions, the way a mature forum
shows "People" or "Tags" above its posts): people come to find debates, so a
plain search lists threads only, and on its first page by relevance a small
"Papers" box above them shows the three best matching papers, with a link to
the same query with ``in:papers``. ``in:papers`` lists papers only, paginated
like threads. ``in:threads``/``in:replies`` and sorting by newest or top leave
the box out. Each paper result links to its page with the number of threads
citing it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from functools import cache

from flask import current_app
from sqlalchemy import (Integer, bindparam, cast, func, literal_column, null, or_,
                        select, union_all)
from sqlalchemy.orm import aliased
from sqlalchemy.orm.attributes import set_committed_value

from forum.extensions import db
from forum.moderation.visibility import public_post, public_source
from forum.papers.models import Paper, PaperMention
from forum.search import indexer
from forum.search.backend import (SORTS, ResultGroup, SearchUnavailable, Snippet, State,
                                  get_backend)
from forum.search.query import ParsedQuery, parse
from forum.threads.models import Post, Thread

log = logging.getLogger(__name__)

PER_PAGE = 10
MAX_PAGE = 50  # deeper pages cost more than they help; the page says so
NOTHING_TO_SEARCH = ("Nothing to search for: the query has only very common words, "
                     "one-letter prefixes or exclusions. Add a word or a filter.")
FEW_RESULTS = 3  # below this many threads, look for a did-you-mean
RETRY_AFTER_S = 30  # what a 503 "being rebuilt" page asks clients to wait
PAPERS_BOX = 3  # papers shown above the debates on a plain search's first page


@dataclass
class PaperResult:
    paper: object  # forum.papers.models.Paper
    citing_threads: int
    snippet: Snippet


@dataclass
class ShownResult:
    group: ResultGroup
    thread: Thread | None
    paper: PaperResult | None = None
    cites: list = field(default_factory=list)  # the papers its thread cites (Paper rows)
    snippet_authors: dict = field(default_factory=dict)  # snippet key -> who wrote that post (User)


@dataclass
class SearchOutcome:
    parsed: ParsedQuery
    sort: str
    page: int
    results: list[ShownResult] = field(default_factory=list)
    has_next: bool = False
    total: int = 0  # threads (or papers, under in:papers) matching, over all pages
    total_exact: bool = True
    suggestion: str | None = None
    notes: list[str] = field(default_factory=list)
    nothing_to_search: bool = False
    papers: list[PaperResult] = field(default_factory=list)  # the box above the debates
    more_papers: bool = False


def clean_page(raw: str | None) -> tuple[int, str | None]:
    try:
        page = int(raw or 1)
    except ValueError:
        return 1, "That page number is not a number; showing the first page."
    if page < 1:
        return 1, "Pages start at 1; showing the first page."
    if page > MAX_PAGE:
        return MAX_PAGE, f"Results go up to page {MAX_PAGE}; refine your query to see more."
    return page, None


def scoped_query(args) -> dict[str, str]:
    """``?within=tag:rl&q=words`` (the search box of a tag or paper page) to ``?q=tag:rl words``,
    so the address and the search box show the whole query, filter included."""
    within = " ".join(args.get("within", "").split())[:200]
    query = " ".join(part for part in (within, args.get("q", "").strip()) if part)
    out = {"q": query}
    if args.get("sort") in SORTS and args.get("sort") != "relevance":
        out["sort"] = args["sort"]
    return out


def search(text: str | None, *, sort: str = "relevance", page: int = 1) -> SearchOutcome:
    """Raises ``SearchUnavailable`` when there is no usable index (the page answers 503)."""
    parsed = parse(text)
    outcome = SearchOutcome(parsed=parsed, sort=sort if sort in SORTS else "relevance", page=page)
    outcome.notes.extend(parsed.notes)
    if not parsed.is_empty:
        result = _ask(lambda backend: backend.search(parsed, sort=outcome.sort, page=page,
                                                     per_page=PER_PAGE))
    if parsed.is_empty or result.nothing_to_search:
        outcome.notes.append(NOTHING_TO_SEARCH)
        outcome.nothing_to_search = True
        return outcome
    outcome.results = shown_results(result.groups)
    outcome.has_next, outcome.total, outcome.total_exact = (
        result.has_next, result.total, result.total_exact)
    if _wants_papers_box(parsed, outcome):
        snippets, outcome.more_papers = _ask(
            lambda backend: backend.search_papers(parsed, limit=PAPERS_BOX))
        outcome.papers = list(_paper_results(snippets).values())
    if page == 1 and len(outcome.results) < FEW_RESULTS and parsed.words():
        fixes = _ask(lambda backend: backend.suggest(parsed.words()))
        if fixes:
            outcome.suggestion = parsed.with_words_replaced(fixes)
    return outcome


def _ask(call):
    """Ask the engine; with no usable index, have one rebuilt beside the requests and say so."""
    app = current_app._get_current_object()
    indexer.before_search(app)
    backend = get_backend(app)
    try:
        if backend.status().state is State.READY:
            return call(backend)
        raise SearchUnavailable(backend.status().detail)
    except SearchUnavailable:
        indexer.request_rebuild(app)
        if indexer.mode(app) not in indexer.SYNCHRONOUS:
            raise
        return call(backend)  # the test suite's mode: the rebuild already ran, here


def shown_results(groups: list[ResultGroup]) -> list[ShownResult]:
    """What a results page shows of the engine's groups: each thread with its author,
    tags and the papers it cites, who wrote each shown snippet (or, under ``in:papers``,
    each paper with its citing threads). One statement for a page of threads, whatever it
    shows (two for a page of papers, under ``in:papers``)."""
    thread_ids = {g.thread_id for g in groups if g.kind != "paper"}
    post_ids = {s.post_id for g in groups if g.kind != "paper" for s in g.snippets
                if s.post_id is not None}
    threads, writers, cited = _threads(thread_ids, post_ids)
    papers = _paper_results([g.snippets[0] for g in groups if g.kind == "paper"])
    return [ShownResult(g, threads.get(g.thread_id),
                        papers.get(g.snippets[0].key) if g.kind == "paper" else None,
                        cited.get(g.thread_id, []), writers)
            for g in groups]


CITED_PER_RESULT = 5


@cache
def _page_statement():
    """The result page's statement, built once with its id lists as bound parameters:
    building a select, its IN list and its cache key anew was about a third of a
    statement's cost, and every search runs it.

    The threads joined to their authors and (outer) to ``extra``: one row per tag, per
    shown reply (its author) and per cited paper (the first ``CITED_PER_RESULT`` by
    arXiv id, each once; a held or deleted reply's citation does not count). Three
    statements before (threads and tags, citations, snippet authors): every search
    pays for each statement's ORM execution, and on PostgreSQL for its round trip. A
    UNION rather than three outer joins, so a thread's rows add up instead of
    multiplying (five tags, two replies and five papers: twelve rows, not fifty)."""
    from forum.accounts.models import User
    from forum.threads.models import Tag, thread_tags

    def ids(name: str = "ids"):
        return bindparam(name, expanding=True)
    none = cast(null(), Integer)
    tags = select(thread_tags.c.thread_id, literal_column("0").label("part"),
                  thread_tags.c.tag_id, none.label("post_id"), none.label("author_id"),
                  none.label("paper_id")).where(thread_tags.c.thread_id.in_(ids()))
    replies = select(Post.thread_id, literal_column("1"), none, Post.id, Post.author_id,
                     none).where(Post.id.in_(ids("post_ids")))
    mentions = (select(PaperMention.thread_id, PaperMention.paper_id)
                .outerjoin(Post, Post.id == PaperMention.post_id)
                .where(PaperMention.thread_id.in_(ids()),
                       or_(PaperMention.post_id.is_(None), public_post()))
                .distinct().subquery())
    ranked = (select(mentions.c.thread_id, mentions.c.paper_id, func.row_number().over(
        partition_by=mentions.c.thread_id, order_by=Paper.arxiv_id).label("place"))
        .join(Paper, Paper.id == mentions.c.paper_id).subquery())
    papers = select(ranked.c.thread_id, literal_column("2"), none, none, none,
                    ranked.c.paper_id).where(ranked.c.place <= CITED_PER_RESULT)
    extra = union_all(tags, replies, papers).subquery("extra")
    writer = aliased(User)
    return (select(Thread, User, Tag, extra.c.post_id, writer, Paper)
            .join(User, User.id == Thread.author_id)
            .outerjoin(extra, extra.c.thread_id == Thread.id)
            .outerjoin(Tag, Tag.id == extra.c.tag_id)
            .outerjoin(writer, writer.id == extra.c.author_id)
            .outerjoin(Paper, Paper.id == extra.c.paper_id)
            .where(Thread.id.in_(ids()))
            .order_by(Thread.id, extra.c.part, Tag.name, Paper.arxiv_id, extra.c.post_id))


def _threads(ids: set[int], post_ids: set[int]) -> tuple[dict[int, Thread], dict, dict]:
    """The threads shown with their authors and tags, who wrote each shown snippet
    (``"thread:<id>"`` or ``"post:<id>"`` -> User), and the papers each thread cites
    (in its opening post or public replies), in one plain query (``_page_statement``).
    The same objects ``joinedload`` and ``selectinload`` would give, for a third of the
    time those loader options take to set up, and every search pays it."""
    if not ids:
        return {}, {}, {}
    found: dict[int, Thread] = {}
    tags: dict[int, list] = {}
    writers: dict = {}
    cited: dict[int, list] = {}
    rows = db.session.execute(_page_statement(), {"ids": list(ids), "post_ids": list(post_ids)})
    for thread, author, tag, post_id, writer, paper in rows:
        if thread.id not in found:
            set_committed_value(thread, "author", author)
            found[thread.id] = thread
            writers[f"thread:{thread.id}"] = author
        if tag is not None:
            tags.setdefault(thread.id, []).append(tag)
        if writer is not None:
            writers[f"post:{post_id}"] = writer
        if paper is not None:
            cited.setdefault(thread.id, []).append(paper)
    for thread_id, thread in found.items():
        set_committed_value(thread, "tags", tags.get(thread_id, []))
    return found, writers, cited


def _wants_papers_box(parsed: ParsedQuery, outcome: SearchOutcome) -> bool:
    return (outcome.page == 1 and outcome.sort == "relevance"
            and not any(name == "in" for name, _ in parsed.filters))


def _paper_results(snippets: list[Snippet]) -> dict[str, PaperResult]:
    """Paper rows for ``paper:<id>`` keys, in order, with how many live threads cite each."""
    ids = [int(s.key.split(":")[1]) for s in snippets]
    if not ids:
        return {}
    rows = {p.id: p for p in db.session.scalars(select(Paper).where(Paper.id.in_(ids)))}
    counts = dict(db.session.execute(
        select(PaperMention.paper_id, func.count(func.distinct(PaperMention.thread_id)))
        .where(PaperMention.paper_id.in_(ids),
               public_source(PaperMention.thread_id, PaperMention.post_id))
        .group_by(PaperMention.paper_id)).all())
    return {s.key: PaperResult(rows[i], counts.get(i, 0), s)
            for i, s in zip(ids, snippets) if i in rows}
