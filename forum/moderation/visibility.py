"""The one SQL definition of "public" for threads, replies and rows that hang off them.

Public means: not held for approval, not hidden by a moderator, not deleted,
and (for a reply, or anything a reply or thread wrote) not in a deleted,
held or hidden thread. ``Moderated.public()`` on the models covers held and
hidden only, because a deleted thread still shows its replies on its own
page; every listing, count, feed and page *about* content (papers,
repositories, digests) uses these instead, so no query works the rule out
again for itself.
"""
from __future__ import annotations

from sqlalchemy import and_, or_

from forum.threads.models import Post, Thread


def public_thread():
    """SQL: the thread (``Thread``) is public and not deleted."""
    return and_(Thread.public(), Thread.deleted_at.is_(None))


def public_post():
    """SQL: the reply (``Post``) is public and not deleted (its thread is checked separately)."""
    return and_(Post.public(), Post.deleted_at.is_(None))


def public_source(post_id_column):
    """SQL for a row written by a thread body or a reply (``post_id_column`` null for the thread
    body) that is joined to ``Thread`` and outer-joined to ``Post``: its source is public."""
    return and_(public_thread(), or_(post_id_column.is_(None), public_post()))


def public(entity: type[Thread] | type[Post]):
    """SQL: rows of ``entity`` anyone may read; ``public(Post)`` needs ``Thread`` joined."""
    if entity is Thread:
        return public_thread()
    return and_(public_post(), public_thread())
