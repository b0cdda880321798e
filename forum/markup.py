"""Markdown to safe HTML: the only module that names the sanitizer.

Pipeline, and why each step is where it is:

1. Control characters are dropped from the source. Python-Markdown uses
   STX/ETX internally to mark stashed fragments; a user must not forge them.
2. Python-Markdown renders paragraphs, emphasis, lists (``sane_lists``),
   blockquotes, tables, and fenced code highlighted by Pygments with CSS
   classes (``codehilite``; the stylesheet is ``static/css/code.css``, light
   and dark from Pygments styles). Raw HTML is switched off at the source (the
   ``html_block`` preprocessor and ``html`` inline pattern are deregistered),
   so typed tags show as text instead of reaching the sanitizer as markup.
3. Math: ``pymdownx.arithmatex`` in generic mode finds ``$...$``, ``\\(...\\)``
   and block ``$$...$$``/``\\[...\\]``; a small extra inline pattern accepts
   ``$$...$$`` and ``\\[...\\]`` inside a paragraph. Being Markdown inline and
   block processors, they never look inside code spans or fenced code.
   "Smart dollars" (no space after the opening ``$`` nor before the closing
   one) keep "costs $5 and $10" as text. Each formula is replaced by a random
   per-call placeholder before sanitizing, converted to MathML by
   ``latex2mathml`` and cleaned by a separate MathML allow-list cleaner
   (latex2mathml passes ``\\text{<...>}`` through unescaped and turns
   ``\\href``/``\\style`` into attributes: no href and no style survive). A
   formula latex2mathml rejects is shown as its escaped source in ``<code>``.
4. @mentions are an inline pattern too (so code is untouched): an existing
   user becomes ``<a href="/u/name" class="mention">@name</a>``, anyone else
   stays text. ``find_mentions`` runs only the Markdown step to collect them.
5. bleach cleans the HTML with a small allow-list (protocols http, https,
   mailto, or relative), escapes anything else, and its ``LinkifyFilter``
   turns bare URLs into links; every link except mentions and paper links
   gets ``rel="nofollow ugc noopener"``.
6. Paper links (only when ``papers`` is given): a token filter running after
   the sanitizer and before linkify finds arXiv ids and arxiv.org URLs with
   ``forum.papers.arxiv.iter_arxiv_mentions`` in text outside ``code``,
   ``pre`` and existing links, and makes each one
   ``<a href="/papers/<id>" class="paper-link" title="...">`` followed, when
   the title is known, by ``<span class="paper-title">(Title)</span>``. It
   runs before linkify so a bare arxiv.org URL links to our page, not arXiv's.
   Titles come from arXiv and are untrusted: they only ever enter the token
   stream as text or attribute values, which the serializer escapes.

Cost: bleach dominates (DESIGN.md), so cleaners and the Markdown converter
are built once, lazily. Neither a bleach ``Cleaner`` (its html5lib parser
keeps state) nor a ``Markdown`` instance is thread-safe, so each thread gets
its own set, kept in a module-level ``threading.local`` and reused
(``Markdown.reset()`` between documents).
"""
from __future__ import annotations

import html
import re
import secrets
import threading
import xml.etree.ElementTree as etree
from collections.abc import Callable
from functools import partial

import bleach
from bleach.css_sanitizer import CSSSanitizer
from bleach.linkifier import URL_RE, LinkifyFilter
from bleach.html5lib_shim import Filter
from latex2mathml.converter import convert as latex_to_mathml
from markdown import Markdown
from markdown.inlinepatterns import InlineProcessor
from markdown.util import AtomicString

from forum.papers.arxiv import iter_arxiv_mentions

MentionLookup = Callable[[str], "str | None"]
PaperLookup = Callable[[str], "str | None"]  # canonical arXiv id -> title, None while unknown

USERNAME = r"[A-Za-z0-9_-]{3,30}"
# Not after a word character, @ or / (emails, paths); not followed by more name characters.
MENTION_RE = rf"(?<![\w@/.-])@({USERNAME})(?![\w-])"
CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
DISPLAY_INLINE_RE = (
    r"(?<!\\)\$\$(?!\s)((?:\\.|[^\\$\x02\x03])+?)(?<!\s)\$\$"
    r"|(?<!\\)\\\[((?:\\[^\]]|[^\\\x02\x03])+?)\\\]"
)
# Arithmatex's generic output, after Markdown serialised it (raw HTML is off, so users cannot forge it).
ARITHMATEX_RE = re.compile(
    r'<(span|div) class="arithmatex">\\([(\[])(.*?)\\[)\]]</\1>', re.DOTALL
)
LINK_REL = "nofollow ugc noopener"

ALLOWED_TAGS = frozenset({
    "p", "br", "hr", "em", "strong", "del", "s", "sup", "sub", "blockquote",
    "ul", "ol", "li", "code", "pre", "span", "div", "a", "img",
    "h1", "h2", "h3", "h4", "h5", "h6",
    "table", "thead", "tbody", "tr", "th", "td",
})
ALLOWED_ATTRIBUTES = {
    "a": ["href", "title", "rel", "class"],
    "img": ["src", "alt", "title"],
    "ol": ["start"],
    "th": ["align", "style"],
    "td": ["align", "style"],
    "code": ["class"],
    "span": ["class"],
    "div": ["class"],
}
ALLOWED_PROTOCOLS = frozenset({"http", "https", "mailto"})

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

_local = threading.local()


class _DisplayMathInline(InlineProcessor):
    """``$$...$$`` or ``\\[...\\]`` inside a paragraph: same output as arithmatex's block form."""

    def handleMatch(self, m, data):
        el = etree.Element("span", {"class": "arithmatex"})
        el.text = AtomicString("\\[" + (m.group(1) or m.group(2)) + "\\]")
        return el, m.start(0), m.end(0)


