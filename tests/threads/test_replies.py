import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.threads.models import Post, Thread
from forum.threads.queries import MAX_INDENT
from tests.factories import bulk_replies, make_reply, make_thread, make_user


def test_reply_and_nested_reply(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Nested debate")
        top = make_reply(thread, author, "Top-level point.")
    login(author)
    response = client.post(f"/t/{thread.id}/reply", data={"body": "A *nested* answer",
                                                          "parent_id": str(top.id)})
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.parent_id == top.id))
        assert response.headers["Location"] == f"/t/{thread.id}/nested-debate#p{post.id}"
        saved = db.session.get(Thread, thread.id)
        assert saved.reply_count == 2
    page = client.get(f"/t/{thread.id}/nested-debate").get_data(as_text=True)
    assert f'id="p{post.id}"' in page and "depth-1" in page and "<em>nested</em>" in page


def test_deep_replies_cap_indent_and_say_whom_they_answer(app, client):
    with app.app_context():
        author = make_user(username="deepthinker")
        thread = make_thread(author, title="Deep debate")
        # one chain: each reply answers the one before (the page is under test, not replying)
        bulk_replies(thread, [author], MAX_INDENT + 3, nest_every=MAX_INDENT + 4, body="Level {n}")
    page = client.get(f"/t/{thread.id}/deep-debate").get_data(as_text=True)
    assert f"depth-{MAX_INDENT + 1}" not in page
    assert "in reply to" in page and "@deepthinker" in page


def test_reply_get_page_shows_parent_and_form(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
        top = make_reply(thread, author, "Quoted parent text.")
    login(author)
    page = client.get(f"/t/{thread.id}/reply?parent={top.id}").get_data(as_text=True)
    assert "Quoted parent text." in page and f'value="{top.id}"' in page


def test_parent_from_another_thread_is_400_and_keeps_text(app, client, login):
    with app.app_context():
        author = make_user()
        one, two = make_thread(author, title="Thread one"), make_thread(author, title="Thread two")
        foreign = make_reply(two, author)
    login(author)
    response = client.post(f"/t/{one.id}/reply", data={"body": "My careful words",
                                                       "parent_id": str(foreign.id)})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "not part of this thread" in page and "My careful words" in page


def test_reply_to_missing_thread_is_404(app, client, login):
    with app.app_context():
        author = make_user()
    login(author)
    assert client.post("/t/4242/reply", data={"body": "Hello"}).status_code == 404


def test_empty_reply_is_refused_with_message(app, client, login):
    with app.app_context():
        author = make_user()
        thread = make_thread(author)
    login(author)
    response = client.post(f"/t/{thread.id}/reply", data={"body": ""})
    assert response.status_code == 422
    assert "Write your reply." in response.get_data(as_text=True)


def test_edit_and_soft_delete_own_reply_keeps_the_tree(app, client, login):
    with app.app_context():
        author, other = make_user(), make_user()
        thread = make_thread(author, title="Tree stays")
        top = make_reply(thread, author, "Original words")
        child = make_reply(thread, other, "Child stays", parent=top)
    login(other)
    assert client.post(f"/p/{top.id}/edit", data={"body": "vandal"}).status_code == 403
    assert client.post(f"/p/{top.id}/delete").status_code == 403
    client.post("/auth/logout")
    login(author)
    client.post(f"/p/{top.id}/edit", data={"body": "Edited words"})
    client.post(f"/p/{top.id}/delete")
    page = client.get(f"/t/{thread.id}/tree-stays").get_data(as_text=True)
    assert "Edited words" not in page and "[deleted]" in page and "Child stays" in page
    with app.app_context():
        assert db.session.get(Post, top.id).body == "Edited words"
        assert db.session.get(Thread, thread.id).reply_count == 1
    assert client.post(f"/p/{top.id}/edit", data={"body": "again"}).status_code == 410


def test_permalink_finds_the_right_page(app, client):
    app.config["REPLIES_PER_PAGE"] = 2
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Many replies")
        posts = [make_reply(thread, author, f"Reply {n}") for n in range(5)]
    assert client.get(f"/p/{posts[0].id}").headers["Location"] == f"/t/{thread.id}/many-replies#p{posts[0].id}"
    assert client.get(f"/p/{posts[4].id}").headers["Location"] == f"/t/{thread.id}/many-replies?page=3#p{posts[4].id}"
    assert client.get("/p/9999").status_code == 404


def test_a_reply_sent_after_the_session_ended_keeps_its_text(app, client):
    with app.app_context():
        thread = make_thread(make_user())
    response = client.post(f"/t/{thread.id}/reply", data={"body": "Two hours of careful argument"})
    page = response.get_data(as_text=True)
    assert response.status_code == 401
    assert "Two hours of careful argument" in page and "/auth/login" in page
    page_request = client.get(f"/t/{thread.id}/reply")
    assert page_request.status_code == 302 and "/auth/login?next=" in page_request.headers["Location"]


def test_a_reply_redirects_to_the_page_it_lands_on_and_a_copy_sent_again_too(app, client, login):
    """The page is found in the reply's own transaction; the same form sent again (its
    token already used) redirects to the same place."""
    app.config["REPLIES_PER_PAGE"] = 2
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Paged debate")
        for n in range(2):
            make_reply(thread, author, f"Earlier point {n}.")
    login(author)
    form = {"body": "A third point.", "submission_token": "s" * 24}
    first = client.post(f"/t/{thread.id}/reply", data=form)
    again = client.post(f"/t/{thread.id}/reply", data=form)
    with app.app_context():
        post = db.session.scalar(select(Post).where(Post.body == "A third point."))
        assert db.session.get(Thread, thread.id).reply_count == 3
    assert first.status_code == again.status_code == 302
    assert first.headers["Location"] == again.headers["Location"] == \
        f"/t/{thread.id}/paged-debate?page=2#p{post.id}"
