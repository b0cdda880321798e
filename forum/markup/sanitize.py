"""The sanitizer: the only module that names bleach. An allow-list, then paper links.

bleach cleans the HTML with a small allow-list (protocols http, https,
mailto, or relative) and escapes anything else. Attributes the renderer adds
on purpose are allowed only in the exact shape it writes them: task-list
checkboxes (``type="checkbox"``, ``disabled``, ``checked``), footnote ids
(``fn-``/``fnref-`` plus digest and number), table alignment classes. There
is no ``style`` attribute at all: the site's CSP forbids inline styles.

Paper links (only when a ``papers`` lookup is given): a token filter finds
arXiv ids and arxiv.org URLs with ``forum.papers.arxiv.iter_arxiv_mentions``
in text outside ``code``, ``pre`` and existing links, and makes each one
``<a href="/papers/<id>" class="paper-link" title="...">`` followed, when the
title is known, by ``<span class="paper-title">(Title)</span>``. Titles come
from arXiv and are untrusted: they only ever enter the token stream as text or
attribute values, which the serializer escapes.

A budget filter checks the render's CPU budget every few hundred tokens, so a
post made of thousands of tiny elements is refused instead of stalling.
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable

import bleach
from bleach.html5lib_shim import BleachHTMLParser, BleachHTMLTokenizer, Filter
from bleach.linkifier import URL_RE

from forum.markup import budget
from forum.papers.arxiv import iter_arxiv_mentions

PaperLookup = Callable[[str], "str | None"]  # canonical arXiv id -> title, None while unknown

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "em", "strong", "del", "s", "sup", "sub", "blockquote",
    "ul", "ol", "li", "code", "pre", "span", "div", "a", "img", "input",
    "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
})
FOOTNOTE_ID_RE = re.compile(r"fn(?:ref)?-[0-9a-f]{8}-[0-9]{1,4}(?:-[0-9]{1,4})?")
ALIGN_CLASSES = frozenset({"align-left", "align-center", "align-right"})
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})
BUDGET_CHECK_EVERY = 256  # tokens

MATH_TAGS = frozenset({
    "math", "mrow", "mi", "mn", "mo", "ms", "msup", "msub", "msubsup", "mfrac",
    "msqrt", "mroot", "mtext", "mspace", "mtable", "mtr", "mtd", "munder",
    "mover", "munderover", "mstyle", "mpadded", "mphantom", "menclose",
    "mfenced", "semantics", "annotation",
})
MATH_ATTRIBUTES = [
    "display", "mathvariant", "mathsize", "displaystyle", "scriptlevel",
    "stretchy", "fence", "separator", "symmetric", "largeop", "movablelimits",
    "accent", "accentunder", "form", "lspace", "rspace", "minsize", "maxsize",
    "linethickness", "width", "height", "depth", "voffset", "notation",
    "columnalign", "rowalign", "columnspacing", "rowspacing", "columnlines",
    "rowlines", "frame", "open", "close", "separators", "encoding",
]


def _checkbox(tag: str, name: str, value: str) -> bool:
    return (name == "type" and value == "checkbox" or name in ("disabled", "checked")
            or name == "aria-label" and value in ("done", "to do"))  # a checkbox needs a name (axe)


def _footnote_id(tag: str, name: str, value: str) -> bool:
    return name == "id" and FOOTNOTE_ID_RE.fullmatch(value) is not None or (
        tag == "li" and name == "class" and value == "task-list-item")


def _cell(tag: str, name: str, value: str) -> bool:
    return name == "class" and value in ALIGN_CLASSES


def _focusable(tag: str, name: str, value: str) -> bool:
    """Code blocks and tables scroll when wide, so they take keyboard focus, in the normal order
    only (``tabindex="0"``): nothing a post says can move the page's focus order."""
    return name == "tabindex" and value == "0"


ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel", "class"],
    "img": ["src", "alt", "title"],
    "ol": ["start"],
    "pre": _focusable,
    "table": _focusable,
    "th": _cell,
    "td": _cell,
    "code": ["class"],
    "span": ["class"],
    "div": ["class"],
    "input": _checkbox,
    "sup": _footnote_id,
    "li": _footnote_id,
}


class BudgetFilter(Filter):
    """Checks the render's CPU budget while the sanitizer walks the tokens.

    It also drops any ``input`` that is not a checkbox: attribute rules can refuse a
    value but cannot demand one, and an ``input`` without a type is a text field."""

    def __iter__(self):
        for count, token in enumerate(super().__iter__()):
            if count % BUDGET_CHECK_EVERY == 0:
                budget.check()
            if token.get("name") == "input" and token["type"] in ("StartTag", "EmptyTag") \
                    and token["data"].get((None, "type")) != "checkbox":
                continue
            yield token


class _BudgetedTokenizer(BleachHTMLTokenizer):
    """html5lib builds the whole tree before any filter runs: check the budget while it reads."""

    def __iter__(self):
        for count, token in enumerate(super().__iter__()):
            if count % BUDGET_CHECK_EVERY == 0:
                budget.check()
            yield token


