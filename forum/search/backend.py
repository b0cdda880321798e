"""The interface every search engine implements, and the choice of engine.

``forum.search.services.search(...)`` is the only front door: pages, feeds and
the API call it, and it calls the engine through this interface. Two engines:

- ``whoosh`` (the default): index files in ``SEARCH_INDEX_DIR``, for one host
  (``forum/search/whoosh/``);
- ``postgres``: PostgreSQL full-text search in the database itself, for several
  web hosts on one database (``forum/search/postgres/``, imported only when
  selected). It needs a PostgreSQL ``DATABASE_URL``; anything else makes
  ``create_app`` refuse to start with one line (``SearchBackendRefused``).

The contract
============

Documents. ``forum.search.documents`` turns database rows into plain dicts,
one per thread (key ``"thread:<id>"``), reply (``"post:<id>"``) or fetched
paper (``"paper:<id>"``), already filtered by the one definition of "public":
a held, hidden or deleted post, or one in a deleted thread, has no document.
Fields: ``key``, ``kind`` (``thread`` | ``reply`` | ``paper``), ``thread_id``,
``post_id``, ``title``, ``body`` (plain text of the rendered post: no Markdown
or LaTeX source), ``extra`` (a paper's arXiv id, authors, categories),
``authors``, ``tags``, ``papers`` (arXiv ids), ``repos`` (``owner/name``, lower
case), ``stance``, ``created`` (aware UTC), ``score``.

Changes. ``apply(changes)`` takes ``(key, document)`` pairs in one batch: a
dict inserts or replaces the key's document, None deletes the key (deleting
an absent key is not an error). It is all-or-nothing: on an exception nothing
of the batch may be considered applied (the outbox keeps the rows and they are
applied again; applying a batch twice must give the same index). Callers hold
``writer_lock()`` around read-outbox/apply/delete-rows, so batches are applied
in database order, one writer at a time across processes (and hosts). The lock
yields a ``Lease``: falsy when not taken; ``keep_rows`` when the batch went to
an index that a running rebuild will replace, so the outbox rows must stay and
be applied again after the switch.

Rebuild. ``rebuild(progress)`` recreates the whole index from the database
(``documents.iter_all``), calling ``progress(n)`` after each ``n`` documents
done (the CLI's bar has ``documents.count_all`` as its length). It blocks, runs
under a lock that dies with its process, raises ``RebuildRunning`` at once if
another rebuild holds it, and ``SearchUnavailable`` when the index cannot be
written. While it runs, searches keep answering from the previous index where
one exists. Engines do not start threads for it: ``forum.search.indexer``
runs rebuilds (and outbox drains) in the background of each process, for
every engine, so no web request ever waits for one.

Status. ``status()`` is cheap (a stat or one small query): ``READY`` (searches
are answered), ``REBUILDING`` (no usable index, a rebuild is running), or
``MISSING`` (no usable index, nothing is rebuilding: ``indexer.request_rebuild``).
An index written by an older schema or found unreadable counts as missing.

Searching. ``search(parsed, sort=, page=, per_page=, snippets=)`` answers the
parsed query of ``forum.search.query`` (terms, exclusions and filters; the
engine translates that AST, never the raw text) and returns a ``SearchPage``:

- one ``ResultGroup`` per matching THREAD (a thread and all its matching
  replies are one row), or, when the query has the filter ``in:paper``, one
  per matching paper and nothing else. Without ``in:paper`` papers are never
  listed (they have ``search_papers``);
- groups are ordered by their best document under ``sort``: ``relevance``
  (the engine's score, title matches weighing more than body matches),
  ``newest`` (the newest matching document's ``created``), or ``top`` (the
  highest ``score`` among matching documents, then newest); ties are broken in
  an order of the engine's choosing that is stable between pages;
- ``total`` is the number of groups matching, over all pages, exact when
  ``total_exact`` (else an estimate the page labels "about"); ``page`` p
  holds groups ``(p-1)*per_page .. p*per_page-1`` of that order, so paging
  through ``ceil(total/per_page)`` pages lists every matching thread once,
  however many of its replies match;
- each group carries ``keys``, the keys of ALL its matching documents, best
  first (``matches`` is their number), and up to ``snippets`` ``Snippet``s for
  its best matching documents, best first:
  ``html`` is escaped plain text with ``<mark>`` around the matched words
  (and whole phrases), never raw Markdown;
- ``nothing_to_search`` when the query leaves nothing searchable (only stop
  words, one-letter prefixes, only exclusions).

It raises ``SearchUnavailable`` when there is no usable index (the page then
answers 503 with Retry-After); a bad filter value never reaches the engine
(the parser turns it into a note).

``search_papers(parsed, limit=)`` gives the best ``limit`` paper snippets for
the box above the debates, and whether there are more. ``suggest(words)`` maps
each word the index does not know to a different word it does know (its own
vocabulary, never a stop word, never the word itself), most frequent first;
words it knows are left out.
"""
from __future__ import annotations

import importlib
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from enum import Enum
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, runtime_checkable

from flask import Flask, current_app

