"""Answering a search: parse, ask the index, load the threads shown, suggest a correction.

The index answers with keys grouped by thread; the threads (with authors and
tags) are then loaded in one query and kept in the index's order. A missing or
corrupt index is rebuilt from the database once, instead of failing the page.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from forum.extensions import db
from forum.search import outbox
from forum.search.index import ResultGroup
from forum.search.query import ParsedQuery, parse
from forum.threads.models import Thread

log = logging.getLogger(__name__)

SORTS = ("relevance", "newest", "top")
PER_PAGE = 10
MAX_PAGE = 50  # deeper pages cost more than they help; the page says so
NOTHING_TO_SEARCH = ("Nothing to search for: the query has only very common words, "
                     "one-letter prefixes or exclusions. Add a word or a filter.")
FEW_RESULTS = 3  # below this many threads, look for a did-you-mean


@dataclass
class ShownResult:
    group: ResultGroup
    thread: Thread | None


@dataclass
class SearchOutcome:
    parsed: ParsedQuery
    sort: str
    page: int
    results: list[ShownResult] = field(default_factory=list)
    has_next: bool = False
    suggestion: str | None = None
    notes: list[str] = field(default_factory=list)
    nothing_to_search: bool = False


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


def search(text: str | None, *, sort: str = "relevance", page: int = 1) -> SearchOutcome:
    parsed = parse(text)
    outcome = SearchOutcome(parsed=parsed, sort=sort if sort in SORTS else "relevance", page=page)
    outcome.notes.extend(parsed.notes)
    if not parsed.is_empty:
        result = _ask_index(lambda index: index.search(parsed, sort=outcome.sort, page=page,
                                                       per_page=PER_PAGE))
    if parsed.is_empty or result.nothing_to_search:
        outcome.notes.append(NOTHING_TO_SEARCH)
        outcome.nothing_to_search = True
        return outcome
    threads = _threads({g.thread_id for g in result.groups if g.kind != "paper"})
    outcome.results = [ShownResult(g, threads.get(g.thread_id)) for g in result.groups]
    outcome.has_next = result.has_next
    if page == 1 and len(outcome.results) < FEW_RESULTS and parsed.words():
        fixes = _ask_index(lambda index: index.suggest(parsed.words()))
        if fixes:
            outcome.suggestion = parsed.with_words_replaced(fixes)
    return outcome


def _ask_index(call):
    index = outbox.get_index()
    try:
        return call(index)
    except Exception:  # missing or corrupt: rebuild once from the database, then ask again
        log.exception("search: index unusable; rebuilding it from the database")
        index.close()
        outbox.rebuild()
        return call(index)


def _threads(ids: set[int]) -> dict[int, Thread]:
    if not ids:
        return {}
    rows = db.session.scalars(select(Thread).where(Thread.id.in_(ids))
                              .options(selectinload(Thread.author), selectinload(Thread.tags)))
    return {t.id: t for t in rows}
