"""The CPU budget through the real HTTP routes: over it, 422 with the typed text kept.

A tiny ``RENDER_CPU_BUDGET`` makes every render too complex, which proves the
refusal path of each route (new thread, reply, edit thread, edit reply,
preview) without depending on how fast this machine is.
"""
from __future__ import annotations

import html

import pytest
from sqlalchemy import func, select

from forum.extensions import db
from forum.markup import RenderTooComplex, render_markdown
from forum.markup.budget import cpu_budget
from forum.threads.models import Post, Revision, Thread
from tests.factories import make_reply, make_thread, make_user

TINY = 1e-9
BODY = "A *careful* argument with $x^2$ and a [link](https://example.org)."
MESSAGE = "this text is too complex to display"


def _refused(response, typed: str) -> str:
    """422, the budget's message, and the form itself back with the typed text in it."""
    page = response.get_data(as_text=True)
    assert response.status_code == 422, page[:500]
    assert MESSAGE in page.lower()
    assert "<textarea" in page
    assert html.escape(typed, quote=False) in page or html.escape(typed) in page
    return page


@pytest.fixture
def member(app, login):
    with app.app_context():
        user = make_user()
    login(user)
    return user


def test_new_thread_over_budget_is_refused_and_nothing_is_stored(app, client, member):
    app.config["RENDER_CPU_BUDGET"] = TINY
    _refused(client.post("/t/new", data={"title": "A fine title", "body": BODY}), BODY)
    with app.app_context():
        assert db.session.scalar(select(func.count(Thread.id))) == 0


def test_reply_over_budget_is_refused(app, client, member):
    with app.app_context():
        thread = make_thread(member)
    app.config["RENDER_CPU_BUDGET"] = TINY
    _refused(client.post(f"/t/{thread.id}/reply", data={"body": BODY}), BODY)
    with app.app_context():
        assert db.session.scalar(select(func.count(Post.id))) == 0


def test_thread_edit_over_budget_keeps_the_old_version(app, client, member):
    with app.app_context():
        thread = make_thread(member, body="The old body.")
    app.config["RENDER_CPU_BUDGET"] = TINY
    _refused(client.post(f"/t/{thread.id}/edit", data={"title": thread.title, "body": BODY}), BODY)
    with app.app_context():
        stored = db.session.get(Thread, thread.id)
        assert stored.body == "The old body." and "old body" in stored.body_html
        assert db.session.scalar(select(func.count(Revision.id))) == 0


def test_reply_edit_over_budget_keeps_the_old_version(app, client, member):
    with app.app_context():
        post = make_reply(make_thread(member), member, body="Old reply.")
    app.config["RENDER_CPU_BUDGET"] = TINY
    _refused(client.post(f"/p/{post.id}/edit", data={"body": BODY}), BODY)
    with app.app_context():
        assert db.session.get(Post, post.id).body == "Old reply."
        assert db.session.scalar(select(func.count(Revision.id))) == 0


@pytest.mark.parametrize("url", ["/t/new", "reply", "edit"])
def test_preview_over_budget_says_so_and_keeps_the_form(app, client, member, url):
    with app.app_context():
        thread = make_thread(member)
    url = {"reply": f"/t/{thread.id}/reply", "edit": f"/t/{thread.id}/edit"}.get(url, url)
    app.config["RENDER_CPU_BUDGET"] = TINY
    _refused(client.post(url, data={"title": "A fine title", "body": BODY, "preview": "Preview"}), BODY)


def test_preview_within_budget_renders(app, client, member):
    response = client.post("/t/new", data={"title": "A fine title", "body": BODY, "preview": "Preview"})
    assert response.status_code == 200 and "<em>careful</em>" in response.get_data(as_text=True)


def test_preview_never_renders_a_body_over_the_length_limit(app, client, member):
    # With a tiny budget any render would be refused: the length message alone proves none ran.
    app.config["RENDER_CPU_BUDGET"] = TINY
    body = "*x* " * 12_501
    page = client.post("/t/new", data={"title": "A fine title", "body": body, "preview": "Preview"})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "cannot be longer than 50000" in text
    assert MESSAGE not in text.lower()


def test_tags_are_checked_before_rendering(app, client, member):
    app.config["RENDER_CPU_BUDGET"] = TINY
    tags = " ".join(f"t{i}" for i in range(10_000))
    page = client.post("/t/new", data={"title": "A fine title", "body": BODY, "tags": tags})
    text = page.get_data(as_text=True)
    assert page.status_code == 422 and "tags field is too long" in text
    assert MESSAGE not in text.lower()


def test_a_refusal_anywhere_else_is_a_422_page_with_the_typed_text(app, client):
    def too_complex():
        raise RenderTooComplex("it is nested too deeply")

    app.add_url_rule("/test-too-complex", "test_too_complex", too_complex, methods=["POST"])
    response = client.post("/test-too-complex", data={"body": "my *precious* words"})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "This text is too complex to display: it is nested too deeply." in page
    assert "my *precious* words" in page


def test_budget_is_a_setting_and_outer_budgets_win(app):
    with app.app_context():
        app.config["RENDER_CPU_BUDGET"] = TINY
        with pytest.raises(RenderTooComplex, match="too complex to display"):
            render_markdown(BODY)
        with cpu_budget(5.0):  # an outer budget (a post's mentions and render) wins
            assert "<em>careful</em>" in render_markdown(BODY)
        app.config["RENDER_CPU_BUDGET"] = 0.5
        assert "<em>careful</em>" in render_markdown(BODY)


def test_rendering_after_a_refusal_works(app):
    with app.app_context():
        app.config["RENDER_CPU_BUDGET"] = TINY
        with pytest.raises(RenderTooComplex):
            render_markdown("- a\n- b")
        app.config["RENDER_CPU_BUDGET"] = 0.5
        assert render_markdown("- a\n- b") == "<ul><li>a</li><li>b</li></ul>"


def test_mentions_of_too_complex_text_are_none_but_the_post_is_still_refused(app):
    with app.app_context():
        app.config["RENDER_CPU_BUDGET"] = TINY
        from forum.markup import find_mentions
        assert find_mentions("@alice " * 10) == []
        from forum.threads.rendering import render_post_body
        with pytest.raises(RenderTooComplex):
            render_post_body("@alice " * 10)


def test_budget_setting_is_read_from_the_environment(monkeypatch):
    from forum.config import from_environment

    monkeypatch.delenv("RENDER_CPU_BUDGET", raising=False)
    assert from_environment()["RENDER_CPU_BUDGET"] == 0.5
    monkeypatch.setenv("RENDER_CPU_BUDGET", "1.5")
    assert from_environment()["RENDER_CPU_BUDGET"] == 1.5


def test_a_garbage_collection_during_a_render_is_not_charged_to_the_text():
    """A full collection of a big process can outlast the whole budget; it is no fault of the text."""
    import gc
    import time

    from forum.markup.budget import check

    garbage = [[n] for n in range(300_000)]  # a heap whose full collection takes a while
    with cpu_budget(0.05):
        started = time.thread_time()
        while time.thread_time() - started < 0.06:  # more than the budget, all of it collecting
            gc.collect()
        check()  # within budget: only collections ran
    del garbage
    with cpu_budget(0.01), pytest.raises(RenderTooComplex):
        started = time.thread_time()
        while time.thread_time() - started < 0.02:  # the same time spent rendering is charged
            pass
        check()
