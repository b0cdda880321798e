"""Citing a debate: BibTeX and CSL-JSON for a thread or one reply.

A citation names what a reader would name: the author's display name, the
thread's title (a reply is "Reply to: <title>"), the date it was written, its
permalink (``/t/<id>`` or ``/p/<id>``: no slug, so it survives title edits),
the forum (``howpublished``), and the day it was retrieved (``note``). BibTeX
is ``@misc`` (what style files print for web sources); CSL-JSON uses the
type ``post`` ("a post on an online forum"), which Zotero and pandoc read.
Authors are braced as one name: display names are not always "First Last".
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime

from flask import current_app, request, url_for
from markupsafe import Markup, escape

from forum.database import utcnow
from forum.templating import SAMPLE_VALUE, quick_url

MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# BibTeX/LaTeX characters that would change the meaning of a field, and their escapes.
_SPECIAL = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "%": r"\%", "&": r"\&",
            "#": r"\#", "$": r"\$", "_": r"\_", "^": r"\^{}", "~": r"\~{}"}
_SPECIAL_RE = re.compile("|".join(re.escape(char) for char in _SPECIAL))


@dataclass
class Citation:
    key: str
    kind: str  # "thread" or "reply"
    author: str
    title: str
    written: datetime
    url: str
    site: str
    retrieved: date


def for_thread(thread) -> Citation:
    return Citation(key=_key("t", thread.id), kind="thread", author=thread.author.name,
                    title=thread.title, written=thread.created_at,
                    url=url_for("threads.show", thread_id=thread.id, _external=True),
                    site=_site(), retrieved=utcnow().date())


def for_reply(post) -> Citation:
    return Citation(key=_key("p", post.id), kind="reply", author=post.author.name,
                    title=f"Reply to: {post.thread.title}", written=post.created_at,
                    url=url_for("threads.permalink", post_id=post.id, _external=True),
                    site=_site(), retrieved=utcnow().date())


def bibtex(citation: Citation) -> str:
    fields = [
        ("author", "{" + latex(citation.author) + "}"),
        ("title", "{" + latex(citation.title) + "}"),
        ("year", str(citation.written.year)),
        ("month", MONTHS[citation.written.month - 1]),
        ("url", citation.url),
        ("howpublished", f"{latex(citation.site)}, online research forum ({'thread' if citation.kind == 'thread' else 'reply in a thread'})"),
        ("note", f"Retrieved {citation.retrieved.isoformat()}"),
    ]
    body = ",\n".join(f"  {name} = {value}" if name == "month" else f"  {name} = {{{value}}}"
                      for name, value in fields)
    return f"@misc{{{citation.key},\n{body}\n}}\n"


def csl_json(citation: Citation) -> str:
    item = {
        "id": citation.key, "type": "post",
        "genre": "Forum thread" if citation.kind == "thread" else "Forum reply",
        "title": citation.title, "author": [{"literal": citation.author}],
        "issued": {"date-parts": [[citation.written.year, citation.written.month,
                                   citation.written.day]]},
        "accessed": {"date-parts": [[citation.retrieved.year, citation.retrieved.month,
                                     citation.retrieved.day]]},
        "URL": citation.url, "container-title": citation.site, "publisher": citation.site,
    }
    return json.dumps([item], ensure_ascii=False, indent=2) + "\n"


def latex(text: str) -> str:
    return _SPECIAL_RE.sub(lambda match: _SPECIAL[match.group()], text)


def _key(prefix: str, ident: int) -> str:
    site = re.sub(r"[^a-z0-9]+", "", _site().lower()) or "forum"
    return f"{site}-{prefix}{ident}"


def _site() -> str:
    return current_app.config["FORUM_SITE_NAME"]


def cite_box_around(kind: str) -> tuple[str, ...]:
    """``cite_box(kind, ...)`` cut at its id: join the pieces with ``str(id)`` to draw one.

    The box differs from reply to reply only by the id, so a thread page draws it
    once and fills in each reply's id, rather than building three links per reply.
    """
    return tuple(str(cite_box(kind, SAMPLE_VALUE)).split(str(SAMPLE_VALUE)))


def cite_box(kind: str, ident: int) -> Markup:
    """The "Cite" disclosure under a thread or a reply: its permalink and the two downloads.

    Python rather than a Jinja macro: a thread page draws one per reply, and a
    macro call (a new context each time) cost more than the rest of the reply's
    markup. ``kind`` is "thread" or "post"; the id is an int, so nothing needs escaping.
    """
    name = "thread_id" if kind == "thread" else "post_id"
    permalink = quick_url("threads.show" if kind == "thread" else "threads.permalink", **{name: ident})
    bibtex_url = quick_url(f"opendata.cite_{kind}_bibtex", **{name: ident})
    csl_url = quick_url(f"opendata.cite_{kind}_csl", **{name: ident})
    return Markup(f'<details class="cite">\n  <summary>Cite</summary>\n'
                  f'  <p>Permalink: <code>{escape(request.host_url.rstrip("/"))}{permalink}</code></p>\n'
                  f'  <p>Download a citation: <a href="{bibtex_url}" download>BibTeX</a>\n'
                  f'    · <a href="{csl_url}" download>CSL-JSON</a></p>\n</details>')
