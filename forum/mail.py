"""Outgoing email: the only module that talks SMTP (STYLE.md rule 9).

    send(message)            one message; raises MailError if it was not delivered
    send_many(messages)      a batch; yields (message, error-or-None) per message
    build_message(...)       a plain-text (+ optional HTML) EmailMessage
    RawMessage(...)          a message its sender serialised itself (bulk mail), sent as is

The backend comes from the app config, read from ``flask.current_app`` when
sending starts, so tests pick one through config rather than monkeypatching:

- ``smtp``: ``MAIL_SERVER``/``MAIL_PORT``; ``MAIL_USE_SSL`` connects with
  implicit TLS (``SMTP_SSL``), ``MAIL_USE_TLS`` upgrades with STARTTLS (the two
  are exclusive); ``MAIL_USERNAME``/``MAIL_PASSWORD`` log in when a username is
  set. Every socket operation has a 10 s timeout (``SMTP_TIMEOUT``), so a dead
  server costs seconds, never a hung worker.
- ``console``: prints headers and the decoded text parts to stdout (and logs a
  one-line summary), so a developer can click the link in a confirmation mail.
- ``file``: writes each message as ``<UTC timestamp>-<uuid>.eml`` into
  ``MAIL_FILE_DIR`` or ``<instance_path>/mail``; written under a temporary name
  and renamed, so a reader never sees half a file.

Decisions:

- Messages are completed in place before sending: ``From`` defaults to
  ``MAIL_DEFAULT_SENDER``; ``Date`` and ``Message-ID`` are added when absent
  (the Message-ID domain is ``SERVER_NAME`` without its port, or ``localhost``).
  The caller can therefore read ``message["Message-ID"]`` afterwards to record
  the delivery. The same domain is our EHLO name, which spares smtplib a
  ``getfqdn()`` DNS lookup that can hang on a host without network.
- ``send_many`` opens one SMTP connection for the whole batch, lazily at the
  first message, and closes it when the generator finishes or is closed. A
  connection that drops (disconnect, reset, or a 421 "closing channel" reply)
  is reopened once and the message retried once; a server that has dropped a
  message may in rare cases have accepted it, so delivery is at least once.
  A server that cannot be reached or refuses our login fails the current
  message and every later one with the same MailError, without trying again,
  so a batch of a thousand against a dead server takes one timeout, not a
  thousand.
- A refusal of one message (a 4xx/5xx reply to MAIL, RCPT or DATA, an address
  the server cannot take) fails only that message; the connection is reused.
- Failures are reported as ``MailError`` whose text names the server and the
  SMTP reply, so it can be stored as the delivery's error as is. Programming
  errors (anything that is not SMTP, socket or encoding trouble) propagate.
- An unknown ``MAIL_BACKEND`` raises at once: no message could go anywhere.
- ``RawMessage`` is for bulk senders: serialising an ``EmailMessage`` costs
  milliseconds (the email package's header objects and generator), more
  than the SMTP exchange itself, so the digest serialises each distinct
  message once and completes the bytes per recipient (``forum.digest.message``).
  Such a message is complete and goes out as is, with ``sendmail``; the
  backends treat it like any other.
"""
from __future__ import annotations

import logging
import os
import re
import smtplib
import ssl
import sys
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any

from flask import current_app

__all__ = ["MailError", "RawMessage", "build_message", "message_id_domain", "send", "send_many"]

SMTP_TIMEOUT = 10  # seconds, for connect and for each command
BACKENDS = ("smtp", "console", "file")

log = logging.getLogger(__name__)



class MailError(Exception):
    """A message could not be handed over; the text says why, for a person."""


@dataclass(frozen=True)
class RawMessage:
    """A complete message already serialised: headers and body, CRLF line ends.

    ``sender`` and ``recipients`` are the envelope (MAIL FROM, RCPT TO);
    ``data`` must carry its own From, To, Date and Message-ID, which nothing
    adds or checks. ``message["Message-ID"]`` reads ``message_id``, as for an
    ``EmailMessage``.
    """

    sender: str
    recipients: tuple[str, ...]
    data: bytes
    message_id: str

    def __getitem__(self, name: str) -> str | None:
        return self.message_id if name.lower() == "message-id" else self.parsed()[name]

    def parsed(self) -> EmailMessage:
        return message_from_bytes(self.data, policy=default_policy)


