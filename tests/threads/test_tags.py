import pytest
from sqlalchemy import select

from forum.extensions import db
from forum.threads import services
from forum.threads.models import Tag, Thread
from forum.threads.tags import TagError, normalize_tag, parse_tags
from tests.factories import make_thread, make_user


@pytest.mark.parametrize("text, expected", [
    ("cs.LG", "cs.lg"), ("  Transformers ", "transformers"), ("#nlp", "nlp"),
    ("hep-th", "hep-th"), ("x" * 32, "x" * 32), ("x" * 33, None), ("c++", None),
    ("-lead", None), (".dot", None), ("naïve", None), ("", None), ("a_b", None),
])
def test_normalize_tag(text, expected):
    assert normalize_tag(text) == expected


def test_parse_tags_splits_dedupes_and_limits():
    assert parse_tags("cs.LG, nlp  cs.lg,stat.ML") == ["cs.lg", "nlp", "stat.ml"]
    assert parse_tags("") == [] and parse_tags(None) == []
    with pytest.raises(TagError, match="at most 5"):
        parse_tags("a b c d e f")
    with pytest.raises(TagError, match="'c\\+\\+' is not a tag"):
        parse_tags("ok c++")


def test_start_thread_with_tags_and_browse_them(app, client, login):
    with app.app_context():
        user = make_user()
        make_thread(user, title="Untagged thread")
    login(user)
    response = client.post("/t/new", data={"title": "Tagged thread", "body": "Body",
                                           "tags": "cs.LG, Transformers"})
    assert response.headers["Location"].endswith("/tagged-thread")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'href="/tags/cs.lg"' in page and 'href="/tags/transformers"' in page
    listing = client.get("/tags/cs.lg").get_data(as_text=True)
    assert "Tagged thread" in listing and "Untagged thread" not in listing
    assert "Why here?" in client.get("/tags/cs.lg?tab=top&period=all").get_data(as_text=True)
    assert client.get("/tags/CS.LG").headers["Location"] == "/tags/cs.lg"
    all_tags = client.get("/tags").get_data(as_text=True)
    assert "cs.lg" in all_tags and "1 thread" in all_tags
    form = client.get("/t/new").get_data(as_text=True)
    assert 'list="tag-suggestions"' in form and '<option value="transformers">' in form


@pytest.mark.parametrize("tags, message", [
    ("a b c d e f", "Use at most 5 tags"),
    ("good c++", "is not a tag"),
    ("x" * 40, "is not a tag"),
])
def test_bad_tags_are_refused_and_the_text_kept(app, client, login, tags, message):
    with app.app_context():
        user = make_user()
    login(user)
    response = client.post("/t/new", data={"title": "My careful title", "body": "Kept body", "tags": tags})
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert message in page and "My careful title" in page and "Kept body" in page
    with app.app_context():
        assert db.session.scalar(select(Thread)) is None


def test_invalid_tag_url_is_404(client):
    assert client.get("/tags/c++").status_code == 404


def test_edit_thread_changes_tags(app, client, login):
    with app.app_context():
        user = make_user()
        thread = services.start_thread(db.session.merge(user), "Retag me", "Body", "old one")
        thread_id = thread.id
    login(user)
    response = client.post(f"/t/{thread_id}/edit", data={"title": "Retag me", "body": "Body",
                                                         "tags": "new, one"})
    assert response.headers["Location"].endswith("/retag-me")
    with app.app_context():
        assert services.tag_names_of(thread_id) == ["new", "one"]
        assert set(db.session.scalars(select(Tag.name))) == {"old", "one", "new"}


def test_a_huge_tags_field_is_refused_before_it_is_split():
    # 10,000 typed tags: refused by length at once (de-duplication was quadratic).
    with pytest.raises(TagError, match="tags field is too long"):
        parse_tags(" ".join(f"t{i}" for i in range(10_000)))
    assert parse_tags(", ".join(["cs.lg"] * 60)) == ["cs.lg"]  # many repeats within the cap
