"""Block starts: how a line opens a quote, heading, fence, list item, table, footnote or math.

Part of the CommonMark block parser (``blocks.py``): each ``_start_*`` looks at
the line from the cursor and, when it matches, closes what the line leaves
behind and opens the new block. Each returns the parser's codes: 0 no match,
1 a container opened (keep looking inside it), 2 a leaf that takes this
line, 3 a leaf that consumed it. All of them are linear in the line.
"""
from __future__ import annotations

import re

from forum.markup.nodes import CODE_INDENT, MAX_DEPTH, Block, is_space

ATX_RE = re.compile(r"#{1,6}(?=[ \t]|$)")
FENCE_RE = re.compile(r"`{3,}(?!.*`)|~{3,}")
BULLET_RE = re.compile(r"[*+-]")
ORDERED_RE = re.compile(r"([0-9]{1,9})([.)])")
FOOTNOTE_RE = re.compile(r"\[\^([^\]\s]{1,64})\]:")
DELIMITER_CELL_RE = re.compile(r":?-+:?")
MATH_OPENERS = {"$$": "$$", "\\[": "\\]"}


def _lists_match(a: dict, b: dict) -> bool:
    return a["ordered"] == b["ordered"] and a["delimiter"] == b["delimiter"] and a["bullet"] == b["bullet"]


class BlockStarts:
    """The block-start half of ``BlockParser`` (a mixin: it uses the parser's cursor)."""


    def _start(self, container: Block) -> int:
        if self.indented:
            if self.tip.kind != "paragraph" and not self.blank:
                self._advance(CODE_INDENT, True)
                self._close_unmatched()
                self._add_child("code", fenced=False)
                return 2
            return 0
        c = self._peek(self.next_nonspace)
        if not c:
            return 0
        deep = container.depth >= MAX_DEPTH
        if c == ">" and not deep:
            self._advance_next_nonspace()
            self._advance(1)
            if is_space(self._peek(self.offset)):
                self._advance(1, True)
            self._close_unmatched()
            self._add_child("blockquote")
            return 1
        if c == "#":
            return self._start_heading()
        if c in "`~":
            return self._start_fence()
        if c in "=-" and container.kind == "paragraph" and self._start_setext(container):
            return 3
        if c in "*-_" and self._is_thematic_break():
            self._close_unmatched()
            self._add_child("thematic")
            self.offset = len(self.line)
            return 3
        if c in "|:-" and container.kind == "paragraph" and self._start_table(container):
            return 3
        if not deep and (c in "*+-" or c in "0123456789") and self._start_item(container):
            return 1
        if c == "[" and not deep and container.kind != "paragraph" and self._start_footnote():
            return 1
        if c in "$\\":
            return self._start_math()
        return 0

    def _start_heading(self) -> int:
        match = ATX_RE.match(self.line, self.next_nonspace)
        if not match:
            return 0
        self._advance_next_nonspace()
        self._advance(len(match.group(0)))
        self._close_unmatched()
        block = self._add_child("heading", level=len(match.group(0)))
        content = self.line[self.offset:].strip(" \t")
        stripped = content.rstrip("#")
        if stripped != content and (not stripped or stripped[-1] in " \t"):
            content = stripped.rstrip(" \t")
        block.lines = [content]
        self.offset = len(self.line)
        return 3

    def _start_fence(self) -> int:
        match = FENCE_RE.match(self.line, self.next_nonspace)
        if not match:
            return 0
        fence = match.group(0)
        self._close_unmatched()
        self._add_child("code", fenced=True, fence_char=fence[0], fence_length=len(fence),
                        fence_offset=self.indent)
        self._advance_next_nonspace()
        self._advance(len(fence))
        return 2

    def _start_setext(self, paragraph: Block) -> bool:
        rest = self.line[self.next_nonspace:].rstrip(" \t")
        if not rest or rest.strip(rest[0]) or rest[0] not in "=-":
            return False
        self._close_unmatched()
        self._take_references(paragraph)
        if not paragraph.lines:
            return False
        heading = Block("heading", paragraph.parent, paragraph.start_line,
                        level=1 if rest[0] == "=" else 2)
        heading.lines = paragraph.lines
        heading.open = False
        siblings = paragraph.parent.children
        siblings[siblings.index(paragraph)] = heading
        self.tip = paragraph.parent
        self.offset = len(self.line)
        return True

    def _is_thematic_break(self) -> bool:
        rest = self.line[self.next_nonspace:].replace(" ", "").replace("\t", "")
        return len(rest) >= 3 and rest == rest[0] * len(rest)

    def _start_table(self, paragraph: Block) -> bool:
        aligns = delimiter_row(self.line[self.next_nonspace:])
        if aligns is None or not paragraph.lines:
            return False
        header = split_row(paragraph.lines[-1].strip(" \t"))
        if len(header) != len(aligns):
            return False
        paragraph.lines.pop()
        self._close_unmatched()
        if paragraph.open:
            self._finalize(paragraph)
        table = self._add_child("table", aligns=aligns)
        table.lines = [header]
        self.offset = len(self.line)
        return True

    def _start_item(self, container: Block) -> bool:
        rest_start = self.next_nonspace
        match = BULLET_RE.match(self.line, rest_start) or ORDERED_RE.match(self.line, rest_start)
        if not match:
            return False
        after = self._peek(match.end())
        if after and not is_space(after):
            return False
        ordered = match.re is ORDERED_RE
        if container.kind == "paragraph" and (
                not self.line[match.end():].strip(" \t") or ordered and match.group(1) != "1"):
            return False
        data = {"ordered": ordered, "bullet": "" if ordered else match.group(0),
                "delimiter": match.group(2) if ordered else "",
                "start": int(match.group(1)) if ordered else 1, "marker_offset": self.indent}
        self._advance_next_nonspace()
        self._advance(len(match.group(0)), True)
        start_column, start_offset = self.column, self.offset
        while True:
            self._advance(1, True)
            if not (self.column - start_column < 5 and is_space(self._peek(self.offset))):
                break
        blank_item = self.offset >= len(self.line)
        spaces = self.column - start_column
        if spaces >= 5 or spaces < 1 or blank_item:
            data["padding"] = len(match.group(0)) + 1
            self.column, self.offset = start_column, start_offset
            self.partially_consumed_tab = False
            if is_space(self._peek(self.offset)):
                self._advance(1, True)
        else:
            data["padding"] = len(match.group(0)) + spaces
        self._close_unmatched()
        if self.tip.kind != "list" or not _lists_match(self.tip.data, data):
            self._add_child("list", **data)
        self._add_child("item", **data)
        return True

    def _start_footnote(self) -> bool:
        match = FOOTNOTE_RE.match(self.line, self.next_nonspace)
        if not match:
            return False
        self._close_unmatched()
        data = {"label": match.group(1).lower(), "marker_offset": self.indent, "padding": CODE_INDENT}
        self._advance_next_nonspace()
        self._advance(len(match.group(0)))
        while is_space(self._peek(self.offset)):
            self._advance(1)
        self._add_child("footnote", **data)
        return True

    def _start_math(self) -> int:
        rest = self.line[self.next_nonspace:].rstrip(" \t")
        opener = rest[:2]
        closer = MATH_OPENERS.get(opener)
        if closer is None or closer in rest[2:]:
            return 0
        self._close_unmatched()
        block = self._add_child("math", closer=closer, display=opener)
        block.lines.append(rest[2:])
        self.offset = len(self.line)
        return 3


