"""A real SMTP server on loopback for tests: the ``smtp_server`` fixture.

Loaded as a pytest plugin (``pytest_plugins = ["tests.mailserver"]``). Each
test that asks for ``smtp_server`` gets its own aiosmtpd server on 127.0.0.1
and a free port, so the app under test sends through real ``smtplib`` and
tests assert on what arrived:

    smtp_server.port          where to point MAIL_PORT
    smtp_server.messages      list of email.message.EmailMessage, in arrival order
    smtp_server.envelopes     the matching aiosmtpd Envelopes (mail_from, rcpt_tos)
    smtp_server.connections   how many SMTP sessions said EHLO/HELO
    smtp_server.fail_next(n, code=451)  refuse the next n messages with that reply
    smtp_server.drop_next(n)  hang up, without replying, at the end of the next n messages
    smtp_server.refuse(address)  answer 550 to RCPT TO that address
    smtp_server.pipelining    whether EHLO offers PIPELINING (RFC 2920); True unless set False

aiosmtpd reads commands one line at a time, so it serves a pipelining client
correctly; it just does not say so. The fixture says so, so that tests run the
pipelined path the digest takes against real mail servers.

Why a free port chosen up front rather than port 0: aiosmtpd's Controller
checks the server is up by connecting to ``self.port``, which fails for 0.
"""
from __future__ import annotations

import socket
import threading
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest
from aiosmtpd.controller import Controller

HOST = "127.0.0.1"


class RecordingHandler:
    """aiosmtpd handler that keeps every message and can be told to fail some."""

    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.envelopes: list = []
        self.connections = 0
        self._failures: list[str] = []  # replies for the next messages, in order
        self._lock = threading.Lock()  # the server runs in its own thread
        self.pipelining = True
        self.refused: set[str] = set()

    def fail_next(self, n: int = 1, code: int = 451) -> None:
        with self._lock:
            self._failures += [f"{code} Injected failure (test server)"] * n

    def drop_next(self, n: int = 1) -> None:
        with self._lock:
            self._failures += [None] * n  # None: close the connection instead of replying

    async def handle_HELO(self, server, session, envelope, hostname):
        self._count_connection(session, hostname)
        return f"250 {server.hostname}"

    async def handle_EHLO(self, server, session, envelope, hostname, responses):
        self._count_connection(session, hostname)
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 No such mailbox (test server)"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 OK"

    def _count_connection(self, session, hostname) -> None:
        # A STARTTLS client says EHLO twice on one connection: count it once.
        if not getattr(session, "counted", False):
            session.counted = True
            with self._lock:
                self.connections += 1
        session.host_name = hostname

    async def handle_DATA(self, server, session, envelope):
        with self._lock:
            failure = self._failures.pop(0) if self._failures else ""
        if failure is None:
            server.transport.close()
            return "421 Connection dropped (test server)"  # never reaches the client
        if failure:
            return failure
        message = message_from_bytes(envelope.original_content or envelope.content,
                                     policy=default_policy)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append(envelope)
        return "250 Message accepted for delivery"


class SMTPTestServer:
    """A started aiosmtpd Controller plus its recording handler."""

    def __init__(self) -> None:
        self.handler = RecordingHandler()
        self.host = HOST
        self.port = _free_port()
        # A fixed server_hostname spares aiosmtpd a getfqdn() DNS lookup per server.
        self.controller = Controller(self.handler, hostname=self.host, port=self.port,
                                     server_hostname="mail.test")

    @property
    def messages(self) -> list[EmailMessage]:
        return self.handler.messages

    @property
    def envelopes(self) -> list:
        return self.handler.envelopes

    @property
    def connections(self) -> int:
        return self.handler.connections

    def fail_next(self, n: int = 1, code: int = 451) -> None:
        self.handler.fail_next(n, code)

    def drop_next(self, n: int = 1) -> None:
        self.handler.drop_next(n)

    def refuse(self, address: str) -> None:
        self.handler.refused.add(address)

    @property
    def pipelining(self) -> bool:
        return self.handler.pipelining

    @pipelining.setter
    def pipelining(self, offered: bool) -> None:
        self.handler.pipelining = offered

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


@pytest.fixture
def smtp_server():
    server = SMTPTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()
