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


def _help_examples(client) -> list[str]:
    """Every query form the help page shows, as it shows it."""
    import html
    import re
    page = client.get("/search/help").get_data(as_text=True)
    return [html.unescape(code) for code in re.findall(r"<code>([^<]*)</code>", page)]


def test_every_query_form_of_the_help_page_answers_200(app, client):
    with app.app_context():
        author = make_user(username="ada")
        make_thread(author, title="Graph neural nets for RL", body="in-context learning, arXiv:2301.12345")
    examples = _help_examples(client)
    assert len(examples) >= 20 and "repo:owner/name" in examples
    for example in examples + [" ".join(examples)]:
        for sort in ("relevance", "newest", "top"):
            response = client.get("/search", query_string={"q": example, "sort": sort})
            assert response.status_code == 200, (example, sort)


@pytest.mark.parametrize("query", [
    "x" * 2000, ("attention " * 250)[:2000], '"' * 2000, "(" * 1000 + ")" * 1000,
    "-" * 2000, "*" * 2000, "OR " * 600, "tag:" * 500, '"a b" ' * 300,
    "before:0001-01-01", "after:9999-12-31", "after:0000-00-00", "before:2024-02-30",
    "after:2024-01-01 before:2023-01-01", "after:+002024-01-01", "before:1969-12-31T23:59",
    "after:2024-W01-1", "after:99999-01-01", "before:-1", "after:2024-01-01" * 40,
    "\u202egraph", "graph\u0301", "𝔤𝔯𝔞𝔭𝔥", "ﬁne-tuning", "%00", "%s%s%s", "{{7*7}}",
])
def test_hostile_queries_answer_200_never_500(app, client, query):
    with app.app_context():
        make_thread(make_user(), title="Graph attention")
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200
    assert "{{7*7}}" not in query or "49" not in response.get_data(as_text=True)


@pytest.mark.parametrize("page", ["", " ", "1.5", "1e3", "0x10", "10" * 20, "-0", "٣", "NaN"])
def test_odd_page_numbers_answer_200_with_a_note_or_the_first_page(app, client, page):
    with app.app_context():
        make_thread(make_user(), title="Something to find")
    response = client.get("/search", query_string={"q": "something", "page": page})
    assert response.status_code == 200


@pytest.mark.parametrize("sort", ["x" * 2000, ""])
def test_odd_sorts_fall_back_to_relevance(app, client, sort):
    with app.app_context():
        make_thread(make_user(), title="Something to find")
    response = client.get("/search", query_string={"q": "something", "sort": sort})
    assert response.status_code == 200 and "Something to find" in response.get_data(as_text=True)


@pytest.mark.parametrize("args", [
    {"q": "graph\x00neural"}, {"q": "\x00"}, {"q": "tag:\x00rl"}, {"q": '"\x00"'}, {"q": "optim\x00*"},
    {"q": "something", "page": "\x00"}, {"q": "something", "sort": "\x00"},
    {"q": "something", "sort": "newest\x00"},
])
def test_nul_bytes_are_refused_with_a_message_never_a_500(app, client, args):
    """A NUL anywhere in a request is refused by the one check of every request
    (forum/request_guard.py), before search sees it: 400, said plainly, never a rebuild."""
    with app.app_context():
        make_thread(make_user(), title="Something to find")
    response = client.get("/search", query_string=args)
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True) or "null character" in response.get_data(as_text=True).lower()
