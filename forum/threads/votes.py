"""Voting: one +1 or -1 per member and target; the score lives on the target.

``cast_vote`` is the one use case. Voting the same way again takes the vote
back; voting the other way switches it. The target's score (and a reply's
up/down counts) change by an SQL increment in the same transaction as the
vote row, never read-modify-write, so concurrent voters cannot lose an update.

Two requests from the same member could race on the vote row itself (both
see "no vote yet", or both the same old value), so a vote first locks the
member's own row (``FOR UPDATE`` on PostgreSQL; on SQLite ``BEGIN IMMEDIATE``
already serializes writers): one member's votes queue, different members'
votes do not. As a second line, the vote row is changed with a guarded
statement (``WHERE value = <what we saw>``) and an insert that a unique
constraint protects; if either finds the row moved, the transaction is
replayed.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from forum.accounts.models import User
from forum.extensions import db
from forum.moderation.policy import ensure_can_participate
from forum.threads.models import Post, Thread, Vote

VOTE_VALUES = {"up": 1, "down": -1}
MAX_ATTEMPTS = 5  # a replay only happens when the same member votes twice at once


class VoteError(ValueError):
    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status


class _Raced(Exception):
    """The vote row changed between our read and our write: replay."""


@dataclass
class VoteResult:
    score: int
    vote: int  # the member's vote now: 1, -1 or 0


def parse_vote_value(text: str | None) -> int:
    try:
        return VOTE_VALUES[(text or "").strip().lower()]
    except KeyError:
        raise VoteError("A vote is 'up' or 'down'.", 400) from None


def cast_vote(user: User, target: Thread | Post, value: int) -> VoteResult:
    """Vote ``value`` (+1 or -1) on a thread or reply; the same vote again takes it back."""
    if value not in (1, -1):
        raise VoteError("A vote is 'up' or 'down'.", 400)
    ensure_can_participate(user)
    if not target.is_public:  # held or hidden: not open to votes, even from those who see it
        raise VoteError("This is not public; it takes no votes.", 404)
    if target.is_deleted:
        raise VoteError("This was deleted; it takes no votes.", 410)
    if target.author_id == user.id:
        raise VoteError("You cannot vote on what you wrote.", 403)
    model, column = (Thread, Vote.thread_id) if isinstance(target, Thread) else (Post, Vote.post_id)
    user_id, target_id = user.id, target.id  # read now: a rollback expires the objects
    for _ in range(MAX_ATTEMPTS):
        try:
            now = _apply(user_id, model, column, target_id, value)
        except (_Raced, IntegrityError):
            db.session.rollback()
            continue
        score = db.session.scalar(select(model.score).where(model.id == target_id))
        db.session.commit()
        return VoteResult(score=score, vote=now)
    raise VoteError("Too many votes at once; try again.", 409)


def _apply(user_id: int, model, column, target_id: int, value: int) -> int:
    """Change the vote row and the target's counters; return the member's vote now."""
    db.session.execute(select(User.id).where(User.id == user_id).with_for_update())
    old = db.session.execute(
        select(Vote.id, Vote.value).where(Vote.user_id == user_id, column == target_id)
    ).first()
    if old is None:
        db.session.execute(Vote.__table__.insert().values(
            user_id=user_id, value=value, **{column.key: target_id}))
        new = value
    elif old.value == value:  # the same vote again: take it back
        _guarded(delete(Vote).where(Vote.id == old.id, Vote.value == old.value))
        new = 0
    else:  # the other way: switch
        _guarded(update(Vote).where(Vote.id == old.id, Vote.value == old.value).values(value=value))
        new = value
    _bump(model, target_id, old.value if old else 0, new)
    return new


def _guarded(statement) -> None:
    if db.session.execute(statement).rowcount != 1:
        raise _Raced()


def _bump(model, target_id: int, old: int, new: int) -> None:
    """Move the stored counters from the old vote to the new one, as SQL increments."""
    values = {"score": model.score + (new - old)}
    if model is Post:
        up = (new == 1) - (old == 1)
        down = (new == -1) - (old == -1)
        values.update(up_count=Post.up_count + up, down_count=Post.down_count + down)
    db.session.execute(update(model).where(model.id == target_id).values(**values))


def votes_by(user_id: int, thread_id: int) -> dict[str, int]:
    """The member's votes on a thread and its replies, keyed ``thread`` / ``post:<id>``."""
    rows = db.session.connection().execute(_VOTES_BY, {"user_id": user_id, "thread_id": thread_id})
    return {("thread" if voted_thread else f"post:{post_id}"): value
            for voted_thread, post_id, value in rows}


# Built once, with the member and thread as parameters, and run on the session's
# connection: every thread page drawn for a member runs it, and building the
# statement anew and passing it through the ORM cost more than running it.
_VOTES_BY = select(Vote.thread_id, Vote.post_id, Vote.value).where(
    Vote.user_id == bindparam("user_id"),
    (Vote.thread_id == bindparam("thread_id"))
    | Vote.post_id.in_(select(Post.id).where(Post.thread_id == bindparam("thread_id"))))
