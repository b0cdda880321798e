"""A polite client: arXiv's 3 s rule (retries included), Retry-After on both APIs, a contact in
the User-Agent, back-off for failed ids, one bad entry failing only itself, and GitHub's quota
pausing every GitHub fetch. All on a fake clock: nothing sleeps, nothing touches the network."""
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import select

from forum import http
from forum.database import utcnow
from forum.extensions import db
from forum.papers import refresh
from forum.papers.arxiv import ArxivClient, ArxivRetryLater
from forum.papers.github import GitHubClient
from forum.papers.models import FetchPause, Paper, Repository
from tests.factories import make_thread, make_user

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
FEED_2016 = (FIXTURES / "arxiv/api_2016_search_au_del_maestro.xml").read_bytes()
EMPTY_FEED = (FIXTURES / "arxiv/api_2026_id_list_0808.05394_empty.xml").read_bytes()
ARXIV_URL = "https://export.arxiv.org/api/query?id_list=1706.03762&max_results=1"


class FakeClock:
    def __init__(self):
        self.now, self.sleeps = 1000.0, []

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


class Timed(http.ReplayClient):
    """A replay transport that notes when (on the fake clock) each request went out."""

    def __init__(self, clock):
        super().__init__()
        self.clock, self.times = clock, []

    def get(self, url, headers=None):
        self.times.append(self.clock())
        return super().get(url, headers)


def _paced_client(clock, replay, **kwargs):
    return http.HttpClient("test/1.0 (mailto:dev@example.org)", sleep=clock.sleep,
                           transport=replay.get, wall_clock=clock, backoff=1.0,
                           pacers={"export.arxiv.org": http.Pacer(3.0, clock=clock, sleep=clock.sleep)},
                           **kwargs)


def test_retries_to_arxiv_wait_at_least_3_seconds_each():
    clock = FakeClock()
    replay = Timed(clock)
    replay.add_sequence(ARXIV_URL, [(503, {}, b""), (502, {}, b""), (200, {}, EMPTY_FEED)])
    client = ArxivClient(_paced_client(clock, replay), clock=clock, sleep=clock.sleep)
    assert client.fetch(["1706.03762"]) == []
    client.fetch(["1706.03762"])  # the next batch waits too
    gaps = [b - a for a, b in zip(replay.times, replay.times[1:])]
    assert len(replay.times) == 4 and min(gaps) >= 3.0


def test_other_hosts_are_not_paced_but_still_back_off():
    clock = FakeClock()
    replay = Timed(clock)
    replay.add_sequence("https://api.github.com/x", [(503, {}, b""), (200, {}, b"{}")])
    assert _paced_client(clock, replay).get("https://api.github.com/x").status == 200
    assert clock.sleeps == [1.0]


@pytest.mark.parametrize("retry_after", ["20", "Thu, 01 Jan 1970 00:17:00 GMT"])  # 20 s; epoch 1020
def test_retry_after_is_honoured_when_retrying(retry_after):
    clock = FakeClock()
    replay = Timed(clock)
    replay.add_sequence(ARXIV_URL, [(503, {"Retry-After": retry_after}, b""), (200, {}, EMPTY_FEED)])
    assert _paced_client(clock, replay).get(ARXIV_URL).status == 200
    assert replay.times[1] - replay.times[0] >= 20.0


def test_a_long_retry_after_is_not_slept_through_but_reported():
    clock = FakeClock()
    replay = Timed(clock)
    replay.add(ARXIV_URL, 503, {"Retry-After": "3600"}, b"busy")
    client = ArxivClient(_paced_client(clock, replay), clock=clock, sleep=clock.sleep)
    with pytest.raises(ArxivRetryLater) as raised:
        client.fetch(["1706.03762"])
    assert raised.value.seconds == 3600 and len(replay.requests) == 1 and clock.sleeps == []


