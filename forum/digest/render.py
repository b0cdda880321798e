"""A digest snapshot to an email: subject, plain text and HTML with inline styles.

Links are absolute (``url_for(..., _external=True)``), built from
``SERVER_NAME`` and ``PREFERRED_URL_SCHEME`` outside a request. HTML mail
clients ignore stylesheets, so every style is inline, in a single 600px
table-free column that Gmail, Outlook and Apple Mail all render alike.

Every subscriber with the same follows gets the same digest but for their
unsubscribe link, so ``Renderer`` renders (and serialises, see
``forum.digest.message``) once per distinct follows, with a placeholder where
the link goes, and completes the message per subscriber.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template, url_for

from forum.digest import tokens
from forum.digest.message import DigestTemplate
from forum.digest.selection import personalize

UNSUBSCRIBE_PLACEHOLDER = "__DIGEST_UNSUBSCRIBE_URL__"
_TOKEN_MARK = "__TOKEN__"


class NoServerName(RuntimeError):
    """Links in an email must be absolute, which needs SERVER_NAME outside a request."""


@dataclass(frozen=True)
class RenderedDigest:
    subject: str
    text: str
    html: str


def subject_for(sections: dict) -> str:
    start = datetime.fromisoformat(sections["start"])
    last = start + timedelta(days=6)
    site = current_app.config.get("FORUM_SITE_NAME", "Idea Exchange")
    # ASCII only: an encoded-word Subject costs the email package more than the rest of the headers.
    return f"{site} weekly digest, {sections['week']} ({start:%b} {start.day} - {last:%b} {last.day})"


def render(sections: dict, unsubscribe_url: str) -> RenderedDigest:
    context = {
        "sections": sections, "subject": subject_for(sections),
        "site_name": current_app.config.get("FORUM_SITE_NAME", "Idea Exchange"),
        "thread_url": _thread_url, "paper_url": _paper_url,
        "home_url": url_for("threads.index", _external=True),
        "archive_url": url_for("digest.issue", week=sections["week"], _external=True),
        "unsubscribe_url": unsubscribe_url,
    }
    return RenderedDigest(context["subject"], render_template("email/digest.txt", **context),
                          render_template("email/digest.html", **context))


class Renderer:
    """Renders each distinct personal digest once per run; ``headers`` are the constant ones."""

    def __init__(self, sections: dict, headers: dict[str, str]):
        check_server_name()
        self.sections, self.headers = sections, headers
        self._cache: dict[tuple, DigestTemplate | None] = {}
        # An unsubscribe URL for each of thousands of readers, without building the
        # serializer and routing the URL every time.
        self._serializer = tokens.unsubscribe_serializer()
        self._url_around_token = url_for("digest.unsubscribe", token=_TOKEN_MARK, _external=True).split(_TOKEN_MARK)

    def unsubscribe_url(self, secret: str) -> str:
        """The one-click unsubscribe URL with a signed ``secret`` (tokens are URL-safe: nothing to quote)."""
        before, after = self._url_around_token
        return f"{before}{self._serializer.dumps(secret)}{after}"

    def template_for(self, follows: dict) -> DigestTemplate | None:
        """The digest for these follows ({"tags": [...], "papers": [...]}); None when nothing matches."""
        key = (tuple(sorted(follows.get("tags") or ())), tuple(sorted(follows.get("papers") or ())))
        if key not in self._cache:
            personal = personalize(self.sections, list(key[0]), list(key[1]))
            self._cache[key] = None if personal is None else self._template(personal)
        return self._cache[key]

    def _template(self, sections: dict) -> DigestTemplate:
        rendered = render(sections, UNSUBSCRIBE_PLACEHOLDER)
        return DigestTemplate(rendered.subject, rendered.text, rendered.html, self.headers,
                              UNSUBSCRIBE_PLACEHOLDER)


def check_server_name() -> None:
    if not current_app.config.get("SERVER_NAME"):
        raise NoServerName("SERVER_NAME is not set: digest emails need absolute links. "
                           "Set SERVER_NAME (e.g. forum.example.org) and PREFERRED_URL_SCHEME=https.")


def _thread_url(item: dict) -> str:
    return url_for("threads.show", thread_id=item["id"], _external=True)


def _paper_url(paper: dict) -> str:
    if "papers.paper" in current_app.view_functions:  # the paper's page here, when papers exist
        return url_for("papers.paper", ident=paper["arxiv_id"], _external=True)
    return f"https://arxiv.org/abs/{paper['arxiv_id']}"
