"""Recorded paper and repository metadata for the demo (``flask seed-demo``), applied offline.

The demo cites only papers and repositories whose real metadata is bundled in
``demo_data/`` (see its README), and records it through the same code paths
``flask papers refresh`` uses (``refresh.record_feed`` and ``GitHubClient``
over a ``ReplayClient``), so the cards a newcomer sees are exactly what a live
fetch would show, with no network and no contact address needed.
"""
from __future__ import annotations

import json
from pathlib import Path

from forum.http import ReplayClient
from forum.papers import refresh
from forum.papers.arxiv import AtomFeed, PaperMetadata, mention_of_url
from forum.papers.github import GitHubClient

DEMO_DATA = Path(__file__).with_name("demo_data")


def _metadata(record: dict) -> PaperMetadata:
    mention = mention_of_url(record["id"])
    categories = list(dict.fromkeys(record.get("categories") or []))
    return PaperMetadata(arxiv_id=mention.arxiv_id, version=mention.version, title=record["title"],
                         authors=list(record.get("authors") or []), abstract=record.get("abstract", ""),
                         categories=categories, primary_category=categories[0] if categories else None)


def load_recorded_metadata() -> tuple[refresh.RefreshSummary, refresh.RefreshSummary]:
    """Fill in every cited paper and repository the bundled recordings cover."""
    data = json.loads((DEMO_DATA / "arxiv_papers.json").read_text(encoding="utf-8"))
    records = [_metadata(record) for record in data["papers"]]
    papers = refresh.record_feed([r.arxiv_id for r in records], AtomFeed(records=records))
    replay = ReplayClient()
    for path in sorted((DEMO_DATA / "github").glob("*.json")):
        replay.add_file(path)
    recorded = {url.rsplit("/repos/", 1)[1].lower() for url in replay.recordings}
    names = [name for name in refresh.repos_due() if name.lower() in recorded]
    repos = refresh.refresh_repos(GitHubClient(replay), names)
    return papers, repos
