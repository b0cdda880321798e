"""The parsed blocks as the ElementTree Python-Markdown's inline stage works on.

Text that is Markdown (paragraphs, headings, table cells) goes in as element
text for the inline processors; code and math go in as ``AtomicString`` so
nothing inside them is touched. Fenced code in a language Pygments knows is
highlighted here; other code, and blocks too long to highlight within the
budget, stay a plain ``pre``/``code``.

Highlighted code skips the sanitizer: Pygments escapes every token's text and
writes only its own class names, and a ``span`` per token made bleach four
fifths of a code-heavy post's cost. The tree holds a placeholder with a
random per-render nonce (users cannot forge it), and ``render_markdown`` puts
the highlighted HTML back after cleaning, as it does for math.

Table alignment is a class (``align-left``/``-center``/``-right``, styled in
``static/css/site.css``), never a ``style`` attribute: the site's CSP forbids
inline styles. Footnotes get ids made of a digest of the post's source, so two
posts on one page never share an id and back-links land in the right post.
"""
from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as etree
from functools import lru_cache

from markdown.util import AtomicString
from pygments import format as format_tokens
from pygments.formatters import HtmlFormatter
from pygments.lexers import get_lexer_by_name
from pygments.util import ClassNotFound

from forum.markup import budget
from forum.markup.nodes import Block
from forum.markup.references import unescape

TASK_RE = re.compile(r"\[([ xX])\](?=[ \t]|$)")
FOOTNOTE_REF_RE = re.compile(r"\[\^([^\]\s]{1,64})\](?!:)")
_FORMATTER = HtmlFormatter(cssclass="codehilite", wrapcode=True)
# Pygments is the slowest step per character: a pasted 50 KB log stays plain text.
MAX_HIGHLIGHTED = 20_000  # characters per code block


@lru_cache(maxsize=64)
def _lexer(name: str):
    try:
        return get_lexer_by_name(name.lower(), stripnl=False, ensurenl=False)
    except ClassNotFound:
        return None


def _checked(tokens):
    """Pygments' token stream with the render's budget checked as it goes (a big block is slow)."""
    for count, token in enumerate(tokens):
        if count % 512 == 0:
            budget.check()
        yield token


def footnote_prefix(source: str) -> str:
    return hashlib.blake2s(source.encode("utf-8", "surrogatepass"), digest_size=4).hexdigest()


def footnote_numbers(source: str, defined: dict[str, Block]) -> dict[str, int]:
    """Footnotes numbered in order of first reference; unreferenced ones are left out."""
    numbers: dict[str, int] = {}
    if defined:
        for match in FOOTNOTE_REF_RE.finditer(source):
            label = match.group(1).lower()
            if label in defined and label not in numbers:
                numbers[label] = len(numbers) + 1
    return numbers


