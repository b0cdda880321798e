"""forum.mail over each backend: a real SMTP server on loopback, stdout, files."""
from __future__ import annotations

import socket
from email import message_from_bytes
from email.policy import default as default_policy

import pytest
from flask import Flask

from forum import mail
from forum.mail import MailError, build_message, send, send_many


def make_app(**config) -> Flask:
    app = Flask(__name__)
    app.config.update({"TESTING": True, "MAIL_DEFAULT_SENDER": "Forum <forum@example.org>",
                       "SERVER_NAME": "forum.example.org:8000", **config})
    return app


@pytest.fixture
def smtp_app(smtp_server):
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port)
    with app.app_context():
        yield app


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens once the probe is closed


def numbered(n: int) -> list:
    return [build_message(f"reader{i}@example.org", f"Digest {i}", f"Body {i}") for i in range(n)]


# -- build_message ------------------------------------------------------------------

def test_build_message_text_only():
    message = build_message(["a@example.org", "b@example.org"], "Hello", "Plain body",
                            headers={"Reply-To": "help@example.org"})
    assert message["To"] == "a@example.org, b@example.org"
    assert message["Reply-To"] == "help@example.org"
    assert message.get_content_type() == "text/plain"
    assert message.get_content().strip() == "Plain body"


def test_build_message_with_html_is_multipart_alternative():
    message = build_message("a@example.org", "Hello", "Plain body", html="<p>Rich body</p>")
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)).get_content().strip() == "Plain body"
    assert message.get_body(("html",)).get_content().strip() == "<p>Rich body</p>"


# -- smtp -------------------------------------------------------------------------

def test_smtp_send_delivers_and_completes_headers(smtp_app, smtp_server):
    message = build_message("reader@example.org", "Welcome", "Confirm: https://x.test/c/1",
                            html="<a href='https://x.test/c/1'>Confirm</a>")
    send(message)

    [received] = smtp_server.messages
    assert received["Subject"] == "Welcome"
    assert received["From"] == "Forum <forum@example.org>"
    assert received["Date"] is not None
    assert received["Message-ID"] == message["Message-ID"]
    assert received["Message-ID"].endswith("@forum.example.org>")
    assert received.get_body(("plain",)).get_content().strip() == "Confirm: https://x.test/c/1"
    assert smtp_server.envelopes[0].mail_from == "forum@example.org"
    assert smtp_server.envelopes[0].rcpt_tos == ["reader@example.org"]


def test_smtp_keeps_given_from_date_and_message_id(smtp_app, smtp_server):
    headers = {"From": "mod@example.org", "Date": "Mon, 02 Nov 2026 10:00:00 +0000",
               "Message-ID": "<fixed@example.org>"}
    send(build_message("reader@example.org", "Hi", "Body", headers=headers))

    [received] = smtp_server.messages
    assert received["From"] == "mod@example.org"
    assert received["Date"] == "Mon, 02 Nov 2026 10:00:00 +0000"
    assert received["Message-ID"] == "<fixed@example.org>"


def test_smtp_bcc_reaches_the_envelope_but_not_the_headers(smtp_app, smtp_server):
    send(build_message("reader@example.org", "Hi", "Body", headers={"Bcc": "hidden@example.org"}))

    assert smtp_server.envelopes[0].rcpt_tos == ["reader@example.org", "hidden@example.org"]
    assert smtp_server.messages[0]["Bcc"] is None


def test_send_many_uses_one_connection_and_reports_each(smtp_app, smtp_server):
    messages = numbered(3)

    results = list(send_many(messages))

    assert results == [(message, None) for message in messages]
    assert [m["Subject"] for m in smtp_server.messages] == ["Digest 0", "Digest 1", "Digest 2"]
    assert smtp_server.connections == 1


def test_send_many_reports_an_injected_failure_per_message(smtp_app, smtp_server):
    smtp_server.fail_next(1, code=451)

    results = list(send_many(numbered(3)))

    first_error = results[0][1]
    assert isinstance(first_error, MailError) and "451" in str(first_error)
    assert [error for _message, error in results[1:]] == [None, None]
    assert [m["Subject"] for m in smtp_server.messages] == ["Digest 1", "Digest 2"]
    assert smtp_server.connections == 1  # a refused message does not cost the connection


def test_send_raises_on_a_refused_message(smtp_app, smtp_server):
    smtp_server.fail_next(1, code=554)

    with pytest.raises(MailError, match="554"):
        send(build_message("reader@example.org", "Hi", "Body"))
    assert smtp_server.messages == []


