"""The email setting and ``flask notifications send``, through the real aiosmtpd server."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.notifications import emails, services
from forum.notifications.models import Notification, NotificationSettings
from tests.factories import make_reply, make_thread, make_user
from tests.notifications.conftest import refused_anonymously


def _opt_in(*users):
    for user in users:
        services.set_email_enabled(user, True)


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def _emailed(user_id):
    return db.session.scalars(select(Notification.id).where(
        Notification.user_id == user_id, Notification.emailed_at.is_not(None))).all()


def test_setting_is_off_by_default_and_can_be_turned_on_and_off(app, client, login):
    with app.app_context():
        alice = make_user()
    login(alice)
    page = client.get("/settings").get_data(as_text=True)
    assert "Email me my unread notifications" in page
    assert 'name="email" type="checkbox" value="y">' in page  # unchecked
    response = client.post("/settings/notifications", data={"email": "y"}, follow_redirects=True)
    assert "Notification emails are on" in response.get_data(as_text=True)
    assert 'checked id="email"' in client.get("/settings").get_data(as_text=True)
    with app.app_context():
        assert services.wants_email(alice.id)
    client.post("/settings/notifications", data={})
    with app.app_context():
        assert not services.wants_email(alice.id)


def test_setting_needs_login_and_a_csrf_token(app, client, login):
    with app.app_context():
        alice = make_user()
    assert refused_anonymously(client.post("/settings/notifications", data={"email": "y"}))
    login(alice)
    app.config["WTF_CSRF_ENABLED"] = True
    assert client.post("/settings/notifications", data={"email": "y"}).status_code == 400
    with app.app_context():
        assert not services.wants_email(alice.id)


def test_send_one_message_per_member_then_nothing_within_the_hour(mail_app, smtp_server):
    with mail_app.app_context():
        alice, bob = make_user(display_name="Alice"), make_user(display_name="Bob")
        carol, quiet = make_user(display_name="Carol"), make_user()
        thread = make_thread(alice, title="Do we need attention?")
        replies = [make_reply(thread, carol, f"Carol's point {n}") for n in range(3)]
        answer = make_reply(thread, bob, "Bob answers Carol", parent=replies[0])
        make_reply(make_thread(quiet), carol, "Quiet never opted in")
        _opt_in(alice, carol)
    runner = mail_app.test_cli_runner()
    result = runner.invoke(args=["notifications", "send"])
    assert result.exit_code == 0, result.output
    assert "Emailing notifications" in result.output
    assert "Notification emails: 2 sent (5 notifications), 0 failed" in result.output
    by_recipient = {m["To"]: m for m in smtp_server.messages}
    assert set(by_recipient) == {alice.email, carol.email}
    to_alice = by_recipient[alice.email]
    assert to_alice["Subject"] == "4 new notifications on Idea Exchange"
    text = _text(to_alice)
    assert text.count("Carol replied to your thread \"Do we need attention?\"") == 3
    assert "Bob replied in \"Do we need attention?\"" in text
    assert f"https://forum.test/p/{answer.id}" in text and "Bob answers Carol" in text
    assert f"https://forum.test/p/{answer.id}" in to_alice.get_body(preferencelist=("html",)).get_content()
    assert "Bob replied to your reply" in _text(by_recipient[carol.email])
    with mail_app.app_context():
        assert len(_emailed(alice.id)) == 4
        make_reply(thread, carol, "A new one, within the hour")
    again = runner.invoke(args=["notifications", "send"])
    assert "0 sent" in again.output and len(smtp_server.messages) == 2


def test_an_hour_later_only_the_new_notifications_go(mail_app, smtp_server):
    with mail_app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        make_reply(thread, bob, "Before the first email")
        _opt_in(alice)
        now = utcnow()
        assert emails.send_to(emails.due_members(now), now=now).sent == 1
        make_reply(thread, bob, "After the first email")
        soon = now + timedelta(minutes=59)
        assert emails.due_members(soon) == []
        later = now + timedelta(minutes=61)
        summary = emails.send_to(emails.due_members(later), now=later)
    assert summary.sent == 1 and summary.notifications == 1
    second = _text(smtp_server.messages[1])
    assert "After the first email" in second and "Before the first email" not in second


def test_read_notifications_are_not_emailed(mail_app, smtp_server):
    with mail_app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        make_reply(thread, bob, "Already seen")
        _opt_in(alice)
        services.mark_all_read(alice)
        assert emails.due_members() == []
    result = mail_app.test_cli_runner().invoke(args=["notifications", "send"])
    assert "0 sent" in result.output and smtp_server.messages == []


def test_a_refused_message_is_retried_next_run(mail_app, smtp_server):
    with mail_app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        make_reply(thread, bob, "Try again")
        _opt_in(alice)
    smtp_server.fail_next(1)
    runner = mail_app.test_cli_runner()
    failed = runner.invoke(args=["notifications", "send"])
    assert failed.exit_code == 1 and "Every message failed" in failed.output and "451" in failed.output
    with mail_app.app_context():
        assert _emailed(alice.id) == []
        assert db.session.get(NotificationSettings, alice.id).last_emailed_at is None
    retried = runner.invoke(args=["notifications", "send"])
    assert "1 sent (1 notifications)" in retried.output
    assert len(smtp_server.messages) == 1 and "Try again" in _text(smtp_server.messages[0])


def test_a_long_backlog_is_listed_up_to_the_limit(mail_app, smtp_server, monkeypatch):
    monkeypatch.setattr(emails, "MAX_LISTED", 2)
    with mail_app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        for n in range(5):
            make_reply(thread, bob, f"Backlog {n}")
        _opt_in(alice)
        summary = emails.send_to(emails.due_members())
        assert summary.notifications == 5 and len(_emailed(alice.id)) == 5
    text = _text(smtp_server.messages[0])
    assert "Backlog 4" in text and "Backlog 3" in text and "Backlog 2" not in text
    assert "...and 3 more: https://forum.test/notifications" in text


def test_missing_server_name_is_a_clear_message(mail_app):
    mail_app.config["SERVER_NAME"] = None
    result = mail_app.test_cli_runner().invoke(args=["notifications", "send"])
    assert result.exit_code == 1 and "SERVER_NAME is not set" in result.output
    assert "Traceback" not in result.output


def test_an_unconfirmed_address_is_never_emailed(mail_app, smtp_server):
    with mail_app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        make_reply(thread, bob, "For an unconfirmed address")
        _opt_in(alice)
        db.session.get(User, alice.id).email_confirmed_at = None
        db.session.commit()
        assert emails.due_members() == []
        assert emails.claim_for(alice.id, utcnow()) is None
    result = mail_app.test_cli_runner().invoke(args=["notifications", "send"])
    assert "0 sent" in result.output and smtp_server.messages == []
