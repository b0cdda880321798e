"""API clients over recorded responses: never the network."""
from __future__ import annotations

import io
import urllib.error
from datetime import datetime, timedelta, timezone
from email.message import Message
from pathlib import Path

import pytest

from forum import http
from forum.papers.arxiv import ArxivClient, ArxivError
from forum.papers.github import GitHubClient

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ARXIV = FIXTURES / "arxiv"
GITHUB = FIXTURES / "github"
NOW = datetime(2026, 11, 29, 6, 0, tzinfo=timezone.utc)
EMPTY_FEED = (ARXIV / "api_2026_id_list_0808.05394_empty.xml").read_bytes()


class FakeClock:
    def __init__(self):
        self.now, self.sleeps = 100.0, []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


# --- forum.http -----------------------------------------------------------

def test_headers_are_case_insensitive():
    headers = http.Headers([("ETag", '"a"'), ("X-RateLimit-Reset", "1"), ("Vary", "A"), ("vary", "B")])
    assert headers["etag"] == headers["ETAG"] == '"a"'
    assert "x-ratelimit-reset" in headers and headers.get("missing") is None
    assert headers["Vary"] == "A, B" and len(headers) == 3


def test_replay_client_refuses_unrecorded_urls():
    replay = http.ReplayClient()
    replay.add("https://example.org/a", 200, {"Content-Type": "text/plain"}, "hi")
    assert replay.get("https://example.org/a").body == b"hi"
    with pytest.raises(http.UnrecordedRequest):
        replay.get("https://example.org/b")
    assert http.ReplayTransport is http.ReplayClient


class FakeAnswer(io.BytesIO):
    def __init__(self, status, body=b"", headers=None, url="https://example.org/"):
        super().__init__(body)
        self.status, self.url, self.headers = status, url, Message()
        for name, value in (headers or {}).items():
            self.headers[name] = value

    def geturl(self):
        return self.url


def _client_with(monkeypatch, outcomes, **kwargs):
    client = http.HttpClient("test-agent/1.0 (+mailto:dev@example.org)", timeout=2.5,
                             sleep=lambda s: None, **kwargs)
    seen = []

    def fake_open(request, timeout):
        seen.append((request, timeout))
        outcome = outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    monkeypatch.setattr(client._opener, "open", fake_open)
    return client, seen


def test_http_client_sends_user_agent_and_timeout(monkeypatch):
    client, seen = _client_with(monkeypatch, [FakeAnswer(200, b"ok", {"ETag": "x"})])
    response = client.get("https://example.org/", headers={"Accept": "text/plain"})
    assert (response.status, response.body, response.headers["etag"]) == (200, b"ok", "x")
    request, timeout = seen[0]
    assert request.get_header("User-agent") == "test-agent/1.0 (+mailto:dev@example.org)"
    assert request.get_header("Accept") == "text/plain" and timeout == 2.5


def test_http_client_returns_redirects_and_errors_as_responses(monkeypatch):
    moved = Message()
    moved["Location"] = "https://api.github.com/repositories/1"
    error = urllib.error.HTTPError("https://x.org/", 301, "Moved", moved, io.BytesIO(b"{}"))
    client, _ = _client_with(monkeypatch, [error])
    response = client.get("https://x.org/")
    assert response.status == 301 and response.headers["location"].endswith("/repositories/1")


def test_http_client_retries_network_errors_then_raises(monkeypatch):
    client, seen = _client_with(monkeypatch, [urllib.error.URLError("down"), TimeoutError("slow"),
                                              urllib.error.URLError("still down")], retries=2)
    with pytest.raises(http.HttpError):
        client.get("https://example.org/")
    assert len(seen) == 3


def test_http_client_retries_503_once_then_succeeds(monkeypatch):
    unavailable = urllib.error.HTTPError("https://x.org/", 503, "Busy", Message(), io.BytesIO(b""))
    client, seen = _client_with(monkeypatch, [unavailable, FakeAnswer(200, b"ok")], retries=1)
    assert client.get("https://x.org/").status == 200 and len(seen) == 2


def test_http_client_refuses_other_schemes():
    with pytest.raises(ValueError):
        http.HttpClient("agent").get("file:///etc/passwd")


# --- arXiv ---------------------------------------------------------------

def _arxiv(replay, clock):
    return ArxivClient(replay, min_interval=3.0, clock=clock, sleep=clock.sleep)


def test_arxiv_batches_by_100_and_waits_between_requests():
    clock, replay = FakeClock(), http.ReplayClient()
    ids = [f"2301.{n:05d}" for n in range(1, 251)]
    client = _arxiv(replay, clock)
    for start in (0, 100, 200):
        replay.add(client.batch_url(ids[start:start + 100]), 200, {}, EMPTY_FEED)
    assert client.fetch(ids) == []
    urls = [url for url, _ in replay.requests]
    assert len(urls) == 3
    assert all(u.startswith("https://export.arxiv.org/api/query?id_list=") for u in urls)
    assert [u.rsplit("max_results=", 1)[1] for u in urls] == ["100", "100", "50"]
    assert urls[0].count(",") == 99
    assert clock.sleeps == [3.0, 3.0]


