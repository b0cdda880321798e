"""Highlighted snippets: the passage of a stored text with the most matched words.

One regular-expression pass over the text finds every word and its offsets;
a word matches when its analyzed form (lower case, stemmed, as in the index)
is one of the query's terms, and a phrase where its words follow one another
(marked as one, "mixture of experts"; its words elsewhere are not marked). The
window of about ``SNIPPET_CHARS`` around the densest run of matches is escaped
and each match wrapped in ``<mark>``.
Whoosh's highlighter does the same job through its whole analyzer and
fragmenter pipeline, several times slower on a long review, and a results page
highlights up to twenty texts.
"""
from __future__ import annotations

import re
from functools import lru_cache

from markupsafe import escape

from forum.search.whoosh.analysis import STOP_WORDS, TOKEN, stem_word

SNIPPET_CHARS = 160
ELLIPSIS = "…"


def _matches(text: str, terms: frozenset[str], phrases: tuple[tuple[str, ...], ...] = ()
             ) -> list[tuple[int, int]]:
    """Spans of the words in ``terms`` and of each run of words that makes one of
    ``phrases`` (from its first word to its last, stop words between included)."""
    if not phrases and text.isascii():  # the usual case: see _words_starting_like
        return [match.span() for match in _words_starting_like(terms).finditer(text.lower())
                if (word := match.group()) not in STOP_WORDS and stem_word(word) in terms]
    if not phrases:
        return [match.span() for match in TOKEN.finditer(text)
                if (word := match.group(0).lower()) not in STOP_WORDS and stem_word(word) in terms]
    # On ASCII text only the words starting like a term or a phrase's word are stemmed
    # (see _words_starting_like); any other word still holds its place, so a phrase is
    # still only found where its words follow one another. A phrase page highlights
    # twenty texts, and stemming every word of each was most of the highlighting.
    letters = _first_letters(terms, phrases) if text.isascii() else None
    stems: list[str] = []
    spans: list[tuple[int, int]] = []
    for match in TOKEN.finditer(text):
        word = match.group(0).lower()
        if word not in STOP_WORDS:
            stems.append(stem_word(word) if letters is None or word[0] in letters else "")
            spans.append(match.span())
    found = [span for stem, span in zip(stems, spans) if stem in terms]
    for phrase in phrases:
        size, first = len(phrase), phrase[0]
        for at, stem in enumerate(stems):
            if stem == first and tuple(stems[at:at + size]) == phrase:
                found.append((spans[at][0], spans[at + size - 1][1]))
    found.sort()
    merged: list[tuple[int, int]] = []
    for begin, end in found:  # a word inside a marked phrase is marked once, with it
        if merged and begin < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((begin, end))
    return merged


@lru_cache(maxsize=256)
def _first_letters(terms: frozenset[str], phrases: tuple[tuple[str, ...], ...]) -> frozenset[str]:
    """The first letters of ``terms`` and of the phrases' words: an ASCII word starting
    with any other letter stems to none of them (an empty stem stands for it)."""
    return frozenset(word[0] for word in (*terms, *(w for p in phrases for w in p)) if word)


@lru_cache(maxsize=256)
def _words_starting_like(terms: frozenset[str]) -> re.Pattern:
    """The words of a lower-cased ASCII text that begin with the first letter of one of
    ``terms``: only those can stem to one of them (Snowball English never changes a word's
    first letter), so the others are neither stemmed nor looked up. Lower-casing ASCII
    keeps every character where it was, so the spans are the text's own."""
    letters = "".join(sorted({term[0] for term in terms if term}))
    return re.compile(r"\b[" + re.escape(letters) + r"]\w*" if letters else r"(?!)", re.ASCII)


def _best_window(spans: list[tuple[int, int]], width: int) -> tuple[int, int]:
    """Indexes [first, last] into ``spans`` of the most matches that fit in ``width`` chars."""
    best, first = (0, 0), 0
    for last in range(len(spans)):
        while spans[last][1] - spans[first][0] > width:
            first += 1
        if last - first > best[1] - best[0]:
            best = (first, last)
    return best


def snippet(text: str, terms: frozenset[str], width: int = SNIPPET_CHARS,
            phrases: tuple[tuple[str, ...], ...] = ()) -> str | None:
    """Escaped HTML with ``<mark>`` around matched words and phrases (analyzed, as in
    the index), or None when nothing matches."""
    spans = _matches(text, terms, phrases) if terms or phrases else []
    if not spans:
        return None
    first, last = _best_window(spans, width)
    used = spans[last][1] - spans[first][0]
    start = max(0, spans[first][0] - max(0, (width - used) // 2))
    end = min(len(text), start + max(width, used))
    start = max(0, min(start, end - width))
    # do not cut words in half at the edges
    while start > 0 and text[start - 1].isalnum() and start > spans[first][0] - width:
        start -= 1
    while end < len(text) and text[end].isalnum():
        end += 1
    parts = [ELLIPSIS if start > 0 else ""]
    position = start
    for begin, finish in spans:
        if begin < start or finish > end:
            continue
        parts.append(str(escape(text[position:begin])))
        parts.append(f"<mark>{escape(text[begin:finish])}</mark>")
        position = finish
    parts.append(str(escape(text[position:end])))
    parts.append(ELLIPSIS if end < len(text) else "")
    return "".join(parts).strip()


def plain_start(text: str, width: int = SNIPPET_CHARS) -> str:
    """The escaped start of a text, for hits whose terms matched other fields."""
    return str(escape(text[:width] + (ELLIPSIS if len(text) > width else "")))
