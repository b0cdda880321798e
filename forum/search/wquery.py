"""From the parsed query (``forum.search.query``) to Whoosh query objects.

Words are looked up in ``text`` (title and body analyzed together), phrases as
an AND of adjacent word pairs in ``shingles``, prefixes expanded over the
unstemmed vocabulary, filters as single terms (dates as ranges). Returns None
when nothing searchable is left (only stop words, only exclusions...).
"""
from __future__ import annotations

from datetime import datetime, timedelta

from whoosh import query as wq

from forum.search.analysis import analyzed as _analyzed, shingle_analyzer

TEXT_FIELDS = ("text",)


def _word_query(word: str):
    tokens = _analyzed(word)
    if not tokens:
        return None
    parts = [wq.Term("text", t) for t in tokens]
    return parts[0] if len(parts) == 1 else wq.And(parts)


MAX_PREFIX_WORDS = 64


def _prefix_query(prefix: str, reader=None):
    """Indexed words are stems ("optimization" -> "optim"), so "optimi*" is expanded
    over the unstemmed vocabulary Whoosh keeps for spelling, then stemmed."""
    prefix = prefix.lower()
    if len(prefix) < 2:  # "a*" would expand to most of the vocabulary
        return None
    options = [wq.Prefix("text", prefix)]
    if reader is not None:
        stems: set[str] = set()
        for name in TEXT_FIELDS:
            spelling = f"spell_{name}"
            if spelling in reader.schema:
                for word in reader.expand_prefix(spelling, prefix):
                    stems.update(_analyzed(word.decode() if isinstance(word, bytes) else word))
                    if len(stems) >= MAX_PREFIX_WORDS:
                        break
        options += [wq.Term("text", stem) for stem in sorted(stems)]
    return wq.Or(options)


def _phrase_query(words: list[str]):
    text = " ".join(words)
    if len(_analyzed(text)) < 2:  # a one-word (or stop-word-only) phrase is a word
        return _word_query(text)
    return wq.And([wq.Term("shingles", p) for p in _analyzed(text, shingle_analyzer())])


def _term_query(term, reader=None):
    if term.kind == "word":
        return _word_query(term.text)
    if term.kind == "prefix":
        return _prefix_query(term.text, reader)
    if term.kind == "phrase":
        return _phrase_query(term.text.split())
    if term.kind == "or":
        options = [q for q in (_term_query(t, reader) for t in term.options) if q is not None]
        return wq.Or(options) if options else None
    raise ValueError(term.kind)


def _filter_query(name: str, value):
    if name in ("author", "tag", "paper", "repo"):
        return wq.Term(name, value.lower())
    if name == "stance":
        return wq.Term("stance", value)
    if name == "in":
        return wq.Term("kind", value)
    if name == "after":
        return wq.DateRange("created", datetime(value.year, value.month, value.day), None,
                            startexcl=False)
    if name == "before":
        return wq.DateRange("created", None, datetime(value.year, value.month, value.day)
                            - timedelta(microseconds=1))
    raise ValueError(name)


def to_whoosh_query(parsed, reader=None):
    """None when nothing searchable is left (only stop words, only exclusions...)."""
    required = [q for q in (_term_query(t, reader) for t in parsed.terms) if q is not None]
    filters = [_filter_query(name, value) for name, value in parsed.filters]
    if not required and not filters:
        return None
    base = wq.And(required + filters) if len(required + filters) > 1 else (required + filters)[0]
    excluded = [q for q in (_term_query(t, reader) for t in parsed.excluded) if q is not None]
    if excluded:
        base = wq.AndNot(base, wq.Or(excluded))
    return base
