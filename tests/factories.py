"""Test data through the real services, so stored HTML is rendered as in production."""
from __future__ import annotations

import itertools

from forum.accounts import services as accounts
from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.threads import services as threads

PASSWORD = "correct horse battery"
_seq = itertools.count()


def make_user(password: str = PASSWORD, *, confirmed: bool = True, new_member: bool = False,
              **fields) -> User:
    """A member; confirmed (may post and vote) unless ``confirmed=False``; an established
    member whose posts are public at once unless ``new_member=True`` (then their first
    posts wait for a moderator and their links are limited: forum/moderation/policy.py)."""
    n = next(_seq)
    if confirmed:
        fields.setdefault("email_confirmed_at", utcnow())
    if not new_member:
        fields.setdefault("approved_at", utcnow())
    username = fields.pop("username", f"user{n}")
    email = fields.pop("email", f"{username}@example.org")
    user = accounts.register(username, email, password, **fields)
    return _loaded(user)


def make_thread(author: User, title: str = "A thread about ideas", body: str = "Some *body*."):
    return _loaded(threads.start_thread(_current(author), title, body))


def make_reply(thread, author: User, body: str = "A reply.", parent=None, stance=None):
    post = threads.reply(_current(thread), _current(author), body,
                         parent_id=parent.id if parent else None, stance=stance)
    return _loaded(post)


def _current(obj):
    """The row as the database has it now (merge would write a stale copy back)."""
    return db.session.get(type(obj), obj.id)


def _loaded(obj):
    db.session.refresh(obj)  # loaded now, so still readable after the app context closes
    db.session.expunge(obj)
    return obj
