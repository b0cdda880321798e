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


def test_smtp_failure_is_recorded_and_retried_up_to_the_limit(mail_app, smtp_server, week):
    mail_app.config.update({"DIGEST_MAX_ATTEMPTS": 2, "DIGEST_RETRY_BACKOFF_SECONDS": 0})
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
        # Our outage is not the readers' fault: nothing is charged to them.
        assert summary.failed == 0 and statuses() == {"pending": 25}
        assert set(db.session.scalars(select(DigestDelivery.attempts))) == {0}


def test_unsubscribed_and_unconfirmed_get_nothing_and_quiet_follows_get_the_global_digest(mail_app, smtp_server, week):
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
    assert summary.sent == 2
    assert sorted(m["To"] for m in smtp_server.messages) == ["tagged@example.org", "whole@example.org"]
    tagged = next(m for m in smtp_server.messages if m["To"] == "tagged@example.org")
    text = tagged.get_body(("plain",)).get_content()
    assert "Nothing was discussed this week in what you follow" in text and "Scaling laws" in text


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


def test_each_reader_gets_their_own_unsubscribe_link_and_message_id(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe("ann@example.org", "ben@example.org", "cat@example.org")
        sending.send_week(week)
        recorded = dict(db.session.execute(
            select(Subscription.email, DigestDelivery.message_id)
            .join(DigestDelivery, DigestDelivery.subscription_id == Subscription.id)).all())
    links = {}
    for message in smtp_server.messages:
        assert not message.defects and not any(part.defects for part in message.walk())
        url = re.search(r"<(https://[^>]+)>", message["List-Unsubscribe"])[1]
        assert url in message.get_body(("plain",)).get_content()
        assert f'href="{url}"' in message.get_body(("html",)).get_content()
        assert message["Message-ID"] == recorded[message["To"]]
        links[message["To"]] = url
    assert len(set(links.values())) == 3 and len(set(recorded.values())) == 3
    client = mail_app.test_client()
    client.post(links["ben@example.org"], data={"List-Unsubscribe": "One-Click"})
    with mail_app.app_context():
        left = db.session.scalars(select(Subscription.email).where(Subscription.unsubscribed_at.is_not(None)))
        assert list(left) == ["ben@example.org"]


def test_personal_digests_put_what_each_reader_follows_first(mail_app, smtp_server, week):
    from forum.threads import services as threads
    from tests.factories import make_user
    with mail_app.app_context():
        author = make_user()
        threads.start_thread(author, "Sparse attention at scale", "Body.", tags=["ml"])
        threads.start_thread(author, "Lattice QCD on a laptop", "Body.", tags=["physics"])
        subscribe("everything@example.org")
        subscribe("ml1@example.org", "ml2@example.org", follows={"tags": ["ml"], "papers": []})
        subscribe("physics@example.org", follows={"tags": ["physics"], "papers": []})
        summary = sending.send_week(week)
    assert summary.sent == 4
    texts = {m["To"]: m.get_body(("plain",)).get_content() for m in smtp_server.messages}
    assert "FROM WHAT YOU FOLLOW" not in texts["everything@example.org"]
    for email, mine, other in (("ml1@example.org", "Sparse attention", "Lattice QCD"),
                               ("ml2@example.org", "Sparse attention", "Lattice QCD"),
                               ("physics@example.org", "Lattice QCD", "Sparse attention")):
        followed, rest = texts[email].split("FROM WHAT YOU FOLLOW")[1].split("NEW DEBATES")
        assert mine in followed and other not in followed and other in rest


def test_a_run_broken_half_way_puts_back_what_it_never_handed_to_smtp(mail_app, smtp_server, week):
    handed = []

    def break_after_three(n):
        handed.append(n)
        if len(handed) == 3:
            raise KeyboardInterrupt  # Ctrl-C, or anything else that stops the run

    with mail_app.app_context():
        busy_week()
        subscribe(*(f"r{n}@example.org" for n in range(25)))
        try:
            sending.send_week(week, progress=break_after_three)
        except KeyboardInterrupt:
            pass
        assert statuses() == {"sent": 3, "pending": 22}  # none left unknown in "sending"
        attempts = set(db.session.scalars(select(DigestDelivery.attempts)
                                          .where(DigestDelivery.status == "pending")))
        assert attempts == {0}
        db.session.rollback()
        second = sending.send_week(week)
    assert (second.sent, second.interrupted) == (22, 0)
    assert sorted(m["To"] for m in smtp_server.messages) == sorted(f"r{n}@example.org" for n in range(25))


def test_bookkeeping_costs_the_same_statements_per_batch_whatever_its_size(mail_app, smtp_server, week):
    from sqlalchemy import delete, event

    from forum.digest.models import DigestIssue, DigestRun

    def statements_for(subscribers: int) -> int:
        """SQL statements to send one batch of ``subscribers`` messages, a fresh issue each time."""
        db.session.execute(delete(DigestDelivery))
        db.session.execute(delete(DigestRun))
        db.session.execute(delete(DigestIssue))
        db.session.execute(update(Subscription).values(unsubscribed_at=sending.utcnow()))
        db.session.commit()
        subscribe(*(f"b{subscribers}-{n}@example.org" for n in range(subscribers)))
        mail_app.config["DIGEST_BATCH_SIZE"] = subscribers
        issue, _ = sending.get_or_create_issue(week)
        sending.add_deliveries(issue)
        seen, summary = [], sending.Summary(week=week)
        record = lambda *args: seen.append(args[2])  # noqa: E731
        event.listen(db.engine, "before_cursor_execute", record)
        try:
            sending.send_issue(issue, summary)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert summary.sent == subscribers
        return len(seen)

    with mail_app.app_context():
        busy_week()
        small, large = statements_for(4), statements_for(40)
    # Claims and outcomes are bulk UPDATEs, not one per message. (The two per-message
    # records, "handed" and "sent", go through the run's own DB-API connection: see
    # test_digest_runs.py for what they guarantee.)
    assert small == large
