"""quick_url and time_tag: the cheap helpers large pages call once per row draw what url_for
and a formatted date would."""
from datetime import datetime, timezone

import pytest
from flask import url_for

from forum import create_app
from forum.templating import link_around, quick_url, time_tag
from tests.conftest import _base_config


@pytest.fixture
def plain_app(tmp_path):
    return create_app({**_base_config(tmp_path), "SQLALCHEMY_DATABASE_URI": "sqlite://"})


@pytest.mark.parametrize("endpoint, values", [
    ("threads.show", {"thread_id": 12, "slug": "a-b"}),
    ("threads.vote_post", {"post_id": 7}),
    ("threads.index", {"tab": "hot"}),
    ("threads.tag", {"tab": "top", "period": "day", "tag": "cs.lg"}),
    ("threads.reply", {"thread_id": 3, "parent": 5}),
    ("accounts.profile", {"username": "ann-o"}),
])
def test_quick_url_draws_what_url_for_draws(plain_app, endpoint, values):
    with plain_app.test_request_context("/", base_url="http://forum.test/sub"):
        expected = url_for(endpoint, **values)
        assert quick_url(endpoint, **values) == expected
        assert quick_url(endpoint, **values) == expected  # the second call fills in kept pieces
        other = {name: (value + 1 if isinstance(value, int) else value + "x")
                 for name, value in values.items()}
        assert quick_url(endpoint, **other) == url_for(endpoint, **other)


def test_quick_url_quotes_text_values(plain_app):
    with plain_app.test_request_context("/"):
        assert quick_url("threads.tag", tag="a b&c") == "/tags/a%20b%26c"


def test_time_tag_has_the_exact_time_on_hover():
    tag = time_tag(datetime(2026, 1, 2, 3, 4, 5, tzinfo=timezone.utc))
    assert tag.startswith('<time datetime="2026-01-02T03:04:05+00:00" title="2026-01-02 03:04 UTC">')
    assert tag.endswith(" ago</time>") and time_tag(None) == ""


def test_link_around_gives_the_pieces_between_values_in_link_order(plain_app):
    with plain_app.test_request_context():
        before, after = link_around("threads.vote_post", "post_id")
        assert f"{before}42{after}" == url_for("threads.vote_post", post_id=42)
        before, between, after = link_around("threads.show", "thread_id", "slug")
        assert f"{before}7{between}a-slug{after}" == url_for("threads.show", thread_id=7, slug="a-slug")
        with pytest.raises(ValueError):
            link_around("threads.show", "slug", "thread_id")  # not the link's order