Message = EmailMessage | RawMessage
Result = tuple[Message, Exception | None]


def build_message(to: str | Iterable[str], subject: str, text: str, html: str | None = None,
                  headers: Mapping[str, str] | None = None) -> EmailMessage:
    """A message with a text body, and an HTML alternative when ``html`` is given.

    ``to`` is one address or several. ``From``, ``Date`` and ``Message-ID`` are
    filled in when the message is sent, unless ``headers`` sets them.
    """
    message = EmailMessage()
    message["To"] = to if isinstance(to, str) else ", ".join(to)
    message["Subject"] = subject
    for name, value in (headers or {}).items():
        del message[name]
        message[name] = value
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message


def send(message: Message) -> None:
    """Send one message over the configured backend; raise MailError on failure."""
    for _message, error in send_many([message]):
        if error is not None:
            raise error


def send_many(messages: Iterable[Message]) -> Iterator[Result]:
    """Send each message, yielding ``(message, None)`` or ``(message, MailError)``.

    Lazy: nothing is sent until the result is iterated, and the caller can
    record each outcome as it comes. Exhaust or ``close()`` the iterator so the
    SMTP connection is closed promptly.
    """
    config = current_app.config
    backend = str(config.get("MAIL_BACKEND") or "console").strip().lower()
    if backend == "smtp":
        return _send_smtp(messages, config)
    if backend == "console":
        return _send_each(messages, config, _write_console)
    if backend == "file":
        folder = config.get("MAIL_FILE_DIR") or os.path.join(current_app.instance_path, "mail")
        return _send_each(messages, config, lambda message: _write_file(message, Path(folder)))
    raise MailError(f"MAIL_BACKEND is {backend!r}; expected one of {', '.join(BACKENDS)}.")


def prints_to_terminal() -> bool:
    """True when emails go to the server's terminal (the ``console`` backend of ``make run``),
    so pages that say "check your inbox" can say where the link really is."""
    return str(current_app.config.get("MAIL_BACKEND") or "console").strip().lower() == "console"


# -- completing a message ------------------------------------------------------

def message_id_domain(config: Mapping[str, Any]) -> str:
    """The host part of SERVER_NAME ("forum.example.org:8000" -> "forum.example.org")."""
    server_name = config.get("SERVER_NAME") or "localhost"
    if server_name.endswith("]"):  # a bare IPv6 literal: its colons are not a port
        return server_name
    return server_name.rsplit(":", 1)[0]


def _complete(message: Message, config: Mapping[str, Any]) -> None:
    """Add From, Date and Message-ID when the message lacks them."""
    if isinstance(message, RawMessage):
        if not message.recipients:
            raise MailError("The message has no recipients.")
        return
    if message["From"] is None:
        sender = config.get("MAIL_DEFAULT_SENDER")
        if not sender:
            raise MailError("The message has no From header and MAIL_DEFAULT_SENDER is not set.")
        message["From"] = sender
    if not any(message[name] for name in ("To", "Cc", "Bcc")):
        raise MailError("The message has no recipients (To, Cc or Bcc).")
    if message["Date"] is None:
        message["Date"] = format_datetime(datetime.now(timezone.utc))
    if message["Message-ID"] is None:
        message["Message-ID"] = make_msgid(domain=message_id_domain(config))


# -- console and file ------------------------------------------------------------

def _send_each(messages: Iterable[Message], config: Mapping[str, Any], write) -> Iterator[Result]:
    for message in messages:
        try:
            _complete(message, config)
            write(message)
        except MailError as error:
            yield message, error
        except (OSError, ValueError) as error:  # disk full, unwritable folder, unencodable header
            yield message, MailError(f"Could not write the message: {error}")
        else:
            yield message, None


def _write_console(message: Message) -> None:
    if isinstance(message, RawMessage):
        message = message.parsed()
    lines = ["-" * 72]
    lines += [f"{name}: {value}" for name, value in message.items()]
    for part in message.walk():
        if part.get_content_maintype() == "text":
            lines += ["", f"[{part.get_content_type()}]", part.get_content().rstrip("\n")]
    lines.append("-" * 72)
    print("\n".join(lines), file=sys.stdout, flush=True)
    log.info("Email (console) to %s: %s", message["To"], message["Subject"])


