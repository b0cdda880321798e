"""Notification tests: data through the real services, email through the real aiosmtpd server."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.notifications.models import Notification


@pytest.fixture
def mail_app(app, smtp_server):
    app.config.update({"MAIL_BACKEND": "smtp", "MAIL_SERVER": smtp_server.host,
                       "MAIL_PORT": smtp_server.port, "SERVER_NAME": "forum.test",
                       "PREFERRED_URL_SCHEME": "https",
                       "MAIL_DEFAULT_SENDER": "Idea Exchange <forum@forum.test>"})
    return app


def refused_anonymously(response) -> bool:
    """A visitor who is not logged in is refused: 401 for a POST, or sent to log in."""
    return response.status_code == 401 or "/auth/login" in response.headers.get("Location", "")


def notified(post=None, thread=None) -> dict[int, str]:
    """{user id: reason} of the notifications about one reply (or a thread's opening post)."""
    query = select(Notification.user_id, Notification.reason)
    if post is not None:
        query = query.where(Notification.post_id == post.id)
    else:
        query = query.where(Notification.thread_id == thread.id, Notification.post_id.is_(None))
    rows = db.session.execute(query).all()
    result = dict(rows)
    assert len(result) == len(rows), "one notification per person per post"
    return result
