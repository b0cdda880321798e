"""Follow buttons on tag and paper pages put a tag or paper in the member's digest."""
import pytest

from forum.digest import services
from forum.digest.models import Subscription
from forum.extensions import db
from tests.factories import make_thread, make_user


def _follows(app, user):
    with app.app_context():
        row = db.session.scalar(db.select(Subscription).where(Subscription.user_id == user.id))
        return row.follows if row else None


def test_follow_and_unfollow_a_tag_from_its_page(app, client, login):
    with app.app_context():
        member = make_user()
        from forum.threads import services as threads
        threads.start_thread(db.session.get(type(member), member.id), "Tagged", "Body", tags=["rl"])
    login(member)
    page = client.get("/tags/rl").get_data(as_text=True)
    assert 'action="/digest/follow/tags"' in page and ">Follow</button>" in page
    response = client.post("/digest/follow/tags", data={"value": "rl", "on": "1"}, follow_redirects=True)
    text = response.get_data(as_text=True)
    assert "You follow #rl" in text and "digest is off" in text and ">Following</button>" in text
    assert _follows(app, member)["tags"] == ["rl"]
    client.post("/digest/follow/tags", data={"value": "rl", "on": "0"})
    assert _follows(app, member)["tags"] == []


def test_follow_a_paper_and_the_digest_settings_list_it(app, client, login):
    with app.app_context():
        member = make_user()
        make_thread(member, body="About arXiv:1706.03762")
    login(member)
    assert 'action="/digest/follow/papers"' in client.get("/papers/1706.03762", follow_redirects=True).get_data(as_text=True)
    client.post("/digest/follow/papers", data={"value": "arXiv:1706.03762v7", "on": "1"})
    assert _follows(app, member)["papers"] == ["1706.03762"]
    assert "1706.03762" in client.get("/digest/settings").get_data(as_text=True)
    assert 'href="/digest/settings"' in client.get("/settings").get_data(as_text=True)


@pytest.mark.parametrize("kind, data", [
    ("tags", {"value": "not a tag!", "on": "1"}), ("papers", {"value": "1234", "on": "1"}),
    ("users", {"value": "ada", "on": "1"}), ("tags", {"value": "rl", "on": "maybe"}),
    ("tags", {"value": "", "on": "1"}),
])
def test_bad_follows_are_refused(app, client, login, kind, data):
    with app.app_context():
        member = make_user()
    login(member)
    assert client.post(f"/digest/follow/{kind}", data=data).status_code in (400, 404)
    assert not (_follows(app, member) or {}).get("tags")


def test_visitors_see_no_follow_button_and_cannot_follow(app, client):
    with app.app_context():
        member = make_user()
        from forum.threads import services as threads
        threads.start_thread(db.session.get(type(member), member.id), "Tagged", "Body", tags=["rl"])
    assert 'action="/digest/follow/tags"' not in client.get("/tags/rl").get_data(as_text=True)
    assert client.post("/digest/follow/tags", data={"value": "rl", "on": "1"}).status_code == 401


def test_an_active_digest_says_so(app, client, login):
    with app.app_context():
        member = make_user()
        from forum.database import utcnow
        db.session.add(Subscription(email=member.email, user_id=member.id, confirmed_at=utcnow()))
        db.session.commit()
        assert services.set_following(db.session.get(type(member), member.id), "tags", "rl", True) == "on"