def test_arxiv_waits_only_for_what_remains_of_the_interval():
    clock, replay = FakeClock(), http.ReplayClient()
    client = _arxiv(replay, clock)
    replay.add(client.batch_url(["1706.03762"]), 200, {}, EMPTY_FEED)
    client.fetch(["1706.03762"])
    clock.now += 1.0
    client.fetch(["1706.03762"])
    clock.now += 10.0
    client.fetch(["1706.03762"])
    assert clock.sleeps == [2.0]


def test_arxiv_fetch_parses_records_and_normalizes_ids():
    clock, replay = FakeClock(), http.ReplayClient()
    client = _arxiv(replay, clock)
    wanted = ["1201.4869", "cond-mat/0412498"]
    replay.add(client.batch_url(wanted), 200, {}, (ARXIV / "api_2016_search_au_del_maestro.xml").read_bytes())
    records = client.fetch(["arXiv:1201.4869v1", "https://arxiv.org/abs/cond-mat/0412498",
                            "1201.4869", "not an id"])
    assert len(records) == 10 and records[0].arxiv_id == "1201.4869"
    assert replay.requests[0][0].endswith("id_list=1201.4869,cond-mat/0412498&max_results=2")


def test_arxiv_error_feed_and_http_errors_raise():
    clock, replay = FakeClock(), http.ReplayClient()
    client = _arxiv(replay, clock)
    replay.add(client.batch_url(["1706.03762"]), 400, {},
               (ARXIV / "api_2026_id_list_abc_error400.xml").read_bytes())
    with pytest.raises(ArxivError, match="incorrect id format"):
        client.fetch(["1706.03762"])
    replay.add(client.batch_url(["2005.14165"]), 503, {}, b"<html>busy</html>")
    with pytest.raises(ArxivError, match="HTTP 503"):
        client.fetch(["2005.14165"])
    assert client.fetch([]) == [] and client.fetch(["nonsense"]) == []


# --- GitHub --------------------------------------------------------------

def _github(files=(), token=None, **rekeyed):
    replay = http.ReplayClient()
    for name in files:
        replay.add_file(GITHUB / name)
    for url, name in rekeyed.items():
        replay.add_file(GITHUB / name, url=url)
    return replay, GitHubClient(replay, token=token, now=lambda: NOW)


def test_github_200_popular_repository():
    replay, client = _github(["repo_200_twbs_bootstrap_2025.json"])
    result = client.fetch_repo("twbs/bootstrap")
    assert result.status == "ok" and result.etag.startswith('W/"b516')
    meta = result.metadata
    assert meta.full_name == "twbs/bootstrap" and meta.stars > 170_000
    assert meta.language == "JavaScript" and meta.license == "MIT" and len(meta.topics) == 7
    assert meta.html_url == "https://github.com/twbs/bootstrap" and meta.fork is False
    assert meta.pushed_at.tzinfo is not None
    url, headers = replay.requests[0]
    assert url == "https://api.github.com/repos/twbs/bootstrap"
    assert headers["Accept"] == "application/vnd.github+json" and "Authorization" not in headers


def test_github_token_and_etag_are_sent_and_304_is_not_modified():
    replay, client = _github(token="s3cret")
    replay.add("https://api.github.com/repos/pallets/flask", 304, {"ETag": '"abc"'}, b"")
    result = client.fetch_repo("pallets/flask", etag='"abc"')
    assert result.status == "not_modified" and result.etag == '"abc"' and result.metadata is None
    headers = replay.requests[0][1]
    assert headers["Authorization"] == "Bearer s3cret" and headers["If-None-Match"] == '"abc"'


@pytest.mark.parametrize(("fixture", "name", "check"), [
    ("repo_200_PyGithub_PyGithub_2025.json", "PyGithub/PyGithub", lambda m: m.license == "LGPL-3.0"),
    ("repo_200_nulls_BeaverSoftware_test1_2024.json", "BeaverSoftware/test1",
     lambda m: (m.description, m.language, m.license, m.stars) == (None, None, None, 0)),
    ("repo_200_fork_EnricoMi_PyGithub_2026.json", "EnricoMi/PyGithub", lambda m: m.fork is True),
    ("repo_200_license_NOASSERTION_openframeworks_2018.json", "openframeworks/openFrameworks",
     lambda m: m.license == "Other"),
    ("repo_200_legacy_shape_openframeworks_2012.json", "openframeworks/openFrameworks",
     lambda m: (m.stars, m.license, m.topics, m.archived, m.language) == (1745, None, [], False, "C")),
])
def test_github_200_shapes(fixture, name, check):
    _, client = _github([fixture])
    result = client.fetch_repo(name)
    assert result.status == "ok" and result.metadata.full_name == name
    assert check(result.metadata)


def test_github_octokit_recording():
    _, client = _github(["octokit_fixtures_get-repository_raw-fixture_2022.json"])
    result = client.fetch_repo("octokit-fixture-org/hello-world")
    assert result.status == "ok" and result.metadata.full_name == "octokit-fixture-org/hello-world"


