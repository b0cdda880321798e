"""The filters of a search, shown as chips that each remove themselves.

``tag:rl author:ada attention`` shows two chips, "tag: rl" and "author: ada";
each links to the same search without that filter (and the page's sort kept).
Read from the text as typed, with the query language's own tokenizer, so a
chip removes exactly what the person wrote.
"""
from __future__ import annotations

from dataclasses import dataclass

from forum.search.query import FILTERS, TOKEN

LABELS = {"in": "only", "after": "after", "before": "before"}


@dataclass(frozen=True)
class Chip:
    name: str
    value: str
    negated: bool
    without: str  # the query text with this filter taken out

    @property
    def label(self) -> str:
        return f"{'not ' if self.negated else ''}{LABELS.get(self.name, self.name)}: {self.value.strip(chr(34))}"


def filter_chips(text: str | None) -> list[Chip]:
    text = text or ""
    chips = []
    for match in TOKEN.finditer(text):
        negated, name, value = match.group(1), match.group(2), match.group(3)
        if not name or name.lower() not in FILTERS:
            continue
        without = " ".join((text[:match.start()] + text[match.end():]).split())
        chips.append(Chip(name.lower(), value, bool(negated), without))
    return chips
