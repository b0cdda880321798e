"""What a thread or reply cites, read from its rendered HTML, and the links added beside them.

Decision: citations are read from the *rendered, sanitized HTML*, not from
the Markdown source. The renderer has already done the hard part: code spans
and fenced blocks are ``<code>``/``<pre>`` (skipped here), reference-style
links, inline links and ``<autolinks>`` are ``<a href>`` (read here), and
entities are resolved. Scanning the source would mean re-implementing
Markdown's idea of what is code and what a reference link points to, and
drifting from it whenever the renderer changes. We depend only on
``render_markdown()``'s output contract (HTML with ``<code>``/``<pre>`` and
``<a href>``), never on its internals.

What cites:
- text outside ``<code>``/``<pre>`` (and MathML): every form ``iter_arxiv_mentions`` and
  ``iter_repo_mentions`` accept (bare ids, ``arXiv:`` forms, URLs, arXiv DOIs);
- every ``href`` that is an arXiv URL or DOI, one of our ``/papers/<id>``
  pages, or a GitHub repository URL (whatever the link text says);
- a thread's title, as plain text.
Text inside a link that merely spells its own URL (linkified
``https://example.com/?q=1706.03762``) is left to the href.

``annotate`` is the post-render step applied where stored HTML is made
(``forum.threads.rendering.render_post_body``): an arXiv or GitHub link keeps
pointing where its author pointed it and gets a small link to our page beside
it; a bare id in prose becomes a link to our paper page, with the title once
known. The citations found while annotating are remembered for the HTML it
returns (a small bounded cache), so the link-syncing listener that reads the
same HTML a moment later in the same write does not parse it twice.
"""
from __future__ import annotations

import html as html_lib
import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import unquote

from forum.papers.arxiv import iter_arxiv_mentions, mention_of_url
from forum.papers.github import iter_repo_mentions, repo_of_url

SKIPPED = frozenset({"code", "pre", "math", "script", "style"})  # math: numbers, not ids
_URL_LIKE = re.compile(r"^\s*(?:[a-z][a-z0-9+.\-]*://|www\.|[\w\-]+(?:\.[\w\-]+)+/)", re.IGNORECASE)
_OUR_PAPER = re.compile(r"^/papers/(?P<ident>[^?#]+?)/?(?:[?#].*)?$")
_CACHE_SIZE = 32  # only bridges one write's render and its flush; bodies can be large


@dataclass
class Citations:
    """arXiv id -> sorted versions cited (empty: no version named); repos lower -> as written."""
    papers: dict[str, list[int]] = field(default_factory=dict)
    repos: dict[str, str] = field(default_factory=dict)

    def add_paper(self, arxiv_id: str, version: int | None) -> None:
        versions = self.papers.setdefault(arxiv_id, [])
        if version is not None and version not in versions:
            versions.append(version)
            versions.sort()

    def add_repo(self, full_name: str) -> None:
        self.repos.setdefault(full_name.lower(), full_name)

    def add_text(self, text: str) -> None:
        for mention in iter_arxiv_mentions(text):
            self.add_paper(mention.arxiv_id, mention.version)
        for repo in iter_repo_mentions(text):
            self.add_repo(repo.full_name)

    def merge(self, other: Citations) -> None:
        for arxiv_id, versions in other.papers.items():
            self.papers.setdefault(arxiv_id, [])
            for version in versions:
                self.add_paper(arxiv_id, version)
        for full_name in other.repos.values():
            self.add_repo(full_name)


def paper_of_href(href: str):
    """The paper (id and version) an href points to (arXiv, its DOI or our page), or None."""
    ours = _OUR_PAPER.match(href)
    if ours:
        return mention_of_url(unquote(ours["ident"]))
    return mention_of_url(href)


