"""Markdown to stored HTML for posts, with @mentions resolved at write time."""
from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import func, select

from forum.accounts.models import User
from forum.extensions import db
from forum.markup import find_mentions, render_markdown


def render_post_body(body: str) -> str:
    """The HTML stored with a post: mentions of existing users become profile links."""
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

    return render_markdown(body, mentions=mention_url)
