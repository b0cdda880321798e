"""Account tests send through the real aiosmtpd server (tests/mailserver.py) and follow the links."""
from __future__ import annotations

import re
import time
from contextlib import contextmanager
from datetime import timedelta
from urllib.parse import urlsplit

import pytest

LINK = re.compile(r"https?://\S+")


@pytest.fixture
def mail_app(app, smtp_server):
    app.config.update({"MAIL_BACKEND": "smtp", "MAIL_SERVER": smtp_server.host,
                       "MAIL_PORT": smtp_server.port, "SERVER_NAME": "forum.test",
                       "MAIL_DEFAULT_SENDER": "Idea Exchange <accounts@forum.test>"})
    return app


@pytest.fixture
def mail_client(mail_app):
    return mail_app.test_client()


def links_in(message) -> list[str]:
    """The paths of every link in a plain-text email, in order."""
    return [urlsplit(url).path for url in LINK.findall(message.get_content())]


def link_to(message, prefix: str) -> str:
    """The path of the one link in ``message`` that starts with ``prefix``."""
    (path,) = [path for path in links_in(message) if path.startswith(prefix)]
    return path


@contextmanager
def signed_ago(age: timedelta):
    """Tokens made inside carry a timestamp ``age`` in the past (itsdangerous reads time.time)."""
    import itsdangerous.timed
    real = time.time
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(itsdangerous.timed.time, "time", lambda: real() - age.total_seconds())
        yield
