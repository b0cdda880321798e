"""The one SQL definition of "public" for reading code that builds its own queries.

``Moderated.public()`` (threads/models.py) says "neither held nor hidden";
DESIGN.md's "public" also excludes what is deleted and what sits in a deleted
(or held, or hidden) thread. ``public(Thread)`` and ``public(Post)`` say all
of it, so the digest, feeds and exports never re-implement the rule.
"""
from __future__ import annotations

from sqlalchemy import and_

from forum.threads.models import Post, Thread


def public(entity: type[Thread] | type[Post]):
    """SQL condition: rows of ``entity`` anyone may read. ``public(Post)`` needs ``Thread`` joined."""
    thread_is_public = and_(Thread.deleted_at.is_(None), Thread.public())
    if entity is Thread:
        return thread_is_public
    return and_(Post.deleted_at.is_(None), Post.public(), thread_is_public)
