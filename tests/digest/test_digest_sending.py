"""Sending the weekly digest through a real SMTP server: content, headers, exactly once."""
from __future__ import annotations

import re

from sqlalchemy import func, select, update

from forum.digest import sending
from forum.digest.models import DigestDelivery, Subscription
from forum.extensions import db
from tests.digest.helpers import busy_week, subscribe

LINK = re.compile(r'href="([^"]+)"')


def statuses() -> dict[str, int]:
    rows = db.session.execute(select(DigestDelivery.status, func.count()).group_by(DigestDelivery.status))
    result = dict(rows.all())
    db.session.rollback()
    return result


def test_email_has_both_parts_headers_and_absolute_links(mail_app, smtp_server, week):
    with mail_app.app_context():
        lively, _quiet = busy_week()
        subscribe("reader@example.org")
        summary = sending.send_week(week)
    assert summary.sent == 1 and summary.failed == 0
    [message] = smtp_server.messages
    assert message["To"] == "reader@example.org"
    assert message["From"] == "Idea Exchange <digest@forum.test>"
    assert week in message["Subject"]
    assert message["Date"] and message["Message-ID"]
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    unsubscribe_header = message["List-Unsubscribe"]
    assert "<https://forum.test/digest/unsubscribe/" in unsubscribe_header and "<mailto:" in unsubscribe_header
    raw = smtp_server.envelopes[0].content  # as sent: a plain URL, never an RFC 2047 encoded word
    assert b"\nList-Unsubscribe: <https://forum.test/digest/unsubscribe/" in raw.replace(b"\r\n", b"\n")
    assert b"=?utf-8?" not in raw
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert "Scaling laws are overrated" in part and "A quiet idea" in part
        assert f"https://forum.test/t/{lively.id}" in part
    assert all(link.startswith("https://") for link in LINK.findall(html))
    assert 'style="' in html and "<style" not in html  # inline styles only
    assert text.index("Scaling laws") < text.index("A quiet idea")  # the livelier thread first


def test_one_click_unsubscribe_by_post_without_csrf_or_login(mail_app, smtp_server, week):
    mail_app.config["WTF_CSRF_ENABLED"] = True
    with mail_app.app_context():
        busy_week()
        subscribe("leaver@example.org")
        sending.send_week(week)
    url = re.search(r"<(https://[^>]+)>", smtp_server.messages[0]["List-Unsubscribe"])[1]
    client = mail_app.test_client()
    page = client.get(url)
    assert page.status_code == 200 and b"leaver@example.org" in page.data
    with mail_app.app_context():  # a GET changes nothing
        assert db.session.scalar(select(Subscription.unsubscribed_at)) is None
    response = client.post(url, data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    with mail_app.app_context():
        assert db.session.scalar(select(Subscription.unsubscribed_at)) is not None


def test_rerun_sends_nothing_twice(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe(*(f"r{n}@example.org" for n in range(25)))
        first = sending.send_week(week)
        second = sending.send_week(week)
    assert (first.sent, second.sent) == (25, 0)
    assert first.issue_created and not second.issue_created
    assert len(smtp_server.messages) == 25
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(f"r{n}@example.org" for n in range(25))


def test_resume_after_a_run_stopped_half_way_sends_only_the_rest(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe(*(f"r{n}@example.org" for n in range(30)))
        first = sending.send_week(week, limit=13)  # the run ends (killed) after 13 messages
        assert first.sent == 13 and statuses() == {"sent": 13, "pending": 17}
        second = sending.send_week(week)
    assert second.sent == 17
    recipients = [m["To"] for m in smtp_server.messages]
    assert len(recipients) == 30 == len(set(recipients))


def test_crash_after_claiming_never_resends_the_unknown_ones(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe(*(f"r{n}@example.org" for n in range(12)))
        issue, _ = sending.get_or_create_issue(week)
        sending.add_deliveries(issue)
        from forum.database import utcnow
        sending.claim_batch(issue.id, 5, utcnow())  # claimed, then the process died mid-send
        summary = sending.send_week(week)
        assert summary.sent == 7 and summary.interrupted == 5
        assert sending.requeue_interrupted(week) == 5
        assert sending.send_week(week).sent == 5
    assert len({m["To"] for m in smtp_server.messages}) == 12


def test_smtp_failure_is_recorded_and_retried_up_to_the_limit(mail_app, smtp_server, week):
    mail_app.config["DIGEST_MAX_ATTEMPTS"] = 2
    with mail_app.app_context():
        busy_week()
        subscribe("a@example.org", "b@example.org", "c@example.org")
        smtp_server.fail_next(1, code=451)
        first = sending.send_week(week)
        assert (first.sent, first.failed) == (2, 1)
        failed = db.session.scalars(select(DigestDelivery).where(DigestDelivery.status == "failed")).one()
        assert "451" in failed.error and failed.attempts == 1
        db.session.rollback()
        smtp_server.fail_next(1, code=452)
        second = sending.send_week(week)  # retried, fails again: the limit is reached
        assert (second.sent, second.failed, second.gave_up) == (0, 1, 1)
        third = sending.send_week(week)
        assert (third.sent, third.failed) == (0, 0)
        db.session.execute(update(DigestDelivery).values(attempts=1))
        db.session.commit()
        fourth = sending.send_week(week)
    assert fourth.sent == 1
    assert len(smtp_server.messages) == 3


def test_unreachable_server_stops_the_run_after_one_batch(mail_app, smtp_server, week):
    mail_app.config["MAIL_PORT"] = 1  # nothing listens there
    with mail_app.app_context():
        busy_week()
        subscribe(*(f"r{n}@example.org" for n in range(25)))
        summary = sending.send_week(week)
        assert summary.stopped and "Could not connect" in summary.stopped
        assert summary.failed == 10 and statuses() == {"failed": 10, "pending": 15}


def test_unsubscribed_and_unconfirmed_get_nothing_and_personal_digests_filter(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe("whole@example.org")
        subscribe("tagged@example.org", follows={"tags": ["nothing-matches"], "papers": []})
        db.session.add(Subscription(email="pending@example.org", follows={}))
        left = Subscription(email="left@example.org", follows={}, confirmed_at=sending.utcnow(),
                            unsubscribed_at=sending.utcnow())
        db.session.add(left)
        db.session.commit()
        summary = sending.send_week(week)
    assert (summary.sent, summary.skipped) == (1, 1)
    assert [m["To"] for m in smtp_server.messages] == ["whole@example.org"]


def test_quiet_week_sends_nothing(mail_app, smtp_server):
    with mail_app.app_context():
        subscribe("reader@example.org")
        try:
            sending.send_week("2020-W10")
        except sending.NothingToSend:
            pass
        else:
            raise AssertionError("a quiet week must not be sent")
    assert smtp_server.messages == []