def split_row(row: str) -> list[str]:
    """A table row's cells: split on unescaped ``|``, outer pipes optional, ``\\|`` kept for inline."""
    if row.startswith("|"):
        row = row[1:]
    if row.endswith("|") and not row.endswith("\\|"):
        row = row[:-1]
    cells, current, i = [], [], 0
    while i < len(row):
        c = row[i]
        if c == "\\" and i + 1 < len(row) and row[i + 1] == "|":
            current.append("|")  # GFM: \| is a pipe in the cell, even inside code
            i += 2
            continue
        if c == "|":
            cells.append("".join(current).strip(" \t"))
            current = []
        else:
            current.append(c)
        i += 1
    cells.append("".join(current).strip(" \t"))
    return cells


def delimiter_row(row: str) -> list[str] | None:
    """The alignments of a table's delimiter row (``left``, ``center``, ``right``, ``""``), or None."""
    row = row.strip(" \t")
    if "-" not in row or not set(row) <= set("|:- \t"):
        return None
    if "|" not in row and not row.startswith(":"):
        return None  # a bare "---" is a thematic break or setext underline
    aligns = []
    for cell in split_row(row):
        if not DELIMITER_CELL_RE.fullmatch(cell):
            return None
        left, right = cell.startswith(":"), cell.endswith(":")
        aligns.append("center" if left and right else "right" if right else "left" if left else "")
    return aligns
