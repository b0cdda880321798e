"""Who is notified about a new reply or thread, and why (services.post_published)."""
from __future__ import annotations

import pytest
from sqlalchemy import event, func, select

from forum.database import utcnow
from forum.extensions import db
from forum.notifications import services
from forum.notifications.models import Notification
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user
from tests.notifications.conftest import notified
from tests.querycount import NOT_COUNTED


def _level(user, thread, level):
    services.set_watch_level(user, db.session.get(Thread, thread.id), level)


def test_reply_to_a_thread_notifies_its_author_not_the_replier(app):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        post = make_reply(thread, bob, "An answer")
        assert notified(post) == {alice.id: "thread_reply"}
        own = make_reply(thread, alice, "Answering in my own thread")
        assert notified(own) == {}


def test_reply_to_a_reply_notifies_its_author_and_the_watching_thread_author(app):
    with app.app_context():
        alice, bob, carol = make_user(), make_user(), make_user()
        thread = make_thread(alice)
        first = make_reply(thread, bob, "First")
        second = make_reply(thread, carol, "Answer to bob", parent=first)
        assert notified(second) == {bob.id: "post_reply", alice.id: "watching"}


def test_reply_to_your_reply_that_mentions_you_is_one_notification(app):
    with app.app_context():
        alice, bob, carol = make_user(), make_user(), make_user()
        thread = make_thread(alice)
        first = make_reply(thread, bob, "First")
        second = make_reply(thread, carol, f"@{bob.username} and @{bob.username.upper()}, see this",
                            parent=first)
        assert notified(second) == {bob.id: "post_reply", alice.id: "watching"}
        assert db.session.scalar(select(func.count()).select_from(Notification)
                                 .where(Notification.user_id == bob.id)) == 1


def test_mentions_in_a_thread_and_a_reply(app):
    with app.app_context():
        alice, bob, carol = make_user(username="alice_m"), make_user(username="Bob_M"), make_user()
        thread = make_thread(alice, body="Ping @bob_m, @alice_m (myself) and @nobody_here")
        assert notified(thread=thread) == {bob.id: "mention"}
        post = make_reply(thread, carol, "`@alice_m` in code does not count, but @Bob_M does")
        assert notified(post) == {alice.id: "thread_reply", bob.id: "mention"}


def test_mention_in_code_only_notifies_nobody(app):
    with app.app_context():
        alice, bob = make_user(), make_user(username="codey")
        thread = make_thread(alice, body="```\n@codey\n```")
        assert notified(thread=thread) == {}


def test_watching_notifies_every_reply_and_the_default_does_not(app):
    with app.app_context():
        alice, bob, carol, watcher, bystander = (make_user() for _ in range(5))
        thread = make_thread(alice)
        _level(watcher, thread, "watching")
        first = make_reply(thread, bob, "First")
        second = make_reply(thread, carol, "Second", parent=first)
        assert notified(first) == {alice.id: "thread_reply", watcher.id: "watching"}
        assert notified(second) == {bob.id: "post_reply", alice.id: "watching", watcher.id: "watching"}
        assert bystander.id not in notified(second)
        own = make_reply(thread, watcher, "The watcher's own reply")
        assert watcher.id not in notified(own)


def test_author_who_stops_watching_hears_only_direct_replies(app):
    with app.app_context():
        alice, bob, carol = make_user(), make_user(), make_user()
        thread = make_thread(alice)
        _level(alice, thread, "normal")
        top = make_reply(thread, bob, "Top-level")
        nested = make_reply(thread, carol, "Between others", parent=top)
        assert notified(top) == {alice.id: "thread_reply"}
        assert notified(nested) == {bob.id: "post_reply"}


def test_mute_silences_replies_but_not_mentions(app):
    with app.app_context():
        alice, bob, carol = make_user(), make_user(username="muted_bob"), make_user()
        thread = make_thread(alice)
        first = make_reply(thread, bob, "Bob's point")
        _level(alice, thread, "muted")
        _level(bob, thread, "muted")
        top = make_reply(thread, carol, "Top-level reply")
        answer = make_reply(thread, carol, "Answer to bob", parent=first)
        mention = make_reply(thread, carol, "Answer to bob with @muted_bob", parent=first)
        assert notified(top) == {}
        assert notified(answer) == {}
        assert notified(mention) == {bob.id: "mention"}


