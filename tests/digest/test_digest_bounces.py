"""Refusals by the mail server, unsubscribes at send time, and what the email says."""
from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select, update

from forum.database import utcnow
from forum.digest import selection, sending, services
from forum.digest.models import DigestDelivery, DigestIssue, Subscription
from forum.extensions import db
from tests.digest.helpers import busy_week, subscribe


def subscription(email: str) -> Subscription:
    found = db.session.scalar(select(Subscription).where(Subscription.email == email))
    db.session.rollback()
    return found


def delivery_of(email: str, issue_id: int | None = None) -> DigestDelivery:
    query = (select(DigestDelivery).join(Subscription, Subscription.id == DigestDelivery.subscription_id)
             .where(Subscription.email == email).order_by(DigestDelivery.id.desc()))
    if issue_id is not None:
        query = query.where(DigestDelivery.issue_id == issue_id)
    found = db.session.scalars(query).first()
    db.session.rollback()
    return found


def another_issue(week: str, label: str) -> DigestIssue:
    """An issue for another week with this week's content (the content is not what is tested)."""
    current = db.session.scalar(select(DigestIssue).where(DigestIssue.week == week))
    issue = DigestIssue(week=label, sections={**current.sections, "week": label})
    db.session.add(issue)
    db.session.commit()
    sending.add_deliveries(issue)
    return issue


def send_again(issue: DigestIssue) -> sending.Summary:
    summary = sending.Summary(week=issue.week)
    sending.send_issue(db.session.get(DigestIssue, issue.id), summary)
    return summary


def test_permanent_refusal_suppresses_the_address_at_once(mail_app, smtp_server, week):
    smtp_server.refuse("gone@example.org", "550 5.1.1 No such user here")
    with mail_app.app_context():
        busy_week()
        subscribe("reader@example.org", "gone@example.org")
        first = sending.send_week(week)
        assert (first.sent, first.bounced, first.failed, first.stopped) == (1, 1, 0, None)
        gone = subscription("gone@example.org")
        assert gone.suppressed_at is not None and "550 5.1.1 No such user" in gone.suppression_reason
        assert delivery_of("gone@example.org").status == "bounced"
        assert sending.send_week(week).sent == 0  # never retried
        later = another_issue(week, "2026-W01")
        assert {d.subscription_id for d in db.session.scalars(
            select(DigestDelivery).where(DigestDelivery.issue_id == later.id))} == {subscription("reader@example.org").id}
    assert [m["To"] for m in smtp_server.messages] == ["reader@example.org"]


def test_suppressions_are_listed_and_lifted_from_the_command_line(mail_app, smtp_server, week):
    smtp_server.refuse("gone@example.org", "550 5.1.1 No such user here")
    with mail_app.app_context():
        busy_week()
        subscribe("reader@example.org", "gone@example.org")
        sending.send_week(week)
    runner = mail_app.test_cli_runner()
    listed = runner.invoke(args=["digest", "suppressions"])
    assert listed.exit_code == 0
    assert "gone@example.org" in listed.output and "550 5.1.1" in listed.output
    assert "1 suppressed address." in listed.output and "reader@example.org" not in listed.output
    lifted = runner.invoke(args=["digest", "suppressions", "--lift", "Gone@Example.org"])
    assert lifted.exit_code == 0 and "Lifted: Gone@Example.org" in lifted.output
    with mail_app.app_context():
        assert subscription("gone@example.org").is_active
    assert "0 suppressed addresses." in runner.invoke(args=["digest", "suppressions"]).output
    unknown = runner.invoke(args=["digest", "suppressions", "--lift", "nobody@example.org"])
    assert unknown.exit_code == 1 and "nobody@example.org is not suppressed" in unknown.output
    assert "Traceback" not in unknown.output


