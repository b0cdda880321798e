"""A new member's first posts wait for a moderator; their links are limited on their first day."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from forum.accounts.models import User
from forum.database import utcnow
from forum.digest.selection import select_week, week_bounds
from forum.extensions import db
from forum.moderation import services
from forum.moderation.models import ModAction
from forum.notifications.models import Notification
from forum.search.services import search
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user
from tests.moderation.conftest import make_staff


def _found(app, text):
    with app.test_request_context():
        return {k for r in search(text).results for k in r.group.keys}


def _digest_titles():
    sections = select_week(*week_bounds(utcnow().date())) or {"top": [], "new": []}
    return " | ".join(item["title"] for item in sections["top"] + sections["new"])


def test_a_new_members_thread_is_held_everywhere_public(app, client, login, as_user):
    with app.app_context():
        newcomer = make_user(new_member=True)
        thread = make_thread(newcomer, title="Capybarine claims about arXiv:1706.03762",
                             body="Capybarine ideas, see arXiv:1706.03762")
        thread = db.session.get(Thread, thread.id)
        assert thread.is_held and not thread.is_public
        assert _found(app, "capybarine") == set()
        assert "Capybarine claims" not in _digest_titles()
    for url in ("/?tab=new", "/tags", f"/u/{newcomer.username}", "/papers/1706.03762",
                "/search?q=capybarine"):
        assert "Capybarine claims" not in client.get(url).get_data(as_text=True), url
    assert client.get(f"/t/{thread.id}/{thread.slug}").status_code == 404
    own = as_user(newcomer).get(f"/t/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Capybarine claims" in own and "awaiting approval" in own
    with app.app_context():
        moderator = make_staff()
    as_user(moderator).post(f"/moderation/thread/{thread.id}/approve", data={})
    for url in ("/?tab=new", f"/u/{newcomer.username}", "/papers/1706.03762", "/search?q=capybarine"):
        assert "Capybarine claims" in client.get(url).get_data(as_text=True), url
    with app.app_context():
        assert "Capybarine claims" in _digest_titles()


def test_a_held_reply_is_not_counted_nor_announced(app, client, as_user):
    with app.app_context():
        author, newcomer = make_user(), make_user(new_member=True)
        thread = make_thread(author, title="A public thread for replies")
        post = make_reply(thread, newcomer, "Okapian remark waiting")
        saved = db.session.get(Thread, thread.id)
        assert saved.reply_count == 0
        assert db.session.get(Post, post.id).is_held
        assert db.session.scalar(select(func.count(Notification.id))) == 0
        assert _found(app, "okapian") == set()
    assert "Okapian remark" not in client.get(f"/t/{thread.id}/{thread.slug}").get_data(as_text=True)
    own = as_user(newcomer).get(f"/t/{thread.id}/{thread.slug}").get_data(as_text=True)
    assert "Okapian remark" in own and "awaiting approval" in own
    assert "0 replies" in own


def test_approving_a_post_publishes_it_and_tells_those_concerned(app, client, as_user):
    with app.app_context():
        author, newcomer, moderator = make_user(), make_user(new_member=True), make_staff()
        thread = make_thread(author, title="A public thread for replies")
        post = make_reply(thread, newcomer, "Okapian remark waiting")
    queue = as_user(moderator).get("/moderation").get_data(as_text=True)
    assert "Okapian remark waiting" in queue
    response = as_user(moderator).post(f"/moderation/post/{post.id}/approve", data={})
    assert response.headers["Location"] == f"/moderation/post/{post.id}"
    assert "Okapian remark" in client.get(f"/t/{thread.id}/{thread.slug}").get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Thread, thread.id).reply_count == 1
        assert _found(app, "okapian") == {f"post:{post.id}"}
        assert db.session.scalar(select(Notification.user_id).where(
            Notification.post_id == post.id)) == author.id
        assert db.session.scalar(select(ModAction.action)) == "approve"
        assert not db.session.get(User, newcomer.id).is_approved  # one of two


def test_after_enough_approved_posts_the_member_is_trusted(app):
    with app.app_context():
        author, newcomer = make_user(), make_user(new_member=True)
        moderator = db.session.get(User, make_staff().id)
        thread = make_thread(author)
        held = [make_reply(thread, newcomer, f"Held reply {n}") for n in range(3)]
        services.act_on(moderator, db.session.get(Post, held[0].id), "approve")
        message = services.act_on(moderator, db.session.get(Post, held[1].id), "approve")
        assert "now trusted" in message
        assert db.session.get(User, newcomer.id).is_approved
        assert db.session.get(Post, held[2].id).is_held  # sent before: still waits
        later = make_reply(thread, newcomer, "Public at once")
        assert db.session.get(Post, later.id).is_public


def test_approving_the_member_publishes_all_their_held_posts(app, as_user):
    with app.app_context():
        author, newcomer, moderator = make_user(), make_user(new_member=True), make_staff()
        thread = make_thread(author)
        own = make_thread(newcomer, title="The newcomer's question")
        replies = [make_reply(thread, newcomer, f"Held reply {n}") for n in range(3)]
    response = as_user(moderator).post(f"/moderation/users/{newcomer.id}/approve", data={})
    assert response.headers["Location"] == f"/moderation/users/{newcomer.id}"
    with app.app_context():
        assert db.session.get(Thread, own.id).is_public
        assert all(db.session.get(Post, r.id).is_public for r in replies)
        assert db.session.get(Thread, thread.id).reply_count == 3
        later = make_reply(thread, newcomer, "Not held")
        assert db.session.get(Post, later.id).is_public
        action = db.session.scalar(select(ModAction).where(ModAction.action == "approve_member"))
        assert action.user_id == newcomer.id and "4 held posts" in action.detail
    again = as_user(moderator).post(f"/moderation/users/{newcomer.id}/approve", data={})
    assert again.status_code == 409


def test_hold_setting_zero_turns_holds_off(app):
    app.config["NEW_MEMBER_HOLD_POSTS"] = 0
    with app.app_context():
        newcomer = make_user(new_member=True)
        thread = make_thread(newcomer)
        assert db.session.get(Thread, thread.id).is_public


def test_registering_through_the_form_makes_a_new_member(app, client):
    response = client.post("/auth/register", data={"username": "freshface", "email": "fresh@example.org",
                                                   "password": "a long new password"})
    assert response.status_code == 200
    with app.app_context():
        user = db.session.scalar(select(User).where(User.username == "freshface"))
        assert user is not None and not user.is_approved


LINKS = " ".join(f"https://site{n}.example.com/page" for n in range(3))


def test_new_members_first_day_posts_have_limited_links(app, client, login):
    with app.app_context():
        author, newcomer = make_user(), make_user(new_member=True)
        thread = make_thread(author)
    login(newcomer)
    refused = client.post(f"/t/{thread.id}/reply", data={"body": f"Look: {LINKS}"})
    text = refused.get_data(as_text=True)
    assert refused.status_code == 422 and "at most 2 links" in text and "site2.example.com" in text
    new = client.post("/t/new", data={"title": "Many links thread", "body": LINKS})
    assert new.status_code == 422 and "at most 2 links" in new.get_data(as_text=True)
    # Links to this forum's own pages (cited papers, mentions) do not count.
    allowed = client.post(f"/t/{thread.id}/reply",
                          data={"body": "arXiv:1706.03762 arXiv:2312.00752 arXiv:2205.14135 "
                                        "https://one.example.com https://two.example.com"})
    assert "Location" in allowed.headers
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 1
        assert db.session.scalar(select(func.count(Thread.id))) == 1


def test_link_limit_lifts_after_a_day_or_with_approval(app):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
        day_old = make_user(new_member=True, created_at=utcnow() - timedelta(days=1, minutes=1))
        approved = make_user()
        for user in (day_old, approved):
            post = threads.reply(db.session.get(Thread, thread.id), db.session.get(User, user.id),
                                 f"Look: {LINKS}")
            assert 'rel="nofollow' in post.body_html
