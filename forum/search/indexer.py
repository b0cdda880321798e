"""The background indexer: outbox drains and rebuilds beside the requests, never in them.

Each process that serves requests gets one daemon thread, started lazily the
first time a commit leaves outbox rows (or a search finds no usable index), so
``make run`` and every gunicorn worker have it with no extra set-up. A commit
only sets an event; the thread wakes, drains the outbox under the engine's
writer lock (one writer at a time across processes: a worker that finds the
lock taken waits its turn, since the holder may have read the rows before this
commit), and also looks every ``POLL_S`` seconds, for rows that a failed or
locked drain left behind. A fork (gunicorn with ``--preload``) gets its own
thread: the owner's process id is checked. Every request of a process that
serves the site makes sure its thread runs (``ensure_running``), so rows that a
CLI command committed are drained too; a thread idle for ``IDLE_EXIT_S`` ends.

When the engine has no usable index, ``request_rebuild`` starts one rebuild in a
background thread of this process unless one runs anywhere (the engine's lock,
which dies with its process, decides); the old generation keeps serving where
it exists, and search pages answer 503 with Retry-After meanwhile.

``SEARCH_INDEXER`` chooses the mode: ``background`` (the default), ``inline``
(drain and rebuild right after each commit, in the committing thread: for the
test suite, which then sees its writes at once), ``on_search`` (the test suite
too: a commit only notes that rows wait, and the next search in this process
applies them before it reads, so a test that never searches never pays for an
index write; what a search finds is what ``inline`` would have found), or
``off`` (only ``flask search sync``/``reindex`` and explicit calls write the
index).
"""
from __future__ import annotations

import logging
import os
import threading
import time

from flask import Flask

from forum.search import outbox
from forum.search.backend import RebuildRunning, SearchUnavailable, State, get_backend

log = logging.getLogger(__name__)

MODES = ("background", "inline", "on_search", "off")
SYNCHRONOUS = ("inline", "on_search")  # the test suite's modes: rebuilds run where asked for
PENDING = "search_outbox_pending"  # app.extensions flag of ``on_search``: rows wait
POLL_S = 5.0  # also drain this often: rows left by a failed drain, or another process's
IDLE_EXIT_S = 120.0  # a thread with no commit, request or row for this long ends (restarted lazily)
RETRY_S = 0.5  # after a failed drain (index missing while it is rebuilt, database down)...
MAX_BACKOFF_S = 60.0  # ...doubled after each failure in a row, up to this
EXTENSION = "search_indexer"


def mode(app: Flask) -> str:
    value = (app.config.get("SEARCH_INDEXER") or "background").strip().lower()
    return value if value in MODES else "background"