def test_publishing_twice_adds_nothing(app):
    with app.app_context():
        alice, bob = make_user(), make_user(username="twice")
        thread = make_thread(alice, body="Hello @twice")
        post = make_reply(thread, bob, "Hi")
        assert services.post_published(db.session.get(Post, post.id)) == 0
        assert services.post_published(db.session.get(Thread, thread.id)) == 0
        assert db.session.scalar(select(func.count()).select_from(Notification)) == 2


def test_deleted_reply_notifies_nobody(app):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        post = make_reply(thread, bob, "Soon gone")
        db.session.execute(Notification.__table__.delete())
        db.session.get(Post, post.id).deleted_at = utcnow()
        db.session.commit()
        assert services.post_published(db.session.get(Post, post.id)) == 0


@pytest.mark.parametrize("watchers", [3, 40])
def test_publishing_costs_a_constant_number_of_queries(app, watchers):
    with app.app_context():
        alice, bob = make_user(), make_user()
        mentioned = make_user(username=f"mentioned{watchers}")
        thread = make_thread(alice)
        parent = make_reply(thread, alice, "Parent")
        people = [make_user() for _ in range(watchers)]
        for person in people:
            _level(person, thread, "watching")
        post = Post(thread_id=thread.id, parent_id=parent.id, author_id=bob.id,
                    body=f"Hello @{mentioned.username}", body_html="<p>Hello</p>")
        db.session.add(post)
        db.session.commit()
        statements = []

        def record(conn, cursor, statement, *args):
            if not statement.lstrip().upper().startswith(NOT_COUNTED):
                statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", record)
        try:
            created = services.post_published(post)
        finally:
            event.remove(db.engine, "before_cursor_execute", record)
        assert created == watchers + 2  # the watchers, the parent's author, the mentioned member
        # post + thread + parent, mentions, watch rows, existing notifications, one bulk insert
        assert len(statements) == 5, statements


def _refuse_notifications(connection, on: bool) -> None:
    """A real database error at the notifications' INSERT (a trigger), on either database."""
    if connection.dialect.name == "postgresql":
        if on:
            connection.exec_driver_sql(
                "CREATE FUNCTION refuse_notification() RETURNS trigger LANGUAGE plpgsql AS "
                "$$ BEGIN RAISE EXCEPTION 'notifications refused'; END $$")
            connection.exec_driver_sql(
                "CREATE TRIGGER refuse_notification BEFORE INSERT ON notifications "
                "FOR EACH ROW EXECUTE FUNCTION refuse_notification()")
        else:
            connection.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_notification ON notifications")
            connection.exec_driver_sql("DROP FUNCTION IF EXISTS refuse_notification()")
    elif on:
        connection.exec_driver_sql(
            "CREATE TRIGGER refuse_notification BEFORE INSERT ON notifications "
            "BEGIN SELECT RAISE(ABORT, 'notifications refused'); END")
    else:
        connection.exec_driver_sql("DROP TRIGGER IF EXISTS refuse_notification")


def test_a_reply_and_its_notifications_commit_once(app):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        commits = []
        listener = lambda connection: commits.append(1)  # noqa: E731
        event.listen(db.engine, "commit", listener)
        try:
            post = make_reply(thread, bob, "One commit")
        finally:
            event.remove(db.engine, "commit", listener)
        assert commits == [1]  # the reply, its counters, its notifications (and search rows)
        assert notified(post) == {alice.id: "thread_reply"}


def test_notifications_that_fail_lose_no_reply(app, caplog):
    with app.app_context():
        alice, bob = make_user(), make_user()
        thread = make_thread(alice)
        _refuse_notifications(db.session.connection(), True)
        db.session.commit()
        try:
            post = make_reply(thread, bob, "Saved all the same")
        finally:
            db.session.rollback()
            _refuse_notifications(db.session.connection(), False)
            db.session.commit()
        assert db.session.get(Post, post.id).body == "Saved all the same"
        assert db.session.get(Thread, thread.id).reply_count == 1
        assert notified(post) == {}
        assert "the reply itself is saved" in caplog.text
