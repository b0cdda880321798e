"""Bans: with a reason and an optional end; the member reads but cannot take part, and is told why."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from forum.accounts.models import User
from forum.database import utcnow
from forum.extensions import db
from forum.moderation import services
from forum.moderation.models import ModAction, Report
from forum.threads.models import Post, Thread, Vote
from tests.factories import make_reply, make_thread, make_user
from tests.moderation.conftest import make_staff


def _ban(user, reason="Repeated spam", until=None):
    row = db.session.get(User, user.id)
    row.banned, row.ban_reason, row.banned_until = True, reason, until
    db.session.commit()


def test_ban_through_the_member_page_and_what_the_member_sees(app, client, login, as_user):
    with app.app_context():
        moderator, member, author = make_staff(), make_user(), make_user()
        thread = make_thread(author, title="A thread to reply to")
        post = make_reply(thread, author, "A reply to vote on")
    response = as_user(moderator).post(f"/moderation/users/{member.id}/ban",
                                       data={"reason": "Posting spam links", "until": "2099-01-02"})
    assert response.headers["Location"] == f"/moderation/users/{member.id}"
    assert login(member).headers["Location"] == "/"  # still logs in
    assert client.get(f"/t/{thread.id}/{thread.slug}").status_code == 200  # and reads
    refused = [
        client.post("/t/new", data={"title": "My new thread", "body": "Spam"}),
        client.post(f"/t/{thread.id}/reply", data={"body": "My precious reply text"}),
        client.post(f"/p/{post.id}/vote", data={"value": "up"}),
        client.post(f"/report/post/{post.id}", data={"reason": "Reporting while banned"}),
        client.get("/t/new"),
    ]
    for response in refused:
        text = response.get_data(as_text=True)
        assert response.status_code == 403
        assert "Posting spam links" in text and "2099-01-02 00:00 UTC" in text
    assert "My precious reply text" in refused[1].get_data(as_text=True)  # what they typed is kept
    as_json = client.post(f"/p/{post.id}/vote", data={"value": "up"},
                          headers={"Accept": "application/json"})
    assert as_json.status_code == 403 and "Posting spam links" in as_json.get_json()["error"]
    with app.app_context():
        assert db.session.scalar(select(func.count(Vote.id))) == 0
        assert db.session.scalar(select(func.count(Report.id))) == 0
        assert db.session.scalar(select(func.count(Post.id))) == 1
        action = db.session.scalar(select(ModAction))
        assert (action.action, action.user_id, action.reason) == ("ban", member.id, "Posting spam links")
        assert "2099-01-02" in action.detail


def test_services_refuse_a_banned_member_too(app):
    with app.app_context():
        member, author = make_user(), make_user()
        thread = make_thread(author)
        _ban(member)
        from forum.moderation.policy import Banned
        from forum.threads import services as threads
        user = db.session.get(User, member.id)
        with pytest.raises(Banned, match="Repeated spam"):
            threads.start_thread(user, "A title here", "Body")
        with pytest.raises(Banned):
            threads.reply(db.session.get(Thread, thread.id), user, "Body")


def test_a_ban_ends_by_itself_at_its_end_date(app, client, login):
    with app.app_context():
        member, author = make_user(), make_user()
        thread = make_thread(author)
        _ban(member, until=utcnow() + timedelta(hours=1))
    login(member)
    assert client.post(f"/t/{thread.id}/reply", data={"body": "Too early"}).status_code == 403
    with app.app_context():
        db.session.get(User, member.id).banned_until = utcnow() - timedelta(seconds=1)
        db.session.commit()
    assert "Location" in client.post(f"/t/{thread.id}/reply", data={"body": "Back again"}).headers


def test_unban(app, client, login, as_user):
    with app.app_context():
        moderator, member, author = make_staff(), make_user(), make_user()
        thread = make_thread(author)
        _ban(member)
    as_user(moderator).post(f"/moderation/users/{member.id}/unban", data={"reason": "Apologised"})
    login(member)
    assert "Location" in client.post(f"/t/{thread.id}/reply", data={"body": "Thanks"}).headers
    again = as_user(moderator).post(f"/moderation/users/{member.id}/unban", data={})
    assert again.status_code == 409


@pytest.mark.parametrize("actor_role, target_role, message", [
    ("moderator", "self", "cannot ban yourself"),
    ("admin", "self", "cannot ban yourself"),
    ("moderator", "admin", "Admins cannot be banned"),
    ("moderator", "moderator", "Only an admin can ban a moderator"),
])
def test_who_cannot_be_banned(app, as_user, actor_role, target_role, message):
    with app.app_context():
        actor = make_staff(actor_role)
        target = actor if target_role == "self" else make_staff(target_role)
    response = as_user(actor).post(f"/moderation/users/{target.id}/ban",
                                   data={"reason": "Because I can", "until": ""})
    assert response.status_code == 403 and message in response.get_data(as_text=True)
    with app.app_context():
        assert not db.session.get(User, target.id).banned
        assert db.session.scalar(select(func.count(ModAction.id))) == 0


def test_an_admin_may_ban_a_moderator(app, as_user):
    with app.app_context():
        admin, moderator = make_staff("admin"), make_staff("moderator")
    as_user(admin).post(f"/moderation/users/{moderator.id}/ban", data={"reason": "Abused powers"})
    with app.app_context():
        assert db.session.get(User, moderator.id).is_banned
    assert as_user(moderator).get("/moderation").status_code == 403  # no moderating while banned


@pytest.mark.parametrize("until, message", [
    ("2001-01-01", "in the past"),
    ("next tuesday", "is not a date"),
    ("2026-13-45", "is not a date"),
])
def test_bad_end_dates_are_422_and_keep_the_reason(app, as_user, until, message):
    with app.app_context():
        moderator, member = make_staff(), make_user()
    response = as_user(moderator).post(f"/moderation/users/{member.id}/ban",
                                       data={"reason": "A reason worth keeping", "until": until})
    text = response.get_data(as_text=True)
    assert response.status_code == 422 and message in text and "A reason worth keeping" in text
    with app.app_context():
        assert not db.session.get(User, member.id).banned


def test_ban_needs_a_reason(app, as_user):
    with app.app_context():
        moderator, member = make_staff(), make_user()
    response = as_user(moderator).post(f"/moderation/users/{member.id}/ban", data={"reason": ""})
    assert response.status_code == 422
    with app.app_context():
        assert not db.session.get(User, member.id).banned


def test_ban_of_a_missing_member_is_404(app, as_user):
    with app.app_context():
        moderator = make_staff()
    assert as_user(moderator).post("/moderation/users/999/ban", data={"reason": "Spam spam"}).status_code == 404


def test_parse_ban_end_accepts_dates_and_times():
    assert services.parse_ban_end("") is None
    assert services.parse_ban_end("2030-05-06").isoformat() == "2030-05-06T00:00:00+00:00"
    assert services.parse_ban_end(" 2030-05-06 18:30 ").isoformat() == "2030-05-06T18:30:00+00:00"
    assert services.parse_ban_end("2030-05-06T18:30").hour == 18


@pytest.mark.parametrize("length, days", [("1d", 1), ("1w", 7), ("1m", 30)])
def test_ban_length_presets(app, as_user, length, days):
    from datetime import timedelta

    from forum.database import utcnow
    with app.app_context():
        moderator, member = make_user(role="moderator"), make_user()
    as_user(moderator).post(f"/moderation/users/{member.id}/ban",
                            data={"reason": "Posting spam links", "length": length, "until": ""})
    with app.app_context():
        banned = db.session.get(User, member.id)
        assert banned.is_banned
        assert abs(banned.banned_until - (utcnow() + timedelta(days=days))) < timedelta(minutes=5)


def test_a_permanent_ban_and_a_dated_one(app, as_user):
    with app.app_context():
        moderator, one, two = make_user(role="moderator"), make_user(), make_user()
    as_user(moderator).post(f"/moderation/users/{one.id}/ban",
                            data={"reason": "Posting spam links", "length": "permanent", "until": "2099-01-01"})
    missing = as_user(moderator).post(f"/moderation/users/{two.id}/ban",
                                      data={"reason": "Posting spam links", "length": "date", "until": ""})
    assert missing.status_code == 422 and "end date" in missing.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(User, one.id).banned_until is None
        assert not db.session.get(User, two.id).is_banned
