"""Digest tests send through the real aiosmtpd server from tests/mailserver.py."""
from __future__ import annotations

import pytest

from forum.database import utcnow
from forum.digest import selection


@pytest.fixture
def mail_app(app, smtp_server):
    app.config.update({"MAIL_BACKEND": "smtp", "MAIL_SERVER": smtp_server.host,
                       "MAIL_PORT": smtp_server.port, "SERVER_NAME": "forum.test",
                       "PREFERRED_URL_SCHEME": "https",
                       "MAIL_DEFAULT_SENDER": "Idea Exchange <digest@forum.test>",
                       "DIGEST_BATCH_SIZE": 10})
    return app


@pytest.fixture
def week() -> str:
    return selection.week_label(utcnow())