def test_user_agent_names_a_contact_and_refuses_without_one():
    config = {"FORUM_SITE_NAME": "Idea Exchange", "CONTACT_EMAIL": "ops@example.org"}
    assert refresh.user_agent(config) == ("Idea Exchange research forum metadata fetcher "
                                          "(mailto:ops@example.org)")
    for bad in (None, "", "nobody", "a@b.org\r\nX-Injected: 1"):
        with pytest.raises(refresh.ContactMissing, match="CONTACT_EMAIL"):
            refresh.user_agent({**config, "CONTACT_EMAIL": bad})


def test_refresh_without_a_contact_refuses_clearly(app, runner):
    app.config.pop("HTTP_CLIENT", None)
    app.config["CONTACT_EMAIL"] = None
    result = runner.invoke(args=["papers", "refresh"])
    assert result.exit_code != 0 and "Set CONTACT_EMAIL" in result.output


# --- back-off and what arXiv answered ---------------------------------------------------------

def _cite(app, body):
    with app.app_context():
        make_thread(make_user(), title="Citing", body=body)


def _run_arxiv(app, replay):
    with app.app_context():
        return refresh.refresh_papers(ArxivClient(replay, min_interval=0), refresh.papers_due())


def test_failed_ids_back_off_1h_6h_1d_1w(app):
    _cite(app, "arXiv:1706.03762")
    down = http.ReplayClient()
    down.add(ARXIV_URL, 500, {}, b"oops")
    seen = []
    for _ in range(5):
        _run_arxiv(app, down)
        with app.app_context():
            paper = db.session.scalar(select(Paper))
            seen.append(round((paper.retry_after - utcnow()).total_seconds() / 3600))
            assert refresh.papers_due() == []  # not asked again before its time
            paper.retry_after = utcnow() - timedelta(seconds=1)  # time passes
            db.session.commit()
    assert seen == [1, 6, 24, 168, 168]
    assert len(down.requests) == 5


def test_no_such_paper_is_remembered_and_shown(app, client):
    _cite(app, "arXiv:1706.03762")
    empty = http.ReplayClient()
    empty.add(ARXIV_URL, 200, {}, EMPTY_FEED)
    summary = _run_arxiv(app, empty)
    assert summary.failed == 1
    with app.app_context():
        paper = db.session.scalar(select(Paper))
        assert paper.not_found and paper.retry_after > utcnow()
        assert refresh.papers_due() == []
    assert "arXiv says it has no paper with this id" in client.get("/papers/1706.03762").get_data(as_text=True)


def test_one_malformed_entry_fails_only_itself(app):
    _cite(app, "arXiv:1201.4869 and cond-mat/0412498")
    broken = FEED_2016.replace(b"<published>2012-01-23T21:15:02Z</published>",
                               b"<published>the day after tomorrow</published>")
    replay = http.ReplayClient()
    replay.add(ArxivClient(replay).batch_url(["1201.4869", "cond-mat/0412498"]), 200, {}, broken)
    summary = _run_arxiv(app, replay)
    assert (summary.fetched, summary.failed) == (1, 1)
    with app.app_context():
        papers = {p.arxiv_id: p for p in db.session.scalars(select(Paper))}
        assert papers["cond-mat/0412498"].title and not papers["cond-mat/0412498"].is_pending
        bad = papers["1201.4869"]
        assert bad.is_pending and "unreadable entry" in bad.fetch_error and not bad.not_found


def test_arxiv_retry_after_pauses_every_later_arxiv_fetch(app):
    _cite(app, "arXiv:1706.03762")
    busy = http.ReplayClient()
    busy.add(ARXIV_URL, 503, {"Retry-After": "7200"}, b"busy")
    _run_arxiv(app, busy)
    with app.app_context():
        pause = db.session.get(FetchPause, "arxiv")
        assert pause.until > utcnow() + timedelta(minutes=119)
        db.session.scalar(select(Paper)).retry_after = None  # even a paper due again waits
        db.session.commit()
    summary = _run_arxiv(app, busy)
    assert len(busy.requests) == 1 and "wait" in summary.errors[0]


