"""How text becomes index terms: words (Snowball-stemmed, two-letter words kept) and word pairs.

``word_analyzer()`` yields exactly what Whoosh's own chain would,
``RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter() | StopFilter(STOP_WORDS,
minsize=1) | StemFilter(stem_word)``, and ``shingle_analyzer()`` that chain followed by
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
import zlib
from collections import Counter
from functools import lru_cache
from itertools import filterfalse

from whoosh.analysis import (Analyzer, LowercaseFilter, RegexTokenizer, ShingleFilter,
                             StemFilter, StopFilter, Token)
import numpy as np
import Stemmer

# Only true function words; "us", "it", "may", "can" ... stay searchable (US, IT, "can" in CAN bus).
STOP_WORDS = frozenset("a an and are as at be by for from has have in is of on or that the this "
                       "to was were will with".split())
# Hyphens, dots and apostrophes split words, as PostgreSQL's parser also gives the parts:
# "attention" finds "self-attention" (typed, "self-attention" is a phrase of its parts).
TOKEN_PATTERN = r"\w+"
SHINGLE_SEPARATOR = " "

TOKEN = re.compile(TOKEN_PATTERN, re.UNICODE)
# Every ASCII character that is not a word character (``\w``) to a space: on ASCII text
# ``translate`` then ``split`` gives the words ``TOKEN.findall`` gives, a third faster (a
# rebuild splits every post; a test compares on every ASCII character).
_ASCII_SPACES = str.maketrans({chr(c): " " for c in range(128) if not TOKEN.match(chr(c))})
_last = threading.local()  # the last string analyzed in this thread, and its words


_stemmers = threading.local()  # a PyStemmer object must not be shared between threads


def _snowball(word: str) -> str:
    stemmer = getattr(_stemmers, "english", None)
    if stemmer is None:
        stemmer = _stemmers.english = Stemmer.Stemmer("english")
    return stemmer.stemWord(word)


class _StemCache(dict):
    """word -> stem, filled on first sight. A plain dict so that looking up a known word
    is one C call (``map(STEMS.__getitem__, words)`` runs no Python per word), where
    ``functools.lru_cache`` costs a Python-level call per word: analysis is most of a
    rebuild and of a phrase check on the stored text. Emptied when it grows past
    ``MAX_STEMS`` words, so odd input (random strings) cannot grow it for ever."""

    def __missing__(self, word: str) -> str:
        if len(self) >= MAX_STEMS:
            self.clear()
        stem = self[word] = _snowball(word)
        return stem


MAX_STEMS = 500_000
STEMS = _StemCache()
_stem = STEMS.__getitem__
_is_stop = STOP_WORDS.__contains__


def stem_word(word: str) -> str:
    """Snowball English (Porter2), the stemmer of PostgreSQL's ``english`` configuration, so
    both engines agree: "generalizing" and "generalization" meet, "generative" stays apart."""
    return _stem(word)


def _words(value: str, morph: bool) -> list[str]:
    """Lower-cased words without stop words, stemmed unless ``morph`` is False.

    Every step is a C-level loop (``findall``, ``filterfalse``, ``map``): no Python code
    runs per word. ASCII text is lower-cased whole before it is split, which gives the
    same words; other text is split first, as Whoosh's chain does (lower-casing some
    characters, e.g. "İ", changes what ``\\w+`` matches)."""
    cached = getattr(_last, "entry", None)
    if cached is not None and cached[0] is value and cached[1] == morph:
        return cached[2]
    if value.isascii():  # \w+ on ASCII text: the runs between its other characters
        found = value.lower().translate(_ASCII_SPACES).split()
    else:
        found = list(map(str.lower, TOKEN.findall(value)))
    words = list(map(_stem, filterfalse(_is_stop, found)) if morph else filterfalse(_is_stop, found))
    _last.entry = (value, morph, words)
    return words


def remember_stems(value: str, words: list[str]) -> list[str]:
    """Tell ``_words`` that ``value``'s unstemmed words are ``words`` (as ``unstemmed_words``
    gives them), so that analyzing ``value`` next only stems them, and return the stems.
    For a value joined from parts already split: the words of ``"a\\nb"`` are those of
    ``a`` then those of ``b``."""
    stems = list(map(_stem, words))
    _last.entry = (value, True, stems)
    return stems


def _pairs(words: list[str], common: frozenset[str] | None = None) -> list[str]:
    if common is not None:  # only pairs of two common words (see FastWordAnalyzer)
        return [f"{a}{SHINGLE_SEPARATOR}{b}" for a, b in zip(words, words[1:])
                if a in common and b in common]
    if len(words) < 2:  # as ShingleFilter: fewer words than a pair gives what there is
        return [SHINGLE_SEPARATOR.join(words)] if words else []
    return [f"{a}{SHINGLE_SEPARATOR}{b}" for a, b in zip(words, words[1:])]


def unstemmed_words(text: str) -> list[str]:
    """Lower-cased words without stop words, as written (for spelling and prefixes)."""
    return _words(text, morph=False)


def is_common_pair(pair: str, common: frozenset[str] | None) -> bool:
    first, _, second = pair.partition(SHINGLE_SEPARATOR)
    return common is None or (first in common and second in common)


def has_phrase(text: str, words: list[str]) -> bool:
    """Whether ``words`` (analyzed: lower case, stemmed, no stop words) follow one another
    in the analyzed words of ``text``: how a phrase is checked on a document's stored text.

    Most checked documents do not have the phrase, so ASCII text is not analyzed whole:
    only the words that begin with the phrase's first letter are stemmed (Snowball
    English only ever rewrites a word's ending, never its first letter), and from each
    one that gives the first word, the next words are read one at a time. Same answer as
    ``_has_phrase_analyzed`` (a test compares them), for a fraction of the time."""
    if not words or not text.isascii():
        return _has_phrase_analyzed(text, words)
    lowered = text.lower()
    first, rest = words[0], words[1:]
    for match in _starting_with(first[0]).finditer(lowered):
        word = match.group()
        if word in STOP_WORDS or _stem(word) != first:
            continue
        position, matched = match.end(), True
        for wanted in rest:
            while True:  # the next word that is not a stop word
                following = _ASCII_WORD.search(lowered, position)
                if following is None:
                    return False
                position = following.end()
                if following.group() not in STOP_WORDS:
                    break
            if _stem(following.group()) != wanted:
                matched = False
                break
        if matched:
            return True
    return False


_ASCII_WORD = re.compile(r"\w+", re.ASCII)  # TOKEN_PATTERN on ASCII text


@lru_cache(maxsize=None)
def _starting_with(letter: str) -> re.Pattern:
    """The (ASCII) words of a lower-cased text that begin with ``letter``."""
    return re.compile(r"\b" + re.escape(letter) + r"\w*", re.ASCII)


def _has_phrase_analyzed(text: str, words: list[str]) -> bool:
    found = _words(text, morph=True)
    size, start = len(words), 0
    while True:
        try:
            at = found.index(words[0], start)
        except ValueError:
            return False
        if found[at:at + size] == words:
            return True
        start = at + 1


class _HashCache(dict):
    """stem -> its CRC-32 (of its UTF-8 bytes, as the index stores the term), on first
    sight, so that hashing a document's words is one C-level ``map``."""

    def __missing__(self, stem: str) -> int:
        if len(self) >= MAX_STEMS:
            self.clear()
        hashed = self[stem] = zlib.crc32(stem.encode())
        return hashed


