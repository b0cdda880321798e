"""Moderators acting through the members' own edit and delete pages are logged; banned and
unconfirmed members are refused on the server and shown why instead of buttons that 403."""
from __future__ import annotations

from sqlalchemy import select

from forum.accounts.models import User
from forum.extensions import db
from forum.moderation import services as moderation
from forum.moderation.models import ModAction
from forum.threads.models import Authored, Post, Thread
from tests.factories import make_reply, make_thread, make_user
from tests.moderation.conftest import make_staff


def _world(app):
    with app.app_context():
        author = make_user(username="author")
        moderator = make_staff(username="moderator")
        thread = make_thread(author, title="The author's debate", body="Original body.")
        reply = make_reply(thread, author, "Original reply.")
    return author, moderator, thread, reply


def _actions(app) -> list[tuple]:
    with app.app_context():
        return [(row.action, row.moderator_id, row.thread_id, row.post_id, row.reason)
                for row in db.session.scalars(select(ModAction).order_by(ModAction.id))]


def test_a_moderator_editing_a_reply_gives_a_reason_that_is_logged(app, as_user):
    author, moderator, thread, reply = _world(app)
    client = as_user(moderator)
    form = client.get(f"/p/{reply.id}/edit").get_data(as_text=True)
    assert "Reason for this moderator edit" in form
    refused = client.post(f"/p/{reply.id}/edit", data={"body": "Cleaned up."})
    assert refused.status_code == 422
    assert "Give a reason" in refused.get_data(as_text=True)
    assert "Cleaned up." in refused.get_data(as_text=True)  # what was typed stays
    assert _actions(app) == []
    done = client.post(f"/p/{reply.id}/edit", data={"body": "Cleaned up.",
                                                   "reason": "Removed a phone number"})
    assert "#p" in done.headers["Location"]
    assert _actions(app) == [("edit", moderator.id, None, reply.id, "Removed a phone number")]
    with app.app_context():
        assert db.session.get(Post, reply.id).body == "Cleaned up."
    history = client.get(f"/p/{reply.id}/history").get_data(as_text=True)
    assert "edited by a moderator" in history


def test_a_moderator_editing_a_thread_is_logged_and_shown_in_its_history(app, as_user):
    author, moderator, thread, reply = _world(app)
    response = as_user(moderator).post(f"/t/{thread.id}/edit", data={
        "title": "The author's debate", "body": "Moderated body.", "reason": "Off-topic rant"})
    assert response.headers["Location"].startswith(f"/t/{thread.id}/")
    assert _actions(app) == [("edit", moderator.id, thread.id, None, "Off-topic rant")]
    page = app.test_client().get(f"/t/{thread.id}/history").get_data(as_text=True)
    assert "edited by a moderator" in page


def test_the_author_editing_needs_no_reason_and_is_not_credited_to_a_moderator(app, as_user):
    author, moderator, thread, reply = _world(app)
    client = as_user(author)
    assert "Reason for this moderator edit" not in client.get(f"/p/{reply.id}/edit").get_data(
        as_text=True)
    client.post(f"/p/{reply.id}/edit", data={"body": "My own fix."})
    assert _actions(app) == []
    assert "edited by a moderator" not in client.get(f"/p/{reply.id}/history").get_data(
        as_text=True)
    with app.app_context():
        assert db.session.get(Post, reply.id).body == "My own fix."


def test_a_moderator_deleting_a_reply_from_the_thread_page_is_logged(app, as_user):
    author, moderator, thread, reply = _world(app)
    client = as_user(moderator)
    page = client.get(f"/t/{thread.id}/x", follow_redirects=True).get_data(as_text=True)
    assert 'placeholder="Reason (audit log)"' in page
    refused = client.post(f"/p/{reply.id}/delete", data={"reason": ""})
    assert refused.status_code == 422
    with app.app_context():
        assert not db.session.get(Post, reply.id).is_deleted
    client.post(f"/p/{reply.id}/delete", data={"reason": "Spam link"})
    client.post(f"/t/{thread.id}/delete", data={"reason": "Duplicate thread"})
    assert _actions(app) == [("delete", moderator.id, None, reply.id, "Spam link"),
                             ("delete", moderator.id, thread.id, None, "Duplicate thread")]
    with app.app_context():
        assert db.session.get(Post, reply.id).is_deleted
        assert db.session.get(Thread, thread.id).is_deleted


def test_the_author_deleting_is_not_logged(app, as_user):
    author, moderator, thread, reply = _world(app)
    as_user(author).post(f"/p/{reply.id}/delete")
    assert _actions(app) == []
    with app.app_context():
        assert db.session.get(Post, reply.id).is_deleted


def _ban(app, user, moderator):
    with app.app_context():
        moderation.ban(db.session.get(User, moderator.id), db.session.get(User, user.id),
                       "Spam links in every reply")


def test_a_banned_member_cannot_edit_or_delete_their_own_posts(app, as_user):
    author, moderator, thread, reply = _world(app)
    _ban(app, author, moderator)
    client = as_user(author)
    for url, data in ((f"/p/{reply.id}/delete", {}), (f"/t/{thread.id}/delete", {}),
                      (f"/p/{reply.id}/edit", {"body": "Vandalised."}),
                      (f"/t/{thread.id}/edit", {"title": "Vandalised title", "body": "x"})):
        response = client.post(url, data=data)
        assert response.status_code == 403, url
        assert "Spam links in every reply" in response.get_data(as_text=True)
    with app.app_context():
        post, row = db.session.get(Post, reply.id), db.session.get(Thread, thread.id)
        assert not post.is_deleted and post.body == "Original reply."
        assert not row.is_deleted and row.body == "Original body."


def test_a_banned_member_sees_why_instead_of_buttons(app, as_user):
    author, moderator, thread, reply = _world(app)
    _ban(app, author, moderator)
    page = as_user(author).get(f"/t/{thread.id}/x", follow_redirects=True).get_data(as_text=True)
    assert "Your account is banned" in page and "Spam links in every reply" in page
    assert "New thread" not in page
    assert f"/p/{reply.id}/edit" not in page and f"/t/{thread.id}/edit" not in page
    assert f'/t/{thread.id}/reply' not in page
    assert "Delete" not in page


def test_an_unconfirmed_member_sees_why_and_a_resend_button_instead_of_buttons(app, as_user):
    with app.app_context():
        author = make_user(username="author")
        thread = make_thread(author)
        newcomer = make_user(username="newcomer", confirmed=False)
    page = as_user(newcomer).get(f"/t/{thread.id}/x", follow_redirects=True).get_data(as_text=True)
    assert "New thread" not in page and f"/t/{thread.id}/reply" not in page
    assert "Confirm your email address to post and reply" in page
    assert page.count('action="/auth/confirm/resend"') >= 1


def test_a_confirmed_member_still_sees_the_buttons(app, as_user):
    author, moderator, thread, reply = _world(app)
    page = as_user(author).get(f"/t/{thread.id}/x", follow_redirects=True).get_data(as_text=True)
    assert "New thread" in page and f"/p/{reply.id}/edit" in page
    assert 'placeholder="Reason (audit log)"' not in page  # the author needs no reason


def test_threads_and_replies_share_one_set_of_predicates():
    for name in ("can_be_edited_by", "can_be_deleted_by", "can_be_voted_on_by",
                 "can_show_history_to", "needs_reason_from"):
        assert getattr(Thread, name) is getattr(Authored, name) is getattr(Post, name)
