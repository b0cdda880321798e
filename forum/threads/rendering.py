"""Markdown to stored HTML for posts, with @mentions and cited papers resolved at write time."""
from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import func, select

from forum.accounts.models import User
from forum.extensions import db
from forum.markup import cpu_budget, find_mentions, render_markdown
from forum.papers.citing import annotate


def paper_titles(ids: list[str]) -> dict[str, str]:
    """Known titles of these papers, in one query (papers not yet fetched are absent)."""
    from forum.papers.models import Paper  # forum.papers.models imports forum.threads.models

    rows = db.session.execute(
        select(Paper.arxiv_id, Paper.title).where(Paper.arxiv_id.in_(ids), Paper.title.is_not(None)))
    return {arxiv_id: title for arxiv_id, title in rows}


def render_post_body(body: str) -> str:
    """The HTML stored with a post: mentions of existing users become profile links, and
    cited arXiv papers and GitHub repositories link to their page here (``forum.papers.citing``),
    with the paper's title once it is known
    (``forum.papers.rerender`` renders citing posts again when titles arrive).
    Raises ``RenderTooComplex`` past the CPU budget, which covers the Markdown pass and the
    citation links."""
    with cpu_budget():
        return _render_post_body(body)


def _render_post_body(body: str) -> str:
    names = find_mentions(body)
    known = {}
    if names:
        rows = db.session.scalars(
            select(User.username).where(func.lower(User.username).in_([n.lower() for n in names]))
        )
        known = {name.lower(): name for name in rows}

    def mention_url(name: str) -> str | None:
        username = known.get(name.lower())
        # A plain path, not url_for: posts are also written outside requests (CLI, seeding).
        return f"/u/{quote(username)}" if username else None

    return annotate(render_markdown(body, mentions=mention_url), paper_titles)
