import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.threads import services
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user


def test_start_and_view_a_thread(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/t/new", data={"title": "Attention is quadratic",
                                           "body": "Is *that* a problem?"})
    location = response.headers["Location"]
    assert location.endswith("/attention-is-quadratic")
    page = client.get(location).get_data(as_text=True)
    assert "Attention is quadratic" in page and "<em>that</em>" in page
    with app.app_context():
        thread = db.session.scalar(select(Thread))
        assert thread.body_html == "<p>Is <em>that</em> a problem?</p>"


def test_short_thread_url_and_wrong_slug_redirect(app, client):
    with app.app_context():
        thread = make_thread(make_user(), title="Hello there world")
    assert client.get(f"/t/{thread.id}").headers["Location"] == f"/t/{thread.id}/hello-there-world"
    assert client.get(f"/t/{thread.id}/old-slug").headers["Location"] == f"/t/{thread.id}/hello-there-world"


def test_missing_thread_is_404_in_layout(app, client):
    response = client.get("/t/999/anything")
    page = response.get_data(as_text=True)
    assert response.status_code == 404
    assert "That thread does not exist." in page and 'class="site-header"' in page


@pytest.mark.parametrize("data, message", [
    ({"title": "", "body": "Body"}, "Give your thread a title."),
    ({"title": "Hey", "body": "Body"}, "between 5 and 200 characters"),
    ({"title": "T" * 201, "body": "Body"}, "between 5 and 200 characters"),
    ({"title": "A fine title", "body": ""}, "Write what your thread is about."),
    ({"title": "A fine title", "body": "b" * 50_001}, "cannot be longer than 50000"),
])
def test_bad_thread_input_keeps_what_was_typed(app, client, login, data, message):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/t/new", data=data)
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page
    if data["body"][:100]:
        assert data["body"][:100] in page
    with app.app_context():
        assert db.session.scalar(select(Thread)) is None


def test_preview_shows_rendered_body_without_posting(app, client, login):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/t/new", data={"title": "Previewed title", "body": "**bold** idea",
                                           "preview": "Preview"})
    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<strong>bold</strong>" in page and "**bold** idea" in page
    with app.app_context():
        assert db.session.scalar(select(Thread)) is None


def test_edit_own_thread_and_not_others(app, client, login):
    with app.app_context():
        owner, other = make_user(), make_user()
        thread = make_thread(owner)
    login(other)
    assert client.get(f"/t/{thread.id}/edit").status_code == 403
    assert client.post(f"/t/{thread.id}/edit", data={"title": "Hijacked!", "body": "x"}).status_code == 403
    assert client.post(f"/t/{thread.id}/delete").status_code == 403
    client.post("/auth/logout")
    login(owner)
    client.post(f"/t/{thread.id}/edit", data={"title": "A better title", "body": "New _body_"})
    with app.app_context():
        saved = db.session.get(Thread, thread.id)
        assert saved.title == "A better title" and saved.edited_at is not None
        assert "<em>body</em>" in saved.body_html


def test_soft_deleted_thread_keeps_replies_readable(app, client, login):
    with app.app_context():
        owner, other = make_user(), make_user()
        thread = make_thread(owner, title="Soon to be gone", body="secret words")
        make_reply(thread, other, "This reply survives.")
    login(owner)
    client.post(f"/t/{thread.id}/delete")
    page = client.get(f"/t/{thread.id}/soon-to-be-gone").get_data(as_text=True)
    assert "[deleted]" in page and "secret words" not in page
    assert "This reply survives." in page
    response = client.post(f"/t/{thread.id}/reply", data={"body": "Late reply"})
    assert response.status_code == 410
    assert "Late reply" in response.get_data(as_text=True)


def test_edit_of_deleted_thread_is_gone(app, client, login):
    with app.app_context():
        owner = make_user()
        thread = make_thread(owner)
    login(owner)
    client.post(f"/t/{thread.id}/delete")
    assert client.post(f"/t/{thread.id}/edit", data={"title": "Back again", "body": "x"}).status_code == 410


def test_front_page_lists_by_latest_activity_with_pagination(app, client):
    app.config["THREADS_PER_PAGE"] = 2
    with app.app_context():
        user = make_user()
        first = make_thread(user, title="First thread here")
        make_thread(user, title="Second thread here")
        make_thread(user, title="Third thread here")
        make_reply(first, user)  # revives the first thread
    page1 = client.get("/").get_data(as_text=True)
    assert page1.index("First thread here") < page1.index("Third thread here")
    assert "Second thread here" not in page1 and "Page 1 of 2" in page1
    page2 = client.get("/?page=2").get_data(as_text=True)
    assert "Second thread here" in page2 and "Page 2 of 2" in page2  # the total of a later page
    assert client.get("/?page=-4").status_code == 200
    assert client.get("/?page=999").status_code == 200


def test_each_tab_and_tag_listing_counts_its_own_threads(app, client):
    """The total comes with the page's rows (queries.ListingPage): the tab's, period's and
    tag's own count, on the first page, a later one, and past the end."""
    app.config["THREADS_PER_PAGE"] = 2
    with app.app_context():
        user = make_user()
        for n in range(5):
            services.start_thread(db.session.get(type(user), user.id), f"Thread {n}", "Body",
                                  "tagged" if n < 3 else "other")
    for query, pages in (("tab=hot", 3), ("tab=new", 3), ("tab=top&period=week", 3),
                         ("tab=top&period=day", 3), ("tab=active", 3)):
        assert f"Page 1 of {pages}" in client.get(f"/?{query}").get_data(as_text=True)
        assert f"Page {pages} of {pages}" in client.get(f"/?{query}&page={pages}").get_data(as_text=True)
    assert "Page 2 of 2" in client.get("/tags/tagged?tab=top&period=all&page=2").get_data(as_text=True)
    assert "Page 1 of 2" in client.get("/tags/tagged?tab=hot").get_data(as_text=True)
    past = client.get("/tags/tagged?page=7")
    assert past.status_code == 200 and "Page 7" not in past.get_data(as_text=True)
