import math
from datetime import timedelta

import pytest
from sqlalchemy import update

from forum.database import utcnow
from forum.extensions import db
from forum.threads import queries, ranking
from forum.threads.models import Post, Thread
from tests.factories import make_reply, make_thread, make_user


@pytest.mark.parametrize("score, replies, age, expected", [
    (0, 0, 0.0, 1 / 2 ** 1.8),
    (10, 4, 1.0, 13 / 3 ** 1.8),
    (10, 4, 24.0, 13 / 26 ** 1.8),
    (-3, 0, 0.0, -2 / 2 ** 1.8),
])
def test_hotness_formula(score, replies, age, expected):
    assert ranking.hotness(score, replies, age) == pytest.approx(expected)


def test_hotness_decays_with_age_and_grows_with_score_and_replies():
    assert ranking.hotness(5, 0, 1) > ranking.hotness(5, 0, 10)
    assert ranking.hotness(6, 0, 1) > ranking.hotness(5, 0, 1)
    assert ranking.hotness(5, 2, 1) > ranking.hotness(5, 0, 1)


@pytest.mark.parametrize("up, down, expected", [
    (0, 0, 0.0), (1, 0, 0.2065), (10, 0, 0.7225), (90, 10, 0.8256), (0, 5, 0.0),
])
def test_wilson_lower_bound(up, down, expected):
    assert ranking.wilson_lower_bound(up, down) == pytest.approx(expected, abs=1e-3)


def _set(thread, **values):
    db.session.execute(update(Thread).where(Thread.id == thread.id).values(**values))
    db.session.commit()


def _titles(app, tab, now, period="all", per_page=50):
    """The tab's titles in order, as ``front_page`` lists them; each page of the listing the
    front page draws (its ids picked from an index first, then put in order again) agrees."""
    with app.app_context():
        titles = [t.title for t in db.session.scalars(queries.front_page(tab, now=now, period=period,
                                                                          limit=100))]
        pages = [queries.front_page_listing(tab, now=now, period=period, tag=None, page=n,
                                            per_page=per_page) for n in (1, 2, 3)]
        assert [t.title for page in pages for t in page.items] == titles
        assert {page.total for page in pages} == {len(titles)}
        return titles


def test_tabs_order_threads(app):
    now = utcnow()
    with app.app_context():
        author = make_user()
        old_big = make_thread(author, title="Old but big")
        _set(old_big, score=50, created_at=now - timedelta(days=3), last_activity_at=now - timedelta(days=3))
        fresh = make_thread(author, title="Fresh and small")
        _set(fresh, score=2, created_at=now - timedelta(hours=1), last_activity_at=now - timedelta(hours=1))
        lively = make_thread(author, title="Lively debate")
        _set(lively, score=1, reply_count=30, created_at=now - timedelta(hours=5),
             last_activity_at=now - timedelta(minutes=1))
        ancient = make_thread(author, title="Ancient classic")
        _set(ancient, score=200, created_at=now - timedelta(days=400), last_activity_at=now - timedelta(days=400))
    assert _titles(app, tab="hot", now=now) == ["Lively debate", "Fresh and small", "Old but big", "Ancient classic"]
    assert _titles(app, tab="active", now=now)[0] == "Lively debate"
    assert _titles(app, tab="new", now=now) == ["Fresh and small", "Lively debate", "Old but big", "Ancient classic"]
    assert _titles(app, tab="top", period="day", now=now) == ["Fresh and small", "Lively debate"]
    assert _titles(app, tab="top", period="week", now=now) == ["Old but big", "Fresh and small", "Lively debate"]
    assert _titles(app, tab="top", period="all", now=now)[0] == "Ancient classic"
    for tab in ranking.TABS:  # a page of two, then one
        assert _titles(app, tab=tab, now=now, per_page=2) == _titles(app, tab=tab, now=now)


def test_hot_in_sql_matches_the_python_formula(app):
    now = utcnow()
    with app.app_context():
        thread = make_thread(make_user())
        _set(thread, score=7, reply_count=3, created_at=now - timedelta(hours=10))
        from sqlalchemy import select
        value = db.session.scalar(select(ranking.hotness_sql(Thread, now, db.engine.dialect.name)))
        assert value == pytest.approx(ranking.hotness(7, 3, 10.0), rel=1e-6)


