"""Readable edit history: what changed between two versions, word by word, whole text visible.

Lines are compared first, then the words of each changed run of lines, as code
review sites do: comparing every word of two 50,000-character posts at once
could take seconds on hostile input, while lines narrow the work to what
changed. A changed run longer than ``MAX_RUN_TOKENS`` words on either side is
shown as deleted and inserted whole, which bounds the cost of any one request.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from difflib import SequenceMatcher

MAX_RUN_TOKENS = 3000  # words and spaces on one side of a changed run compared word by word
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]", re.UNICODE)


@dataclass(frozen=True)
class Piece:
    op: str  # "equal", "insert" or "delete"
    text: str


def word_diff(old: str, new: str) -> list[Piece]:
    """``new`` against ``old`` as runs of kept, inserted and deleted text (adjacent runs merged)."""
    old_lines, new_lines = old.splitlines(keepends=True), new.splitlines(keepends=True)
    # autojunk (the default) stops thousands of identical lines from making this quadratic.
    pieces: list[Piece] = []
    for op, a1, a2, b1, b2 in SequenceMatcher(None, old_lines, new_lines).get_opcodes():
        before, after = "".join(old_lines[a1:a2]), "".join(new_lines[b1:b2])
        if op == "equal":
            _add(pieces, "equal", before)
        elif op == "replace":
            _words(pieces, before, after)
        else:
            _add(pieces, "delete", before)
            _add(pieces, "insert", after)
    return pieces


def _words(pieces: list[Piece], before: str, after: str) -> None:
    old_tokens, new_tokens = _TOKEN.findall(before), _TOKEN.findall(after)
    if max(len(old_tokens), len(new_tokens)) > MAX_RUN_TOKENS:
        _add(pieces, "delete", before)
        _add(pieces, "insert", after)
        return
    matcher = SequenceMatcher(None, old_tokens, new_tokens)  # autojunk: repeated tokens cannot make it quadratic
    for op, a1, a2, b1, b2 in matcher.get_opcodes():
        if op == "equal":
            _add(pieces, "equal", "".join(old_tokens[a1:a2]))
        else:
            _add(pieces, "delete", "".join(old_tokens[a1:a2]))
            _add(pieces, "insert", "".join(new_tokens[b1:b2]))


def _add(pieces: list[Piece], op: str, text: str) -> None:
    if not text:
        return
    if pieces and pieces[-1].op == op:
        pieces[-1] = Piece(op, pieces[-1].text + text)
    else:
        pieces.append(Piece(op, text))


def version_text(version) -> str:
    """What a version of a thread (title and body) or reply (body) reads as, for comparing."""
    title = getattr(version, "title", None)
    return f"{title}\n\n{version.body}" if title else version.body
