"""Runs that die, are stopped, or overlap: what each reports, and what requeue may put back.

A process killed outright is a real one here: the test forks, the child sends,
and the SMTP server (in the parent) kills it with SIGKILL while it waits for the
answer to a message, after the server has accepted that message.
"""
from __future__ import annotations

import os
import signal
import threading
from datetime import timedelta

from sqlalchemy import func, select, update

from forum.database import utcnow
from forum.digest import runs, sending
from forum.digest.models import DigestDelivery, DigestIssue, DigestRun
from forum.extensions import db
from tests.digest.helpers import busy_week, subscribe

READERS = [f"r{n:02d}@example.org" for n in range(25)]  # three batches of 10


def statuses() -> dict[str, int]:
    result = dict(db.session.execute(select(DigestDelivery.status, func.count())
                                     .group_by(DigestDelivery.status)).all())
    db.session.rollback()
    return result


def kill_during_the_third_message(mail_app, smtp_server, week) -> None:
    """A child process sends; the server takes its third message, then kills it with SIGKILL."""
    child_pid = []

    def kill_the_sender(envelope):
        if len(smtp_server.messages) == 2:  # this is the third; it will be recorded as received
            os.kill(child_pid[0], signal.SIGKILL)

    smtp_server.on_data = kill_the_sender
    with mail_app.app_context():
        db.engine.dispose()  # no connection shared with the child
        pid = os.fork()
        if pid == 0:  # the child: send, and never come back
            try:
                sending.send_week(week)
            finally:
                os._exit(0)
        child_pid.append(pid)
        _, status = os.waitpid(pid, 0)
    smtp_server.on_data = None
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL


def test_a_run_killed_outright_leaves_only_one_unknown_and_requeue_never_duplicates(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe(*READERS)
    kill_during_the_third_message(mail_app, smtp_server, week)
    with mail_app.app_context():
        # Each message's fate is recorded as it happens: two accepted, then the third
        # (the server has it; the dead process never heard), then seven never sent.
        assert statuses() == {"sending": 10, "pending": 15}
        stages = list(db.session.scalars(select(DigestDelivery.stage).where(DigestDelivery.status == "sending")
                                         .order_by(DigestDelivery.id)))
        assert stages == [1, 1] + [None] * 8
        unknown_id = db.session.scalar(select(DigestDelivery.message_id).where(DigestDelivery.status == "sending")
                                       .order_by(DigestDelivery.id).offset(2).limit(1))
        db.session.execute(update(DigestRun).values(heartbeat_at=utcnow() - timedelta(minutes=11)))
        db.session.commit()
    runner = mail_app.test_cli_runner()
    rest = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    assert rest.exit_code == 0, rest.output
    assert f"Digest {week}: 15 sent" in rest.output
    assert "Run #1 stopped without finishing" in rest.output
    assert "2 accepted by the mail server; 7 never sent;" in rest.output
    assert f"look for {unknown_id}" in rest.output and "interrupted by SIGTERM" not in rest.output
    requeued = runner.invoke(args=["digest", "requeue", "--week", week])
    assert requeued.exit_code == 0 and "7 deliveries put back" in requeued.output
    assert "2 booked as sent" in requeued.output and "1 left alone" in requeued.output
    last = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    assert f"Digest {week}: 7 sent" in last.output
    recipients = [m["To"] for m in smtp_server.messages]
    assert sorted(recipients) == READERS  # every reader once: the unknown one was not sent again
    with mail_app.app_context():
        assert statuses() == {"sent": 24, "sending": 1}


def test_sigterm_while_a_message_is_out_is_reported_as_sigterm(mail_app, smtp_server, week):
    main_thread = threading.main_thread().ident

    def stop_the_unit(envelope):
        if len(smtp_server.messages) == 12:  # the 13th message, in the second batch
            signal.pthread_kill(main_thread, signal.SIGTERM)  # what systemd sends, while we await the reply

    with mail_app.app_context():
        busy_week()
        subscribe(*READERS)
    smtp_server.on_data = stop_the_unit
    runner = mail_app.test_cli_runner()
    stopped = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    smtp_server.on_data = None
    assert stopped.exit_code == 1 and "Stopped before the end by SIGTERM" in stopped.output
    with mail_app.app_context():
        counts = statuses()
        # Only the message SMTP was busy with is left unsettled; the rest of its batch was put back.
        assert counts["sent"] + counts.get("sending", 0) == 13 and counts["pending"] == 12
        assert counts.get("sending", 0) <= 1
        outcome = db.session.scalar(select(DigestRun.outcome))
        db.session.rollback()
        assert outcome == "interrupted by SIGTERM"
    rest = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    assert f"Digest {week}: 12 sent" in rest.output
    assert "crash" not in rest.output and "stopped without finishing" not in rest.output
    if counts.get("sending"):
        assert "Run #1 interrupted by SIGTERM" in rest.output and "may have gone out" in rest.output
    assert sorted(m["To"] for m in smtp_server.messages) == READERS


def test_overlapping_runs_report_each_others_batches_as_running(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe(*READERS)
        issue, _ = sending.get_or_create_issue(week)
        sending.add_deliveries(issue)
        issue_id, ids = issue.id, sending.message_ids(issue)
        other = runs.start_run(issue_id)  # another process, alive: it claimed a batch and is sending it
        sending.claim_batch(issue_id, other, 5, utcnow(), ids)
    runner = mail_app.test_cli_runner()
    mine = runner.invoke(args=["digest", "send", "--week", week, "--force"])
    assert mine.exit_code == 0, mine.output
    assert f"Digest {week}: 20 sent" in mine.output
    assert f"Run #{other} is still running" in mine.output and "5 deliveries in hand" in mine.output
    assert "never reached" not in mine.output and "crash" not in mine.output
    requeued = runner.invoke(args=["digest", "requeue", "--week", week])
    assert "0 deliveries put back" in requeued.output and "5 left alone: a run is still sending them" in requeued.output
    with mail_app.app_context():
        # The other run's own report, once it has finished, does not mention this one's work.
        summary = sending.Summary(week=week)
        summary.left = runs.left_behind(issue_id, exclude_run=other)
        assert summary.left == [] and summary.interrupted == 0
    assert len(smtp_server.messages) == 20


def test_requeue_of_a_week_without_issue_says_so(mail_app):
    result = mail_app.test_cli_runner().invoke(args=["digest", "requeue", "--week", "2020-W10"])
    assert result.exit_code == 0 and "0 deliveries put back" in result.output