def test_pinned_threads_stay_on_top_of_every_tab(app):
    now = utcnow()
    with app.app_context():
        author = make_user()
        pinned = make_thread(author, title="House rules")
        _set(pinned, pinned=True, score=-5, created_at=now - timedelta(days=30))
        make_thread(author, title="Something new")
    for tab in ranking.TABS:
        assert _titles(app, tab=tab, period="all", now=now)[0] == "House rules"


def test_front_page_tabs_and_rank_explanation(app, client):
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Explain my rank")
        _set(thread, score=4, reply_count=2)
    for url in ("/", "/?tab=active", "/?tab=new", "/?tab=top&period=month", "/?tab=top&period=all"):
        page = client.get(url).get_data(as_text=True)
        assert "Explain my rank" in page and "Why here?" in page
    page = client.get("/?tab=hot").get_data(as_text=True)
    assert "score 4, 2 replies" in page and "^1.8" in page
    assert 'aria-current="page">Hot' in page


@pytest.mark.parametrize("query", ["tab=sideways", "tab=top&period=decade"])
def test_unknown_tab_or_period_is_400(client, query):
    response = client.get(f"/?{query}")
    assert response.status_code == 400 and "Unknown tab" in response.get_data(as_text=True)


def _replies_in_order(page: str, bodies):
    return sorted(bodies, key=page.index)


def test_replies_sort_best_oldest_newest_and_the_choice_survives_pagination(app, client):
    app.config["REPLIES_PER_PAGE"] = 2
    with app.app_context():
        author = make_user()
        thread = make_thread(author, title="Sorting replies")
        posts = [make_reply(thread, author, f"Reply number {n}") for n in range(4)]
        for post, (up, down) in zip(posts, [(0, 0), (9, 1), (2, 0), (1, 5)]):
            db.session.execute(update(Post).where(Post.id == post.id).values(
                up_count=up, down_count=down, score=up - down))
        db.session.commit()
    bodies = [f"Reply number {n}" for n in range(4)]
    best = client.get(f"/t/{thread.id}/sorting-replies").get_data(as_text=True)
    assert _replies_in_order(best, [b for b in bodies if b in best]) == ["Reply number 1", "Reply number 2"]
    assert "sort=best" in best and "page=2" in best
    newest = client.get(f"/t/{thread.id}/sorting-replies?sort=newest").get_data(as_text=True)
    assert "Reply number 3" in newest and "Reply number 0" not in newest
    assert f"/t/{thread.id}/sorting-replies?page=2&amp;sort=newest" in newest
    second = client.get(f"/t/{thread.id}/sorting-replies?sort=newest&page=2").get_data(as_text=True)
    assert "Reply number 0" in second and "Reply number 3" not in second
    oldest = client.get(f"/t/{thread.id}/sorting-replies?sort=oldest").get_data(as_text=True)
    assert "Reply number 0" in oldest and "Reply number 1" in oldest and "Reply number 2" not in oldest
    assert client.get(f"/t/{thread.id}/sorting-replies?sort=loudest").status_code == 400


@pytest.mark.parametrize("score, replies, hours", [(0, 0, 0.0), (3, 4, 5.26), (-2, 1, 700.0), (40, 13, -1.0)])
def test_the_listing_explains_hotness_with_its_formula(score, replies, hours):
    """listing.py draws the sentence from a row's values (ranking.hotness_explained): the
    inputs, the formula with them, and its value; a clock ahead never makes the age negative."""
    now = utcnow()
    created = now - timedelta(hours=hours)
    age = max(hours, 0.0)
    value = ranking.hotness(score, replies, age)
    assert ranking.hotness_explained(score, replies, created, now) == (
        f"score {score}, {replies} replies, {age:.1f} h old: "
        f"({score} + 0.5 × {replies} + 1) / ({age:.1f} + 2)^1.8 = {value:.4f}")
