"""flask digest send / preview: bad input gives a clear message, never a traceback."""
from __future__ import annotations

import pytest

from tests.digest.helpers import busy_week, subscribe


@pytest.mark.parametrize("week, message", [
    ("2026-48", "not an ISO week"),
    ("last week", "not an ISO week"),
    ("2026-W54", "has no week 54"),
    ("2021-W53", "has no week 53"),
    ("2999-W01", "has not started yet"),
])
def test_bad_week_values(mail_app, week, message):
    result = mail_app.test_cli_runner().invoke(args=["digest", "send", "--week", week, "--force"])
    assert result.exit_code == 2 and message in result.output
    assert "Traceback" not in result.output


def test_send_with_progress_and_summary_then_rerun(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe("a@example.org", "b@example.org")
    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    assert result.exit_code == 0, result.output
    assert f"Digest {week}: 2 sent, 0 failed" in result.output
    again = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    assert f"Digest {week}: 0 sent, 0 failed" in again.output
    assert len(smtp_server.messages) == 2


def test_dry_run_sends_and_writes_nothing(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe("a@example.org")
    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["digest", "send", "--week", week, "--dry-run"])
    assert result.exit_code == 0 and "dry run" in result.output and "Scaling laws" in result.output
    assert smtp_server.messages == []
    assert "No digest has been sent" in mail_app.test_client().get("/digest/archive").get_data(as_text=True)


def test_misconfigured_smtp_is_a_clear_message(mail_app, week):
    mail_app.config.update({"MAIL_PORT": 1})
    with mail_app.app_context():
        busy_week()
        subscribe("a@example.org")
    result = mail_app.test_cli_runner().invoke(args=["digest", "send", "--week", week, "--force"])
    assert result.exit_code == 1
    assert "Could not connect to the mail server 127.0.0.1:1" in result.output
    assert "Traceback" not in result.output


def test_missing_server_name_is_a_clear_message(mail_app, week):
    mail_app.config["SERVER_NAME"] = None
    result = mail_app.test_cli_runner().invoke(args=["digest", "send", "--week", week, "--force"])
    assert result.exit_code == 1 and "SERVER_NAME is not set" in result.output


def test_quiet_week_and_preview(mail_app, week):
    runner = mail_app.test_cli_runner()
    assert "no digest to send" in runner.invoke(args=["digest", "send", "--week", "2020-W10"]).output
    with mail_app.app_context():
        busy_week()
    result = runner.invoke(args=["digest", "preview", "--week", week])
    assert result.exit_code == 0 and "TOP DEBATES" in result.output and "https://forum.test/t/" in result.output


def test_sigterm_stops_the_run_and_the_next_run_sends_only_the_rest(mail_app, smtp_server, week):
    import os
    import signal

    from sqlalchemy import event, func, select

    from forum.digest.models import DigestDelivery
    from forum.extensions import db

    with mail_app.app_context():
        busy_week()
        subscribe(*(f"r{n}@example.org" for n in range(25)))  # batches of 10
        engine = db.engine
    claims = []

    def terminate_at_the_second_claim(conn, cursor, statement, *args):
        if statement.startswith("UPDATE digest_deliveries SET status") and "sending" in str(args[0]):
            claims.append(statement)
            if len(claims) == 2:
                os.kill(os.getpid(), signal.SIGTERM)  # what systemd sends to stop the unit

    event.listen(engine, "before_cursor_execute", terminate_at_the_second_claim)
    runner = mail_app.test_cli_runner()
    try:
        stopped = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    finally:
        event.remove(engine, "before_cursor_execute", terminate_at_the_second_claim)
    assert stopped.exit_code == 1 and "Stopped before the end by SIGTERM" in stopped.output
    assert "Traceback" not in stopped.output
    with mail_app.app_context():
        counts = dict(db.session.execute(select(DigestDelivery.status, func.count())
                                         .group_by(DigestDelivery.status)).all())
    assert counts == {"sent": 10, "pending": 15}  # nothing left unknown
    rest = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    assert f"Digest {week}: 15 sent" in rest.output
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(f"r{n}@example.org" for n in range(25))


def test_the_week_in_progress_is_refused_without_force(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe("a@example.org")
    runner = mail_app.test_cli_runner()
    refused = runner.invoke(args=["digest", "send", "--week", week])
    assert refused.exit_code == 2 and f"{week} is still in progress" in refused.output
    assert "--force" in refused.output and "Traceback" not in refused.output
    assert smtp_server.messages == []
    forced = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    assert forced.exit_code == 0 and f"Digest {week}: 1 sent" in forced.output
    # A finished week needs no --force (2020-W10 had no activity here).
    assert "no digest to send" in runner.invoke(args=["digest", "send", "--week", "2020-W10"]).output
