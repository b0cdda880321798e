"""A post's opening words as plain text, from its rendered HTML.

Why the rendered HTML and not the Markdown source: the source shows ``**``,
``[text](url)`` and fenced code to a reader of a plain-text email, and the
HTML part would show them literally too. The rendered HTML is already
sanitised; here it is only read. Code blocks (``<pre>``) are left out, since
an excerpt of code says nothing about the debate; formulas (MathML) become
``[formula]``, as their text would read as nonsense ("x2" for x squared).
Block elements end with a space so words of two paragraphs never run together.
"""
from __future__ import annotations

from html.parser import HTMLParser

EXCERPT_CHARS = 240
SKIPPED = frozenset({"pre", "script", "style", "template"})
BLOCKS = frozenset({"p", "div", "br", "li", "ul", "ol", "blockquote", "h1", "h2", "h3", "h4",
                    "h5", "h6", "table", "tr", "td", "th", "hr", "dd", "dt", "figcaption"})
FORMULA = "[formula]"


class _TextOf(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skipping = 0  # depth inside pre, script, ...
        self.in_math = 0

    def handle_starttag(self, tag, attrs):
        if tag in SKIPPED:
            self.skipping += 1
        elif tag == "math":
            if not self.in_math and not self.skipping:
                self.parts.append(f" {FORMULA} ")
            self.in_math += 1
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_startendtag(self, tag, attrs):
        if tag in BLOCKS:
            self.parts.append(" ")

    def handle_endtag(self, tag):
        if tag in SKIPPED:
            self.skipping = max(0, self.skipping - 1)
        elif tag == "math":
            self.in_math = max(0, self.in_math - 1)
        elif tag in BLOCKS:
            self.parts.append(" ")

    def handle_data(self, data):
        if not self.skipping and not self.in_math:
            self.parts.append(data)


def plain_text(html: str) -> str:
    """The visible text of rendered HTML on one line, code blocks left out."""
    parser = _TextOf()
    parser.feed(html or "")
    parser.close()
    return " ".join("".join(parser.parts).split())


def excerpt(html: str, chars: int = EXCERPT_CHARS) -> str:
    """At most ``chars`` characters of ``plain_text(html)``, cut at a word, with "…" when cut."""
    text = plain_text(html)
    if len(text) <= chars:
        return text
    cut = text[:chars].rsplit(" ", 1)[0] if " " in text[:chars] else text[:chars]
    return cut.rstrip(" ,;:") + "…"