class TreeBuilder:
    def __init__(self, md):
        self.md = md

    def build(self, parent: etree.Element, doc: Block, footnotes: dict[str, Block],
              numbers: dict[str, int], prefix: str) -> None:
        for child in doc.children:
            self.emit(parent, child, tight=False)
        if numbers:
            self._footnotes(parent, footnotes, numbers, prefix)

    def emit(self, parent: etree.Element, block: Block, tight: bool) -> None:
        budget.check()
        kind = block.kind
        if kind == "paragraph":
            self._paragraph(parent, block, tight)
        elif kind == "heading":
            heading = etree.SubElement(parent, f"h{block.data['level']}")
            heading.text = _inline_text(block.lines)
        elif kind == "thematic":
            etree.SubElement(parent, "hr")
        elif kind == "code":
            self._code(parent, block)
        elif kind == "math":
            div = etree.SubElement(parent, "div", {"class": "arithmatex"})
            div.text = AtomicString("\\[" + "\n".join(block.lines) + "\\]")
        elif kind == "blockquote":
            quote = etree.SubElement(parent, "blockquote")
            for child in block.children:
                self.emit(quote, child, tight=False)
        elif kind == "list":
            self._list(parent, block)
        elif kind == "table":
            self._table(parent, block)

    def _paragraph(self, parent: etree.Element, block: Block, tight: bool) -> None:
        text = _inline_text(block.lines)
        target = parent
        if not tight:
            target = etree.SubElement(parent, "p")
        task = block.data.get("task")
        if task is not None:
            attrs = {"type": "checkbox", "disabled": "", "aria-label": "done" if task else "to do"}
            if task:
                attrs["checked"] = ""
            box = etree.SubElement(target, "input", attrs)
            box.tail = " " + text
        elif len(target):
            target[-1].tail = (target[-1].tail or "") + text
        else:
            target.text = (target.text or "") + text

    def _code(self, parent: etree.Element, block: Block) -> None:
        source = "".join(line + "\n" for line in block.lines)
        info = unescape(block.data.get("info", ""))
        language = info.split()[0] if info.split() else ""
        lexer = _lexer(language) if language and len(source) <= MAX_HIGHLIGHTED else None
        if lexer is not None:
            fragments = self.md.code_fragments
            key = f"{self.md.code_nonce}{len(fragments)}"
            fragments[key] = _focusable(format_tokens(_checked(lexer.get_tokens(source)), _FORMATTER))
            holder = etree.SubElement(parent, "p")
            holder.text = AtomicString(key)
            return
        pre = etree.SubElement(parent, "pre", {"tabindex": "0"})  # scrolls: reachable by keyboard
        code = etree.SubElement(pre, "code")
        if language:
            code.set("class", "language-" + language)
        code.text = AtomicString(source)

    def _list(self, parent: etree.Element, block: Block) -> None:
        data = block.data
        element = etree.SubElement(parent, "ol" if data["ordered"] else "ul")
        if data["ordered"] and data["start"] != 1:
            element.set("start", str(data["start"]))
        for item in block.children:
            li = etree.SubElement(element, "li")
            first = item.children[0] if item.children else None
            if first is not None and first.kind == "paragraph" and first.lines:
                match = TASK_RE.match(first.lines[0].lstrip(" \t"))
                if match:
                    first.data["task"] = match.group(1) != " "
                    first.lines[0] = first.lines[0].lstrip(" \t")[match.end():]
                    li.set("class", "task-list-item")
            for child in item.children:
                self.emit(li, child, tight=data["tight"])

    def _table(self, parent: etree.Element, block: Block) -> None:
        aligns = block.data["aligns"]
        table = etree.SubElement(parent, "table", {"tabindex": "0"})  # scrolls sideways when wide
        self._row(etree.SubElement(table, "thead"), "th", block.lines[0], aligns)
        if len(block.lines) > 1:
            body = etree.SubElement(table, "tbody")
            for cells in block.lines[1:]:
                self._row(body, "td", cells, aligns)

    @staticmethod
    def _row(parent: etree.Element, tag: str, cells: list[str], aligns: list[str]) -> None:
        row = etree.SubElement(parent, "tr")
        for i, align in enumerate(aligns):
            cell = etree.SubElement(row, tag, {"class": f"align-{align}"} if align else {})
            cell.text = cells[i] if i < len(cells) else ""

    def _footnotes(self, parent: etree.Element, footnotes: dict[str, Block],
                   numbers: dict[str, int], prefix: str) -> None:
        div = etree.SubElement(parent, "div", {"class": "footnotes"})
        etree.SubElement(div, "hr")
        ol = etree.SubElement(div, "ol")
        for label, number in sorted(numbers.items(), key=lambda pair: pair[1]):
            li = etree.SubElement(ol, "li", {"id": f"fn-{prefix}-{number}"})
            for child in footnotes[label].children:
                self.emit(li, child, tight=False)
            holder = li[-1] if len(li) and li[-1].tag == "p" else li
            back = etree.SubElement(holder, "a", {"href": f"#fnref-{prefix}-{number}",
                                                  "class": "footnote-backref"})
            back.text = AtomicString("\u21a9")
            back.set("title", f"Back to reference {number}")


def _inline_text(lines: list[str]) -> str:
    """A paragraph's text: each line's indentation dropped, the final line's trailing spaces too."""
    text = "\n".join(line.lstrip(" \t") for line in lines)
    return text.rstrip(" \t")


def _focusable(highlighted: str) -> str:
    """Pygments' ``<pre>``, focusable like ours: a code block that scrolls sideways must be
    reachable from the keyboard (WCAG 2.1.1; axe's scrollable-region-focusable)."""
    return highlighted.replace("<pre>", '<pre tabindex="0">', 1)