class _Walker(HTMLParser):
    """One pass over sanitized HTML: collects citations and the pieces of the annotated output."""

    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.citations = Citations()
        self.out: list = []  # str, or ("id", arxiv_id, text) / ("paper", id) / ("repo", name)
        self.skip = 0
        self.anchors: list[tuple] = []  # (href, paper cited or None, repo cited or None)

    def handle_starttag(self, tag, attrs):
        self.out.append(self.get_starttag_text())
        if tag in SKIPPED:
            self.skip += 1
        elif tag == "a":
            href = html_lib.unescape(dict(attrs).get("href") or "")
            classes = (dict(attrs).get("class") or "").split()
            paper = paper_of_href(href) if href else None
            repo = repo_of_url(href) if href else None
            if paper:
                self.citations.add_paper(paper.arxiv_id, paper.version)
            if repo:
                self.citations.add_repo(repo)
            ours = href.startswith("/") or "paper-page" in classes or "repo-page" in classes
            if "paper-page" in classes or "repo-page" in classes:
                self._drop_pending_marker()  # HTML annotated before: its link is already here
            self.anchors.append((href, None if ours else paper, None if ours else repo))

    def _drop_pending_marker(self):
        start = len(self.out) - 1  # this very start tag is out[-1]
        for i in range(start - 1, -1, -1):
            piece = self.out[i]
            if isinstance(piece, tuple) and piece[0] in ("paper", "repo"):
                del self.out[i]
                return
            if not (isinstance(piece, str) and not piece.strip()):
                return

    def handle_startendtag(self, tag, attrs):
        self.out.append(self.get_starttag_text())

    def handle_endtag(self, tag):
        self.out.append(f"</{tag}>")
        if tag in SKIPPED:
            self.skip = max(0, self.skip - 1)
        elif tag == "a" and self.anchors:
            _, paper, repo = self.anchors.pop()
            if paper and not self.skip:
                self.out.append(("paper", paper.arxiv_id))
            elif repo and not self.skip:
                self.out.append(("repo", repo))

    def handle_data(self, data):
        if self.skip:
            self.out.append(data)
            return
        if self.anchors:
            if not _URL_LIKE.match(data):
                self.citations.add_text(data)
            self.out.append(data)
            return
        position = 0
        for mention in iter_arxiv_mentions(data):
            self.citations.add_paper(mention.arxiv_id, mention.version)
            self.out.append(data[position:mention.start])
            self.out.append(("id", mention.arxiv_id, data[mention.start:mention.end]))
            position = mention.end
        self.out.append(data[position:])
        for repo in iter_repo_mentions(data):  # linkify makes these links; counted either way
            self.citations.add_repo(repo.full_name)

    def handle_entityref(self, name):
        self.out.append(f"&{name};")

    def handle_charref(self, name):
        self.out.append(f"&#{name};")

    def handle_comment(self, data):
        self.out.append(f"<!--{data}-->")


def _walk(html: str) -> _Walker:
    walker = _Walker()
    walker.feed(html or "")
    walker.close()
    return walker


_remembered: OrderedDict[str, Citations] = OrderedDict()
_remembered_lock = threading.Lock()  # threaded servers write posts concurrently


def _remember(html: str, citations: Citations) -> None:
    with _remembered_lock:
        _remembered[html] = citations
        _remembered.move_to_end(html)
        while len(_remembered) > _CACHE_SIZE:
            _remembered.popitem(last=False)


def citations_in_html(html: str) -> Citations:
    """What one stored HTML body cites (see the module docstring for the rules)."""
    with _remembered_lock:
        known = _remembered.get(html or "")
    if known is not None:
        return known
    citations = _walk(html).citations
    _remember(html or "", citations)
    return citations


def citations_of(title: str | None, html: str | None) -> Citations:
    """What a thread (title and body) or a reply (body only, ``title=None``) cites."""
    citations = Citations()
    if title:
        citations.add_text(title)
    if html:
        citations.merge(citations_in_html(html))
    return citations


def _attr(value: str) -> str:
    return html_lib.escape(value, quote=True)


def annotate(html: str, titles: Callable[[list[str]], dict[str, str]]) -> str:
    """Sanitized HTML with our paper/repository links added (see the module docstring).

    ``titles`` maps the cited ids to the titles known so far (one query); titles come
    from arXiv and are untrusted, so they are escaped like any text.
    """
    walker = _walk(html)
    known = titles(list(walker.citations.papers)) if walker.citations.papers else {}
    pieces = []
    for piece in walker.out:
        if isinstance(piece, str):
            pieces.append(piece)
            continue
        kind, target = piece[0], piece[1]
        if kind == "id":
            title = known.get(target)
            pieces.append(f'<a href="/papers/{_attr(target)}" class="paper-link" '
                          f'title="{_attr(title or "arXiv:" + target)}">{html_lib.escape(piece[2], quote=False)}</a>')
            if title:
                pieces.append(f' <span class="paper-title">({html_lib.escape(title, quote=False)})</span>')
        elif kind == "paper":
            title = known.get(target)
            pieces.append(f' <a href="/papers/{_attr(target)}" class="paper-page" '
                          f'title="{_attr((title or "arXiv:" + target) + " — debates on this forum")}" '
                          f'aria-label="paper page of arXiv:{_attr(target)} on this forum">(paper page)</a>')
        else:
            pieces.append(f' <a href="/repos/{_attr(target)}" class="repo-page" '
                          f'title="{_attr(target)} — debates on this forum" '
                          f'aria-label="repo page of {_attr(target)} on this forum">(repo page)</a>')
    annotated = "".join(pieces)
    _remember(annotated, walker.citations)
    return annotated
