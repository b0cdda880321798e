"""A digest email as MIME bytes: serialised once, completed per recipient.

Why not one ``EmailMessage`` per subscriber: the email package spends about
5 ms building and serialising each one (header objects, content manager,
generator), which alone caps sending at 200 messages a second. Every
subscriber with the same follows gets the same message but for four things:
To, Message-ID, Date and their own token (in their unsubscribe and manage links). ``DigestTemplate`` builds
the message once and splices those in, so a recipient costs a few string
joins (``mail.RawMessage``).

Why the splicing yields valid MIME:

- The constant headers (From, Subject, List-Id, ...) are folded and encoded
  by the email package itself, once. The per-recipient headers are ASCII by
  construction (Message-ID, Date, an https URL and a mailto URL), and a To
  address goes in verbatim only when it is a plain ASCII ``local@domain``
  (``is_plain_address``); any other address gets a message built whole by
  the email package, which knows how to encode it.
- Both parts are quoted-printable, UTF-8. Quoted-printable is line-based:
  each line encodes on its own, so the lines without the unsubscribe link
  are encoded once and only the line holding it is encoded per recipient
  (``binascii.b2a_qp``, which also keeps lines within 76 characters).
- The boundary starts with ``=_``, which quoted-printable text can never
  contain (a ``=`` there is always followed by two hex digits or a line
  break), so no body can end the part early (RFC 2045, 2046).
- Line ends are CRLF throughout, as SMTP wants them: ``smtplib`` sends bytes
  unchanged apart from dot-stuffing.
"""
from __future__ import annotations

import binascii
import re
import secrets
from email.message import EmailMessage
from email.policy import default as default_policy
from email.utils import formatdate, parseaddr

from markupsafe import escape

from forum import mail

# Headers up to 998 characters unfolded (RFC 5322): the List-Unsubscribe URL is one
# long word that the default 78 would force into an RFC 2047 encoded word, which mail
# clients do not decode in that header.
HEADER_POLICY = default_policy.clone(max_line_length=998, linesep="\r\n")
CRLF = "\r\n"
# A dot-atom local part and an ASCII domain: safe to write into a header verbatim.
PLAIN_ADDRESS = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                           r"@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def is_plain_address(address: str) -> bool:
    return PLAIN_ADDRESS.fullmatch(address) is not None


class DigestTemplate:
    """One rendered digest, ready to address to each subscriber of the same follows.

    ``text`` and ``html`` hold ``placeholder`` where each reader's own value
    goes (their signed token, inside the unsubscribe and manage links); ``headers`` are the constant ones (From, List-Id, ...).
    """

    def __init__(self, subject: str, text: str, html: str, headers: dict[str, str], placeholder: str):
        self.subject, self.text, self.html = subject, text, html
        self.headers = {"Subject": subject, **headers}
        self.placeholder = placeholder
        self.sender = parseaddr(headers["From"])[1]
        self.boundary = f"=_digest_{secrets.token_hex(12)}"
        self._head = _fold_headers({**self.headers, "MIME-Version": "1.0",
                                    "Content-Type": f'multipart/alternative; boundary="{self.boundary}"'})
        self._text = _QuotedPrintable(text, placeholder, html=False)
        self._html = _QuotedPrintable(html, placeholder, html=True)
        self._text_head = (f"--{self.boundary}\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
                           "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode()
        self._html_head = (f"\r\n--{self.boundary}\r\nContent-Type: text/html; charset=\"utf-8\"\r\n"
                           "Content-Transfer-Encoding: quoted-printable\r\n\r\n").encode()
        self._tail = f"\r\n--{self.boundary}--\r\n".encode()

    def message(self, to: str, message_id: str, reader_value: str,
                list_unsubscribe: str) -> mail.RawMessage | EmailMessage:
        """The message for one reader; ``list_unsubscribe`` is their List-Unsubscribe value."""
        headers = {"To": to, "Message-ID": message_id, "Date": formatdate(usegmt=True),
                   "List-Unsubscribe": list_unsubscribe}
        if not is_plain_address(to):
            return self._built_whole(headers, reader_value)
        own = "".join(f"{name}: {value}{CRLF}" for name, value in headers.items()).encode("ascii")
        data = b"".join((own, self._head, CRLF.encode(), self._text_head,
                         self._text.encode(reader_value), self._html_head,
                         self._html.encode(reader_value), self._tail))
        return mail.RawMessage(self.sender, (to,), data, message_id)

    def _built_whole(self, headers: dict[str, str], reader_value: str) -> EmailMessage:
        message = mail.build_message(headers.pop("To"), self.subject,
                                     self.text.replace(self.placeholder, reader_value),
                                     self.html.replace(self.placeholder, str(escape(reader_value))),
                                     headers={**self.headers, **headers})
        message.policy = HEADER_POLICY
        return message


class _QuotedPrintable:
    """A body encoded once, but for the lines holding the placeholder."""

    def __init__(self, body: str, placeholder: str, html: bool):
        self.placeholder, self.html = placeholder, html
        lines = body.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        if lines[-1] == "":  # a final line end, not an empty last line
            lines.pop()
        self.pieces: list[bytes | str] = []  # bytes: encoded already; str: a line to complete
        done: list[str] = []
        for line in lines:
            if placeholder in line:
                if done:
                    self.pieces.append(_qp(CRLF.join(done) + CRLF))
                    done = []
                self.pieces.append(line + CRLF)
            else:
                done.append(line)
        if done:
            self.pieces.append(_qp(CRLF.join(done) + CRLF))

    def encode(self, url: str) -> bytes:
        value = str(escape(url)) if self.html else url
        return b"".join(piece if isinstance(piece, bytes) else _qp(piece.replace(self.placeholder, value))
                        for piece in self.pieces)


def _qp(text: str) -> bytes:
    """Quoted-printable with CRLF line ends (b2a_qp keeps the line ends of its input)."""
    return binascii.b2a_qp(text.encode("utf-8"), istext=True)


def _fold_headers(headers: dict[str, str]) -> bytes:
    holder = EmailMessage(policy=HEADER_POLICY)
    for name, value in headers.items():
        holder[name] = value
    return b"".join(HEADER_POLICY.fold_binary(name, value) for name, value in holder.raw_items())