STEM_HASHES = _HashCache()
_SEQUENCE_DTYPE = np.dtype("<u4")


def word_sequence(stems: list[str]) -> bytes:
    """A document's analyzed words in order, as 4-byte hashes (little-endian CRC-32):
    the ``sequence`` column, which phrase checks read instead of the stored text."""
    return np.fromiter(map(STEM_HASHES.__getitem__, stems), dtype=_SEQUENCE_DTYPE,
                       count=len(stems)).tobytes()


def word_hash(stem: str) -> int:
    return STEM_HASHES[stem]


def has_run(sequence: bytes, needle: bytes) -> bool:
    """Whether ``needle`` (a ``word_sequence``) occurs in ``sequence`` at a word boundary:
    one C-level ``bytes.find`` per try, a few words' work where the stored-text check
    decompressed, unpickled and split the whole post."""
    at = sequence.find(needle)
    while at != -1:
        if at % 4 == 0:
            return True
        at = sequence.find(needle, at + 1)
    return False


def common_words(texts, share: float) -> frozenset[str]:
    """The analyzed words found in at least ``share`` of ``texts``."""
    counts: Counter = Counter()
    total = 0
    for text in texts:
        counts.update(set(_words(text, morph=True)))
        total += 1
    return frozenset(word for word, count in counts.items() if count >= share * total)


