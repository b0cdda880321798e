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


def bulk_replies(thread, authors: list[User], count: int, *, nest_every: int = 3,
                 stances=(None,), body: str = "Reply {n}, citing *evidence*.") -> list[int]:
    """``count`` replies written straight to the table, for tests of what pages do with
    large threads (query counts, pagination), where the reply service is not under test.

    Bodies are rendered as the service renders them (once, ``{n}`` filled in after), rows go
    in with two executemany statements (insert, then parents), and the thread's reply
    count and last activity are fixed as ``reply`` would. Reply ``n`` answers reply
    ``n - 1`` unless ``n`` is a multiple of ``nest_every`` (then it is top-level), so
    the tree has chains as well as roots. Returns the new ids, oldest first.
    No notifications, mentions, citations or search-index rows are made.
    """
    from sqlalchemy import insert, update

    from forum.threads.models import Post, Thread
    from forum.threads.rendering import render_post_body

    now = utcnow()
    marker = "90817263541"  # digits: Markdown leaves them as they are, so n can replace them
    html = render_post_body(body.format(n=marker))  # rendered once, not once per reply
    rows = [{"thread_id": thread.id, "parent_id": None, "author_id": authors[n % len(authors)].id,
             "body": body.format(n=n), "body_html": html.replace(marker, str(n)),
             "stance": stances[n % len(stances)], "score": 0, "created_at": now}
            for n in range(count)]
    ids = list(db.session.scalars(insert(Post).returning(Post.id, sort_by_parameter_order=True),
                                  rows)) if rows else []
    parents = [{"id": post_id, "parent_id": ids[n - 1]}
               for n, post_id in enumerate(ids) if n % nest_every]
    if parents:
        db.session.execute(update(Post), parents)
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(
        reply_count=Thread.reply_count + count, last_activity_at=now))
    db.session.commit()
    return ids
