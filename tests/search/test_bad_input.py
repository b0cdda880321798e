"""Whatever is typed into the search box, the page answers 200 with a clear message."""
import pytest

from tests.factories import make_thread, make_user


@pytest.mark.parametrize("query, message", [
    ("", "Type words to find past debates"),
    ("   ", "Type words to find past debates"),
    ("the and of", "Nothing to search for"),
    ("x" * 2000, "cut to its first"),
    ("word " * 400, "cut to its first"),
    ('"unbalanced', "do not pair up"),
    ("((nested", "do not pair up"),
    ("colour:red", "no colour: filter"),
    ("after:2024-99-99", "not a date"),
    ("before:tomorrow ideas", "not a date"),
    ("-only -exclusions", "Nothing to search for"),
    ("*", "Nothing to search for"),
    ("a*", "Nothing to search for"),
    ("OR OR OR", "Nothing to search for"),
    ("<script>alert(1)</script>", "No debates match"),
])
def test_bad_queries_get_a_clear_page(app, client, query, message):
    with app.app_context():
        make_thread(make_user(), title="Something to find")
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert message in page
    assert "<script>alert" not in page


@pytest.mark.parametrize("page, message", [
    ("-1", "Pages start at 1"), ("0", "Pages start at 1"), ("abc", "not a number"),
    ("99999", "Results go up to page"),
])
def test_bad_page_numbers(app, client, page, message):
    with app.app_context():
        make_thread(make_user(), title="Something to find")
    response = client.get("/search", query_string={"q": "something", "page": page})
    assert response.status_code == 200
    assert message in response.get_data(as_text=True)


def test_page_past_the_end_says_so(app, client):
    with app.app_context():
        make_thread(make_user(), title="Something to find")
    response = client.get("/search", query_string={"q": "something", "page": "7"})
    assert response.status_code == 200 and "No debates match" in response.get_data(as_text=True)


def test_unknown_sort_falls_back_to_relevance(app, client):
    with app.app_context():
        make_thread(make_user(), title="Something to find")
    page = client.get("/search?q=something&sort=bogus").get_data(as_text=True)
    assert "Something to find" in page


def test_help_page_and_header_box(client):
    assert "author:ada" in client.get("/search/help").get_data(as_text=True)
    home = client.get("/").get_data(as_text=True)
    assert 'role="search"' in home and 'href="/search/help"' in home