def test_versions_and_their_dates_are_kept_across_fetches(app):
    _cite(app, "arXiv:1201.4869")
    with app.app_context():
        paper = db.session.scalar(select(Paper))
        paper.versions = [{"version": 1, "date": "2012-01-23T21:15:02+00:00"},
                          {"version": 2, "date": "2012-03-01T10:00:00+00:00"}]
        db.session.commit()
    replay = http.ReplayClient()
    replay.add(ArxivClient(replay).batch_url(["1201.4869"]), 200, {}, FEED_2016)
    _run_arxiv(app, replay)
    with app.app_context():
        versions = db.session.scalar(select(Paper)).versions
    assert versions[1] == {"version": 2, "date": "2012-03-01T10:00:00+00:00"}  # learnt earlier
    assert versions[0]["date"].startswith("2012-01-23")


# --- GitHub ------------------------------------------------------------------------------------

def _github_recording(name, **header_changes):
    data = json.loads((FIXTURES / f"github/{name}.json").read_text())
    data["headers"] = {**dict(data["headers"]), **header_changes}
    return data


def _run_github(app, replay):
    with app.app_context():
        return refresh.refresh_repos(GitHubClient(replay), refresh.repos_due())


def test_a_spent_quota_on_a_200_pauses_all_github_fetches(app):
    _cite(app, "https://github.com/PyGithub/PyGithub and https://github.com/twbs/bootstrap")
    reset = int((utcnow() + timedelta(minutes=30)).timestamp())
    replay = http.ReplayClient()
    spent = _github_recording("repo_200_PyGithub_PyGithub_2025",
                              **{"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)})
    replay.add(spent["request"]["url"], 200, spent["headers"], spent["body"])
    replay.add_file(FIXTURES / "github/repo_200_twbs_bootstrap_2025.json")
    summary = _run_github(app, replay)
    assert [url for url, _ in replay.requests] == ["https://api.github.com/repos/PyGithub/PyGithub"]
    assert summary.fetched == 1 and "rate limit" in summary.errors[0]
    with app.app_context():
        pause = db.session.get(FetchPause, "github")
        assert pause.until == datetime.fromtimestamp(reset, timezone.utc)
        assert db.session.scalar(select(Repository).where(Repository.full_name == "twbs/bootstrap")).is_pending
    _run_github(app, replay)
    assert len(replay.requests) == 1  # later runs wait for the reset too


def test_github_retry_after_pauses_all_github_fetches(app):
    _cite(app, "https://github.com/PyGithub/PyGithub and https://github.com/twbs/bootstrap")
    replay = http.ReplayClient()
    replay.add_file(FIXTURES / "github/abuse_403_retry_after.json",
                    url="https://api.github.com/repos/PyGithub/PyGithub")
    replay.add_file(FIXTURES / "github/repo_200_twbs_bootstrap_2025.json")
    summary = _run_github(app, replay)
    assert len(replay.requests) == 1 and summary.failed == 1
    with app.app_context():
        assert db.session.get(FetchPause, "github").until > utcnow()


def test_a_hostile_html_url_never_becomes_the_view_on_github_link(app, client):
    _cite(app, "https://github.com/PyGithub/PyGithub")
    for hostile in ("javascript:alert(document.cookie)", "https://github.com.evil.example/x",
                    "http://github.com/PyGithub/PyGithub", "https://evil@github.com/x",
                    "//github.com/x", " javascript:alert(1)"):
        replay = http.ReplayClient()
        answer = _github_recording("repo_200_PyGithub_PyGithub_2025")
        answer["body"] = {**answer["body"], "html_url": hostile}
        replay.add(answer["request"]["url"], 200, answer["headers"], answer["body"])
        with app.app_context():
            db.session.execute(Repository.__table__.update().values(fetched_at=None, etag=None))
            db.session.commit()
        _run_github(app, replay)
        page = client.get("/repos/PyGithub/PyGithub").get_data(as_text=True)
        assert 'href="https://github.com/PyGithub/PyGithub" rel="noopener">View on GitHub' in page, hostile
        assert "javascript:" not in page and "evil" not in page
