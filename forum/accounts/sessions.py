"""Server-side log-ins: every log-in is a ``LoginSession`` row, and ending it ends the session.

Decisions:

- Flask-Login keeps ``User.get_id()`` in the session cookie and in the
  remember cookie. That id is the log-in's random token (not the user id, not
  a per-user key), and the user loader accepts a token only while its row
  exists. Logging out deletes the row, so a ``session`` or ``remember_token``
  cookie copied before logout opens nothing afterwards; "log out of the
  others" deletes the member's other rows; a password change or reset deletes
  them all and starts one new log-in for the browser that made the change.
- Only a SHA-256 of the token is stored: the token is 256 random bits, so a
  plain hash is enough, and a leaked table or backup opens no session.
- ``last_seen_at`` is refreshed at most once per ``LAST_SEEN_EVERY``, by a
  plain UPDATE of that one row; a page view never writes otherwise. On a
  read-only request (GET) the UPDATE runs on a connection of its own, so the
  request's read transaction stays read-only; on SQLite it must not wait for
  the write lock (a member reading while others write), so a busy database
  just skips the refresh until the next request.
- A log-in unused for ``IDLE_LIMIT`` ends by itself: the loader refuses it and
  the member's next log-in deletes such rows.
- The loader's one statement also counts the member's unread notifications
  (a correlated COUNT on their ``(user_id, read_at)`` index), kept on the
  user as ``unread_notifications`` for the header that every member page
  draws: one statement where there were two, each of which costs more in
  SQLAlchemy's set-up than in the database. ``notifications.services``
  forgets it when it marks notifications read.
"""
from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
from datetime import timedelta

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import OperationalError

from forum.accounts.models import LoginSession, User
from forum.database import is_read_only_request, utcnow
from forum.extensions import db

LAST_SEEN_EVERY = timedelta(minutes=5)  # how stale "last seen" may be: one UPDATE per 5 min
IDLE_LIMIT = timedelta(days=30)  # a log-in unused this long has ended
DEVICE_LENGTH = 120

log = logging.getLogger(__name__)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start(user: User, user_agent: str = "") -> str:
    """A new log-in for ``user`` from this browser; returns its token. Commits."""
    token = add(user, user_agent)
    db.session.commit()
    return token


def add(user: User, user_agent: str = "") -> str:
    """Add a log-in to the session without committing (for services that commit it with
    their own change, such as a password change); purges the member's idle ones."""
    now = utcnow()
    token = secrets.token_urlsafe(32)
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                  LoginSession.last_seen_at < now - IDLE_LIMIT))
    row = LoginSession(user_id=user.id, token_hash=token_hash(token), device=describe_device(user_agent),
                       created_at=now, last_seen_at=now)
    db.session.add(row)
    db.session.flush()
    user.login_token, user.login_id = token, row.id
    return token


def end_all(user: User) -> None:
    """Delete every log-in of ``user`` (not committed: the caller's change commits it)."""
    db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id))


def end(login_id: int | None) -> None:
    """Log out: this log-in ends, wherever its cookies were copied. Commits."""
    if login_id is not None:
        db.session.execute(delete(LoginSession).where(LoginSession.id == login_id))
        db.session.commit()


def end_others(user: User) -> int:
    """Log out of every other browser; returns how many log-ins ended. Commits."""
    ended = db.session.execute(delete(LoginSession).where(LoginSession.user_id == user.id,
                                                          LoginSession.id != user.login_id))
    db.session.commit()
    return ended.rowcount


def active(user: User) -> list[LoginSession]:
    """The member's log-ins, most recently seen first."""
    return list(db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == user.id,
                                   LoginSession.last_seen_at >= utcnow() - IDLE_LIMIT)
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())))


def user_for_token(token: str) -> User | None:
    """The member a live log-in token belongs to, in one query, or None (the user loader)."""
    if not token or len(token) > 100:
        return None
    found = db.session.execute(_user_for_token(), {"token_hash": token_hash(token)}).first()
    if found is None:
        return None
    user, login_id, last_seen, unread = found
    now = utcnow()
    if now - last_seen > IDLE_LIMIT:
        return None
    if now - last_seen >= LAST_SEEN_EVERY:
        _touch(login_id, now)
    user.login_token, user.login_id = token, login_id
    user.unread_notifications = unread
    return user


@functools.cache
def _user_for_token():
    """Built once (every request with a session cookie runs it); on first use, since the
    notifications package imports this one."""
    from forum.notifications.services import unread_count_statement
    unread = unread_count_statement(User.id).scalar_subquery()
    return (select(User, LoginSession.id, LoginSession.last_seen_at, unread)
            .join(LoginSession, LoginSession.user_id == User.id)
            .where(LoginSession.token_hash == bindparam("token_hash")))


def _touch(login_id: int, now) -> None:
    statement = (update(LoginSession).where(LoginSession.id == login_id,
                                            LoginSession.last_seen_at < now - LAST_SEEN_EVERY)
                 .values(last_seen_at=now))
    if not is_read_only_request():
        db.session.execute(statement)  # commits with the request's own change, if any
        return
    try:
        with db.engine.begin() as connection:
            connection.execute(statement)
    except OperationalError as error:  # busy: the next request refreshes it
        log.info("last_seen of log-in %s not refreshed: %s", login_id, error.orig)


BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
            ("Chromium/", "Chromium"), ("Safari/", "Safari"), ("curl/", "curl"))
SYSTEMS = (("Android", "Android"), ("iPhone", "iPhone"), ("iPad", "iPad"), ("Windows", "Windows"),
           ("Mac OS X", "macOS"), ("Macintosh", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))
PRINTABLE = re.compile(r"[^\x20-\x7e]")


def describe_device(user_agent: str) -> str:
    """"Firefox on Linux" from a User-Agent header, for the list of log-ins; a header we do
    not recognise is shown shortened, never trusted for anything."""
    user_agent = user_agent or ""
    browser = next((name for marker, name in BROWSERS if marker in user_agent), None)
    system = next((name for marker, name in SYSTEMS if marker in user_agent), None)
    if browser and system:
        return f"{browser} on {system}"
    if browser or system:
        return browser or system
    return PRINTABLE.sub("", user_agent)[:60] or "Unknown device"
