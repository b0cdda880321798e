"""Reading the CommonMark / GFM spec examples and comparing HTML the way the spec does.

``normalize`` follows the spec's own ``test/normalize.py``: tags and attribute
names lower-cased, attributes sorted, entities resolved, whitespace collapsed
outside ``pre`` and dropped around block tags, ``<br />`` read as ``<br>``.
On top of it, what the forum adds on purpose and the spec cannot know is
ignored: ``class`` (but table alignment classes count as ``align``), ``id``, ``rel`` and
``aria-label`` attributes (Pygments and task-list
classes, footnote ids, ``nofollow``), the ``codehilite`` wrapper and
Pygments' ``span`` elements inside ``pre``.

Raw-HTML examples are excluded: the forum shows typed tags as text by
design. An example counts as raw HTML when it belongs to the "HTML blocks"
or "Raw HTML" sections, or when its expected output holds a tag or comment
Markdown itself never produces (so it came from the source unescaped).
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data" / "commonmark"
COMMONMARK = DATA / "commonmark-0.31.2.txt"
GFM = DATA / "gfm-0.29.txt"
FENCE = "`" * 32
RAW_HTML_SECTIONS = {"HTML blocks", "Raw HTML"}
GFM_EXTENSIONS = {"table", "strikethrough", "autolink", "disabled"}  # "tagfilter" is raw HTML
MARKDOWN_TAGS = {
    "p", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "li", "blockquote", "pre", "code",
    "em", "strong", "a", "img", "hr", "br", "table", "thead", "tbody", "tr", "th", "td",
    "del", "input",
}
BLOCK_TAGS = {
    "article", "header", "aside", "hgroup", "blockquote", "hr", "iframe", "body", "li", "map",
    "button", "object", "canvas", "ol", "caption", "output", "col", "p", "colgroup", "pre",
    "dd", "progress", "div", "section", "dl", "table", "td", "dt", "tbody", "embed", "textarea",
    "fieldset", "tfoot", "figcaption", "th", "figure", "thead", "footer", "tr", "form", "ul",
    "h1", "h2", "h3", "h4", "h5", "h6", "video", "script", "style",
}
IGNORED_ATTRIBUTES = {"class", "id", "rel", "aria-label", "tabindex"}  # ours, for display and keyboard


@dataclass(frozen=True)
class Example:
    number: int
    section: str
    markdown: str
    html: str
    extension: str  # "" for CommonMark examples

    @property
    def is_raw_html(self) -> bool:
        if self.section in RAW_HTML_SECTIONS or self.extension == "tagfilter":
            return True
        if re.search(r"<!--|<\?|<!\[CDATA|<![A-Z]", self.html):
            return True
        tags = {t.lower() for t in re.findall(r"</?([A-Za-z][A-Za-z0-9-]*)", self.html)}
        return not tags <= MARKDOWN_TAGS


def read_examples(path: Path) -> list[Example]:
    examples: list[Example] = []
    section = ""
    lines = path.read_text(encoding="utf-8").split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(FENCE + " example"):
            extension = line[len(FENCE + " example"):].strip()
            body: list[str] = []
            i += 1
            while lines[i] != FENCE:
                body.append(lines[i])
                i += 1
            text = "\n".join(body) + "\n"
            markdown, _, expected = text.partition("\n.\n")
            if text.startswith(".\n"):
                markdown, expected = "", text[2:]
            examples.append(Example(len(examples) + 1, section,
                                    (markdown + "\n").replace("→", "\t") if markdown else "",
                                    expected.replace("→", "\t"), extension))
        elif re.match(r"#{1,6} ", line):
            section = line.lstrip("#").strip()
        i += 1
    return examples


class _Normalizer(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.last = "starttag"
        self.last_tag = ""
        self.in_pre = 0
        self.skip_spans = 0

    def handle_starttag(self, tag, attrs):
        if tag == "div" and ("class", "codehilite") in attrs:
            return
        if tag == "span" and self.in_pre:
            return
        if tag == "pre":
            self.in_pre += 1
        if tag in BLOCK_TAGS:
            self._strip_trailing_space()
        # Our table cells say class="align-center" where the spec writes align="center";
        # a valueless attribute (disabled) is the same as an empty one (disabled="").
        attrs = [("align", v[len("align-"):]) if k == "class" and v and v.startswith("align-")
                 else (k, "" if v is None else v) for k, v in attrs]
        kept = sorted((k, v) for k, v in attrs if k not in IGNORED_ATTRIBUTES)
        text = "<" + tag + "".join(f' {k}="{html.escape(v or "", quote=True)}"' if v is not None
                                   else f" {k}" for k, v in kept) + ">"
        self.out.append(text)
        self.last, self.last_tag = "starttag", tag

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag == "pre":
            self.in_pre -= 1

    def handle_endtag(self, tag):
        if tag == "div" and self.in_pre == 0 and self._open_codehilite():
            return
        if tag == "span" and self.in_pre:
            return
        if tag == "pre":
            self.in_pre -= 1
        if tag in BLOCK_TAGS:
            self._strip_trailing_space()
        self.out.append(f"</{tag}>")
        self.last, self.last_tag = "endtag", tag

    def _open_codehilite(self) -> bool:
        return bool(self.out) and self.out[-1] in ("</pre>",)

    def _strip_trailing_space(self):
        if self.out and self.last == "data" and not self.in_pre:
            self.out[-1] = self.out[-1].rstrip()

    def handle_data(self, data):
        after_block = (self.last in ("starttag", "endtag") and self.last_tag in BLOCK_TAGS)
        if not self.in_pre:
            data = re.sub(r"\s+", " ", data)
            if after_block or self.last_tag == "br":
                data = data.lstrip()
        if not data:
            return
        escaped = html.escape(data, quote=False).replace('"', "&quot;")
        if self.last == "data" and self.out:
            self.out[-1] += escaped
        else:
            self.out.append(escaped)
        self.last = "data"

    def handle_entityref(self, name):
        self.handle_data(html.unescape(f"&{name};"))

    def handle_charref(self, name):
        self.handle_data(html.unescape(f"&#{name};"))

    def handle_comment(self, data):
        self.out.append(f"<!--{data}-->")
        self.last = "comment"


def normalize(fragment: str) -> str:
    parser = _Normalizer()
    parser.feed(fragment.replace("<br />", "<br>"))
    parser.close()
    return "".join(parser.out).strip()


def section_rates(examples: list[Example], passed: set[int]) -> dict[str, tuple[int, int]]:
    rates: dict[str, tuple[int, int]] = {}
    for example in examples:
        ok, total = rates.get(example.section, (0, 0))
        rates[example.section] = (ok + (example.number in passed), total + 1)
    return rates


def passing(examples: list[Example], render) -> set[int]:
    """Numbers of the examples ``render`` gets right (an exception counts as a failure)."""
    ok: set[int] = set()
    for example in examples:
        try:
            got = render(example.markdown)
        except Exception:  # a crash on a spec example is a failed example, reported as such
            continue
        if normalize(got) == normalize(example.html):
            ok.add(example.number)
    return ok