@pytest.mark.parametrize("kind", ["built", "raw"])  # raw messages go out pipelined
@pytest.mark.parametrize("drop", ["drop_next", "fail_next_421"])
def test_send_many_reconnects_once_after_a_dropped_connection(smtp_app, smtp_server, drop, kind):
    if drop == "drop_next":
        smtp_server.drop_next(1)
    else:
        smtp_server.fail_next(1, code=421)
    messages = numbered(2) if kind == "built" else [raw(0), raw(1)]

    results = list(send_many(messages))

    assert [error for _message, error in results] == [None, None]
    assert [m["Subject"] for m in smtp_server.messages] == [m["Subject"] for m in messages]
    assert smtp_server.connections == 2


def test_a_message_dropped_twice_fails_but_the_batch_goes_on(smtp_app, smtp_server):
    smtp_server.drop_next(2)

    results = list(send_many(numbered(2)))

    assert "dropped the connection twice" in str(results[0][1])
    assert results[1][1] is None
    assert [m["Subject"] for m in smtp_server.messages] == ["Digest 1"]


def test_unreachable_server_raises_mail_error():
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port())
    with app.app_context():
        with pytest.raises(MailError, match="Could not connect to the mail server 127.0.0.1"):
            send(build_message("reader@example.org", "Hi", "Body"))


def test_unreachable_server_fails_every_message_of_a_batch():
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER="127.0.0.1", MAIL_PORT=closed_port())
    with app.app_context():
        results = list(send_many(numbered(3)))
    assert len(results) == 3
    assert all(isinstance(error, MailError) for _message, error in results)


def test_ssl_and_tls_together_is_a_configuration_error(smtp_server):
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                   MAIL_USE_SSL=True, MAIL_USE_TLS=True)
    with app.app_context():
        with pytest.raises(MailError, match="MAIL_USE_SSL and MAIL_USE_TLS"):
            send(build_message("reader@example.org", "Hi", "Body"))


def test_starttls_against_a_server_without_it_is_a_mail_error(smtp_server):
    app = make_app(MAIL_BACKEND="smtp", MAIL_SERVER=smtp_server.host, MAIL_PORT=smtp_server.port,
                   MAIL_USE_TLS=True)
    with app.app_context():
        with pytest.raises(MailError, match="does not support"):
            send(build_message("reader@example.org", "Hi", "Body"))


def raw(n: int = 0) -> mail.RawMessage:
    data = (f"From: Forum <forum@example.org>\r\nTo: reader{n}@example.org\r\nSubject: Raw {n}\r\n"
            f"Date: Mon, 02 Nov 2026 10:00:00 +0000\r\nMessage-ID: <raw{n}@example.org>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=\"utf-8\"\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n\r\nCaf=C3=A9\r\n.a line with a dot\r\n")
    return mail.RawMessage("forum@example.org", (f"reader{n}@example.org",), data.encode(), f"<raw{n}@example.org>")


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_raw_messages_go_out_as_they_are_over_one_connection(smtp_app, smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    messages = [raw(0), build_message("other@example.org", "Built", "Body"), raw(1)]

    results = list(send_many(messages))

    assert [error for _message, error in results] == [None, None, None]
    assert [m["Subject"] for m in smtp_server.messages] == ["Raw 0", "Built", "Raw 1"]
    assert smtp_server.envelopes[0].mail_from == "forum@example.org"
    assert smtp_server.envelopes[0].rcpt_tos == ["reader0@example.org"]
    assert smtp_server.envelopes[0].content == messages[0].data  # dot-stuffing undone, nothing added
    assert smtp_server.messages[0].get_content() == "Café\r\n.a line with a dot\r\n"
    assert messages[0]["Message-ID"] == "<raw0@example.org>" and messages[0]["Subject"] == "Raw 0"
    assert smtp_server.connections == 1


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_a_refused_raw_message_fails_alone(smtp_app, smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.fail_next(1, code=550)

    results = list(send_many([raw(0), raw(1)]))

    assert "550" in str(results[0][1]) and results[1][1] is None
    assert [m["Subject"] for m in smtp_server.messages] == ["Raw 1"]


@pytest.mark.parametrize("pipelining", [True, False], ids=["pipelined", "one-by-one"])
def test_a_refused_recipient_fails_its_raw_message_alone(smtp_app, smtp_server, pipelining):
    smtp_server.pipelining = pipelining
    smtp_server.refuse("reader0@example.org")

    results = list(send_many([raw(0), raw(1), raw(2)]))

    assert "refused the recipients: reader0@example.org: 550" in str(results[0][1])
    assert [error for _message, error in results[1:]] == [None, None]
    assert [m["Subject"] for m in smtp_server.messages] == ["Raw 1", "Raw 2"]
    assert smtp_server.connections == 1  # the refusal did not cost the connection


def test_dots_and_line_ends_survive_the_pipelined_path(smtp_app, smtp_server):
    body = ".leading dot\r\n..two dots\r\nmiddle . dot\r\n.\r\nno final line end"
    data = (f"From: forum@example.org\r\nTo: reader@example.org\r\nSubject: Dots\r\n"
            f"Message-ID: <dots@example.org>\r\n\r\n{body}").encode()

    results = list(send_many([mail.RawMessage("forum@example.org", ("reader@example.org",), data,
                                              "<dots@example.org>")]))

    assert results[0][1] is None
    assert smtp_server.envelopes[0].content == data + b"\r\n"  # a final line end, as smtplib adds


def test_raw_messages_on_the_file_and_console_backends(tmp_path, capsys):
    app = make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path))
    with app.app_context():
        send(raw(3))
    [written] = tmp_path.iterdir()
    assert written.read_bytes() == raw(3).data
    with make_app(MAIL_BACKEND="console").app_context():
        send(raw(4))
    out = capsys.readouterr().out
    assert "Subject: Raw 4" in out and "Café" in out  # decoded for the developer