def _write_file(message: Message, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S.%fZ")
    path = folder / f"{stamp}-{uuid.uuid4().hex}.eml"
    partial = path.with_suffix(".eml.part")
    partial.write_bytes(message.data if isinstance(message, RawMessage) else message.as_bytes())
    os.replace(partial, path)  # atomic: a reader sees the whole message or none
    return path


# -- SMTP ------------------------------------------------------------------------

class _Unreachable(MailError):
    """The server cannot be reached or refuses the session: every later message would fail too."""


class _Dropped(Exception):
    """The connection went away mid-conversation; worth one reconnect."""


def _send_smtp(messages: Iterable[Message], config: Mapping[str, Any]) -> Iterator[Result]:
    session = _SMTPSession(config)
    down: MailError | None = None
    try:
        for message in messages:
            if down is not None:
                yield message, down
                continue
            try:
                _complete(message, config)
                session.deliver(message)
            except _Unreachable as error:
                down = MailError(str(error))
                yield message, down
            except MailError as error:
                yield message, error
            else:
                yield message, None
    finally:
        session.close()


class _SMTPSession:
    """One lazily opened SMTP connection, reopened once per message when it drops."""

    def __init__(self, config: Mapping[str, Any]):
        self.host = config.get("MAIL_SERVER") or "localhost"
        self.use_ssl = bool(config.get("MAIL_USE_SSL"))
        self.use_tls = bool(config.get("MAIL_USE_TLS"))
        self.username = config.get("MAIL_USERNAME")
        self.password = config.get("MAIL_PASSWORD") or ""
        self.local_hostname = message_id_domain(config)
        try:
            self.port = int(config.get("MAIL_PORT") or (465 if self.use_ssl else 25))
        except (TypeError, ValueError):
            raise _Unreachable(f"MAIL_PORT is {config.get('MAIL_PORT')!r}; expected a number.") from None
        self.smtp: smtplib.SMTP | None = None

    @property
    def where(self) -> str:
        return f"{self.host}:{self.port}"

    def deliver(self, message: Message) -> None:
        try:
            self._send(message)
        except _Dropped:
            self.close()
            try:
                self._send(message)  # the one retry, on a fresh connection
            except _Dropped as error:
                self.close()
                raise MailError(f"The mail server {self.where} dropped the connection twice: "
                                f"{error.__cause__ or error}") from error

    def _send(self, message: Message) -> None:
        if self.smtp is None:
            self.smtp = self._connect()
        try:
            if isinstance(message, RawMessage):
                self.smtp.ehlo_or_helo_if_needed()
                if self.smtp.has_extn("pipelining"):
                    _sendmail_pipelined(self.smtp, message)
                else:
                    self.smtp.sendmail(message.sender, list(message.recipients), message.data)
            else:
                self.smtp.send_message(message)
        except (smtplib.SMTPServerDisconnected, ConnectionError) as error:
            raise _Dropped() from error
        except smtplib.SMTPRecipientsRefused as error:
            refused = "; ".join(f"{address}: {_reply(code, text)}"
                                for address, (code, text) in error.recipients.items())
            raise MailError(f"The mail server {self.where} refused the recipients: {refused}") from error
        except smtplib.SMTPResponseException as error:
            if error.smtp_code == 421:  # "closing transmission channel": smtplib has closed it
                raise _Dropped() from error
            raise MailError(f"The mail server {self.where} refused the message: "
                            f"{_reply(error.smtp_code, error.smtp_error)}") from error
        except (smtplib.SMTPException, ValueError) as error:  # e.g. non-ASCII address without SMTPUTF8
            raise MailError(f"Could not send the message through {self.where}: {error}") from error
        except OSError as error:  # a timeout: the server is alive but too slow; don't retry
            self.close()
            raise MailError(f"The mail server {self.where} did not answer in time: {error}") from error

    def _connect(self) -> smtplib.SMTP:
        if self.use_ssl and self.use_tls:
            raise _Unreachable("MAIL_USE_SSL and MAIL_USE_TLS are both set; choose one "
                               "(SSL for implicit TLS, usually port 465; TLS for STARTTLS, usually 587).")
        context = ssl.create_default_context()
        smtp: smtplib.SMTP | None = None
        try:
            if self.use_ssl:
                smtp = smtplib.SMTP_SSL(self.host, self.port, local_hostname=self.local_hostname,
                                        timeout=SMTP_TIMEOUT, context=context)
            else:
                smtp = smtplib.SMTP(self.host, self.port, local_hostname=self.local_hostname,
                                    timeout=SMTP_TIMEOUT)
            if self.use_tls:
                smtp.starttls(context=context)
            if self.username:
                smtp.login(self.username, self.password)
            return smtp
        except smtplib.SMTPAuthenticationError as error:
            _quietly_close(smtp)
            raise _Unreachable(f"The mail server {self.where} refused the login for "
                               f"MAIL_USERNAME {self.username!r}: "
                               f"{_reply(error.smtp_code, error.smtp_error)}") from error
        except smtplib.SMTPNotSupportedError as error:
            _quietly_close(smtp)
            raise _Unreachable(f"The mail server {self.where} does not support what the settings "
                               f"ask for: {error}") from error
        except (smtplib.SMTPException, OSError) as error:
            _quietly_close(smtp)
            raise _Unreachable(f"Could not connect to the mail server {self.where}: {error}") from error

    def close(self) -> None:
        smtp, self.smtp = self.smtp, None
        if smtp is not None:
            try:
                smtp.quit()
            except (smtplib.SMTPException, OSError):
                smtp.close()


def _sendmail_pipelined(smtp: smtplib.SMTP, message: RawMessage) -> None:
    """``smtp.sendmail`` for a prepared message, in two round trips rather than four.

    Why: sending a digest is a conversation per reader (MAIL, RCPT, DATA, the
    text), and on loopback each exchange costs more than the message itself.
    With the server's PIPELINING (RFC 2920) MAIL, RCPT and DATA go in one
    write and their replies are read together; the text follows the 354. The
    replies are checked in smtplib's order and refusals raise smtplib's own
    exceptions, so the caller cannot tell the two paths apart.
    """
    size = f" SIZE={len(message.data)}" if smtp.has_extn("size") else ""
    commands = [f"MAIL FROM:{_envelope_address(message.sender)}{size}\r\n",
                *(f"RCPT TO:{_envelope_address(address)}\r\n" for address in message.recipients),
                "DATA\r\n"]
    smtp.send("".join(commands))
    replies = [smtp.getreply() for _ in commands]
    sender, recipients, data = replies[0], replies[1:-1], replies[-1]
    if sender[0] != 250:
        _abandon(smtp, replies)
        raise smtplib.SMTPSenderRefused(sender[0], sender[1], message.sender)
    refused = {address: reply for address, reply in zip(message.recipients, recipients)
               if reply[0] not in (250, 251)}
    if len(refused) == len(message.recipients):
        _abandon(smtp, replies)
        raise smtplib.SMTPRecipientsRefused(refused)
    if data[0] != 354:
        _abandon(smtp, replies)
        raise smtplib.SMTPDataError(*data)
    text = message.data.replace(b"\n.", b"\n..")  # dot-stuffing; the data has CRLF line ends
    if text.startswith(b"."):
        text = b"." + text
    smtp.send(text + (b".\r\n" if text.endswith(b"\r\n") else b"\r\n.\r\n"))
    code, reply = smtp.getreply()
    if code != 250:
        _abandon(smtp, [(code, reply)])
        raise smtplib.SMTPDataError(code, reply)


_PLAIN_ADDRESS = re.compile(r"[^<>()\[\]\\,;:@\s\"]+@[^<>()\[\]\\,;:@\s\"]+")


def _envelope_address(address: str) -> str:
    """``<address>`` as smtplib writes it, without its parser for the plain addresses we send to."""
    return f"<{address}>" if _PLAIN_ADDRESS.fullmatch(address) else smtplib.quoteaddr(address)


def _abandon(smtp: smtplib.SMTP, replies: list[tuple[int, bytes]]) -> None:
    """After a refusal: hang up on a 421, as smtplib does; else end an accepted DATA and RSET."""
    if any(code == 421 for code, _ in replies):
        smtp.close()
        return
    try:
        if replies[-1][0] == 354:  # DATA accepted although nobody is to receive it
            smtp.send(b".\r\n")
            smtp.getreply()
        smtp.rset()
    except smtplib.SMTPServerDisconnected:
        pass


def _quietly_close(smtp: smtplib.SMTP | None) -> None:
    if smtp is not None:
        smtp.close()


def _reply(code: int, text: bytes | str) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return f"{code} {text}".strip()
