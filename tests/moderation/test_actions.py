"""Moderators hide, delete, lock and pin; every action is in the audit log."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from forum.accounts.models import User
from forum.extensions import db
from forum.moderation import services
from forum.moderation.models import ModAction
from forum.search.services import search
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user
from tests.moderation.conftest import make_staff


def _found(app, text):
    with app.test_request_context():
        return {k for r in search(text).results for k in r.group.keys}


def _thread_page(client, thread):
    return client.get(f"/t/{thread.id}/{thread.slug}")


def test_hidden_reply_is_seen_by_moderators_and_its_author_only(app, client, as_user):
    with app.app_context():
        author, reader = make_user(), make_user()
        moderator = make_staff()
        thread = make_thread(make_user(), title="A debate with a bad reply")
        post = make_reply(thread, author, "Quokkaish insults everywhere")
        assert _found(app, "quokkaish") == {f"post:{post.id}"}
    response = as_user(moderator).post(f"/moderation/post/{post.id}/hide",
                                       data={"reason": "Insults"})
    assert response.headers["Location"] == f"/moderation/post/{post.id}"
    for viewer, sees in ((None, False), (reader, False), (author, True), (moderator, True)):
        page = _thread_page(as_user(viewer) if viewer else client, thread).get_data(as_text=True)
        assert ("Quokkaish insults" in page) is sees
        if sees:
            assert "hidden by a moderator" in page
    assert as_user(reader).get(f"/p/{post.id}").status_code == 404
    with app.app_context():
        assert db.session.get(Thread, thread.id).reply_count == 0
        assert _found(app, "quokkaish") == set()
        action = db.session.scalar(select(ModAction))
        assert (action.action, action.post_id, action.user_id, action.reason,
                action.moderator_id) == ("hide", post.id, author.id, "Insults", moderator.id)
    as_user(moderator).post(f"/moderation/post/{post.id}/unhide", data={})
    assert "Quokkaish insults" in _thread_page(client, thread).get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Thread, thread.id).reply_count == 1
        assert _found(app, "quokkaish") == {f"post:{post.id}"}


def test_a_hidden_reply_with_public_answers_stays_as_a_placeholder(app, client):
    with app.app_context():
        moderator, author, other = make_staff(), make_user(), make_user()
        thread = make_thread(author)
        bad = make_reply(thread, author, "Walrusy rudeness")
        make_reply(thread, other, "A fine answer below it", parent=bad)
        services.act_on(db.session.get(User, moderator.id), db.session.get(Post, bad.id), "hide")
    page = _thread_page(client, thread).get_data(as_text=True)
    assert "Walrusy rudeness" not in page and "A fine answer below it" in page
    assert "[not public" in page and "1 reply" in page


def test_hidden_thread_leaves_lists_and_search(app, client, as_user):
    with app.app_context():
        moderator, author = make_staff(), make_user()
        thread = make_thread(author, title="Narwhalian conspiracy theories")
    assert "Narwhalian" in client.get("/?tab=new").get_data(as_text=True)
    as_user(moderator).post(f"/moderation/thread/{thread.id}/hide", data={"reason": "Conspiracy"})
    assert "Narwhalian" not in client.get("/?tab=new").get_data(as_text=True)
    assert _thread_page(client, thread).status_code == 404
    assert _thread_page(as_user(author), thread).status_code == 200
    assert "Narwhalian" not in client.get(f"/u/{author.username}").get_data(as_text=True)
    assert _found(app, "narwhalian") == set()


def test_moderator_delete_is_the_soft_delete(app, client, as_user):
    with app.app_context():
        moderator, author = make_staff(), make_user()
        thread = make_thread(author)
        post = make_reply(thread, author, "Delete me please")
    as_user(moderator).post(f"/moderation/post/{post.id}/delete", data={"reason": "Doxxing"})
    page = _thread_page(client, thread).get_data(as_text=True)
    assert "Delete me please" not in page and "[deleted]" in page
    again = as_user(moderator).post(f"/moderation/post/{post.id}/delete", data={})
    assert again.status_code == 410
    with app.app_context():
        assert db.session.get(Post, post.id).is_deleted
        assert db.session.get(Thread, thread.id).reply_count == 0
        assert db.session.scalar(select(ModAction.reason).where(ModAction.action == "delete")) == "Doxxing"


def test_locked_thread_refuses_replies_until_unlocked(app, client, login, as_user):
    with app.app_context():
        moderator, author, member = make_staff(), make_user(), make_user()
        thread = make_thread(author)
    as_user(moderator).post(f"/moderation/thread/{thread.id}/lock", data={"reason": "Flame war"})
    login(member)
    refused = client.post(f"/t/{thread.id}/reply", data={"body": "One more word"})
    assert refused.status_code == 403 and "locked" in refused.get_data(as_text=True)
    assert "One more word" in refused.get_data(as_text=True)
    as_user(moderator).post(f"/moderation/thread/{thread.id}/unlock", data={})
    assert "Location" in client.post(f"/t/{thread.id}/reply", data={"body": "One more word"}).headers
    with app.app_context():
        actions = db.session.scalars(select(ModAction.action).order_by(ModAction.id)).all()
        assert actions == ["lock", "unlock"]


def test_pinned_thread_comes_first_on_the_front_page(app, client, as_user):
    with app.app_context():
        moderator, author = make_staff(), make_user()
        old = make_thread(author, title="Old announcement thread")
        make_thread(author, title="Newer ordinary thread")
    before = client.get("/?tab=new").get_data(as_text=True)
    assert before.index("Newer ordinary") < before.index("Old announcement")
    as_user(moderator).post(f"/moderation/thread/{old.id}/pin", data={})
    after = client.get("/?tab=new").get_data(as_text=True)
    assert after.index("Old announcement") < after.index("Newer ordinary")
    again = as_user(moderator).post(f"/moderation/thread/{old.id}/pin", data={})
    assert again.status_code == 409 and "already pinned" in again.get_data(as_text=True)


@pytest.mark.parametrize("url, status", [
    ("/moderation/thread/999/hide", 404),
    ("/moderation/post/999/hide", 404),
    ("/moderation/thread/{thread}/explode", 404),
    ("/moderation/post/{post}/pin", 404),  # replies are not pinned
    ("/moderation/post/{post}/approve", 409),  # not held
])
def test_bad_action_requests_are_4xx(app, as_user, url, status):
    with app.app_context():
        moderator, author = make_staff(), make_user()
        thread = make_thread(author)
        post = make_reply(thread, author, "Some reply")
    response = as_user(moderator).post(url.format(thread=thread.id, post=post.id), data={})
    assert response.status_code == status
    with app.app_context():
        assert db.session.scalar(select(func.count(ModAction.id))) == 0


def test_too_long_reason_is_422_and_nothing_changes(app, as_user):
    with app.app_context():
        moderator, author = make_staff(), make_user()
        thread = make_thread(author)
    response = as_user(moderator).post(f"/moderation/thread/{thread.id}/lock", data={"reason": "x" * 1001})
    assert response.status_code == 422
    with app.app_context():
        assert not db.session.get(Thread, thread.id).locked


def test_audit_log_shows_who_what_why_and_paginates(app, as_user):
    with app.app_context():
        moderator, author = make_staff(username="judge"), make_user()
        thread = make_thread(author, title="Often moderated thread")
        mod = db.session.get(User, moderator.id)
        for n in range(16):
            services.act_on(mod, db.session.get(Thread, thread.id), "lock" if n % 2 == 0 else "unlock",
                            f"reason number {n}")
            services.act_on(mod, db.session.get(Thread, thread.id), "pin" if n % 2 == 0 else "unpin")
    client = as_user(moderator)
    first = client.get("/moderation/log").get_data(as_text=True)
    assert "reason number 15" in first and "@judge" in first and "Often moderated thread" in first
    assert "reason number 0" not in first and "Page 1 of 2" in first
    second = client.get("/moderation/log?page=2").get_data(as_text=True)
    assert "reason number 0" in second


def test_moderation_pages_of_a_thread_a_reply_and_a_member(app, as_user):
    with app.app_context():
        moderator, author, reporter = make_staff(), make_user(), make_user()
        newcomer = make_user(new_member=True, username="newbie")
        thread = make_thread(author, title="Thread under review")
        post = make_reply(thread, newcomer, "Held words under review")
        services.report(reporter, db.session.get(Thread, thread.id), "Looks like an advert")
        services.act_on(db.session.get(User, moderator.id), db.session.get(Thread, thread.id),
                        "lock", "Cooling off")
    client = as_user(moderator)
    thread_page = client.get(f"/moderation/thread/{thread.id}").get_data(as_text=True)
    assert "Thread under review" in thread_page and "Looks like an advert" in thread_page
    assert f'action="/moderation/thread/{thread.id}/unlock"' in thread_page
    post_page = client.get(f"/moderation/post/{post.id}").get_data(as_text=True)
    assert "Held words under review" in post_page and "awaiting approval" in post_page
    assert f'action="/moderation/post/{post.id}/approve"' in post_page
    member_page = client.get(f"/moderation/users/{newcomer.id}").get_data(as_text=True)
    assert "new member" in member_page and "1 post awaiting approval" in member_page
    author_page = client.get(f"/moderation/users/{author.id}").get_data(as_text=True)
    assert "Cooling off" in author_page  # the lock of their thread, in their history
    assert client.get("/moderation/thread/999").status_code == 404
    assert client.get("/moderation/users/999").status_code == 404
