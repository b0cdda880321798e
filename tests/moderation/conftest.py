"""Helpers for the moderation tests: staff accounts and logging in as them."""
from __future__ import annotations

import pytest

from forum.extensions import db
from forum.accounts import sessions
from forum.accounts.models import User
from tests.factories import make_user


def make_staff(role: str = "moderator", **fields) -> User:
    user = make_user(**fields)
    row = db.session.get(User, user.id)
    row.role = role
    db.session.commit()
    user.role = role
    return user


@pytest.fixture
def as_user(app):
    """A client logged in as ``user`` (through the session, as a browser would be)."""
    def _as(user):
        client = app.test_client()
        with app.app_context():
            key = sessions.start(db.session.get(User, user.id))
        with client.session_transaction() as session:
            session["_user_id"] = key
            session["_fresh"] = True
        return client
    return _as
