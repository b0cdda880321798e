"""The block tree the CommonMark parser builds (``blocks.py``) and ``tree.py`` reads."""
from __future__ import annotations

MAX_DEPTH = 32  # containers deeper than this are read as text: no input can recurse far
CODE_INDENT = 4
CONTAINERS = {"document", "blockquote", "item", "footnote"}


class Block:
    __slots__ = ("kind", "parent", "children", "open", "lines", "last_line_blank",
                 "last_line_checked", "start_line", "data", "depth")

    def __init__(self, kind: str, parent: "Block | None", start_line: int, **data):
        self.kind = kind
        self.parent = parent
        self.children: list[Block] = []
        self.open = True
        self.lines: list[str] = []
        self.last_line_blank = False
        self.last_line_checked = False
        self.start_line = start_line
        self.data = data
        self.depth = 0 if parent is None else parent.depth + 1

    @property
    def last_child(self) -> "Block | None":
        return self.children[-1] if self.children else None


def is_space(c: str) -> bool:
    return c == " " or c == "\t"