def _build_chain(shingles: bool):
    chain = (RegexTokenizer(TOKEN_PATTERN) | LowercaseFilter()
             | StopFilter(stoplist=STOP_WORDS, minsize=1) | StemFilter(stemfn=stem_word, cachesize=None))
    return chain | ShingleFilter(size=2, sep=SHINGLE_SEPARATOR) if shingles else chain


_CHAINS = {False: _build_chain(False), True: _build_chain(True)}


def _whoosh_chain(shingles: bool):
    return _CHAINS[shingles]


class FastWordAnalyzer(Analyzer):
    """Words (or adjacent word pairs), in one pass; see the module docstring.

    With ``common`` (a set of analyzed words), pairs are made only of two common words
    ("neural network"), which are the pairs whose words alone would match too many
    documents; a phrase with a rarer word is found by its words and checked on the
    document's words (``has_run``, ``has_phrase``). The set is pickled with the schema, so every writer
    of the index, and every query, sees the same one. None pairs every word.
    """

    is_morph = True  # stems (the unstemmed words go to index.py's ``spelling`` field)
    common: frozenset[str] | None = None

    def __init__(self, shingles: bool = False, common=None):
        self.shingles = shingles
        self.common = None if common is None else frozenset(common)

    def has_morph(self) -> bool:
        return True

    def __call__(self, value, positions=False, chars=False, keeporiginal=False, removestops=True,
                 start_pos=0, start_char=0, tokenize=True, mode="", no_morph=False, **kwargs):
        if positions or chars or keeporiginal or not removestops or not tokenize:
            tokens = _whoosh_chain(self.shingles)(
                value, positions=positions, chars=chars, keeporiginal=keeporiginal,
                removestops=removestops, start_pos=start_pos, start_char=start_char,
                tokenize=tokenize, mode=mode, no_morph=no_morph, **kwargs)
            if self.shingles and self.common is not None:
                tokens = (t for t in tokens if SHINGLE_SEPARATOR in t.text
                          and is_common_pair(t.text, self.common))
            yield from tokens
            return
        words = _words(value, morph=not no_morph)
        if self.shingles:
            words = _pairs(words, self.common)
        token = Token(positions, chars, removestops=removestops, mode=mode, **kwargs)
        token.boost, token.stopped = 1.0, False
        for word in words:
            token.text = word
            yield token


def word_analyzer() -> FastWordAnalyzer:
    return FastWordAnalyzer()


def shingle_analyzer(common=None) -> FastWordAnalyzer:
    return FastWordAnalyzer(shingles=True, common=common)


def whoosh_chain(shingles: bool = False):
    """Whoosh's own analyzers, the reference the fast ones must match (tests)."""
    return _whoosh_chain(shingles)


def analyzed(text: str, analyzer=None) -> list[str]:
    return [t.text for t in (analyzer or word_analyzer())(text)]
