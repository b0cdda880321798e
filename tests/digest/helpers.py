"""Data for digest tests, made through the real services."""
from __future__ import annotations

from forum.database import utcnow
from forum.digest.models import Subscription
from forum.extensions import db
from tests.factories import make_reply, make_thread, make_user


def busy_week(replies: int = 2) -> list:
    """Two threads with replies this week, by three people."""
    alice, bob, carol = make_user(), make_user(), make_user()
    lively = make_thread(alice, title="Scaling laws are overrated", body="Discuss the *evidence*.")
    quiet = make_thread(bob, title="A quiet idea")
    for n in range(replies):
        make_reply(lively, bob if n % 2 else carol, f"Point {n}")
    make_reply(quiet, alice, "One answer")
    return [lively, quiet]


def subscribe(*emails: str, follows: dict | None = None) -> list[int]:
    ids = []
    for email in emails:
        subscription = Subscription(email=email, follows=follows or {}, confirmed_at=utcnow())
        db.session.add(subscription)
        db.session.flush()
        ids.append(subscription.id)
    db.session.commit()
    return ids
