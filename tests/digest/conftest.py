"""Digest tests send through a real aiosmtpd server (tests/mailserver.py) that can also
refuse chosen recipients (``smtp_server.refuse(address, "550 ...")``) and run a hook as
each message arrives (``smtp_server.on_data``), before it answers."""
from __future__ import annotations

import pytest
from aiosmtpd.controller import Controller

from forum.database import utcnow
from forum.digest import selection
from tests.mailserver import RecordingHandler, SMTPTestServer


class RefusingHandler(RecordingHandler):
    def __init__(self) -> None:
        super().__init__()
        self.refusals: dict[str, str] = {}  # address -> SMTP reply to its RCPT TO
        self.on_data = None  # called with the envelope before a message is answered

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        reply = self.refusals.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.on_data is not None:
            self.on_data(envelope)
        return await super().handle_DATA(server, session, envelope)


class RefusingSMTPServer(SMTPTestServer):
    def __init__(self) -> None:
        super().__init__()
        self.handler = RefusingHandler()
        self.controller = Controller(self.handler, hostname=self.host, port=self.port, server_hostname="mail.test")

    def refuse(self, address: str, reply: str) -> None:
        self.handler.refusals[address.lower()] = reply

    @property
    def on_data(self):
        return self.handler.on_data

    @on_data.setter
    def on_data(self, hook) -> None:
        self.handler.on_data = hook


@pytest.fixture
def smtp_server():
    server = RefusingSMTPServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


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
