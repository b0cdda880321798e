"""The Markdown converter: our CommonMark block parser, Python-Markdown's inline stage.

Inline additions, and why:

* every ASCII punctuation character can be backslash-escaped (CommonMark), so
  ``\\$5`` and ``\\*`` stay literal text;
* a backslash at the end of a line is a hard break, as two spaces are;
* ``$$...$$`` and ``\\[...\\]`` inside a paragraph are display math
  (``pymdownx.arithmatex`` handles ``$...$`` and ``\\(...\\)``; "smart dollars"
  keep "costs $5 and $10" as text); code spans and code blocks are never read;
* ``~~text~~`` is strikethrough (``pymdownx.tilde``, subscript off);
* ``[^label]`` refers to a footnote (numbered by first reference);
* bare ``http(s)://`` and ``www.`` addresses become links, as on GitHub: only
  with a scheme or ``www.`` (so ``cs.CL`` or ``model.fit`` never is), and
  trailing ``?!.,:;*_~`` and an unbalanced ``)`` stay outside the link; this
  replaces bleach's linkify, which also cost half of the sanitizer's time;
* @mentions of existing users become profile links, never inside a link (so
  ``[@bob](https://x.org)`` stays one link).

Each pattern's ``handleMatch`` is wrapped with a budget check, so a run of
thousands of ``[`` or ``*`` (each scan linear, many scans) is refused once it
has used its CPU budget instead of stalling the worker.
"""
from __future__ import annotations

import re
import secrets
import string
import xml.etree.ElementTree as etree
from functools import wraps

from markdown import Markdown, util
from markdown.blockprocessors import BlockProcessor
from markdown.inlinepatterns import BACKTICK_RE, BacktickInlineProcessor, InlineProcessor
from markdown.treeprocessors import Treeprocessor
from markdown.util import AtomicString, Registry

from forum.markup import budget
from forum.markup.blocks import BlockParser
from forum.markup.tree import TreeBuilder, footnote_numbers, footnote_prefix

USERNAME = r"[A-Za-z0-9_-]{3,30}"
# Not after a word character, @ or / (emails, paths); not followed by more name characters.
MENTION_RE = rf"(?<![\w@/.-])@({USERNAME})(?![\w-])"
DISPLAY_INLINE_RE = (
    r"(?<!\\)\$\$(?!\s)((?:\\.|[^\\$\x02\x03])+?)(?<!\s)\$\$"
    r"|(?<!\\)\\\[((?:\\[^\]]|[^\\\x02\x03])+?)\\\]"
)
HARD_BREAK_RE = r"\\\n"
FOOTNOTE_REF_RE = r"\[\^([^\]\s]{1,64})\](?!:)"
# GFM's extended autolinks: at the start, or after space or one of *_~("' .
AUTOLINK_RE = r"(?<![^\s*_~(\"'])(?:https?://|www\.)[^\s<>\x02\x03]+"
DOMAIN_RE = re.compile(r"(?:https?://)?([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*)")
TRAILING_PUNCTUATION = "?!.,:*_~'\""
ENTITY_TAIL_RE = re.compile(r"&[A-Za-z0-9]+;$")
LINK_REL = "nofollow ugc noopener"
OWN_LINK_CLASSES = {"mention", "paper-link", "footnote-ref", "footnote-backref"}


class _CommonMarkBlocks(BlockProcessor):
    """Takes the whole document: CommonMark block structure, then the tree for the inline stage."""

    def test(self, parent, block):
        return True

    def run(self, parent, blocks):
        md = self.parser.md
        text = "\n\n".join(blocks)
        del blocks[:]
        parser = BlockParser()
        doc = parser.parse(text)
        for label, reference in parser.references.items():
            md.references.setdefault(label, reference)
        numbers = footnote_numbers(text, parser.footnotes)
        prefix = footnote_prefix(text)
        md.footnote_numbers = numbers
        md.footnote_prefix = prefix
        md.footnote_refs = {}
        md.code_nonce = f"code{secrets.token_hex(8)}x"
        md.code_fragments = {}
        TreeBuilder(md).build(parent, doc, parser.footnotes, numbers, prefix)


