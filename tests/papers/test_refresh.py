"""`flask papers refresh` against recorded arXiv and GitHub responses (never the network)."""
from datetime import timedelta
from pathlib import Path

import pytest

from sqlalchemy import select

from forum.database import utcnow
from forum.extensions import db
from forum.http import HttpError, ReplayClient
from forum.papers.arxiv import ArxivClient
from forum.papers.models import Paper, Repository
from tests.factories import make_thread, make_user

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


class NetworkDown:
    """Every request times out, as when arXiv or GitHub is unreachable."""

    def get(self, url, headers=None):
        raise HttpError(f"timed out fetching {url}")


def seed(app, body):
    with app.app_context():
        make_thread(make_user(), title="Citing things", body=body)
        return db.session.scalars(select(Paper.arxiv_id).order_by(Paper.id)).all()


def paper(arxiv_id):
    return db.session.scalar(select(Paper).where(Paper.arxiv_id == arxiv_id))


def repo(name):
    return db.session.scalar(select(Repository).where(Repository.full_name_lower == name.lower()))


def test_refresh_fills_in_papers_and_repositories(app, runner, client):
    ids = seed(app, "arXiv:1201.4869 and cond-mat/0412498 and 1706.03762; "
                    "https://github.com/twbs/bootstrap https://github.com/jacquev6/Xxx "
                    "https://github.com/protoncoin/protoncoin")
    replay = ReplayClient()
    replay.add(ArxivClient(replay).batch_url(ids), 200, {"content-type": "application/atom+xml"},
               (FIXTURES / "arxiv/api_2016_search_au_del_maestro.xml").read_bytes())
    for name in ("repo_200_twbs_bootstrap_2025", "repo_404_jacquev6_Xxx", "repo_301_moved_protoncoin"):
        replay.add_file(FIXTURES / f"github/{name}.json")
    replay.add("https://api.github.com/repositories/112116543", 404, {}, {"message": "Not Found"})
    app.config["HTTP_CLIENT"] = replay
    result = runner.invoke(args=["papers", "refresh"])
    assert result.exit_code == 0, result.output
    assert "papers: 2 fetched, 0 unchanged, 1 failed" in result.output
    with app.app_context():
        found = paper("1201.4869")
        assert found.title and found.authors and not found.is_pending
        assert paper("cond-mat/0412498").fetched_at is not None
        assert "no paper" in paper("1706.03762").fetch_error
        bootstrap = repo("twbs/bootstrap")
        assert bootstrap.stars > 1000 and bootstrap.license and bootstrap.language
        assert repo("jacquev6/Xxx").not_found
        assert repo("protoncoin/protoncoin").fetched_at is not None
    page = client.get("/papers/1201.4869").get_data(as_text=True)
    assert found.title.split()[0] in page and "Details pending" not in page
    assert client.get("/papers/1201.4869.bib").get_data(as_text=True).startswith("@misc{")
    assert "repository not found" in client.get("/repos/jacquev6/Xxx").get_data(as_text=True)


def test_refresh_records_a_timeout_and_retries_later(app, runner, client):
    seed(app, "arXiv:1201.4869 and https://github.com/twbs/bootstrap")
    app.config["HTTP_CLIENT"] = NetworkDown()
    result = runner.invoke(args=["papers", "refresh"])
    assert result.exit_code == 0, result.output
    assert "1 failed" in result.output
    with app.app_context():
        assert "timed out" in paper("1201.4869").fetch_error
        assert repo("twbs/bootstrap").fetch_error
    page = client.get("/papers/1201.4869").get_data(as_text=True)
    assert "Details pending" in page and "will be retried" in page
    from forum.papers import refresh
    with app.app_context():
        failed = paper("1201.4869")
        assert failed.failures == 1 and failed.retry_after > utcnow() + timedelta(minutes=59)
        assert refresh.papers_due() == []  # backing off: not asked again on the next run
        failed.retry_after = utcnow() - timedelta(seconds=1)
        db.session.commit()
        assert refresh.papers_due() == ["1201.4869"]


def test_arxiv_error_feed_is_recorded_not_raised(app, runner):
    ids = seed(app, "arXiv:1201.4869")
    replay = ReplayClient()
    replay.add(ArxivClient(replay).batch_url(ids), 400, {},
               (FIXTURES / "arxiv/api_2026_id_list_abc_error400.xml").read_bytes())
    app.config["HTTP_CLIENT"] = replay
    result = runner.invoke(args=["papers", "refresh"])
    assert result.exit_code == 0 and "1 failed" in result.output
    with app.app_context():
        assert paper("1201.4869").fetch_error


@pytest.mark.parametrize(("ident", "expected"), [
    ("1706.03762", ["@misc{arxiv170603762,", "title={arXiv:1706.03762}", "year={2017}",
                    "eprint={1706.03762}", "archivePrefix={arXiv}",
                    "url={https://arxiv.org/abs/1706.03762}"]),
    ("hep-th/9901001", ["year={1999}", "eprint={hep-th/9901001}", "primaryClass={hep-th}"]),
])
def test_bib_of_a_pending_paper_is_built_from_its_id(app, client, ident, expected):
    seed(app, f"arXiv:{ident}")
    response = client.get(f"/papers/{ident}.bib")
    assert response.status_code == 200 and response.mimetype == "application/x-bibtex"
    text = response.get_data(as_text=True)
    assert all(part in text for part in expected), text
    assert "author=" not in text  # nothing invented


def test_bib_of_a_paper_nobody_cited_yet_is_built_from_its_id(app, client):
    response = client.get("/papers/arXiv:2312.00752v2.bib")
    assert response.headers["Location"] == "/papers/2312.00752.bib"
    assert "eprint={2312.00752}" in client.get("/papers/2312.00752.bib").get_data(as_text=True)
