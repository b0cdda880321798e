"""Feeds cost a fixed number of SQL queries, however long the thread or busy the member."""
from __future__ import annotations

from tests.factories import make_user
from tests.feeds.bulk import thread_with
from tests.querycount import count_queries


def test_feeds_cost_the_same_queries_at_5_and_1000_replies(app, client):
    app.config["PAGE_CACHE_SECONDS"] = 0  # count the drawing, not the cache
    with app.app_context():
        authors = [make_user() for _ in range(5)]
        usernames = [author.username for author in authors]
    counts: dict[tuple[str, int], int] = {}
    for size in (5, 1000):
        with app.app_context():
            thread = thread_with(size, authors)
            thread_id = thread.id
        for name, url in (("thread", f"/t/{thread_id}.atom"), ("member", f"/u/{usernames[1]}.atom"),
                          ("paper", "/papers/1706.03762.atom"), ("front", "/feed.atom?tab=new"),
                          ("tag", "/tags/nlp.atom")):
            counts[(name, size)], body = count_queries(app, client, url)
            assert "<entry>" in body
    for name in ("thread", "member", "paper", "front", "tag"):
        assert counts[(name, 5)] == counts[(name, 1000)], name
    assert counts[("thread", 1000)] <= 3  # thread + author + tags, then the newest replies
