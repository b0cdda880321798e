"""How threads and replies are ordered, and how to explain an order to a reader.

Front page tabs: Hot, Active (latest reply), New, and Top over a day, week,
month, year or all time. Pinned threads stay on top of every tab. Replies
sort by Best (Wilson lower bound), Oldest or Newest.

Hot is computed in SQL at query time from the stored score, reply count and
age, so it never goes stale and needs no background job. ``hotness`` is the
single definition: the SQL expression and the explanation shown to readers
are both built from it.
"""
from __future__ import annotations

import math
from datetime import datetime, timedelta

from sqlalchemy import Float, cast, func, literal

from forum.database import UTCDateTime

# Hot: (score + REPLY_WEIGHT * replies + 1) / (age_hours + AGE_OFFSET_HOURS) ** GRAVITY
GRAVITY = 1.8  # Hacker News' exponent: a day-old thread needs ~40x the points of a new one
AGE_OFFSET_HOURS = 2.0  # so a brand-new thread is not divided by ~0
REPLY_WEIGHT = 0.5  # a reply is half a vote: debate counts, but votes say it is worth reading

TABS = ("hot", "active", "new", "top")
TOP_PERIODS = {
    "day": timedelta(days=1), "week": timedelta(weeks=1), "month": timedelta(days=30),
    "year": timedelta(days=365), "all": None,
}
REPLY_SORTS = ("best", "oldest", "newest")
WILSON_Z = 1.96  # 95% confidence


def hotness(score, replies, age_hours, power=math.pow):
    """How hot a thread is: points decay by a power of age, as on Hacker News and Lobsters.

    The points are the thread's score plus half a point per reply (debate
    counts, a little less than a vote) plus one, so a new thread with no
    votes starts above zero. Dividing by (age + 2 h) ** 1.8 lets a thread
    climb quickly while it gathers votes and sink steadily after, whatever
    its total: yesterday's big thread gives way to today's lively one.
    ``power`` is ``math.pow`` for numbers and ``func.power`` for SQL, so this
    one formula serves both the query and the explanation.
    """
    return (score + REPLY_WEIGHT * replies + 1) / power(age_hours + AGE_OFFSET_HOURS, GRAVITY)


def age_hours_sql(created_at, now, dialect: str):
    """Hours between ``created_at`` and ``now`` (a datetime, or a bound parameter of one)."""
    if isinstance(now, datetime):
        now = literal(now, UTCDateTime())
    if dialect == "sqlite":  # UTCDateTime stores ISO text; julianday reads it
        return (func.julianday(now) - func.julianday(created_at)) * 24.0
    return func.extract("epoch", now - created_at) / 3600.0


def hotness_sql(thread_model, now, dialect: str):
    """``hotness`` as a SQL expression (PostgreSQL, or SQLite 3.35+ with its math functions)."""
    age = age_hours_sql(thread_model.created_at, now, dialect)
    # A clock a little ahead of ours must not make the base negative.
    age = (func.max if dialect == "sqlite" else func.greatest)(age, 0.0)
    # All in floating point: with the reply count an integer, SQLAlchemy made PostgreSQL
    # compute the weighted replies and the power in ``numeric``, most of the Hot tab's time.
    return hotness(cast(thread_model.score, Float), cast(thread_model.reply_count, Float), age,
                   power=lambda base, exponent: func.power(base, exponent, type_=Float))


def hotness_explained(score: int, replies: int, created_at: datetime, now: datetime) -> str:
    """The "Why here?" of a thread on the Hot tab, from its values: the formula with them."""
    age_hours = max((now - created_at).total_seconds() / 3600, 0.0)
    age = f"{age_hours:.1f}"
    return (f"score {score}, {replies} replies, {age} h old: "
            f"({score} + {REPLY_WEIGHT} × {replies} + 1) / "
            f"({age} + {AGE_OFFSET_HOURS:g})^{GRAVITY} = {hotness(score, replies, age_hours):.4f}")


def wilson_lower_bound(up: int, down: int, z: float = WILSON_Z) -> float:
    """Lower bound of the 95% Wilson interval for the share of up votes.

    Why not up minus down: 2 up / 0 down is weaker evidence than 90 up / 10
    down; the bound rewards replies many people found good, and a reply with
    no votes scores 0 (it sorts by age among its equals).
    """
    n = up + down
    if n == 0:
        return 0.0
    p = up / n
    return ((p + z * z / (2 * n) - z * math.sqrt((p * (1 - p) + z * z / (4 * n)) / n))
            / (1 + z * z / n))


def order_replies(replies: list, sort: str) -> None:
    """Put sibling replies in one of REPLY_SORTS' orders, in place; ties: oldest first.

    ``replies`` must arrive oldest first (by creation time, then id), as the
    outline query reads them. Python's sort is stable, so Best only sorts by
    the Wilson bound and equal bounds keep that order, and Newest is the
    reverse: no dates are compared, so the outline need not read any.
    """
    if sort == "newest":
        replies.reverse()
    elif sort == "best":
        replies.sort(key=lambda post: -wilson_lower_bound(post.up_count, post.down_count))