class _MentionInline(InlineProcessor):
    """@name: a link when ``md.mention_lookup`` knows the user, else left as text."""

    def handleMatch(self, m, data):
        lookup = getattr(self.md, "mention_lookup", None)
        url = lookup(m.group(1)) if lookup else None
        if not url:
            return None, None, None
        el = etree.Element("a", {"href": url, "class": "mention"})
        el.text = AtomicString("@" + m.group(1))
        return el, m.start(0), m.end(0)


def _new_markdown() -> Markdown:
    md = Markdown(
        extensions=["tables", "sane_lists", "fenced_code", "codehilite", "pymdownx.arithmatex"],
        extension_configs={
            "codehilite": {"css_class": "codehilite", "guess_lang": False},
            "pymdownx.arithmatex": {"generic": True, "smart_dollar": True},
        },
        output_format="html",
    )
    md.preprocessors.deregister("html_block")
    md.inlinePatterns.deregister("html")
    md.inlinePatterns.register(_DisplayMathInline(DISPLAY_INLINE_RE, md), "display-math-inline", 189.95)
    # Below links (160) so [text](url) is parsed first; above emphasis so _names_ stay whole.
    md.inlinePatterns.register(_MentionInline(MENTION_RE, md), "mention", 65)
    return md


class _PaperLinkFilter(Filter):
    """arXiv ids in text (outside code, pre and links) become links to our paper pages.

    Reads this thread's ``_local.paper_lookup``; without one it passes tokens through.
    """

    SKIP = frozenset({"a", "code", "pre"})

    def __iter__(self):
        lookup = getattr(_local, "paper_lookup", None)
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
        # Linkify's own view of URLs: an id inside someone else's URL (example.com/?q=1706.03762) stays theirs.
        urls = [(m.start(), m.end()) for m in URL_RE.finditer(data)]
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
    """Literal text as tokens: each & an entity token, since bleach's serializer and linkify
    keep ``&name;`` in text as if it were an entity already (a title "&lt;b&gt;" would show "<b>")."""
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


def _set_rel(attrs, new=False):
    href_key = (None, "href")
    if href_key not in attrs or attrs.get((None, "class")) in ("mention", "paper-link"):
        return attrs
    attrs[(None, "rel")] = LINK_REL
    return attrs


def _new_cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        protocols=ALLOWED_PROTOCOLS,
        css_sanitizer=_css_sanitizer(),
        filters=[_PaperLinkFilter, partial(LinkifyFilter, callbacks=[_set_rel], skip_tags={"pre", "code"}, parse_email=False)],
    )


def _css_sanitizer() -> CSSSanitizer:
    # Python-Markdown's tables write column alignment as style="text-align: ...".
    return CSSSanitizer(allowed_css_properties=["text-align"])


def _new_math_cleaner() -> bleach.Cleaner:
    return bleach.Cleaner(tags=MATH_TAGS, attributes={"*": MATH_ATTRIBUTES}, protocols=set(), strip=False)


def _tools():
    """This thread's Markdown converter and cleaners, built on first use."""
    if not hasattr(_local, "md"):
        _local.md = _new_markdown()
        _local.cleaner = _new_cleaner()
        _local.math_cleaner = _new_math_cleaner()
    return _local


def _markdown(text: str, mentions: MentionLookup | None) -> str:
    md = _tools().md
    md.reset()
    md.mention_lookup = mentions
    try:
        return md.convert(CONTROL_CHARS_RE.sub("", text))
    finally:
        md.mention_lookup = None


def _render_math(source: str, display: bool) -> str:
    """One formula as sanitized MathML, or its escaped source when latex2mathml rejects it."""
    try:
        mathml = latex_to_mathml(source, display="block" if display else "inline")
    except Exception:  # latex2mathml raises many unrelated types on bad input
        return f'<code class="math-error">{html.escape(source)}</code>'
    return _tools().math_cleaner.clean(mathml)


def _extract_math(rendered: str) -> tuple[str, dict[str, str]]:
    """Swap each formula for a placeholder the sanitizer leaves alone; return the formulas' HTML."""
    nonce = secrets.token_hex(8)
    formulas: dict[str, str] = {}

    def swap(m: re.Match) -> str:
        key = f"math{nonce}x{len(formulas)}"
        formulas[key] = _render_math(html.unescape(m.group(3)), display=m.group(2) == "[")
        return key

    return ARITHMATEX_RE.sub(swap, rendered), formulas


def render_markdown(text: str, *, mentions: MentionLookup | None = None,
                    papers: PaperLookup | None = None) -> str:
    """Markdown source to sanitized HTML, safe to insert unescaped whatever the input.

    ``mentions`` maps a username to its profile URL (None: stays text);
    ``papers``, when given, makes arXiv ids link to ``/papers/<id>`` and maps
    an id to the paper's title (None while unknown).
    """
    rendered, formulas = _extract_math(_markdown(text or "", mentions))
    tools = _tools()
    tools.paper_lookup = papers
    try:
        cleaned = tools.cleaner.clean(rendered)
    finally:
        tools.paper_lookup = None
    for key, mathml in formulas.items():
        cleaned = cleaned.replace(key, mathml, 1)
    return cleaned


def find_mentions(text: str) -> list[str]:
    """The @usernames mentioned outside code, first spelling kept, in order of first mention."""
    seen: dict[str, str] = {}

    def record(name: str) -> None:
        seen.setdefault(name.lower(), name)  # None: nothing becomes a link, we only collect

    _markdown(text or "", record)
    return list(seen.values())