def test_temporary_refusals_back_off_give_up_and_never_repeat_for_ever(mail_app, smtp_server, week):
    mail_app.config.update({"DIGEST_MAX_ATTEMPTS": 2, "DIGEST_SOFT_BOUNCE_LIMIT": 2})
    smtp_server.refuse("full@example.org", "450 4.2.2 Mailbox full")
    with mail_app.app_context():
        busy_week()
        subscribe("reader@example.org", "full@example.org")
        first = sending.send_week(week)
        assert (first.sent, first.failed, first.bounced) == (1, 1, 0)
        full = delivery_of("full@example.org")
        assert full.status == "failed" and "450 4.2.2" in full.error
        assert full.retry_at - utcnow() > timedelta(minutes=14)  # the backoff: 15 minutes after one try
        assert sending.send_week(week).failed == 0  # too early: not retried
        db.session.execute(update(DigestDelivery).values(retry_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        second = sending.send_week(week)
        assert (second.failed, second.gave_up) == (1, 1)
        assert delivery_of("full@example.org").retry_at - utcnow() > timedelta(minutes=29)  # doubled
        assert subscription("full@example.org").soft_bounces == 1
        assert subscription("full@example.org").suppressed_at is None  # one issue is not yet a pattern
        db.session.execute(update(DigestDelivery).values(retry_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        assert sending.send_week(week).failed == 0  # given up: no third try

        # The next issue: the same again, and the address is suppressed.
        later = another_issue(week, "2026-W02")
        send_again(later)
        db.session.execute(update(DigestDelivery).values(retry_at=utcnow() - timedelta(seconds=1)))
        db.session.commit()
        send_again(later)
        full = subscription("full@example.org")
        assert full.suppressed_at is not None and "temporary refusals in 2 issues" in full.suppression_reason
        latest = another_issue(week, "2026-W03")
        assert delivery_of("full@example.org", latest.id) is None
    assert [m["To"] for m in smtp_server.messages] == ["reader@example.org"] * 2  # this week, then W02


def test_an_accepted_digest_resets_the_soft_bounce_count(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe("back@example.org")
        db.session.execute(update(Subscription).values(soft_bounces=2))
        db.session.commit()
        sending.send_week(week)
        assert subscription("back@example.org").soft_bounces == 0


def test_unsubscribe_before_a_retry_is_honoured(mail_app, smtp_server, week):
    mail_app.config["DIGEST_RETRY_BACKOFF_SECONDS"] = 0
    with mail_app.app_context():
        busy_week()
        subscribe("leaver@example.org", "stayer@example.org")
        smtp_server.fail_next(1, code=451)  # the first message (leaver's) fails for now
        first = sending.send_week(week)
        assert (first.sent, first.failed) == (1, 1)
        services.unsubscribe(subscription("leaver@example.org"))
        second = sending.send_week(week)
        assert (second.sent, second.cancelled) == (0, 1)
        assert delivery_of("leaver@example.org").status == "cancelled"
    assert [m["To"] for m in smtp_server.messages] == ["stayer@example.org"]


def test_unsubscribe_after_the_claim_is_honoured_at_send_time(mail_app, smtp_server, week):
    with mail_app.app_context():
        busy_week()
        subscribe(*(f"r{n}@example.org" for n in range(5)))  # one batch of 10 claims them all

        def leave_during_the_run(_n):
            if len(smtp_server.messages) == 1:
                db.session.execute(update(Subscription).where(Subscription.email == "r3@example.org")
                                   .values(unsubscribed_at=utcnow()))
                db.session.commit()

        summary = sending.send_week(week, progress=leave_during_the_run)
        assert (summary.sent, summary.cancelled) == (4, 1)
    assert sorted(m["To"] for m in smtp_server.messages) == [f"r{n}@example.org" for n in (0, 1, 2, 4)]


def test_digest_text_is_plain_and_pending_papers_are_named_once(mail_app, smtp_server, week):
    from tests.factories import make_reply, make_thread, make_user
    with mail_app.app_context():
        author = make_user()
        thread = make_thread(author, title="Attention revisited",
                             body="We **doubt** arXiv:2301.12345.\n\n```python\nimport secret_code\n```\n\nAnd more.")
        make_reply(thread, make_user())
        subscribe("reader@example.org")
        sending.send_week(week)
    [message] = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "We doubt arXiv:2301.12345. And more." in text, text
    for part in (text, html):
        assert "**" not in part and "import secret_code" not in part and "```" not in part
        assert "arXiv:2301.12345 arXiv:2301.12345" not in part and "arXiv:2301.12345 (arXiv:2301.12345)" not in part
    assert "arXiv:2301.12345 (details pending)" in text
    assert re.search(r">arXiv:2301\.12345</a> <span[^>]*>details pending", html)


def test_manage_link_in_every_digest_lets_an_email_only_reader_follow_tags(mail_app, smtp_server, week):
    from forum.threads import services as threads
    from tests.factories import make_user
    with mail_app.app_context():
        author = make_user()
        threads.start_thread(author, "Sparse attention at scale", "Body.", tags=["ml"])
        subscribe("reader@example.org")
        sending.send_week(week)
    [message] = smtp_server.messages
    text = message.get_body(("plain",)).get_content()
    manage = re.search(r"Choose the tags, papers and threads you follow: https://forum\.test(\S+)", text)[1]
    assert f'href="https://forum.test{manage}"' in message.get_body(("html",)).get_content()
    client = mail_app.test_client()
    page = client.get(manage)
    assert page.status_code == 200 and b"reader@example.org" in page.data
    saved = client.post(manage, data={"tags": "ML", "papers": "arXiv:2301.12345v2", "threads": ""})
    assert saved.status_code == 302
    with mail_app.app_context():
        assert subscription("reader@example.org").follows == {"tags": ["ml"], "papers": ["2301.12345"],
                                                              "threads": []}
        week_start = selection.parse_week(week)[0]
        issue = DigestIssue(week="2026-W05", sections={**db.session.scalar(select(DigestIssue)).sections,
                                                       "week": "2026-W05", "start": week_start.isoformat()})
        db.session.add(issue)
        db.session.commit()
        sending.add_deliveries(issue)
        send_again(issue)
    personal = smtp_server.messages[-1].get_body(("plain",)).get_content()
    assert "FROM WHAT YOU FOLLOW" in personal and "Sparse attention" in personal.split("FROM WHAT YOU FOLLOW")[1]
