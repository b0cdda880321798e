"""Which threads a week's digest picks (forum.digest.selection)."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import insert, update

from forum.database import utcnow
from forum.digest import selection
from forum.extensions import db
from forum.threads.models import Thread
from tests.factories import make_reply, make_thread, make_user


def this_week():
    return selection.week_bounds(utcnow().date())


def test_week_bounds_are_monday_to_monday_utc():
    start, end = selection.parse_week("2026-W48")
    assert start.isoformat() == "2026-11-23T00:00:00+00:00"
    assert end - start == timedelta(days=7)
    assert selection.week_label(start) == "2026-W48"
    assert selection.parse_week("2020-w53")[0].isoformat() == "2020-12-28T00:00:00+00:00"


@pytest.mark.parametrize("label", ["2026-48", "2026-W00", "2026-W54", "2021-W53", "", "W48"])
def test_bad_week_labels(label):
    with pytest.raises(selection.BadWeek):
        selection.parse_week(label)


def test_score_weights_replies_participants_and_votes():
    assert selection.activity_score(replies=4, participants=3, votes=5) == 4 * 3 + 3 * 2 + 5


def test_revived_old_thread_competes_and_deleted_threads_never_appear(app):
    with app.app_context():
        alice, bob, carol = make_user(), make_user(), make_user()
        old = make_thread(alice, title="An old debate")
        gone = make_thread(alice, title="Deleted debate")
        fresh = make_thread(bob, title="A fresh debate")
        for author in (bob, carol, bob):
            make_reply(old, author, "Still arguing")
            make_reply(gone, author, "Lots of activity")
        make_reply(fresh, carol, "One reply")
        db.session.execute(update(Thread).where(Thread.id == old.id)
                           .values(created_at=utcnow() - timedelta(days=400)))
        db.session.execute(update(Thread).where(Thread.id == gone.id).values(deleted_at=utcnow()))
        db.session.commit()
        sections = selection.select_week(*this_week())
    assert [item["title"] for item in sections["top"]] == ["An old debate", "A fresh debate"]
    assert [item["title"] for item in sections["new"]] == ["A fresh debate"]
    assert sections["top"][0]["replies"] == 3 and sections["top"][0]["participants"] == 2


def test_activity_outside_the_week_does_not_count(app):
    with app.app_context():
        author = make_user()
        make_reply(make_thread(author), author)
        start, end = selection.parse_week("2020-W10")
        assert selection.select_week(start, end) is None


def test_top_n_is_configurable(app):
    with app.app_context():
        author, other = make_user(), make_user()
        for n in range(4):
            make_reply(make_thread(author, title=f"Thread {n}"), other)
        assert len(selection.select_week(*this_week(), top_n=2)["top"]) == 2


def test_votes_count_when_the_votes_table_exists(app):
    votes = db.metadata.tables.get("votes")
    if votes is None:
        pytest.skip("no votes table in this tree")
    with app.app_context():
        author, voters = make_user(), [make_user() for _ in range(3)]
        voted, plain = make_thread(author, title="Voted on"), make_thread(author, title="Only replied")
        make_reply(plain, voters[0])
        make_reply(voted, voters[0])
        for voter in voters:
            db.session.execute(insert(votes).values(user_id=voter.id, thread_id=voted.id, value=1,
                                                    created_at=utcnow()))
        db.session.commit()
        top = selection.select_week(*this_week())["top"]
    assert top[0]["title"] == "Voted on" and top[0]["votes"] == 3


def test_personal_digest_keeps_followed_tags(app):
    tags, links = db.metadata.tables.get("tags"), db.metadata.tables.get("thread_tags")
    if tags is None or links is None:
        pytest.skip("no tags in this tree")
    with app.app_context():
        author, other = make_user(), make_user()
        tagged, untagged = make_thread(author, title="Tagged"), make_thread(author, title="Untagged")
        make_reply(tagged, other)
        make_reply(untagged, other)
        tag_id = db.session.execute(insert(tags).values(name="optimization")).inserted_primary_key[0]
        db.session.execute(insert(links).values(thread_id=tagged.id, tag_id=tag_id))
        db.session.commit()
        sections = selection.select_week(*this_week())
    personal = selection.personalize(sections, ["Optimization"], [])
    assert [item["title"] for item in personal["top"]] == ["Tagged"]
    assert selection.personalize(sections, ["nothing"], []) is None
    assert selection.personalize(sections, [], []) is sections
