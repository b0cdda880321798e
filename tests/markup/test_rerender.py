"""``flask markup rerender``: stored HTML rebuilt from the source after the renderer changes."""
from __future__ import annotations

from sqlalchemy import update

from forum.extensions import db
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user


def _stale(app, thread, post):
    with app.app_context():
        db.session.execute(update(Thread).where(Thread.id == thread.id).values(body_html="<p>old</p>"))
        db.session.execute(update(Post).where(Post.id == post.id).values(body_html="<p>old</p>"))
        db.session.commit()


def test_rerender_rebuilds_stale_html_and_reports(app, runner):
    with app.app_context():
        user = make_user()
        thread = make_thread(user, body="Weaknesses:\n- one\n- two")
        post = make_reply(thread, user, body="~~no~~ yes")
        other = make_reply(thread, user, body="unchanged *reply*")
    _stale(app, thread, post)
    result = runner.invoke(args=["markup", "rerender"])
    assert result.exit_code == 0, result.output
    assert "3 posts rendered again: 2 changed, 1 unchanged." in result.output
    with app.app_context():
        assert db.session.get(Thread, thread.id).body_html == \
            "<p>Weaknesses:</p><ul><li>one</li><li>two</li></ul>"
        assert db.session.get(Post, post.id).body_html == "<p><del>no</del> yes</p>"
        assert db.session.get(Post, other.id).body_html == "<p>unchanged <em>reply</em></p>"


def test_rerender_keeps_html_it_cannot_render_in_budget(app, runner):
    with app.app_context():
        user = make_user()
        thread = make_thread(user)
        post = make_reply(thread, user)
    _stale(app, thread, post)
    result = runner.invoke(args=["markup", "rerender", "--budget", "1e-9"])
    assert result.exit_code == 0, result.output
    assert "2 too complex to render, kept as they were" in result.output
    assert f"thread:{thread.id}" in result.output and f"post:{post.id}" in result.output
    with app.app_context():
        assert db.session.get(Thread, thread.id).body_html == "<p>old</p>"
