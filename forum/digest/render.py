"""A digest snapshot to an email: subject, plain text and HTML with inline styles.

Links are absolute (``url_for(..., _external=True)``), built from
``SERVER_NAME`` and ``PREFERRED_URL_SCHEME`` outside a request. HTML mail
clients ignore stylesheets, so every style is inline, in a single 600px
table-free column that Gmail, Outlook and Apple Mail all render alike.

Rendering is the costly part of sending, and every subscriber with the same
follows gets the same digest but for their unsubscribe link, so ``Renderer``
renders once per distinct follows with a placeholder and substitutes the link.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app, render_template, url_for

from forum.digest import tokens
from forum.digest.selection import personalize

UNSUBSCRIBE_PLACEHOLDER = "__DIGEST_UNSUBSCRIBE_URL__"


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


def unsubscribe_url(secret: str) -> str:
    return url_for("digest.unsubscribe", token=tokens.unsubscribe_token(secret), _external=True)


class Renderer:
    """Renders each distinct personal digest once per run."""

    def __init__(self, sections: dict):
        check_server_name()
        self.sections = sections
        self._cache: dict[tuple, RenderedDigest | None] = {}

    def for_subscriber(self, tags: list[str], papers: list[str], secret: str) -> tuple[RenderedDigest | None, str]:
        key = (tuple(sorted(tags)), tuple(sorted(papers)))
        if key not in self._cache:
            personal = personalize(self.sections, list(key[0]), list(key[1]))
            self._cache[key] = None if personal is None else render(personal, UNSUBSCRIBE_PLACEHOLDER)
        template = self._cache[key]
        link = unsubscribe_url(secret)
        if template is None:
            return None, link
        return RenderedDigest(template.subject, template.text.replace(UNSUBSCRIBE_PLACEHOLDER, link),
                              template.html.replace(UNSUBSCRIBE_PLACEHOLDER, link)), link


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
