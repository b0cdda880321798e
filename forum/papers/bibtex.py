"""BibTeX for a paper, in the form arXiv's own "Export BibTeX Citation" gives.

arXiv writes ``@misc{<first author's surname><year><first title word>,`` with
title, author (joined by " and "), year, eprint, archivePrefix, primaryClass
and url; we follow it so a citation copied here matches one copied there.
A paper whose details are still pending gets an entry built from its id
alone (title ``arXiv:<id>``, eprint, archivePrefix, url, the year a new-style
id encodes, the archive an old-style one names) rather than a 404: that much
is certain, and it is what a reader needs to cite it now.
"""
from __future__ import annotations

import re
import unicodedata

from forum.papers.models import Paper

SKIP_WORDS = {"a", "an", "the", "on", "of", "in", "for", "to", "and", "is", "are", "with"}


def _ascii_word(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKD", text)
                  .encode("ascii", "ignore").decode().lower())


def citation_key(paper: Paper) -> str:
    if not paper.authors and not paper.title:
        return "arxiv" + re.sub(r"[^a-z0-9]", "", paper.arxiv_id.lower())
    surname = _ascii_word(paper.authors[0].split()[-1]) if paper.authors else "anonymous"
    year = paper.year or ""
    words = [_ascii_word(word) for word in (paper.title or "").split()]
    first = next((word for word in words if word and word not in SKIP_WORDS), "")
    return f"{surname}{year}{first}"


def _braced(value: str) -> str:
    return value.replace("{", "\\{").replace("}", "\\}")


def bibtex_entry(paper: Paper) -> str:
    fields = [
        ("title", paper.title or f"arXiv:{paper.arxiv_id}"),
        ("author", " and ".join(paper.authors or [])),
        ("year", str(paper.year or "")),
        ("eprint", paper.arxiv_id),
        ("archivePrefix", "arXiv"),
        ("primaryClass", paper.primary_category
         or (paper.arxiv_id.split("/")[0] if "/" in paper.arxiv_id else "")),
        ("url", paper.abs_url),
    ]
    if paper.doi:
        fields.append(("doi", paper.doi))
    body = ",\n".join(f"      {name}={{{_braced(value)}}}" for name, value in fields if value)
    return f"@misc{{{citation_key(paper)},\n{body},\n}}\n"
