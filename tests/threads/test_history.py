import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.threads.models import Revision
from tests.factories import make_reply, make_thread, make_user


def test_edits_keep_revisions_and_history_shows_diffs(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="History thread", body="First line\nSecond line")
        post = make_reply(thread, author, "Reply v1")
    login(author)
    client.post(f"/t/{thread.id}/edit", data={"title": "History thread", "body": "First line\nChanged line"})
    client.post(f"/p/{post.id}/edit", data={"body": "Reply v2"})
    client.post(f"/p/{post.id}/edit", data={"body": "Reply v3"})
    with app.app_context():
        assert [r.body for r in db.session.scalars(select(Revision).where(Revision.post_id == post.id)
                                                    .order_by(Revision.id))] == ["Reply v1", "Reply v2"]
    page = client.get(f"/t/{thread.id}/history-thread").get_data(as_text=True)
    assert f'href="/t/{thread.id}/history"' in page and ">edited</a>" in page
    history = client.get(f"/t/{thread.id}/history").get_data(as_text=True)
    assert "First line\n<del>Second</del><ins>Changed</ins> line" in history  # words, whole text
    history = client.get(f"/p/{post.id}/history").get_data(as_text=True)
    assert "Version 1" in history and "Version 2" in history and "Current version" in history
    assert "Reply <del>v2</del><ins>v3</ins>" in history


def test_edit_with_no_change_is_refused(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Same thread", body="Same body")
        post = make_reply(thread, author, "Same reply")
    login(author)
    response = client.post(f"/t/{thread.id}/edit", data={"title": "Same thread", "body": "Same body"})
    assert response.status_code == 422 and "Nothing changed" in response.get_data(as_text=True)
    response = client.post(f"/p/{post.id}/edit", data={"body": "Same reply"})
    assert response.status_code == 422 and "Nothing changed" in response.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(select(Revision)) is None


def test_history_of_deleted_content_is_hidden_from_members(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
        post = make_reply(thread, author, "Secret first draft")
    login(author)
    client.post(f"/p/{post.id}/edit", data={"body": "Public version"})
    client.post(f"/p/{post.id}/delete")
    response = client.get(f"/p/{post.id}/history")
    assert response.status_code == 410 and "Secret first draft" not in response.get_data(as_text=True)
    assert client.get("/p/999/history").status_code == 404
    assert client.get("/t/999/history").status_code == 404


def test_moderators_see_deleted_history(app, client, login):
    with app.app_context():
        author = make_user()
        moderator = make_user(role="moderator")
        thread = make_thread(author)
        post = make_reply(thread, author, "Secret first draft")
    login(author)
    client.post(f"/p/{post.id}/edit", data={"body": "Public version"})
    client.post(f"/p/{post.id}/delete")
    client.post("/auth/logout")
    login(moderator)
    response = client.get(f"/p/{post.id}/history")
    assert response.status_code == 200 and "Secret first draft" in response.get_data(as_text=True)


def test_a_stance_change_is_recorded_and_shown(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
        post = make_reply(thread, author, "Same words", stance="supports")
    login(author)
    client.post(f"/p/{post.id}/edit", data={"body": "Same words", "stance": "challenges"})
    with app.app_context():
        revisions = db.session.scalars(select(Revision).where(Revision.post_id == post.id)).all()
        assert [(r.body, r.stance) for r in revisions] == [("Same words", "supports")]
    history = client.get(f"/p/{post.id}/history").get_data(as_text=True)
    assert "Stance: Supports → Challenges" in history


@pytest.mark.parametrize("old, new, expected", [
    ("a b c", "a x c", [("equal", "a "), ("delete", "b"), ("insert", "x"), ("equal", " c")]),
    ("one\ntwo\n", "one\ntwo\nthree\n", [("equal", "one\ntwo\n"), ("insert", "three\n")]),
    ("same", "same", [("equal", "same")]),
    ("", "new text", [("insert", "new text")]),
    ("gone", "", [("delete", "gone")]),
])
def test_word_diff(old, new, expected):
    from forum.threads.diffing import word_diff
    assert [(p.op, p.text) for p in word_diff(old, new)] == expected


@pytest.mark.parametrize("old, new", [
    ("alpha beta " * 25_000, "gamma delta " * 25_000),  # one huge changed line
    ("a\n" * 25_000, "a\n" * 12_000 + "b\n" + "a\n" * 12_000),  # thousands of identical lines
    ("a " * 1500, "a " * 700 + "b " + "a " * 799),  # a run of identical words
    ("a b " * 750, "b a " * 750),
])
def test_word_diff_of_hostile_texts_stays_cheap_and_complete(old, new):
    import time

    from forum.threads.diffing import word_diff
    started = time.process_time()
    pieces = word_diff(old, new)
    assert time.process_time() - started < 1  # each takes milliseconds; quadratic took seconds
    assert "".join(p.text for p in pieces if p.op != "insert") == old
    assert "".join(p.text for p in pieces if p.op != "delete") == new