if TYPE_CHECKING:
    from forum.search.query import ParsedQuery

# Engines by name, imported only when selected, so a missing optional engine costs nothing.
ENGINES = {
    "whoosh": "forum.search.whoosh.backend:WhooshBackend",
    "postgres": "forum.search.postgres.backend:PostgresBackend",
}
DEFAULT_ENGINE = "whoosh"
SORTS = ("relevance", "newest", "top")

Change = tuple[str, "dict | None"]  # (key, document to upsert or None to delete)
Progress = Callable[[int], None]


class SearchBackendRefused(SystemExit):
    """Raised by create_app: one line, no traceback, from the CLI and gunicorn alike."""


class SearchUnavailable(RuntimeError):
    """No usable index now (missing, older schema, unreadable, or being rebuilt)."""


class RebuildRunning(RuntimeError):
    """Another rebuild holds the rebuild lock."""


class State(str, Enum):
    READY = "ready"
    REBUILDING = "rebuilding"
    MISSING = "missing"


@dataclass(frozen=True)
class Status:
    state: State
    detail: str = ""  # one line for operators (/readyz, the CLI)

    @property
    def is_ready(self) -> bool:
        return self.state is State.READY


@dataclass(frozen=True)
class Lease:
    acquired: bool
    keep_rows: bool = False  # applied to an index a running rebuild replaces: apply again

    def __bool__(self) -> bool:
        return self.acquired


@dataclass
class Snippet:
    key: str  # "thread:1", "post:42", "paper:7"
    kind: str  # thread | reply | paper
    post_id: int | None
    html: str  # escaped plain text with <mark> around matched words


@dataclass
class ResultGroup:
    """One result row: a thread (kind "thread") or, under in:paper, a paper (kind "paper")."""
    kind: str
    thread_id: int | None = None
    paper_id: int | None = None
    keys: list[str] = field(default_factory=list)  # every matching document's key, best first
    snippets: list[Snippet] = field(default_factory=list)

    @property
    def matches(self) -> int:
        """Matching documents in the group (the thread itself and its replies)."""
        return len(self.keys)


@dataclass
class SearchPage:
    groups: list[ResultGroup]
    total: int = 0  # groups matching, over all pages
    total_exact: bool = True
    page: int = 1
    per_page: int = 10
    nothing_to_search: bool = False

    @property
    def has_next(self) -> bool:
        return self.total > self.page * self.per_page


@runtime_checkable
class SearchBackend(Protocol):
    name: str

    def status(self) -> Status: ...

    def apply(self, changes: Sequence[Change]) -> int:
        """Upsert (dict) or delete (None) each key, all or nothing; returns how many."""

    def writer_lock(self, *, wait: bool) -> AbstractContextManager["Lease"]:
        """One outbox writer at a time across processes and hosts (with ``wait=False``, a
        falsy lease at once when another writer holds it; else it waits a bounded time)."""

    def rebuild(self, progress: Progress | None = None) -> int:
        """Recreate the index from the database; returns the documents indexed."""

    def search(self, parsed: "ParsedQuery", *, sort: str = "relevance", page: int = 1,
               per_page: int = 10, snippets: int = 2) -> SearchPage: ...

    def search_papers(self, parsed: "ParsedQuery", *, limit: int = 3
                      ) -> tuple[list[Snippet], bool]: ...

    def suggest(self, words: list[str]) -> dict[str, str]: ...

    def close(self) -> None:
        """Release files, searchers and background threads of this process."""


def engine_name(app: Flask) -> str:
    return (app.config.get("SEARCH_BACKEND") or DEFAULT_ENGINE).strip().lower()


def init_app(app: Flask) -> None:
    """Check the setting once, at start: a wrong engine stops the app with one line."""
    name = engine_name(app)
    if name not in ENGINES:
        raise SearchBackendRefused(
            f"Refusing to start: SEARCH_BACKEND={name!r} is not one of {', '.join(ENGINES)}.")
    if name == "postgres" and not app.config["SQLALCHEMY_DATABASE_URI"].startswith("postgresql"):
        raise SearchBackendRefused(
            "Refusing to start: SEARCH_BACKEND=postgres needs a PostgreSQL DATABASE_URL"
            " (postgresql://...); use SEARCH_BACKEND=whoosh with SQLite.")
    app.config["SEARCH_BACKEND"] = name
    _engine_class(name)  # an engine that cannot be imported refuses now, not at the first search


def _engine_class(name: str):
    module_name, _, class_name = ENGINES[name].partition(":")
    try:
        return getattr(importlib.import_module(module_name), class_name)
    except (ImportError, AttributeError) as error:
        raise SearchBackendRefused(
            f"Refusing to start: the {name} search engine cannot be loaded ({error}).") from error


def get_backend(app: Flask | None = None) -> SearchBackend:
    """This app's engine, made once per app and process."""
    app = app or current_app._get_current_object()
    backend = app.extensions.get("search_backend")
    if backend is None:
        backend = app.extensions["search_backend"] = _engine_class(engine_name(app))(app)
    return backend