class _CodeSpanInline(BacktickInlineProcessor):
    """Code spans by CommonMark's rules: the closing run has exactly the opening run's length
    (no fallback pairing), line endings become spaces, and one space is stripped from each
    side only when both sides have one (so `` `` ` `` `` shows a backtick)."""

    def find_code_spans(self, start, text):
        end_of_text = len(text)
        ticks = 0
        while start < end_of_text and text[start] == "`":
            ticks += 1
            start += 1
        i = start
        while i < end_of_text:
            if text[i] != "`":
                i += 1
                continue
            run = i
            while i < end_of_text and text[i] == "`":
                i += 1
            if i - run == ticks:
                return start, run
        return start, None

    def handleMatch(self, m, data):
        if m.group(1):
            return m.group(1).replace("\\\\", self.ESCAPED_BSLASH), m.start(0), m.end(0)
        begin = m.start(0)
        start, end = self.find_code_spans(begin, data)
        if end is None:
            return None, begin, start
        content = data[start:end].replace("\n", " ")
        if len(content) > 1 and content[0] == " " and content[-1] == " " and content.strip(" "):
            content = content[1:-1]
        el = etree.Element("code")
        el.text = AtomicString(util.code_escape(content))
        return el, begin, end + (start - begin)


class _DisplayMathInline(InlineProcessor):
    """``$$...$$`` or ``\\[...\\]`` inside a paragraph: same output as arithmatex's block form."""

    def handleMatch(self, m, data):
        el = etree.Element("span", {"class": "arithmatex"})
        el.text = AtomicString("\\[" + (m.group(1) or m.group(2)) + "\\]")
        return el, m.start(0), m.end(0)


class _HardBreakInline(InlineProcessor):
    def handleMatch(self, m, data):
        return etree.Element("br"), m.start(0), m.end(0)


class _FootnoteRefInline(InlineProcessor):
    def handleMatch(self, m, data):
        number = getattr(self.md, "footnote_numbers", {}).get(m.group(1).lower())
        if number is None:
            return None, None, None
        seen = self.md.footnote_refs.get(number, 0) + 1
        self.md.footnote_refs[number] = seen
        prefix = self.md.footnote_prefix
        sup = etree.Element("sup", {"id": f"fnref-{prefix}-{number}" + (f"-{seen}" if seen > 1 else "")})
        link = etree.SubElement(sup, "a", {"href": f"#fn-{prefix}-{number}", "class": "footnote-ref"})
        link.text = AtomicString(str(number))
        return sup, m.start(0), m.end(0)


class _AutolinkInline(InlineProcessor):
    """A bare address with a scheme or ``www.``; trailing punctuation stays text (GFM rules)."""

    ANCESTOR_EXCLUDES = ("a",)

    def handleMatch(self, m, data):
        url = _trim_autolink(m.group(0))
        if not url or not _has_valid_domain(url):
            return None, None, None
        skip = getattr(self.md, "autolink_skip", None)
        if skip is not None and skip(url):
            return None, None, None
        href = url if "://" in url else "http://" + url
        el = etree.Element("a", {"href": href})
        el.text = AtomicString(url)
        return el, m.start(0), m.start(0) + len(url)


def _trim_autolink(url: str) -> str:
    """Drop trailing punctuation, an unbalanced ``)`` and a trailing entity-like ``&name;``."""
    opened, closed = url.count("("), url.count(")")
    while url:
        last = url[-1]
        if last == ";":
            match = ENTITY_TAIL_RE.search(url, max(0, len(url) - 34))
            url = url[:match.start()] if match else url[:-1]
        elif last in TRAILING_PUNCTUATION:
            url = url[:-1]
        elif last == ")" and closed > opened:
            url = url[:-1]
            closed -= 1
        else:
            break
    return url