class _BudgetedParser(BleachHTMLParser):
    def _parse(self, stream, innerHTML=False, container="div", scripting=True, **kwargs):
        # BleachHTMLParser._parse, with our tokenizer (html5lib offers no other hook).
        self.innerHTMLMode = innerHTML
        self.container = container
        self.scripting = scripting
        self.tokenizer = _BudgetedTokenizer(stream=stream, consume_entities=self.consume_entities,
                                            parser=self, **kwargs)
        self.reset()
        self.mainLoop()


class PaperLinkFilter(Filter):
    """arXiv ids in text (outside code, pre and links) become links to our paper pages.

    Reads this thread's lookup (set by ``clean``); without one it
    passes tokens through.
    """

    SKIP = frozenset({"a", "code", "pre"})

    def __iter__(self):
        lookup = _current_lookup()
        if lookup is None:
            yield from super().__iter__()
            return
        skipping = 0  # depth inside a, code or pre
        text: list[str] = []
        for token in super().__iter__():
            kind = token["type"]
            if kind in ("Characters", "SpaceCharacters"):
                text.append(token["data"])
                continue
            if text:
                yield from self._text("".join(text), lookup, skipping)
                text = []
            if token.get("name") in self.SKIP:
                if kind == "StartTag":
                    skipping += 1
                elif kind == "EndTag":
                    skipping = max(0, skipping - 1)
            yield token
        if text:
            yield from self._text("".join(text), lookup, skipping)

    @staticmethod
    def _text(data: str, lookup: PaperLookup, skipping: int):
        if skipping:
            yield {"type": "Characters", "data": data}
            return
        # Linkify's view of URLs: an id inside someone else's URL (example.com/?q=1706.03762) stays theirs.
        urls = [(m.start(), m.end()) for m in URL_RE.finditer(data)] if "." in data else []
        position = 0
        for mention in iter_arxiv_mentions(data):
            if any(start <= mention.start < end and data[start:mention.start].strip("([{<'\"")
                   for start, end in urls):
                continue
            if mention.start > position:
                yield {"type": "Characters", "data": data[position:mention.start]}
            title = lookup(mention.arxiv_id)
            attrs = {
                (None, "href"): f"/papers/{mention.arxiv_id}",
                (None, "class"): "paper-link",
                (None, "title"): _attribute_text(title) if title else f"arXiv:{mention.arxiv_id}",
            }
            yield {"type": "StartTag", "name": "a", "namespace": None, "data": attrs}
            yield {"type": "Characters", "data": data[mention.start:mention.end]}
            yield {"type": "EndTag", "name": "a", "namespace": None}
            if title:
                yield {"type": "Characters", "data": " "}
                yield {"type": "StartTag", "name": "span", "namespace": None,
                       "data": {(None, "class"): "paper-title"}}
                yield from _text_tokens(f"({title})")
                yield {"type": "EndTag", "name": "span", "namespace": None}
            position = mention.end
        if position < len(data):
            yield {"type": "Characters", "data": data[position:]}


def _text_tokens(text: str):
    """Literal text as tokens: each & an entity token, since bleach's serializer
    keeps ``&name;`` in text as if it were an entity already (a title "&lt;b&gt;" would show "<b>")."""
    for i, part in enumerate(text.split("&")):
        if i:
            yield {"type": "Entity", "name": "amp"}
        if part:
            yield {"type": "Characters", "data": part}


def _attribute_text(value: str) -> str:
    """Literal text for an attribute value, through bleach's serializer.

    In a double-quoted value that serializer turns ``&amp;`` back into ``&`` and keeps
    ``&name;`` as an entity, so & is escaped once here first. html5lib single-quotes a value
    holding " but no ', and then escapes it properly itself.
    """
    if '"' in value and "'" not in value:
        return value
    return value.replace("&", "&amp;")




_lookups = threading.local()


def _current_lookup() -> PaperLookup | None:
    return getattr(_lookups, "papers", None)


def new_cleaner() -> bleach.Cleaner:
    cleaner = bleach.Cleaner(tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES,
                             protocols=ALLOWED_PROTOCOLS, filters=[BudgetFilter, PaperLinkFilter])
    cleaner.parser = _BudgetedParser(tags=cleaner.tags, strip=cleaner.strip, consume_entities=False,
                                     namespaceHTMLElements=False)
    return cleaner


def new_math_cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(tags=MATH_TAGS, attributes={"*": MATH_ATTRIBUTES}, protocols=set(), strip=False)


def clean(cleaner: bleach.Cleaner, html: str, papers: PaperLookup | None) -> str:
    """``html`` through the allow-list; with ``papers``, arXiv ids become paper links."""
    _lookups.papers = papers
    try:
        return cleaner.clean(html)
    finally:
        _lookups.papers = None
