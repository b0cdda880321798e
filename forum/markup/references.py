"""Link reference definitions (``[label]: destination "title"``), read in linear time.

Each scan stops at the end of what it reads, and the block parser stops at
the first paragraph line that is not a definition, so thousands of
definitions, or a paragraph of ``[`` characters, cost one pass.
"""
from __future__ import annotations

import html
import re

ESCAPABLE = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
MAX_LABEL = 999
MAX_PAREN_DEPTH = 32
_UNESCAPE_RE = re.compile(
    r"\\([!-/:-@\[-`{-~])|(&(?:#[xX][0-9a-fA-F]{1,6}|#[0-9]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});)")


def unescape(text: str) -> str:
    """Backslash escapes and character references resolved, as in link destinations and titles."""
    if "\\" not in text and "&" not in text:
        return text
    return _UNESCAPE_RE.sub(lambda m: m.group(1) or html.unescape(m.group(2)), text)


def normalize_label(label: str) -> str:
    """Labels match case-insensitively, with runs of whitespace counting as one space."""
    return " ".join(label.split()).casefold()


def _skip(text: str, i: int, chars: str = " \t") -> int:
    while i < len(text) and text[i] in chars:
        i += 1
    return i


def _escaped(text: str, i: int) -> bool:
    return text[i] == "\\" and i + 1 < len(text) and text[i + 1] in ESCAPABLE


def _label(text: str, i: int) -> tuple[str, int] | None:
    start = i = i + 1
    while i < len(text) and i - start <= MAX_LABEL:
        if _escaped(text, i):
            i += 2
            continue
        if text[i] == "[":
            return None
        if text[i] == "]":
            label = text[start:i]
            return (label, i + 1) if label.strip() else None
        i += 1
    return None


def _destination(text: str, i: int) -> tuple[str, int] | None:
    n = len(text)
    if i < n and text[i] == "<":
        j = i + 1
        while j < n and text[j] not in "<>\n":
            j += 2 if _escaped(text, j) else 1
        if j >= n or text[j] != ">":
            return None
        return text[i + 1:j], j + 1
    j, depth = i, 0
    while j < n:
        c = text[j]
        if _escaped(text, j):
            j += 2
            continue
        if c == "(":
            depth += 1
            if depth > MAX_PAREN_DEPTH:
                return None
        elif c == ")":
            if depth == 0:
                break
            depth -= 1
        elif c <= " ":
            break
        j += 1
    if j == i or depth:
        return None
    return text[i:j], j


def _title(text: str, i: int) -> tuple[str, int] | None:
    opener = text[i]
    closer = ")" if opener == "(" else opener
    j = i + 1
    while j < len(text):
        if _escaped(text, j):
            j += 2
            continue
        c = text[j]
        if c == closer:
            return text[i + 1:j], j + 1
        if opener == "(" and c == "(":
            return None
        j += 1
    return None


def _line_end(text: str, i: int) -> int | None:
    """The position after the end of this line when only spaces remain on it, else None."""
    i = _skip(text, i)
    if i >= len(text):
        return len(text)
    return i + 1 if text[i] == "\n" else None


def parse_reference(text: str, position: int):
    """A definition at ``position``: (label, destination, title or None, end), or None."""
    found = _label(text, position)
    if found is None:
        return None
    label, i = found
    if i >= len(text) or text[i] != ":":
        return None
    i = _skip(text, i + 1)
    if i < len(text) and text[i] == "\n":
        i = _skip(text, i + 1)
    found = _destination(text, i)
    if found is None:
        return None
    destination, after = found
    j = _skip(text, after)
    spaced = j > after
    if j < len(text) and text[j] == "\n":
        spaced = True
        j = _skip(text, j + 1)
    if spaced and j < len(text) and text[j] in "\"'(":
        title = _title(text, j)
        if title is not None:
            end = _line_end(text, title[1])
            if end is not None:
                return label, unescape(destination), unescape(title[0]), end
    end = _line_end(text, after)
    if end is None:
        return None
    return label, unescape(destination), None, end
