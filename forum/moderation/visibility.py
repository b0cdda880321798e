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

from sqlalchemy import and_, exists, or_

from forum.threads.models import Post, Thread


def public_thread():
    """SQL: the thread (``Thread``) is public and not deleted."""
    return and_(Thread.public(), Thread.deleted_at.is_(None))


def public_post():
    """SQL: the reply (``Post``) is public and not deleted (its thread is checked separately)."""
    return and_(Post.public(), Post.deleted_at.is_(None))


def public_source(thread_id_column, post_id_column):
    """SQL for a row written by a thread body or a reply (``post_id_column`` null for the thread
    body): its source is public.

    Each test is an EXISTS on the thread's (and the reply's) primary key, not a join the
    caller makes: the statements that use this narrow their own rows first (a listing's
    thread ids, one paper), and with ``threads`` joined, SQLite's planner, which keeps no
    statistics, could start instead from every live thread (an index on ``deleted_at``
    made ``deleted_at IS NULL`` look selective to it), so a front page's cited titles
    grew with the whole forum. PostgreSQL plans these as semi-joins.
    """
    thread = exists().where(Thread.id == thread_id_column, public_thread())
    post = exists().where(Post.id == post_id_column, public_post())
    return and_(thread, or_(post_id_column.is_(None), post))


def public(entity: type[Thread] | type[Post]):
    """SQL: rows of ``entity`` anyone may read; ``public(Post)`` needs ``Thread`` joined."""
    if entity is Thread:
        return public_thread()
    return and_(public_post(), public_thread())
