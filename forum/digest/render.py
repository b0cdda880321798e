"""A digest snapshot to an email: subject, plain text and HTML with inline styles.

Links are absolute (``url_for(..., _external=True)``), built from
``SERVER_NAME`` and ``PREFERRED_URL_SCHEME`` outside a request. HTML mail
clients ignore stylesheets, so every style is inline, in a single 600px
table-free column that Gmail, Outlook and Apple Mail all render alike.

Every subscriber with the same follows gets the same digest but for their
own signed token, which sits in two links: one-click unsubscribe and "manage
what you follow" (the way an email-only subscriber, with no account, chooses
tags and papers). So ``Renderer`` renders (and serialises, see
``forum.digest.message``) once per distinct follows, with a placeholder where
the token goes, and completes the message per subscriber.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template, url_for

from forum.digest import tokens
from forum.digest.message import DigestTemplate
from forum.digest.selection import personalize

TOKEN_PLACEHOLDER = "__DIGEST_READER_TOKEN__"


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


def render(sections: dict, reader_token: str) -> RenderedDigest:
    """The email for one reader; ``reader_token`` is their signed token (or a placeholder)."""
    context = {
        "sections": sections, "subject": subject_for(sections),
        "site_name": current_app.config.get("FORUM_SITE_NAME", "Idea Exchange"),
        "thread_url": _thread_url, "paper_url": _paper_url, "paper_title": paper_title,
        "home_url": url_for("threads.index", _external=True),
        "archive_url": url_for("digest.issue", week=sections["week"], _external=True),
        "unsubscribe_url": url_for("digest.unsubscribe", token=reader_token, _external=True),
        "manage_url": url_for("digest.manage", token=reader_token, _external=True),
    }
    return RenderedDigest(context["subject"], render_template("email/digest.txt", **context),
                          render_template("email/digest.html", **context))


def paper_title(paper: dict) -> str | None:
    """A cited paper's title, or None while its details are pending (older snapshots said "arXiv:<id>")."""
    title = paper.get("title")
    return None if not title or title == f"arXiv:{paper['arxiv_id']}" else title


class Renderer:
    """Renders each distinct personal digest once per run; ``headers`` are the constant ones."""

    def __init__(self, sections: dict, headers: dict[str, str]):
        check_server_name()
        self.sections, self.headers = sections, headers
        self._cache: dict[tuple, DigestTemplate] = {}
        # A token for each of thousands of readers, without building the serializer
        # and routing the URL every time.
        self._serializer = tokens.unsubscribe_serializer()
        self._url_around_token = url_for("digest.unsubscribe", token=TOKEN_PLACEHOLDER,
                                         _external=True).split(TOKEN_PLACEHOLDER)

    def reader_token(self, secret: str) -> str:
        """The signed token of a subscription's ``secret`` (URL-safe: nothing to quote)."""
        return self._serializer.dumps(secret)

    def unsubscribe_url(self, reader_token: str) -> str:
        before, after = self._url_around_token
        return f"{before}{reader_token}{after}"

    def template_for(self, follows: dict) -> DigestTemplate:
        """The digest for these follows ({"tags": [...], "papers": [...], "threads": [...]})."""
        key = tuple(tuple(sorted(str(v) for v in follows.get(kind) or ())) for kind in ("tags", "papers", "threads"))
        if key not in self._cache:
            personal = personalize(self.sections, {"tags": key[0], "papers": key[1], "threads": key[2]})
            self._cache[key] = self._template(personal)
        return self._cache[key]

    def _template(self, sections: dict) -> DigestTemplate:
        rendered = render(sections, TOKEN_PLACEHOLDER)
        return DigestTemplate(rendered.subject, rendered.text, rendered.html, self.headers, TOKEN_PLACEHOLDER)


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