class Indexer:
    def __init__(self, app: Flask):
        self.app = app
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._rebuilder: threading.Thread | None = None
        self._look_again = False  # a rebuild was asked for while one ran
        self._pid = os.getpid()
        self.last_used = time.monotonic()
        self._failures = 0

    def _alive(self, thread: threading.Thread | None) -> bool:
        return thread is not None and thread.is_alive() and self._pid == os.getpid()

    def notify(self) -> None:
        """Changes were committed: drain soon (starting the thread if this process has none)."""
        self.ensure_running()
        self.wake.set()

    def ensure_running(self) -> None:
        with self._lock:  # (uncontended: microseconds) ordered with the idle exit below
            self.last_used = time.monotonic()
            if self._thread is None or not self._alive(self._thread):
                self._pid = os.getpid()
                self.stopping.clear()
                self._thread = threading.Thread(target=self._run, name="search-indexer",
                                                daemon=True)
                self._thread.start()

    def _run(self) -> None:
        while not self.stopping.is_set():
            woken = self.wake.wait(POLL_S)
            self.wake.clear()
            if self.stopping.is_set():
                break
            if not woken and time.monotonic() - self.last_used > IDLE_EXIT_S:
                with self._lock:  # ensure_running starts a new one when needed
                    if time.monotonic() - self.last_used > IDLE_EXIT_S:
                        self._thread = None
                        return
            with self.app.app_context():
                try:
                    result = outbox.drain(wait=True)
                except Exception:  # the database is down, say: try again later
                    log.exception("search: background drain failed; the rows stay")
                    self._back_off()
                    continue
                if result.unavailable:
                    try:
                        self.request_rebuild()
                    except Exception:  # an unwritable index folder, say: logged, retried
                        log.exception("search: cannot start a rebuild")
                if result.busy or result.unavailable or (result.error and result.pending):
                    self._back_off()
                    self.wake.set()  # try again soon rather than at the next poll
                else:
                    self._failures = 0

    def _back_off(self) -> None:
        """Wait longer after each failure in a row (a database down or an unwritable folder
        must not become a busy loop of errors), at most ``MAX_BACKOFF_S``."""
        self._failures += 1
        self.stopping.wait(min(MAX_BACKOFF_S, RETRY_S * 2 ** (self._failures - 1)))

    def request_rebuild(self) -> bool:
        """Start one rebuild unless the index is usable or a rebuild already runs anywhere."""
        with self.app.app_context():
            backend = get_backend(self.app)
            if backend.status().state is not State.MISSING:
                return False
            if mode(self.app) in SYNCHRONOUS:
                _rebuild_now(self.app)
                return True
        with self._lock:
            if self._alive(self._rebuilder):
                # It may already be past reading what it replaces (finishing its last drain,
                # say): it looks at the index again before it ends, so this request is not lost.
                self._look_again = True
                return False
            self._pid = os.getpid()
            self._look_again = False
            self._rebuilder = threading.Thread(target=self._rebuild_until_usable,
                                               name="search-rebuild", daemon=True)
            self._rebuilder.start()
            return True

    def _rebuild_until_usable(self) -> None:
        """Rebuild; again while a request asked for one meanwhile and the index is still
        unusable. The decision to end is taken under the lock that ``request_rebuild`` takes."""
        while True:
            _rebuild_now(self.app)
            with self._lock:
                again, self._look_again = self._look_again, False
                if again:
                    try:
                        with self.app.app_context():
                            again = get_backend(self.app).status().state is State.MISSING
                    except Exception:  # the next search or drain that finds it asks again
                        log.exception("search: cannot read the index status after a rebuild")
                        again = False
                if not again or self.stopping.is_set():
                    self._rebuilder = None
                    return

    def stop(self, timeout: float = 5.0) -> None:
        self.stopping.set()
        self.wake.set()
        for thread in (self._thread, self._rebuilder):
            if self._alive(thread):
                thread.join(timeout)


def _rebuild_now(app: Flask) -> None:
    with app.app_context():
        try:
            count = outbox.rebuild()
            log.info("search: rebuilt the index (%d documents)", count)
        except RebuildRunning:
            pass  # another process is doing it
        except Exception:
            log.exception("search: background rebuild failed")


def for_app(app: Flask) -> Indexer:
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = Indexer(app)
    return found


def changes_committed(app: Flask) -> None:
    """Called after a commit that wrote outbox rows."""
    chosen = mode(app)
    if chosen == "background":
        for_app(app).notify()
    elif chosen == "inline":
        _drain_here(app)
    elif chosen == "on_search":
        app.extensions[PENDING] = True


def before_search(app: Flask) -> None:
    """Called before a search reads the index: ``on_search`` applies what waits."""
    if app.extensions.pop(PENDING, False) and mode(app) == "on_search":
        _drain_here(app, deleting_with=_write_lock_holder())


def _write_lock_holder():
    """The caller's connection when its transaction holds SQLite's write lock, else None.

    ``inline`` drains right after a commit, when the session holds no transaction; a
    search that ``on_search`` drains for may come later in the same app context, whose
    session has begun again IMMEDIATE (forum/database.py: outside GET requests), so a
    delete on another connection would wait the whole busy timeout and fail."""
    from forum.database import WRITE_LOCK
    from forum.extensions import db
    session = db.session()  # the scoped session's own
    if not session.in_transaction() or session.get_bind().dialect.name != "sqlite":
        return None
    connection = session.connection()
    return connection if connection.info.get(WRITE_LOCK) else None


def _drain_here(app: Flask, deleting_with=None) -> None:
    try:
        result = outbox.drain(deleting_with=deleting_with)
        if result.unavailable:
            for_app(app).request_rebuild()
    except Exception:  # never fail the caller that already committed; the rows stay
        log.exception("search: inline drain failed; `flask search sync` will apply it")


def ensure_running(app: Flask) -> None:
    """Before each request: this process drains the outbox in the background."""
    if mode(app) == "background":
        for_app(app).ensure_running()


def request_rebuild(app: Flask) -> bool:
    return for_app(app).request_rebuild()


def wait_until_indexed(app: Flask, timeout: float = 10.0) -> bool:
    """Until the outbox is empty and the index usable (tests and tools; never a request)."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        while time.monotonic() < deadline:
            try:
                if outbox.pending_count() == 0 and get_backend(app).status().is_ready:
                    return True
            except SearchUnavailable:
                pass
            time.sleep(0.02)
    return False
