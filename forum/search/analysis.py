"""How text becomes index terms: words (stemmed, two-letter words kept) and word pairs.

``word_analyzer()`` yields exactly what Whoosh's own chain would,
``RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | StopFilter(STOP_WORDS,
minsize=1) | StemFilter()``, and ``shingle_analyzer()`` that chain followed by
``ShingleFilter(size=2, sep=" ")`` (tests compare them). They are written as
one pass each because analysis is most of a rebuild's time: the chain runs five
Python generators per word, and the ``text`` and ``shingles`` fields analyze
the same string one after the other, so the last string's words are kept and
the second field reuses them.

Anything the fast path does not cover (positions, character offsets for
highlighting, keeping stop words, untokenized values) goes through the Whoosh chain itself.
With ``index.py``, ``wquery.py`` and ``conjunctive.py``, the only modules that
import Whoosh.
"""
from __future__ import annotations

import re
import threading
from functools import lru_cache

from whoosh.analysis import (Analyzer, LowercaseFilter, RegexTokenizer, ShingleFilter,
                             StemFilter, StopFilter, Token)
from whoosh.lang.porter import stem

# Only true function words; "us", "it", "may", "can" ... stay searchable (US, IT, "can" in CAN bus).
STOP_WORDS = frozenset("a an and are as at be by for from has have in is of on or that the this "
                       "to was were will with".split())
TOKEN_PATTERN = r"\w+(?:[.'-]\w+)*"
SHINGLE_SEPARATOR = " "

TOKEN = re.compile(TOKEN_PATTERN, re.UNICODE)
_last = threading.local()  # the last string analyzed in this thread, and its words


@lru_cache(maxsize=200_000)
def stem_word(word: str) -> str:
    return stem(word)


def _words(value: str, morph: bool) -> list[str]:
    """Lower-cased words without stop words, stemmed unless ``morph`` is False."""
    cached = getattr(_last, "entry", None)
    if cached is not None and cached[0] is value and cached[1] == morph:
        return cached[2]
    words = [w for w in (m.lower() for m in TOKEN.findall(value)) if w not in STOP_WORDS]
    if morph:
        words = [stem_word(w) for w in words]
    _last.entry = (value, morph, words)
    return words


def _pairs(words: list[str]) -> list[str]:
    if len(words) < 2:  # as ShingleFilter: fewer words than a pair gives what there is
        return [SHINGLE_SEPARATOR.join(words)] if words else []
    return [f"{a}{SHINGLE_SEPARATOR}{b}" for a, b in zip(words, words[1:])]


def _build_chain(shingles: bool):
    chain = (RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter()
             | StopFilter(stoplist=STOP_WORDS, minsize=1) | StemFilter(cachesize=100_000))
    return chain | ShingleFilter(size=2, sep=SHINGLE_SEPARATOR) if shingles else chain


_CHAINS = {False: _build_chain(False), True: _build_chain(True)}


def _whoosh_chain(shingles: bool):
    return _CHAINS[shingles]


class FastWordAnalyzer(Analyzer):
    """Words (or adjacent word pairs), in one pass; see the module docstring."""

    is_morph = True  # stems: Whoosh keeps the unstemmed words in a separate spelling field

    def __init__(self, shingles: bool = False):
        self.shingles = shingles

    def has_morph(self) -> bool:
        return True

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", no_morph=False, **kwargs):
        if positions or chars or keeporiginal or not removestops or not tokenize:
            yield from _whoosh_chain(self.shingles)(
                value, positions=positions, chars=chars, keeporiginal=keeporiginal,
                removestops=removestops, start_pos=start_pos, start_char=start_char,
                tokenize=tokenize, mode=mode, no_morph=no_morph, **kwargs)
            return
        words = _words(value, morph=not no_morph)
        if self.shingles:
            words = _pairs(words)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost, token.stopped = 1.0, False
        for word in words:
            token.text = word
            yield token


def word_analyzer() -> FastWordAnalyzer:
    return FastWordAnalyzer()


def shingle_analyzer() -> FastWordAnalyzer:
    return FastWordAnalyzer(shingles=True)


def whoosh_chain(shingles: bool = False):
    """Whoosh's own analyzers, the reference the fast ones must match (tests)."""
    return _whoosh_chain(shingles)


def analyzed(text: str, analyzer=None) -> list[str]:
    return [t.text for t in (analyzer or word_analyzer())(text)]
