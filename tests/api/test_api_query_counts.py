"""API answers cost a fixed number of SQL queries, however long the thread."""
from __future__ import annotations

from tests.factories import make_user
from tests.feeds.bulk import thread_with
from tests.querycount import count_queries


def test_api_costs_the_same_queries_at_5_and_1000_replies(app, client):
    app.config["PAGE_CACHE_SECONDS"] = 0  # count the drawing, not the cache
    with app.app_context():
        authors = [make_user() for _ in range(5)]
        username = authors[0].username
    counts: dict[tuple[str, int], int] = {}
    for size in (5, 1000):
        with app.app_context():
            thread_id = thread_with(size, authors).id
        for name, url in (("thread", f"/api/v1/threads/{thread_id}"),
                          ("threads", "/api/v1/threads?tab=active"),
                          ("paper", "/api/v1/papers/1706.03762"), ("member", f"/api/v1/members/{username}")):
            counts[(name, size)], body = count_queries(app, client, url)
        assert f'"body":"Reply {min(size, 100) - 1}"' in client.get(
            f"/api/v1/threads/{thread_id}?sort=oldest").get_data(as_text=True).replace(": ", ":")
    for name in ("thread", "threads", "paper", "member"):
        assert counts[(name, 5)] == counts[(name, 1000)], (name, counts)
    # thread + author + tags, the reply outline, the drawn replies + authors, two citation lists
    assert counts[("thread", 1000)] <= 6