@pytest.mark.parametrize(("fixture", "name"), [
    ("repo_404_jacquev6_Xxx.json", "jacquev6/Xxx"),
    ("repo_404_with_documentation_url.json", "random/vulnerability-alerts"),
])
def test_github_404(fixture, name):
    _, client = _github([fixture])
    assert client.fetch_repo(name).status == "not_found"


def test_github_301_follows_the_move_to_learn_the_new_name():
    _, client = _github(["octokit_fixtures_rename-repository_301_raw-fixture_2022.json"])
    result = client.fetch_repo("octokit-fixture-org/tmp-scenario-rename-repository-20220719044033126-ukeod")
    assert result.status == "moved"
    assert result.new_full_name == "octokit-fixture-org/tmp-scenario-rename-repository-20220719044033126-ukeod-newname"
    assert result.metadata.full_name == result.new_full_name


def test_github_301_whose_target_fails_is_still_moved():
    replay, client = _github(["repo_301_moved_protoncoin.json"])
    replay.add("https://api.github.com/repositories/112116543", 404, {}, {"message": "Not Found"})
    result = client.fetch_repo("protoncoin/protoncoin")
    assert result.status == "moved" and result.new_full_name is None and "404" in result.error
    assert replay.requests[1][0] == "https://api.github.com/repositories/112116543"


def test_github_301_to_a_repos_url_needs_no_second_request():
    replay, client = _github()
    replay.add("https://api.github.com/repos/old/name", 301,
               {"Location": "https://api.github.com/repos/new-owner/new-name"}, b"")
    result = client.fetch_repo("old/name")
    assert (result.status, result.new_full_name, len(replay.requests)) == ("moved", "new-owner/new-name", 1)


def test_github_primary_rate_limit_403():
    _, client = _github(**{"https://api.github.com/repos/jacquev6/PyGithub": "ratelimit_403_remaining0_2013.json"})
    result = client.fetch_repo("jacquev6/PyGithub")
    assert result.status == "rate_limited" and "Rate Limit" in result.error
    assert result.retry_at == NOW + timedelta(minutes=1)  # that recording has no reset header


def test_github_rate_limit_reset_header_and_429():
    replay, client = _github()
    replay.add("https://api.github.com/repos/a/b", 403,
               {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "1795000000"}, {"message": "API rate limit exceeded"})
    replay.add("https://api.github.com/repos/a/c", 429, {"Retry-After": "120"}, b"")
    first = client.fetch_repo("a/b")
    assert first.status == "rate_limited"
    assert first.retry_at == datetime.fromtimestamp(1795000000, timezone.utc)
    second = client.fetch_repo("a/c")
    assert (second.status, second.retry_at) == ("rate_limited", NOW + timedelta(seconds=120))


def test_github_secondary_rate_limit_retry_after():
    _, client = _github(**{"https://api.github.com/repos/jacquev6/x": "abuse_403_retry_after.json"})
    result = client.fetch_repo("jacquev6/x")
    assert result.status == "rate_limited" and result.retry_at == NOW + timedelta(seconds=60)


def test_github_other_failures_are_errors_not_exceptions():
    replay, client = _github()
    replay.add("https://api.github.com/repos/a/forbidden", 403, {}, {"message": "Repository access blocked"})
    replay.add("https://api.github.com/repos/a/broken", 200, {}, b"not json")
    replay.add("https://api.github.com/repos/a/down", 500, {}, b"")
    assert client.fetch_repo("a/forbidden").error == "GitHub answered HTTP 403: Repository access blocked"
    assert client.fetch_repo("a/broken").status == "error"
    assert client.fetch_repo("a/down").status == "error"
    bad = client.fetch_repo("not a repo")
    assert bad.status == "error" and len(replay.requests) == 3


def test_github_network_failure_is_an_error_result():
    class Down:
        def get(self, url, headers=None):
            raise http.HttpError("connection refused")

    result = GitHubClient(Down()).fetch_repo("pallets/flask")
    assert (result.status, result.error) == ("error", "connection refused")


@pytest.mark.parametrize("html_url", [
    "javascript:alert(document.cookie)", "https://github.com.evil.example/x/y",
    "http://github.com/twbs/bootstrap", "https://github.com/twbs/bootstrap\" onmouseover=\"x",
    "//evil.example/x", None, 42,
])
def test_github_html_url_must_be_a_github_page(html_url):
    from forum.papers.github import parse_repo
    from forum.papers.models import Repository
    meta = parse_repo({"full_name": "twbs/bootstrap", "html_url": html_url})
    assert meta.html_url == "https://github.com/twbs/bootstrap"
    stored = Repository(full_name="twbs/bootstrap", html_url=html_url if isinstance(html_url, str) else None)
    assert stored.github_url == "https://github.com/twbs/bootstrap"
    kept = parse_repo({"full_name": "twbs/bootstrap", "html_url": "https://github.com/twbs/Bootstrap"})
    assert kept.html_url == "https://github.com/twbs/Bootstrap"
