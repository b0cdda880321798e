"""What is new since a member's last visit: one row per member and thread they have opened.

``ThreadRead.read_at`` is when the member last drew the thread's page. Lists
show how many public replies arrived since (one grouped query per list page,
whatever its length); the thread page marks replies newer than the visit
before this one and links to the first of them.

Opening a thread page writes that row, the one write a GET makes here: a
single upsert of one row that touches nothing else (STYLE's rule for writes a
GET may make), run after the page is drawn and after the page's read
transaction has ended, so on SQLite it never upgrades a read transaction
(which fails at once under concurrent writers). Logged-out visitors write
nothing and see no markers.
"""
from __future__ import annotations

import functools
from datetime import datetime

from sqlalchemy import ForeignKey, bindparam, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, mapped_column

from forum.database import UTCDateTime, id_values, ids_arity, ids_in, utcnow
from forum.extensions import db
from forum.threads.models import Post, Thread


class ThreadRead(db.Model):
    __tablename__ = "thread_reads"
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    thread_id: Mapped[int] = mapped_column(ForeignKey("threads.id", ondelete="CASCADE"), primary_key=True)
    read_at: Mapped[datetime] = mapped_column(UTCDateTime)


def last_read(user, thread_id: int) -> datetime | None:
    """When ``user`` last opened the thread (None: never, or a visitor)."""
    if not user.is_authenticated:
        return None
    return db.session.connection().scalar(_LAST_READ, {"user_id": user.id, "thread_id": thread_id})


# Built once and run on the session's connection, as the thread page's other reads are
# (threads/queries.py): every page drawn for a member asks it.
_LAST_READ = select(ThreadRead.read_at).where(ThreadRead.user_id == bindparam("user_id"),
                                              ThreadRead.thread_id == bindparam("thread_id"))


def visit_is_news(last_read: datetime | None, thread: Thread) -> bool:
    """Whether a visit now must be written: a first visit, or replies since the last.

    When nothing was posted since ``last_read``, moving it to now changes no
    count and no marker (both compare reply dates with it), so a member
    re-reading an unchanged thread costs no write.
    """
    return last_read is None or thread.last_activity_at is None or last_read < thread.last_activity_at


def record_visit(user, thread_id: int, at: datetime | None = None) -> None:
    """Remember that ``user`` read the thread now (see the module docstring for why a GET may)."""
    if not user.is_authenticated:
        return
    values = {"user_id": user.id, "thread_id": thread_id, "read_at": at or utcnow()}
    db.session.commit()  # end the page's read transaction before writing
    insert = pg_insert if db.engine.dialect.name == "postgresql" else sqlite_insert
    statement = insert(ThreadRead).values(**values)
    db.session.execute(statement.on_conflict_do_update(
        index_elements=["user_id", "thread_id"], set_={"read_at": statement.excluded.read_at}))
    db.session.commit()


def unread_counts(user, threads: list[Thread]) -> dict[int, int | None]:
    """Thread id -> public replies since ``user`` last opened it; None for a thread never opened.
    Empty for a visitor. One query, built once: every list page a member opens runs it."""
    if not user.is_authenticated or not threads:
        return {}
    ids = [thread.id for thread in threads]
    seen = dict(db.session.connection().execute(  # plain rows: see ``queries._outline_of``
        _unread_counts(ids_arity(len(ids))), {"user_id": user.id, **id_values(ids)}).all())
    return {thread_id: seen.get(thread_id) for thread_id in ids}


@functools.cache
def _unread_counts(arity: int):
    """The statement of ``unread_counts`` (``database.ids_in`` says why not ``expanding``)."""
    return (
        select(ThreadRead.thread_id, func.count(Post.id))
        .outerjoin(Post, (Post.thread_id == ThreadRead.thread_id) & (Post.created_at > ThreadRead.read_at)
                   & Post.deleted_at.is_(None) & Post.public() & (Post.author_id != bindparam("user_id")))
        .where(ThreadRead.user_id == bindparam("user_id"), ids_in(ThreadRead.thread_id, arity))
        .group_by(ThreadRead.thread_id))
