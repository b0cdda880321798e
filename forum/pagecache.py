"""A few seconds of memory for the pages every logged-out visitor sees alike.

The front page, the tag listings and the thread pages are the forum's
busiest pages, and for logged-out visitors they are the same for everyone: rendering them once per
request would spend the server's time drawing identical HTML. So each worker
process keeps the rendered page for ``PAGE_CACHE_SECONDS`` (default 5; 0
turns the cache off), under the request's full URL (host included).

What keeps this correct:

- Only logged-out visitors with nothing pending are served from it: no login
  in the session, no remember-me cookie, no flashed message waiting. Members
  always get a page drawn for them.
- The forms on these pages carry a CSRF token bound to the visitor's session.
  The page is rendered with a per-process placeholder in its place, and each
  visitor's own token is put in when the page is served, so a cached page
  never hands one visitor another's token.
- Any commit in this process that wrote something (a new thread, a vote, a
  reply, a tag...) forgets every cached page at once. Writes made by other
  processes (another gunicorn worker, a CLI command) show within the time to
  live: a logged-out reader sees the list at most a few seconds late.
- Only 200 answers are kept, and the cache holds at most ``MAX_ENTRIES`` pages
  per process (the oldest goes first), so odd query strings cannot fill memory.
"""
from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from functools import wraps
from threading import Lock

from flask import current_app, g, make_response, request, session
from sqlalchemy import event
from sqlalchemy.orm import Session

from forum import security

MAX_ENTRIES = 256
PLACEHOLDER = f"csrf-{secrets.token_hex(16)}"  # never appears in real content

_generation = 0  # bumped by every commit that wrote; entries of an older one are stale


class _Entry:
    __slots__ = ("body", "expires", "generation")

    def __init__(self, body: str, expires: float, generation: int):
        self.body, self.expires, self.generation = body, expires, generation


def anonymous_page(view):
    """Serve ``view`` from the cache to logged-out visitors; draw it for everyone else."""

    @wraps(view)
    def wrapper(*args, **kwargs):
        seconds = current_app.config.get("PAGE_CACHE_SECONDS", 0)
        if not seconds or not _is_plain_visitor():
            return view(*args, **kwargs)
        store = _store()
        key = request.url  # host included: pages carry absolute links (canonical, feeds, OpenGraph)
        entry = store.get(key)
        now = time.monotonic()
        if entry is not None and entry.expires > now and entry.generation == _generation:
            return _serve(entry.body)
        generation = _generation  # read before drawing: a write meanwhile makes it stale
        request.environ["forum.csrf_placeholder"] = True
        response = make_response(view(*args, **kwargs))
        if response.status_code != 200 or response.direct_passthrough:
            return response
        body = response.get_data(as_text=True)
        with _lock:
            store[key] = _Entry(body, now + seconds, generation)
            store.move_to_end(key)
            while len(store) > MAX_ENTRIES:
                store.popitem(last=False)
        return _serve(body)

    return wrapper


def csrf_token() -> str:
    """The template global ``csrf_token()``: a placeholder while a cached page is drawn.

    Worked out once per request and kept in ``g``: a thread page asks for it in
    every reply's vote form, and ``generate_csrf`` reads its settings on each call.
    Signed once per session token and process (``security.csrf_token`` says why).
    """
    token = g.get("csrf_token_html")
    if token is None:
        token = (PLACEHOLDER if request.environ.get("forum.csrf_placeholder")
                 else security.csrf_token())
        g.csrf_token_html = token
    return token


def forget_everything() -> None:
    global _generation
    _generation += 1


def generation() -> int:
    """Bumped by every commit in this process that wrote (other caches compare against it)."""
    return _generation


def register(app) -> None:
    app.extensions["pagecache"] = OrderedDict()
    # Flask-WTF offers csrf_token both as a global and from a context processor; a
    # processor registered later wins, so ours replaces both.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})


_lock = Lock()


def _store() -> OrderedDict:
    return current_app.extensions["pagecache"]


def _is_plain_visitor() -> bool:
    if request.method not in ("GET", "HEAD"):
        return False
    if "remember_token" in request.cookies:
        return False
    return "_user_id" not in session and "_flashes" not in session


def _serve(body: str):
    response = make_response(body.replace(PLACEHOLDER, security.csrf_token()))
    response.headers["Cache-Control"] = "no-cache"  # browsers revalidate; the token is theirs
    return response


@event.listens_for(Session, "after_flush")
def _wrote_rows(session, flush_context) -> None:
    session.info["pagecache_wrote"] = True


@event.listens_for(Session, "do_orm_execute")
def _wrote_statement(state) -> None:
    if state.is_insert or state.is_update or state.is_delete:
        state.session.info["pagecache_wrote"] = True


@event.listens_for(Session, "after_commit")
def _forget_after_write(session) -> None:
    if session.info.pop("pagecache_wrote", False):
        forget_everything()


@event.listens_for(Session, "after_rollback")
def _nothing_written(session) -> None:
    session.info.pop("pagecache_wrote", None)