# -- console ------------------------------------------------------------------------

def test_console_backend_prints_the_message(capsys):
    app = make_app(MAIL_BACKEND="console")
    with app.app_context():
        send(build_message("reader@example.org", "Welcome", "Confirm: https://x.test/c/1",
                           html="<p>Confirm</p>"))

    out = capsys.readouterr().out
    assert "To: reader@example.org" in out
    assert "From: Forum <forum@example.org>" in out
    assert "Subject: Welcome" in out
    assert "Message-ID: <" in out and "Date: " in out
    assert "Confirm: https://x.test/c/1" in out  # decoded, so a developer can click it
    assert "<p>Confirm</p>" in out


# -- file -----------------------------------------------------------------------------

def test_file_backend_writes_one_eml_per_message(tmp_path):
    app = make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path / "outbox"))
    with app.app_context():
        results = list(send_many(numbered(2)))

    assert [error for _message, error in results] == [None, None]
    files = sorted((tmp_path / "outbox").iterdir())
    assert len(files) == 2 and all(f.suffix == ".eml" for f in files)
    parsed = [message_from_bytes(f.read_bytes(), policy=default_policy) for f in files]
    assert sorted(m["Subject"] for m in parsed) == ["Digest 0", "Digest 1"]
    assert all(m["From"] == "Forum <forum@example.org>" and m["Message-ID"] for m in parsed)


def test_file_backend_defaults_to_the_instance_folder(tmp_path):
    app = Flask(__name__, instance_path=str(tmp_path / "instance"))
    app.config.update(MAIL_BACKEND="file", MAIL_DEFAULT_SENDER="forum@example.org")
    with app.app_context():
        send(build_message("reader@example.org", "Hi", "Body"))

    [written] = (tmp_path / "instance" / "mail").iterdir()
    received = message_from_bytes(written.read_bytes(), policy=default_policy)
    assert received["Message-ID"].endswith("@localhost>")  # no SERVER_NAME


# -- completing and refusing ------------------------------------------------------------

def test_missing_sender_everywhere_is_a_mail_error(tmp_path):
    app = make_app(MAIL_BACKEND="file", MAIL_FILE_DIR=str(tmp_path), MAIL_DEFAULT_SENDER=None)
    with app.app_context():
        with pytest.raises(MailError, match="MAIL_DEFAULT_SENDER"):
            send(build_message("reader@example.org", "Hi", "Body"))
    assert list(tmp_path.iterdir()) == []


def test_unknown_backend_is_a_mail_error():
    app = make_app(MAIL_BACKEND="pigeon")
    with app.app_context():
        with pytest.raises(MailError, match="pigeon"):
            send(build_message("reader@example.org", "Hi", "Body"))


def test_mail_is_the_only_module_importing_smtplib():
    from pathlib import Path
    package = Path(mail.__file__).parent
    importers = [p.relative_to(package).as_posix() for p in package.rglob("*.py")
                 if "import smtplib" in p.read_text(encoding="utf-8")]
    assert importers == ["mail.py"]
