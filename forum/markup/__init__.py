"""Markdown as researchers write it, to HTML that is safe and cannot stall a worker.

Pipeline (each step's module says why it is built that way):

1. Control characters are dropped and line endings normalized. Python-Markdown
   uses STX/ETX internally to mark stashed fragments; a user must not forge them.
2. ``blocks.py`` reads the block structure by CommonMark's rules (lists under
   a paragraph line, 2-space nesting, fences in lists and quotes, ``#1`` not
   a heading) plus GFM tables, footnotes and display-math blocks; ``tree.py``
   turns it into the tree Python-Markdown's inline stage works on. Raw HTML
   is never recognised: typed tags show as text.
3. ``inline.py``: Python-Markdown's inline patterns plus math, mentions,
   footnote references, strikethrough, hard breaks and GFM autolinks.
4. ``math.py`` swaps formulas for placeholders; ``sanitize.py`` (bleach, the
   only module that names it) cleans the HTML and links arXiv papers; the
   formulas come back as sanitized MathML, each distinct one converted once.
5. ``budget.py``: the whole render runs under ``RENDER_CPU_BUDGET`` seconds of
   CPU; over it, ``RenderTooComplex`` (the views answer 422, text kept).

Cost: the converter and cleaners are built once per thread (neither a bleach
``Cleaner``, whose html5lib parser keeps state, nor a ``Markdown`` instance is
thread-safe) and reused (``Markdown.reset()`` between documents).
"""
from __future__ import annotations

import re
import threading
from collections.abc import Callable

from forum.markup.budget import RenderTooComplex, cpu_budget
from forum.markup.inline import new_markdown
from forum.markup.math import extract_math, make_converter, put_back
from forum.markup.sanitize import PaperLookup, clean, new_cleaner, new_math_cleaner

MentionLookup = Callable[[str], "str | None"]
CONTROL_CHARS_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")

__all__ = ["render_markdown", "find_mentions", "RenderTooComplex", "cpu_budget"]

_local = threading.local()


def _tools():
    """This thread's Markdown converter, cleaners and formula converter, built on first use."""
    if not hasattr(_local, "md"):
        _local.md = new_markdown()
        _local.cleaner = new_cleaner()
        math_cleaner = new_math_cleaner()
        _local.convert_formula = make_converter(math_cleaner.clean)
    return _local


def _markdown(text: str, mentions: MentionLookup | None, papers: PaperLookup | None = None) -> str:
    md = _tools().md
    md.reset()
    md.code_fragments = {}
    md.mention_lookup = mentions
    md.autolink_skip = _paper_url_checker() if papers is not None else None
    source = CONTROL_CHARS_RE.sub("", text.replace("\r\n", "\n").replace("\r", "\n"))
    try:
        return md.convert(source)
    finally:
        md.mention_lookup = None
        md.autolink_skip = None


def _paper_url_checker() -> Callable[[str], bool]:
    """Bare arxiv.org URLs are left to the paper-link filter, which links our own page."""
    from forum.papers.arxiv import iter_arxiv_mentions

    def is_paper_url(url: str) -> bool:
        return any(m.start == 0 and m.end == len(url) for m in iter_arxiv_mentions(url))

    return is_paper_url


def render_markdown(text: str, *, mentions: MentionLookup | None = None,
                    papers: PaperLookup | None = None) -> str:
    """Markdown source to sanitized HTML, safe to insert unescaped whatever the input.

    ``mentions`` maps a username to its profile URL (None: stays text);
    ``papers``, when given, makes arXiv ids link to ``/papers/<id>`` and maps
    an id to the paper's title (None while unknown). Raises ``RenderTooComplex``
    when the render would take more than the CPU budget.
    """
    with cpu_budget():
        rendered, nonce, formulas = extract_math(_markdown(text or "", mentions, papers))
        tools = _tools()
        cleaned = clean(tools.cleaner, rendered, papers)
        cleaned = _put_back_code(cleaned, tools.md)
        return put_back(cleaned, nonce, formulas, tools.convert_formula)


def _put_back_code(cleaned: str, md) -> str:
    """Highlighted code blocks, kept out of the sanitizer (see tree.py), back in their places."""
    fragments = getattr(md, "code_fragments", None)
    if not fragments:
        return cleaned
    return re.sub(f"<p>({md.code_nonce}[0-9]+)</p>", lambda m: fragments.get(m.group(1), ""), cleaned)


def find_mentions(text: str) -> list[str]:
    """The @usernames mentioned outside code, first spelling kept, in order of first mention.

    Text too complex to read within the budget mentions nobody: notifications run after a
    post is saved, where a refusal could only become an error page. (A post being written
    still gets its 422: the render that follows shares the spent budget.)"""
    if "@" not in (text or ""):
        return []  # most posts: no second Markdown pass
    seen: dict[str, str] = {}

    def record(name: str) -> None:
        seen.setdefault(name.lower(), name)  # None: nothing becomes a link, we only collect

    try:
        with cpu_budget():
            _markdown(text or "", record)
    except RenderTooComplex:
        return []
    return list(seen.values())
