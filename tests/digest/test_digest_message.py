"""The digest's pre-serialised MIME message: valid, and each reader's own."""
from __future__ import annotations

import re
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy

import pytest

from forum import mail
from forum.digest.message import DigestTemplate, is_plain_address

PLACEHOLDER = "__LINK__"
HEADERS = {"From": "Idea Exchange <digest@forum.test>", "List-Id": "Weekly digest <digest.forum.test>",
           "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
TEXT = ("Idea Exchange weekly digest, 2026-W48\n"
        "1. Café théorie: is scale all you need? \N{LINE SEPARATOR} still one line\n"
        "   " + "A long line of excerpt " * 12 + "\n"
        "=3D and a line that starts\n.with a dot, trailing space \n"
        f"Unsubscribe with one click: {PLACEHOLDER}\n")
HTML = ('<!doctype html><html><body style="margin:0">'
        '<p style="color:#5f5f5a">Caf\u00e9 th\u00e9orie \N{SMILING FACE WITH SMILING EYES}</p>\n'
        + "<p>" + "Lots of inline styled text " * 20 + "</p>\n"
        + f'<p>Footer <a href="{PLACEHOLDER}" style="color:#5f5f5a">Unsubscribe</a> · more</p>\n</body></html>')


def template(subject: str = "Idea Exchange weekly digest, 2026-W48") -> DigestTemplate:
    return DigestTemplate(subject, TEXT, HTML, HEADERS, PLACEHOLDER)


def addressed(digest: DigestTemplate, n: int) -> mail.RawMessage:
    link = f"https://forum.test/digest/unsubscribe/token-{n}.x_y-Z"
    return digest.message(f"reader{n}@example.org", f"<digest.{n}@forum.test>", link,
                          f"<{link}>, <mailto:digest@forum.test?subject=unsubscribe%20secret{n}>")


def parse(raw: mail.RawMessage) -> EmailMessage:
    return message_from_bytes(raw.data, policy=default_policy)


def test_each_reader_gets_their_own_headers_and_links_in_valid_mime():
    digest = template()
    for n in range(3):
        raw = addressed(digest, n)
        link = f"https://forum.test/digest/unsubscribe/token-{n}.x_y-Z"
        message = parse(raw)
        assert not message.defects
        assert all(not part.defects for part in message.walk())
        assert (raw.sender, raw.recipients, raw.message_id) == ("digest@forum.test", (f"reader{n}@example.org",),
                                                                 f"<digest.{n}@forum.test>")
        assert message["To"] == f"reader{n}@example.org"
        assert message["Message-ID"] == f"<digest.{n}@forum.test>"
        assert message["From"] == "Idea Exchange <digest@forum.test>"
        assert message["Subject"] == "Idea Exchange weekly digest, 2026-W48"
        assert message["Date"].datetime is not None
        assert message["List-Unsubscribe"] == f"<{link}>, <mailto:digest@forum.test?subject=unsubscribe%20secret{n}>"
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert message.get_content_type() == "multipart/alternative"
        # Decoded, the parts are exactly the rendered bodies with this reader's link
        # (lines end in CRLF on the wire, MIME's canonical form for text).
        text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
        html = message.get_body(("html",)).get_content().replace("\r\n", "\n")
        assert text == TEXT.replace(PLACEHOLDER, link)
        assert html == HTML.replace(PLACEHOLDER, link) + "\n"
        assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]
        assert all(p["Content-Transfer-Encoding"] == "quoted-printable" for p in message.iter_parts())


def test_bytes_keep_smtp_line_rules():
    raw = addressed(template(), 7)
    assert b"\n" not in raw.data.replace(b"\r\n", b"")  # CRLF only, no bare LF or CR
    assert b"\r" not in raw.data.replace(b"\r\n", b"")
    lines = raw.data.split(b"\r\n")
    assert max(len(line) for line in lines) <= 998
    assert raw.data.isascii()  # 7bit: non-ASCII text is quoted-printable, UTF-8
    head, _, body = raw.data.partition(b"\r\n\r\n")
    boundary = re.search(rb'boundary="([^"]+)"', head)[1]
    body_lines = [line for line in body.split(b"\r\n") if not line.startswith(b"--" + boundary)]
    assert all(len(line) <= 76 for line in body_lines)  # quoted-printable's limit (RFC 2045)
    assert body.count(b"--" + boundary) == 3  # two parts and the close, nothing in a body
    assert b"\nList-Unsubscribe: <https://forum.test/digest/unsubscribe/token-7" in raw.data.replace(b"\r", b"")


def test_non_ascii_subject_and_sender_name_are_encoded_once():
    digest = DigestTemplate("Échanges d'idées, semaine 48", TEXT, HTML,
                            {**HEADERS, "From": "Échanges <digest@forum.test>"}, PLACEHOLDER)
    raw = addressed(digest, 1)
    assert raw.data.isascii()
    message = parse(raw)
    assert message["Subject"] == "Échanges d'idées, semaine 48"
    assert message["From"] == "Échanges <digest@forum.test>"
    assert raw.sender == "digest@forum.test"


@pytest.mark.parametrize("address, plain", [
    ("reader@example.org", True),
    ("first.last+digest@sub.example.org", True),
    ("o'brien@example.org", True),
    ("Reader <reader@example.org>", False),
    ("reader@example.org\r\nBcc: victim@example.org", False),
    ('"two words"@example.org', False),
    ("josé@example.org", False),
    ("reader@exämple.org", False),
    ("reader@", False),
])
def test_only_plain_addresses_are_written_verbatim(address, plain):
    assert is_plain_address(address) is plain


def test_other_addresses_get_a_message_built_by_the_email_package():
    link = "https://forum.test/digest/unsubscribe/abc"
    message = template().message("Reader Name <reader@example.org>", "<digest.9@forum.test>", link,
                                 f"<{link}>, <mailto:digest@forum.test?subject=unsubscribe%20s>")
    assert isinstance(message, EmailMessage)
    parsed = message_from_bytes(message.as_bytes(), policy=default_policy)
    assert parsed["To"] == "Reader Name <reader@example.org>"
    assert parsed["Message-ID"] == "<digest.9@forum.test>"
    assert parsed["List-Unsubscribe"].startswith(f"<{link}>")
    assert parsed.get_body(("plain",)).get_content().replace("\r\n", "\n") == TEXT.replace(PLACEHOLDER, link)
    assert f'href="{link}"' in parsed.get_body(("html",)).get_content()


def test_a_link_is_html_escaped_in_the_html_part_only():
    link = "https://forum.test/u?a=1&b=2"
    raw = template().message("r@example.org", "<m@forum.test>", link, f"<{link}>")
    message = parse(raw)
    assert f"one click: {link}" in message.get_body(("plain",)).get_content()
    assert 'href="https://forum.test/u?a=1&amp;b=2"' in message.get_body(("html",)).get_content()
