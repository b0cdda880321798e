"""The weekly digest's feed (``/digest/feed.atom``), built like every other feed.

An issue's entry lists its most active debates as links; the issue was
frozen when it was made (``DigestIssue.sections``), so titles are those of
that week, and they are escaped here like any other text.
"""
from __future__ import annotations

from flask import Response, current_app, request, url_for
from markupsafe import escape

from forum.feeds.atom import Entry, Feed, answer

ISSUES_SHOWN = 20


def digest_answer(issues) -> Response:
    """The feed of the newest issues (``issues`` newest first), answering conditional GETs."""
    site = current_app.config["FORUM_SITE_NAME"]
    entries = []
    for issue in issues[:ISSUES_SHOWN]:
        url = url_for("digest.issue", week=issue.week, _external=True)
        entries.append(Entry(id=url, title=f"Weekly digest {issue.week}", url=url,
                             author_name=site, author_url=url_for("threads.index", _external=True),
                             published=issue.created_at, updated=issue.created_at,
                             html=_issue_html(issue.sections or {})))
    feed = Feed(title=f"{site} weekly digest", self_url=url_for("digest.feed", _external=True),
                page_url=url_for("digest.archive", _external=True), entries=entries)
    return answer(feed).make_conditional(request)


def _issue_html(sections: dict) -> str:
    items = [f'<li><a href="{escape(_thread_url(item))}">{escape(item.get("title", ""))}</a></li>'
             for item in sections.get("top", []) if isinstance(item, dict)]
    return f"<ul>{''.join(items)}</ul>" if items else "<p>No debates this week.</p>"


def _thread_url(item: dict) -> str:
    ident = item.get("id")
    return url_for("threads.show", thread_id=ident, _external=True) if isinstance(ident, int) else ""
