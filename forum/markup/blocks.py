"""CommonMark block structure, as researchers' text needs it, inside Python-Markdown.

Python-Markdown reads lists, quotes and code by its own older rules (four
spaces to nest, a blank line before a list), so a review's "Weaknesses:" line
followed by "- ..." rendered as one run-on paragraph. This module replaces
its block parser with the CommonMark algorithm (the two-phase line-by-line
parser of the spec's appendix and of commonmark.js): each line first walks
the open containers (quotes, list items, footnotes), then may open new
blocks, then is added to the innermost open block or lazily continues a
paragraph. On top of CommonMark it reads GFM tables, footnote definitions
and display math blocks (``$$`` / ``\\[`` on their own lines); raw HTML
blocks are not recognised on purpose (typed tags stay text).

Every step is linear in the line (no regular expression here can backtrack
over a run of spaces or markers), the parser calls ``budget.check()`` once
per line, and containers nest at most ``MAX_DEPTH`` deep: deeper ``>`` or
list markers are read as text, so 5,000 nested quotes cost one paragraph.

The result is a tree of ``Block`` nodes; ``tree.py`` turns it into the
ElementTree Python-Markdown's inline processors and serializer work on.
"""
from __future__ import annotations

import re

from forum.markup import budget
from forum.markup.nodes import CODE_INDENT, CONTAINERS, Block, is_space
from forum.markup.references import normalize_label, parse_reference
from forum.markup.starts import BlockStarts, split_row

ACCEPTS_LINES = {"paragraph", "code", "math", "table"}
NONSPACE_RE = re.compile(r"[^ \t]")
MAYBE_SPECIAL = re.compile(r"[#`~*+_=>0-9\-$\\\[|:]")
CLOSING_FENCE_RE = re.compile(r"(`{3,}|~{3,})[ \t]*$")


def _can_contain(parent: str, child: str) -> bool:
    if parent == "list":
        return child == "item"
    return parent in CONTAINERS and child != "item"