def _has_valid_domain(url: str) -> bool:
    match = DOMAIN_RE.match(url)
    if not match:
        return False
    parts = match.group(1).split(".")
    if len(parts) < 2 and "://" not in url:
        return False
    return not any("_" in part for part in parts[-2:])


class _MentionInline(InlineProcessor):
    """@name: a link when ``md.mention_lookup`` knows the user, else left as text."""

    ANCESTOR_EXCLUDES = ("a",)

    def handleMatch(self, m, data):
        lookup = getattr(self.md, "mention_lookup", None)
        url = lookup(m.group(1)) if lookup else None
        if not url:
            return None, None, None
        el = etree.Element("a", {"href": url, "class": "mention"})
        el.text = AtomicString("@" + m.group(1))
        return el, m.start(0), m.end(0)


class _LinkRel(Treeprocessor):
    """Links written by users get ``rel="nofollow ugc noopener"``; our own links do not."""

    def run(self, root):
        for link in root.iter("a"):
            if link.get("href") is not None and link.get("class") not in OWN_LINK_CLASSES:
                link.set("rel", LINK_REL)


class _NormalizeReferences(Treeprocessor):
    """Python-Markdown looks references up by ``lower()``; CommonMark labels fold case and spaces."""

    def run(self, root):
        refs = self.md.references
        for label in list(refs):
            refs.setdefault(re.sub(r"\s+", " ", label).lower(), refs[label])


def _budgeted(handle):
    @wraps(handle)
    def checked(m, data):
        budget.check()
        return handle(m, data)
    return checked


def new_markdown() -> Markdown:
    md = Markdown(
        extensions=["pymdownx.arithmatex", "pymdownx.tilde"],
        extension_configs={
            "pymdownx.arithmatex": {"generic": True, "smart_dollar": True},
            "pymdownx.tilde": {"subscript": False, "smart_delete": True},
        },
        output_format="html",
    )
    md.ESCAPED_CHARS = list(string.punctuation)
    md.preprocessors = Registry()  # no raw HTML blocks; line endings are normalized by the caller
    md.parser.blockprocessors = Registry()
    md.parser.blockprocessors.register(_CommonMarkBlocks(md.parser), "commonmark", 100)
    md.inlinePatterns.deregister("html")
    md.inlinePatterns.register(_CodeSpanInline(BACKTICK_RE), "backtick", 190)
    md.inlinePatterns.register(_DisplayMathInline(DISPLAY_INLINE_RE, md), "display-math-inline", 189.95)
    md.inlinePatterns.register(_FootnoteRefInline(FOOTNOTE_REF_RE, md), "footnote-ref", 175)
    md.inlinePatterns.register(_HardBreakInline(HARD_BREAK_RE, md), "hard-break", 174)
    md.inlinePatterns.register(_AutolinkInline(AUTOLINK_RE, md), "gfm-autolink", 115)
    # Below links (160) so [text](url) is parsed first; above emphasis so _names_ stay whole.
    md.inlinePatterns.register(_MentionInline(MENTION_RE, md), "mention", 65)
    md.treeprocessors.deregister("prettify")  # it strips code blocks' trailing blank lines
    md.treeprocessors.register(_NormalizeReferences(md), "normalize-references", 25)
    md.treeprocessors.register(_LinkRel(md), "link-rel", 5)
    for pattern in md.inlinePatterns:
        pattern.handleMatch = _budgeted(pattern.handleMatch)
    # Also once per text node: 12,000 list items of one word match no pattern at all.
    inline = md.treeprocessors["inline"]
    handle_inline = inline._InlineProcessor__handleInline
    inline._InlineProcessor__handleInline = lambda data, index=0: (budget.check(), handle_inline(data, index))[1]
    return md
