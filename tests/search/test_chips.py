"""Active filters shown as chips that remove themselves; who wrote each snippet."""
import pytest

from forum.search.chips import filter_chips
from tests.factories import make_reply, make_thread, make_user


@pytest.mark.parametrize("text, expected", [
    ("attention tag:rl author:ada", [("tag: rl", "attention author:ada"), ("author: ada", "attention tag:rl")]),
    ("-tag:old gradient", [("not tag: old", "gradient")]),
    ('in:papers "mixture of experts"', [("only: papers", '"mixture of experts"')]),
    ("after:2024-01-01 before:2024-12-31", [("after: 2024-01-01", "before:2024-12-31"),
                                            ("before: 2024-12-31", "after:2024-01-01")]),
    ("plain words only", []), ("unknown:filter word", []), ("", []),
])
def test_filter_chips(text, expected):
    assert [(chip.label, chip.without) for chip in filter_chips(text)] == expected


def test_results_page_shows_chips_and_snippet_writers(app, client):
    with app.app_context():
        ada = make_user(username="ada", display_name="Ada Lovelace")
        grace = make_user(username="grace", display_name="Grace Hopper")
        thread = make_thread(ada, title="Gradient noise in training", body="Gradient noise helps.")
        make_reply(thread, grace, "Gradient noise is overrated.")
    page = client.get("/search?q=gradient+noise+author:grace").get_data(as_text=True)
    assert 'class="filter-chips"' in page and "author: grace" in page
    assert 'href="/search?q=gradient+noise"' in page
    assert "Grace Hopper</a>" in page
    plain = client.get("/search?q=gradient+noise").get_data(as_text=True)
    assert "Ada Lovelace, opening post" in plain and 'class="filter-chips"' not in plain
