"""Members report threads and replies; moderators work the queue."""
from __future__ import annotations

from sqlalchemy import func, select

from forum.extensions import db
from forum.moderation import services
from forum.moderation.models import ModAction, Report
from forum.threads import services as threads
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user
from tests.moderation.conftest import make_staff


def _reports():
    return db.session.scalars(select(Report).order_by(Report.id)).all()


def test_report_a_reply_through_its_page(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
        post = make_reply(thread, author, "Buy cheap pills at example.com")
    login(reader)
    page = client.get(f"/report/post/{post.id}")
    assert page.status_code == 200 and "Buy cheap pills" in page.get_data(as_text=True)
    response = client.post(f"/report/post/{post.id}", data={"reason": "Spam for pills"})
    assert response.headers["Location"] == f"/p/{post.id}"
    with app.app_context():
        (report,) = _reports()
        assert (report.post_id, report.thread_id, report.reporter_id) == (post.id, None, reader.id)
        assert report.reason == "Spam for pills" and report.is_open


def test_second_report_of_the_same_target_is_409(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
    login(reader)
    client.post(f"/report/thread/{thread.id}", data={"reason": "Off-topic advertising"})
    again = client.post(f"/report/thread/{thread.id}", data={"reason": "Still spam, really"})
    assert again.status_code == 409
    text = again.get_data(as_text=True)
    assert "already reported" in text and "Still spam, really" in text  # the text is kept
    with app.app_context():
        assert len(_reports()) == 1


def test_missing_and_deleted_content_cannot_be_reported(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
        post = make_reply(thread, author, "Soon gone")
        threads.delete_post(db.session.get(Post, post.id))
        gone_thread = make_thread(author, title="Another thread here")
        threads.delete_thread(db.session.get(Thread, gone_thread.id))
    login(reader)
    assert client.get("/report/post/9999").status_code == 404
    assert client.post("/report/thread/9999", data={"reason": "whatever it is"}).status_code == 404
    deleted = client.post(f"/report/post/{post.id}", data={"reason": "Too late now"})
    assert deleted.status_code == 410 and "deleted" in deleted.get_data(as_text=True)
    assert client.get(f"/report/thread/{gone_thread.id}").status_code == 410
    with app.app_context():
        assert _reports() == []


def test_bad_reasons_and_own_posts_are_refused_with_the_text_kept(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
    login(reader)
    empty = client.post(f"/report/thread/{thread.id}", data={"reason": ""})
    assert empty.status_code == 422 and "Tell the moderators" in empty.get_data(as_text=True)
    long = client.post(f"/report/thread/{thread.id}", data={"reason": "x" * 1001})
    assert long.status_code == 422
    login(author)
    own = client.post(f"/report/thread/{thread.id}", data={"reason": "Reporting myself"})
    assert own.status_code == 422 and "Reporting myself" in own.get_data(as_text=True)
    with app.app_context():
        assert _reports() == []


def test_report_needs_an_account_and_csrf(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
    assert client.post(f"/report/thread/{thread.id}", data={"reason": "Spam here"}).status_code == 401
    assert "/auth/login" in client.get(f"/report/thread/{thread.id}").headers["Location"]
    login(reader)
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        refused = client.post(f"/report/thread/{thread.id}", data={"reason": "Spam here"})
    finally:
        app.config["WTF_CSRF_ENABLED"] = False
    assert refused.status_code == 400
    with app.app_context():
        assert _reports() == []


def test_thread_page_has_a_plain_report_link_per_reply_and_no_extra_forms(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
        few = [make_reply(thread, author, f"Reply {n}") for n in range(2)]
    login(reader)

    def page():
        return client.get(f"/t/{thread.id}/{thread.slug}").get_data(as_text=True)
    before = page()
    with app.app_context():
        for n in range(3):
            make_reply(thread, author, f"More {n}")
    after = page()
    for post in few:
        assert f'href="/report/post/{post.id}"' in after
    # Three more replies add three vote forms (as before) and no report form.
    assert after.count("<form") - before.count("<form") == 3
    assert 'action="/report/' not in after


def test_queue_lists_open_reports_newest_first_and_dismiss_logs(app, as_user):
    with app.app_context():
        author, first, second = make_user(), make_user(), make_user()
        moderator = make_staff()
        thread = make_thread(author, title="Reported thread title")
        post = make_reply(thread, author, "A reported reply")
        services.report(first, db.session.get(Thread, thread.id), "Older report reason")
        services.report(second, db.session.get(Post, post.id), "Newer report reason")
        older_id = db.session.scalar(select(Report.id).where(Report.thread_id == thread.id))
    client = as_user(moderator)
    page = client.get("/moderation").get_data(as_text=True)
    assert page.index("Newer report reason") < page.index("Older report reason")
    response = client.post(f"/moderation/reports/{older_id}/dismiss",
                           data={"reason": "Not spam", "back": "queue"})
    assert response.headers["Location"] == "/moderation"
    page = client.get("/moderation").get_data(as_text=True)
    assert "Older report reason" not in page and "Newer report reason" in page
    again = client.post(f"/moderation/reports/{older_id}/dismiss", data={})
    assert again.status_code == 409
    with app.app_context():
        report = db.session.get(Report, older_id)
        assert report.resolution == "dismissed" and report.resolved_by_id == moderator.id
        action = db.session.scalar(select(ModAction))
        assert (action.action, action.thread_id, action.reason) == ("dismiss_report", thread.id, "Not spam")
        assert action.moderator_id == moderator.id


def test_hiding_resolves_every_open_report_on_the_target(app):
    with app.app_context():
        author, first, second = make_user(), make_user(), make_user()
        moderator = make_staff()
        thread = make_thread(author)
        post = make_reply(thread, author, "Abusive words")
        for reporter in (first, second):
            services.report(reporter, db.session.get(Post, post.id), "Abuse in this reply")
        services.act_on(db.session.get(type(moderator), moderator.id), db.session.get(Post, post.id), "hide")
        assert {r.resolution for r in _reports()} == {"hidden"}
        assert db.session.scalar(select(func.count(Report.id)).where(Report.resolved_at.is_(None))) == 0


def test_queue_and_log_cost_the_same_queries_at_any_length(app, as_user):
    from tests.querycount import count_queries
    with app.app_context():
        moderator = make_staff()
        author = make_user()

        def add(n):
            mod = db.session.get(type(moderator), moderator.id)
            for _ in range(n):
                reporter, newcomer = make_user(), make_user(new_member=True)
                thread = make_thread(author)
                post = make_reply(thread, author, "Reported reply")
                services.report(reporter, db.session.get(Post, post.id), "Spam, I think")
                make_reply(thread, newcomer, "Held reply")
                services.act_on(mod, db.session.get(Thread, thread.id), "lock", "Calm down")
        add(2)
    client = as_user(moderator)
    small = [count_queries(app, client, url)[0] for url in ("/moderation", "/moderation/log")]
    with app.app_context():
        add(8)
    large = [count_queries(app, client, url)[0] for url in ("/moderation", "/moderation/log")]
    assert small == large


def test_reports_have_a_category_and_only_other_needs_words(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
        post = make_reply(thread, author, "Buy now")
    login(reader)
    page = client.get(f"/report/post/{post.id}").get_data(as_text=True)
    for value in ("spam", "off-topic", "abuse", "misinformation", "other"):
        assert f'value="{value}"' in page
    assert client.post(f"/report/post/{post.id}", data={"category": "other", "reason": ""}).status_code == 422
    assert client.post(f"/report/post/{post.id}", data={"category": "bogus", "reason": "x" * 5}).status_code == 422
    response = client.post(f"/report/post/{post.id}", data={"category": "spam", "reason": ""})
    assert response.status_code in (302, 303)
    with app.app_context():
        (row,) = _reports()
        assert (row.category, row.reason) == ("spam", "")


def test_a_duplicate_report_is_refused_before_anything_is_typed(app, client, login):
    with app.app_context():
        author, reader = make_user(), make_user()
        thread = make_thread(author)
    login(reader)
    client.post(f"/report/thread/{thread.id}", data={"category": "off-topic"})
    page = client.get(f"/report/thread/{thread.id}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "You reported this" in text and "Off-topic" in text
    assert "<textarea" not in text and "<form method=\"post\" action=\"/report" not in text


def test_moderator_reasons_start_from_the_report(app, client, login):
    with app.app_context():
        author, reader, moderator = make_user(), make_user(), make_user(role="moderator")
        thread = make_thread(author)
        post = make_reply(thread, author, "Nonsense claim")
    login(reader)
    client.post(f"/report/post/{post.id}", data={"category": "misinformation", "reason": "Made-up numbers"})
    client.post("/auth/logout")
    login(moderator)
    page = client.get(f"/moderation/post/{post.id}").get_data(as_text=True)
    assert 'value="Misinformation: Made-up numbers"' in page
    with app.app_context():
        report_id = _reports()[0].id
    assert f"report={report_id}" in page
    member_page = client.get(f"/moderation/users/{author.id}?report={report_id}").get_data(as_text=True)
    assert "Misinformation: Made-up numbers</textarea>" in member_page
    assert "Nonsense claim" in member_page  # the member's recent posts are listed
