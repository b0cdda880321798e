"""The query language people type into the search box, parsed into plain data.

Pure: no Whoosh, no database. ``parse(text)`` always returns a ``ParsedQuery``;
anything it cannot use becomes a ``note`` the page shows, never an error.

    graph neural          both words (stemmed), anywhere in title or body
    "exact phrase"        the words next to each other
    -word  -"a phrase"    leave out results with it
    gnn OR transformer    either (OR joins the terms on both sides)
    optim*                words starting with "optim"
    author:ada  tag:rl  paper:2301.12345  repo:owner/name  stance:challenges
    after:2024-01-31  before:2024-12-31  in:threads|replies|papers

Parentheses are accepted and ignored (OR already binds its neighbours); an
unbalanced quote or parenthesis makes the whole query fall back to its plain
words, with a note.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date

MAX_QUERY_CHARS = 500
FILTER_OR_NOTE = ("OR does not join filters: every filter must match (tag:a tag:b finds posts "
                  "with both). Search once per filter to see either.")
MAX_TERMS = 24
FILTERS = ("author", "tag", "paper", "repo", "stance", "after", "before", "in")
STANCES = ("supports", "challenges", "question", "evidence")
IN_VALUES = {"threads": "thread", "thread": "thread", "replies": "reply", "reply": "reply",
             "papers": "paper", "paper": "paper"}
TOKEN = re.compile(r'(-?)(?:(\w+):("[^"]*"|\S+)|"([^"]*)"|(\S+))')
WORD = re.compile(r"\w+(?:[.'-]\w+)*\*?")
# Dates outside these bounds are a note, never a query: no post is older, and engines'
# date arithmetic overflows near year 1 and 9999 (once taken for a corrupt index).
EARLIEST_DATE = date(1900, 1, 1)
LATEST_DATE = date(2999, 12, 31)


@dataclass
class Term:
    kind: str  # word | phrase | prefix | or
    text: str = ""
    options: list["Term"] = field(default_factory=list)

    def __str__(self) -> str:
        if self.kind == "or":
            return " OR ".join(str(o) for o in self.options)
        if self.kind == "phrase":
            return f'"{self.text}"'
        return self.text + ("*" if self.kind == "prefix" else "")


@dataclass
class ParsedQuery:
    text: str
    terms: list[Term] = field(default_factory=list)
    excluded: list[Term] = field(default_factory=list)
    filters: list[tuple[str, object]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not self.terms and not self.filters

    def words(self) -> list[str]:
        """The plain words searched for (for did-you-mean)."""
        out = []
        for term in self.terms:
            for t in (term.options if term.kind == "or" else [term]):
                if t.kind == "word":
                    out.append(t.text)
        return out

    def with_words_replaced(self, replacements: dict[str, str]) -> str | None:
        """The query with each word swapped for its correction; None when nothing changes.
        Quotes and parentheses that did not pair up are left out, as the search did."""
        def swap(match):
            word = match.group(0)
            return replacements.get(word, word)
        text = self.text[:MAX_QUERY_CHARS]
        if text.count('"') % 2 or text.count("(") != text.count(")"):
            text = " ".join(re.sub(r'["()]', " ", text).split())
        suggested = re.sub(r"(?<![\w:-])\w+(?![\w:*])", swap, text)
        return suggested if suggested != text else None


def canonical(text: str) -> str:
    """``text`` as search compares it, in Unicode's composed form (NFC).

    An accented letter is one character ("ö", U+00F6) or a letter and a combining mark
    ("o" and U+0308), as text pasted from a PDF or typed on some keyboards has it:
    readers see one word, and the engines' tokenizers split the second form at the
    mark. Documents (``documents``) and queries both go through this, so either form
    finds the other. Almost all text is ASCII, which has one form: it is returned as is.
    """
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def parse(text: str | None) -> ParsedQuery:
    text = canonical(" ".join((text or "").split()))
    parsed = ParsedQuery(text=text)
    if len(text) > MAX_QUERY_CHARS:
        text = text[:MAX_QUERY_CHARS]
        parsed.notes.append(f"Your query was cut to its first {MAX_QUERY_CHARS} characters.")
    if text.count('"') % 2 or text.count("(") != text.count(")"):
        parsed.notes.append("The quotes or parentheses in your query do not pair up, "
                            "so it was searched as plain words.")
        _plain_words(text, parsed)
        return parsed
    text = text.replace("(", " ").replace(")", " ")
    pending_or = after_filter = last_was_filter = False
    for match in TOKEN.finditer(text):
        negated, name, value, phrase, word = match.groups()
        if len(parsed.terms) + len(parsed.excluded) >= MAX_TERMS:
            parsed.notes.append(f"Only the first {MAX_TERMS} terms were used.")
            break
        if word == "OR" and not negated:
            pending_or = bool(parsed.terms)
            after_filter = last_was_filter
            continue
        if name is not None:
            if _add_filter(parsed, name.lower(), value.strip('"'), bool(negated)):
                if pending_or or after_filter:
                    _note_once(parsed, FILTER_OR_NOTE)
                pending_or = after_filter = False
                last_was_filter = True
                continue
            word = f"{name} {value.strip(chr(34))}"  # unknown filter: search its words
            for piece in WORD.findall(word):
                _add_term(parsed, _word_term(piece), negated=False, join=False)
            pending_or = False
            continue
        if after_filter:
            _note_once(parsed, FILTER_OR_NOTE)
        pending_or = pending_or and not after_filter
        after_filter = last_was_filter = False
        term = Term("phrase", " ".join(WORD.findall(phrase))) if phrase is not None else None
        if term is not None and not term.text:
            continue
        if term is None:
            pieces = WORD.findall(word)
            if not pieces:
                continue
            if len(pieces) > 1:  # "self-attention," -> a phrase of its parts
                term = Term("phrase", " ".join(p.rstrip("*") for p in pieces))
            else:
                term = _word_term(pieces[0])
        _add_term(parsed, term, negated=bool(negated), join=pending_or)
        pending_or = False
    return parsed


def _note_once(parsed: ParsedQuery, note: str) -> None:
    if note not in parsed.notes:
        parsed.notes.append(note)


def _word_term(piece: str) -> Term:
    if piece.endswith("*") and len(piece) > 1:
        return Term("prefix", piece[:-1].lower())
    return Term("word", piece.rstrip("*"))


def _add_term(parsed: ParsedQuery, term: Term, *, negated: bool, join: bool) -> None:
    if negated:
        parsed.excluded.append(term)
    elif join and parsed.terms:
        last = parsed.terms.pop()
        options = (last.options if last.kind == "or" else [last]) + [term]
        parsed.terms.append(Term("or", options=options))
    else:
        parsed.terms.append(term)


def _plain_words(text: str, parsed: ParsedQuery) -> None:
    for piece in WORD.findall(text)[:MAX_TERMS]:
        if piece != "OR":
            parsed.terms.append(Term("word", piece.rstrip("*")))


def _add_filter(parsed: ParsedQuery, name: str, value: str, negated: bool) -> bool:
    """True when ``name:value`` was understood (used or explained in a note)."""
    if name not in FILTERS:
        parsed.notes.append(f"There is no {name}: filter, so its words were searched instead. "
                            f"Filters: {', '.join(f + ':' for f in FILTERS)}.")
        return False
    if negated:
        parsed.notes.append(f"-{name}: is not supported; the filter was ignored.")
        return True
    normalized = _normalize(name, value)
    if normalized is None:
        parsed.notes.append(_bad_value_note(name, value))
        return True
    parsed.filters.append((name, normalized))
    return True


def _normalize(name: str, value: str):
    value = value.strip()
    if not value:
        return None
    if name in ("after", "before"):
        try:
            found = date.fromisoformat(value)
        except ValueError:
            return None
        return found if EARLIEST_DATE <= found <= LATEST_DATE else None
    if name == "stance":
        return value.lower() if value.lower() in STANCES else None
    if name == "in":
        return IN_VALUES.get(value.lower())
    if name == "paper":
        return normalize_paper(value)
    if name == "repo":
        return normalize_repo(value)
    if name == "tag":
        return value.lower().lstrip("#")
    return value.lower().lstrip("@")  # author


def _is_date(value: str) -> bool:
    try:
        date.fromisoformat(value.strip())
    except ValueError:
        return False
    return True


def _bad_value_note(name: str, value: str) -> str:
    shown = value[:60]
    if name in ("after", "before"):
        if _is_date(value):
            return (f"{name}:{shown} is outside the dates a post can have "
                    f"({EARLIEST_DATE.year}-{LATEST_DATE.year}); the filter was ignored.")
        return f"{name}:{shown} is not a date like 2024-01-31; the filter was ignored."
    if name == "stance":
        return f"stance:{shown} is not one of {', '.join(STANCES)}; the filter was ignored."
    if name == "in":
        return f"in:{shown} should be threads, replies or papers; the filter was ignored."
    if name == "paper":
        return f"paper:{shown} is not an arXiv identifier; the filter was ignored."
    if name == "repo":
        return f"repo:{shown} is not a GitHub repository (owner/name); the filter was ignored."
    return f"{name}: needs a value; the filter was ignored."


def normalize_paper(value: str) -> str | None:
    """The canonical arXiv id (lower case), in any form arXiv writes it."""
    from forum.papers.arxiv import normalize_arxiv_id  # pure functions, no app needed
    found = normalize_arxiv_id(value)
    return found.lower() if found else None


REPO_NAME = re.compile(r"^([A-Za-z0-9](?:[A-Za-z0-9-]{0,38}))/([\w.-]{1,100}?)(?:\.git)?/?$")


def normalize_repo(value: str) -> str | None:
    """``owner/name`` (lower case) from ``owner/name`` or any GitHub URL form."""
    from forum.papers.github import normalize_repo as normalize
    found = normalize(value)
    if found is None:
        match = REPO_NAME.match(value.strip())
        found = f"{match.group(1)}/{match.group(2)}" if match else None
    return found.lower() if found else None