class BlockParser(BlockStarts):
    """One document: ``parse(text)`` returns the root ``Block`` and fills ``references``."""

    def __init__(self):
        self.references: dict[str, tuple[str, str | None]] = {}
        self.footnotes: dict[str, Block] = {}
        self.doc = Block("document", None, 1)
        self.tip = self.doc
        self.old_tip = self.doc
        self.last_matched = self.doc
        self.all_closed = True
        self.line = ""
        self.line_number = 0
        self.offset = self.column = 0
        self.next_nonspace = self.next_nonspace_column = 0
        self.indent = 0
        self.indented = self.blank = self.partially_consumed_tab = False
        self.line_has_tab = False
        self._nonspace_memo = (-1, -1)

    # --- low-level cursor ------------------------------------------------------------------

    def _peek(self, i: int) -> str:
        return self.line[i] if i < len(self.line) else ""

    def _find_next_nonspace(self) -> None:
        line, offset = self.line, self.offset
        # Each open container asks again from a little further on: remember the answer, so a
        # deeply indented line costs one scan, not one per container.
        start, i = self._nonspace_memo
        if not start <= offset <= i:
            found = NONSPACE_RE.search(line, offset)
            i = found.start() if found else len(line)
            self._nonspace_memo = (offset, i)
        cols = self.column + (i - offset)
        if self.line_has_tab and line.find("\t", offset, i) >= 0:  # tabs: next multiple of 4
            cols = self.column
            for c in line[offset:i]:
                cols += 4 - cols % 4 if c == "\t" else 1
        self.blank = i == len(line)
        self.next_nonspace, self.next_nonspace_column = i, cols
        self.indent = cols - self.column
        self.indented = self.indent >= CODE_INDENT

    def _advance_next_nonspace(self) -> None:
        self.offset, self.column = self.next_nonspace, self.next_nonspace_column
        self.partially_consumed_tab = False

    def _advance(self, count: int, columns: bool = False) -> None:
        line = self.line
        while count > 0 and self.offset < len(line):
            if line[self.offset] == "\t":
                to_tab = 4 - self.column % 4
                if columns:
                    self.partially_consumed_tab = to_tab > count
                    step = min(count, to_tab)
                    self.column += step
                    self.offset += 0 if self.partially_consumed_tab else 1
                    count -= step
                else:
                    self.partially_consumed_tab = False
                    self.column += to_tab
                    self.offset += 1
                    count -= 1
            else:
                self.partially_consumed_tab = False
                self.offset += 1
                self.column += 1
                count -= 1

    def _add_line(self) -> None:
        if self.partially_consumed_tab:
            self.offset += 1
            self.tip.lines.append(" " * (4 - self.column % 4) + self.line[self.offset:])
        else:
            self.tip.lines.append(self.line[self.offset:])

    # --- tree building -----------------------------------------------------------------------

    def _add_child(self, kind: str, **data) -> Block:
        while not _can_contain(self.tip.kind, kind):
            self._finalize(self.tip)
        block = Block(kind, self.tip, self.line_number, **data)
        self.tip.children.append(block)
        self.tip = block
        return block

    def _close_unmatched(self) -> None:
        if not self.all_closed:
            while self.old_tip is not self.last_matched:
                parent = self.old_tip.parent
                self._finalize(self.old_tip)
                self.old_tip = parent
            self.all_closed = True

    def _finalize(self, block: Block) -> None:
        block.open = False
        if block.kind == "paragraph":
            self._take_references(block)
            if not block.lines:
                block.parent.children.remove(block)
        elif block.kind == "code":
            if block.data["fenced"]:
                info = block.lines[0].strip() if block.lines else ""
                block.data["info"] = info
                block.lines = block.lines[1:]
            else:
                while block.lines and not block.lines[-1].strip(" \t"):
                    block.lines.pop()
        elif block.kind == "list":
            block.data["tight"] = self._is_tight(block)
        elif block.kind == "footnote":
            self.footnotes.setdefault(block.data["label"], block)
            block.parent.children.remove(block)
        self.tip = block.parent

    def _take_references(self, block: Block) -> None:
        """Link reference definitions at the start of a paragraph leave it for ``references``."""
        if not block.lines or not block.lines[0].lstrip(" \t").startswith("["):
            return
        text = "\n".join(line.lstrip(" \t") for line in block.lines)
        position = 0
        while position < len(text) and text[position] == "[":
            budget.check()
            found = parse_reference(text, position)
            if found is None:
                break
            label, destination, title, position = found
            self.references.setdefault(normalize_label(label), (destination, title))
        if position:
            rest = text[position:]
            block.lines = rest.split("\n") if rest.strip() else []

    @staticmethod
    def _ends_with_blank_line(block: Block | None) -> bool:
        while block is not None:
            if block.last_line_blank:
                return True
            if not block.last_line_checked and block.kind in ("list", "item"):
                block.last_line_checked = True
                block = block.last_child
            else:
                block.last_line_checked = True
                break
        return False

    def _is_tight(self, block: Block) -> bool:
        items = block.children
        for i, item in enumerate(items):
            if i + 1 < len(items) and self._ends_with_blank_line(item):
                return False
            for j, sub in enumerate(item.children):
                if j + 1 < len(item.children) and self._ends_with_blank_line(sub):
                    return False
        return True

    # --- continuation of open blocks: 0 matched, 1 not matched, 2 line consumed ----------

    def _continues(self, block: Block) -> int:
        kind = block.kind
        if kind == "document" or kind == "list":
            return 0
        if kind == "blockquote":
            if not self.indented and self._peek(self.next_nonspace) == ">":
                self._advance_next_nonspace()
                self._advance(1)
                if is_space(self._peek(self.offset)):
                    self._advance(1, True)
                return 0
            return 1
        if kind in ("item", "footnote"):
            if self.blank:
                if not block.children:
                    return 1
                self._advance_next_nonspace()
            elif self.indent >= block.data["marker_offset"] + block.data["padding"]:
                self._advance(block.data["marker_offset"] + block.data["padding"], True)
            else:
                return 1
            return 0
        if kind == "code":
            return self._continues_code(block)
        if kind == "math":
            closer = block.data["closer"]
            content = self.line[self.offset:].rstrip(" \t")
            if content.endswith(closer):
                block.lines.append(content[:-len(closer)])
                self._finalize(block)
                return 2
            return 0
        if kind in ("paragraph", "table"):
            return 1 if self.blank else 0
        return 1  # headings and thematic breaks take one line

    def _continues_code(self, block: Block) -> int:
        if block.data["fenced"]:
            match = None if self.indented else CLOSING_FENCE_RE.match(self.line, self.next_nonspace)
            if (match and match.group(1)[0] == block.data["fence_char"]
                    and len(match.group(1)) >= block.data["fence_length"]):
                self._finalize(block)
                return 2
            i = block.data["fence_offset"]
            while i > 0 and is_space(self._peek(self.offset)):
                self._advance(1, True)
                i -= 1
            return 0
        if self.indent >= CODE_INDENT:
            self._advance(CODE_INDENT, True)
        elif self.blank:
            self._advance_next_nonspace()
        else:
            return 1
        return 0

    # --- the two phases of one line ------------------------------------------------------------

    def _incorporate(self, line: str) -> None:
        self.line_number += 1
        self.line = line
        self.line_has_tab = "\t" in line
        self._nonspace_memo = (-1, -1)
        self.offset = self.column = 0
        self.blank = self.partially_consumed_tab = False
        container = self.doc
        self.old_tip = self.tip
        all_matched = True
        while container.children and container.children[-1].open:
            container = container.children[-1]
            self._find_next_nonspace()
            result = self._continues(container)
            if result == 1:
                container = container.parent
                all_matched = False
                break
            if result == 2:
                return
        self.all_closed = container is self.old_tip
        self.last_matched = container
        matched_leaf = container.kind in ("code", "math")
        consumed = False
        while not matched_leaf:
            self._find_next_nonspace()
            if not self.indented and not MAYBE_SPECIAL.match(self.line, self.next_nonspace):
                self._advance_next_nonspace()
                break
            result = self._start(container)
            if result == 0:
                self._advance_next_nonspace()
                break
            container = self.tip
            if result >= 2:
                matched_leaf = True
                consumed = result == 3
        if consumed:
            return
        self._add_rest(container, all_matched)

    def _add_rest(self, container: Block, all_matched: bool) -> None:
        if not self.all_closed and not self.blank and self.tip.kind == "paragraph":
            self._add_line()  # a lazy continuation line
            return
        self._close_unmatched()
        if self.blank and container.children:
            container.children[-1].last_line_blank = True
        kind = container.kind
        last_blank = self.blank and not (
            kind == "blockquote" or kind == "code" and container.data["fenced"]
            or kind == "item" and not container.children and container.start_line == self.line_number)
        block = container
        while block is not None:
            block.last_line_blank = last_blank
            block = block.parent
        if kind in ACCEPTS_LINES:
            if kind == "table":
                container.lines.append(split_row(self.line[self.offset:].strip(" \t")))
            else:
                self._add_line()
        elif self.offset < len(self.line) and not self.blank:
            self._add_child("paragraph")
            self._advance_next_nonspace()
            self._add_line()

    def parse(self, text: str) -> Block:
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        for line in lines:
            budget.check()
            self._incorporate(line)
        while self.tip is not None:
            self._finalize(self.tip)
        return self.doc
