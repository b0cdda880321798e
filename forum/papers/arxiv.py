"""arXiv identifiers (parsing, finding in prose) and the arXiv API client.

Identifier rules, from arXiv's "Understanding the arXiv identifier"
(https://info.arxiv.org/help/arxiv_identifier.html) and "arXiv identifier
for services" (https://info.arxiv.org/help/arxiv_identifier_for_services.html):

- New style (from April 2007): ``YYMM.NNNN`` for 0704..1412 and
  ``YYMM.NNNNN`` from 1501 on; MM is 01..12; an optional ``vN`` (N >= 1, no
  leading zero) names a version. ``v0``, month 00/13, a 5-digit number before
  1501 or a 4-digit one after 1412 are rejected, as is an all-zero number.
- Old style (1991 to March 2007): ``archive/YYMMNNN``, or with a subject class
  ``archive.SC/YYMMNNN`` (``math.GT/0309136``). The subject class is not part
  of the identifier, so the canonical form drops it (``math/0309136``).
  Archives must be real ones (``ARCHIVES``); YYMM runs from 9108 to 0703.
- Canonical output is the versionless id; archives in lower case.
- Accepted wrappers: ``arXiv:`` (any case, optional space), abs/pdf/html/format
  URLs on ``arxiv.org``, ``export.arxiv.org`` and ``browse.arxiv.org``, with or without ``www.``, scheme,
  ``.pdf``, trailing slash, query or fragment; the arXiv DOI
  ``10.48550/arXiv.<id>`` (any case, also ``doi:``, ``doi.org`` and
  ``dx.doi.org`` URLs).

``normalize_arxiv_id`` takes one thing a person pasted: it first drops
wrapping brackets, quotes, backticks and emphasis marks, trailing ``. , ; : !
? # ) ] >`` and arXiv's own category suffix (``arXiv:1706.03762v7 [cs.CL]``).

Finding ids in prose (``iter_arxiv_mentions``) also accepts bare ids, with
these rules so numbers are not mistaken for papers:

- the id must be valid for its period (month, digit count) as above;
- it must stand alone: not preceded by a letter, digit, ``.``, ``-``, a ``/``
  (unless what precedes is another new-style id: "1706.03762/2312.00752"
  lists two), a sign or currency symbol (``+ ± ~ ≈ $ € £ ¥``) or a digit followed by
  ``,``; not followed by a letter, digit, ``-``, ``.digit``, ``/word`` (other
  than its ``vN`` or another id); ``_`` around it is Markdown emphasis and allowed -- so "v1.2.3", "Python 3.11", "2023.01.15",
  "1.1706.03762" and the numbers inside other DOIs (10.1103/PhysRevD.1234.56789)
  never match;
- a bare number followed by a unit or percent sign ("1501.12345 m/s",
  "2005.14165 %", "1706.03762 GeV") is a measurement, not an id.
  Prefixed forms (URL, DOI, ``arXiv:``) skip these context checks.
A bare old-style id needs its archive, so ``hep-th/9901001`` in prose counts.

``parse_atom`` reads the API's Atom feed in both the 2016 shape (namespaces
declared per element, hard-wrapped summaries) and the 2026 one (namespaces on
``<feed>``, affiliations in ``<author>``); whitespace in titles, names and
abstracts is collapsed to single spaces. It refuses DOCTYPE/ENTITY
declarations (no entity expansion attacks), non-Atom documents (including
OAI-PMH) and the API's error feed (one entry titled ``Error``) with
``ArxivError``. ``withdrawn`` is detected from the comment or abstract
wording arXiv uses ("This paper has been withdrawn by the author").

``parse_atom_entries`` reads a feed entry by entry, so one malformed entry
(an unreadable date, say) fails only its own paper; ``parse_atom`` is its
strict form and raises for any.

``ArxivClient`` follows the API terms (https://info.arxiv.org/help/api/tou.html):
at most one request per ``min_interval`` (3 s) and up to 100 ids per request;
the HTTP client's per-host pacer (``forum.http.Pacer``) spaces retries too. A
``Retry-After`` answer ends the run (``ArxivRetryLater``) so the caller can
pause arXiv until then. Ids that do not normalize are skipped (arXiv would
fail the whole batch), so callers see them as "not returned".
"""
from __future__ import annotations

import re
import time
import urllib.parse
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone

from forum.http import HttpError, retry_after_seconds

__all__ = ["ARCHIVES", "ArxivClient", "ArxivError", "ArxivMention", "ArxivRetryLater", "AtomFeed",
           "BatchResult", "PaperMetadata", "parse_atom_entries",
           "find_arxiv_ids", "iter_arxiv_mentions", "mention_of_url", "normalize_arxiv_id", "parse_atom"]

ARCHIVES = frozenset({
    "acc-phys", "adap-org", "alg-geom", "ao-sci", "astro-ph", "atom-ph", "bayes-an",
    "chao-dyn", "chem-ph", "cmp-lg", "comp-gas", "cond-mat", "cs", "dg-ga", "funct-an",
    "gr-qc", "hep-ex", "hep-lat", "hep-ph", "hep-th", "math", "math-ph", "mtrl-th",
    "nlin", "nucl-ex", "nucl-th", "patt-sol", "physics", "plasm-ph", "q-alg", "q-bio",
    "quant-ph", "solv-int", "supr-con",
})

_ARCHIVE_RE = "|".join(sorted((re.escape(a) for a in ARCHIVES), key=len, reverse=True))
_NEW_ID_BEFORE_SLASH = re.compile(r"\d{4}\.\d{4,5}(?:v\d+)?/\Z")
_MENTION = re.compile(
    r"(?<![^\W_])(?<![.\-])"
    r"(?:(?P<url>(?:https?://)?(?:www\.|export\.|browse\.)?arxiv\.org/(?:abs|pdf|html|format)/)"
    r"|(?P<doi>(?:(?:https?://)?(?:dx\.)?doi\.org/|doi:\s?)?10\.48550/arxiv\.)"
    r"|(?P<prefix>arxiv:\s?))?"
    r"(?:(?P<yymm>\d{4})\.(?P<num>\d{4,5})"
    rf"|(?P<archive>{_ARCHIVE_RE})(?:\.[a-z]+(?:-[a-z]+)?)?/(?P<oyymm>\d{{4}})(?P<onum>\d{{3}}))"
    r"(?:v(?P<version>\d+))?"
    r"(?P<tail>\.pdf)?"
    r"(?![^\W_]|-|\.\d|/(?!\d{4}\.\d{4,5}(?![\d.]))\w)",
    re.IGNORECASE)
_URL_TAIL = re.compile(r"/?(?:[?#][\w=&%+.\-]*[\w=&%+\-])?")
_UNIT = re.compile(
    r"\s?(?:%|‰|°|(?:[kMGTmµnp]?(?:m|s|g|Hz|eV|K|J|W|Pa)|m/s|km/h|USD|EUR|GBP|dollars|euros)(?![\w/\-]))")
_BAD_BEFORE = set("+±~≈$€£¥")
_WITHDRAWN = re.compile(
    r"\b(?:this|the)\s+(?:paper|article|submission|manuscript|preprint|work)\s+"
    r"(?:has\s+been|is|was)\s+withdrawn|\bwithdrawn\s+by\s+(?:the\s+)?(?:authors?|arxiv)",
    re.IGNORECASE)


class ArxivError(Exception):
    """The arXiv API answered with an error, or with something that is not its feed."""


@dataclass(frozen=True)
class ArxivMention:
    start: int
    end: int
    arxiv_id: str  # canonical, versionless
    version: int | None


@dataclass
class PaperMetadata:
    arxiv_id: str
    version: int | None
    title: str
    authors: list[str] = field(default_factory=list)
    abstract: str = ""
    categories: list[str] = field(default_factory=list)
    primary_category: str | None = None
    published: datetime | None = None
    updated: datetime | None = None
    doi: str | None = None
    journal_ref: str | None = None
    comment: str | None = None
    withdrawn: bool = False

    @property
    def version_dates(self) -> dict[int, datetime]:
        """The versions the feed dates: v1 is ``published``, the latest is ``updated``."""
        dates: dict[int, datetime] = {}
        if self.published:
            dates[1] = self.published
        if self.version and self.updated:
            dates.setdefault(self.version, self.updated)  # v1's date is its submission
        return dates


def _canonical(match: re.Match) -> str | None:
    """The canonical id of a regex match, or None when its numbers are impossible."""
    if match["yymm"]:
        yymm, num = match["yymm"], match["num"]
        month = int(yymm[2:])
        if not 1 <= month <= 12 or int(yymm) < 704 or int(num) == 0:
            return None
        if (len(num) == 4) != (int(yymm) <= 1412):
            return None
        return f"{yymm}.{num}"
    yymm, num = match["oyymm"], match["onum"]
    year, month = int(yymm[:2]), int(yymm[2:])
    if not 1 <= month <= 12 or int(num) == 0:
        return None
    sortable = (year + 1900 if year >= 91 else year + 2000) * 100 + month
    if not 199108 <= sortable <= 200703:
        return None
    return f"{match['archive'].lower()}/{yymm}{num}"


def _version(match: re.Match) -> tuple[bool, int | None]:
    raw = match["version"]
    if raw is None:
        return True, None
    return (not raw.startswith("0")), int(raw)


def _bare_in_context(text: str, start: int, end: int) -> bool:
    """A bare id (no prefix) must not look like a number in a measurement."""
    before = text[start - 1] if start else ""
    if before in _BAD_BEFORE or (start >= 2 and before == "," and text[start - 2].isdigit()):
        return False
    if start >= 2 and before == " " and text[start - 2] in _BAD_BEFORE:
        return False
    return not _UNIT.match(text, end)


def iter_arxiv_mentions(text: str) -> Iterator[ArxivMention]:
    """Every arXiv id written in ``text``, in order, with its span and cited version."""
    for match in _MENTION.finditer(text or ""):
        arxiv_id = _canonical(match)
        ok, version = _version(match)
        if arxiv_id is None or not ok:
            continue
        if (match.start() and text[match.start() - 1] == "/"
                and not _NEW_ID_BEFORE_SLASH.search(text, max(0, match.start() - 20), match.start())):
            continue  # inside a path (example.com/1706.03762), unless a list "1706.03762/2312.00752"
        end = match.end()
        bare = not (match["url"] or match["doi"] or match["prefix"])
        if bare and not _bare_in_context(text, match.start(), end):
            continue
        if match["url"]:
            end = _URL_TAIL.match(text, end).end()
        yield ArxivMention(match.start(), end, arxiv_id, version)


def find_arxiv_ids(text: str) -> list[str]:
    """Canonical ids of every paper mentioned in ``text``, deduplicated, in order."""
    return list(dict.fromkeys(m.arxiv_id for m in iter_arxiv_mentions(text)))


_CATEGORY_SUFFIX = re.compile(r"\s*\[[A-Za-z\-]+(?:\.[A-Za-z\-]+)?\]\Z")
_OPENERS, _CLOSERS = "<([{\"'“‘`*_", ">)]}\"'”’`*_.,;:!?#"


def _unwrap(text: str) -> str:
    """What a person pasted, without wrapping brackets, quotes, emphasis, trailing
    punctuation or arXiv's own category suffix ("arXiv:1706.03762v7 [cs.CL]")."""
    previous = None
    while text != previous:
        previous = text
        text = _CATEGORY_SUFFIX.sub("", text.strip())
        text = text.lstrip(_OPENERS).rstrip(_CLOSERS)
    return text


def _parse_one(text: str) -> ArxivMention | None:
    text = _unwrap(text or "")
    mentions = list(iter_arxiv_mentions(text))
    if len(mentions) == 1 and mentions[0].start == 0 and mentions[0].end == len(text):
        return mentions[0]
    return None


def mention_of_url(text: str) -> ArxivMention | None:
    """One id, URL or DOI (a link's href) -> its mention (id and cited version), else None."""
    return _parse_one(text)


def normalize_arxiv_id(text: str) -> str | None:
    """One id, URL or DOI in any form arXiv uses -> canonical versionless id, else None."""
    mention = _parse_one(text)
    return mention.arxiv_id if mention else None


# --- Atom feed -------------------------------------------------------------

ATOM = "{http://www.w3.org/2005/Atom}"
ARXIV = "{http://arxiv.org/schemas/atom}"
_DANGEROUS = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)


def _clean(value: str | None) -> str:
    return " ".join((value or "").split())


def _optional(element: ET.Element, path: str) -> str | None:
    return _clean(element.findtext(path)) or None


def _when(value: str | None) -> datetime | None:
    if not value or not value.strip():
        return None
    try:
        moment = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError as error:
        raise ArxivError(f"unreadable date {value!r} in the arXiv feed") from error
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc)


@dataclass
class AtomFeed:
    """A feed read entry by entry: one malformed entry fails only itself."""
    records: list[PaperMetadata] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # arXiv id -> why its entry is unreadable
    unreadable: list[str] = field(default_factory=list)  # entries whose very id is unreadable


def parse_atom_entries(xml: bytes) -> AtomFeed:
    """The arXiv API's Atom feed -> its readable records and what failed, entry by entry.

    Raises ``ArxivError`` only for what spoils the whole answer: not XML, not an
    Atom feed, a DOCTYPE, or arXiv's error feed."""
    if not isinstance(xml, (bytes, bytearray)) or not xml.strip():
        raise ArxivError("empty answer from the arXiv API")
    if _DANGEROUS.search(xml):
        raise ArxivError("refusing an XML document with a DOCTYPE or entity declaration")
    try:
        root = ET.fromstring(bytes(xml))
    except ET.ParseError as error:
        raise ArxivError(f"the arXiv API answered with unreadable XML: {error}") from error
    if root.tag != f"{ATOM}feed":
        raise ArxivError(f"expected an Atom feed from the arXiv API, got <{root.tag}>")
    feed = AtomFeed()
    for entry in root.iter(f"{ATOM}entry"):
        entry_id = _clean(entry.findtext(f"{ATOM}id"))
        title = _clean(entry.findtext(f"{ATOM}title"))
        if title == "Error" and "/api/errors" in entry_id:
            message = _clean(entry.findtext(f"{ATOM}summary")) or entry_id
            raise ArxivError(f"arXiv API error: {message}")
        mention = _parse_one(entry_id)
        if mention is None:
            feed.unreadable.append(f"unexpected entry id {entry_id!r} in the arXiv feed")
            continue
        try:
            feed.records.append(_record(entry, mention, title))
        except (ArxivError, ValueError, TypeError) as error:
            feed.failed[mention.arxiv_id] = f"unreadable entry in the arXiv feed: {error}"
    return feed


def parse_atom(xml: bytes) -> list[PaperMetadata]:
    """The arXiv API's Atom feed -> one record per entry (an empty feed -> []); strict:
    any unreadable entry raises ``ArxivError`` (``parse_atom_entries`` keeps the rest)."""
    feed = parse_atom_entries(xml)
    problems = feed.unreadable + list(feed.failed.values())
    if problems:
        raise ArxivError(problems[0])
    return feed.records


def _record(entry: ET.Element, mention: ArxivMention, title: str) -> PaperMetadata:
    categories = list(dict.fromkeys(
        c.get("term") for c in entry.findall(f"{ATOM}category") if c.get("term")))
    primary = entry.find(f"{ARXIV}primary_category")
    primary_term = primary.get("term") if primary is not None else None
    abstract = _clean(entry.findtext(f"{ATOM}summary"))
    comment = _optional(entry, f"{ARXIV}comment")
    return PaperMetadata(
        arxiv_id=mention.arxiv_id, version=mention.version, title=title,
        authors=[name for a in entry.findall(f"{ATOM}author")
                 if (name := _clean(a.findtext(f"{ATOM}name")))],
        abstract=abstract, categories=categories,
        primary_category=primary_term or (categories[0] if categories else None),
        published=_when(entry.findtext(f"{ATOM}published")),
        updated=_when(entry.findtext(f"{ATOM}updated")),
        doi=_optional(entry, f"{ARXIV}doi"), journal_ref=_optional(entry, f"{ARXIV}journal_ref"),
        comment=comment,
        withdrawn=bool(_WITHDRAWN.search(comment or "") or _WITHDRAWN.search(abstract[:300])),
    )


# --- API client ------------------------------------------------------------

API_URL = "https://export.arxiv.org/api/query"
MAX_BATCH = 100


class ArxivRetryLater(ArxivError):
    """arXiv asked us (``Retry-After``) to come back in ``seconds``."""

    def __init__(self, message: str, seconds: float):
        super().__init__(message)
        self.seconds = seconds


@dataclass
class BatchResult:
    ids: list[str]
    feed: AtomFeed | None = None
    error: str | None = None
    retry_after: float | None = None  # seconds arXiv asked us to wait before asking again


class ArxivClient:
    """Fetches metadata by id, batching and pacing requests as arXiv asks.

    Pacing here spaces batches; retries inside ``forum.http`` are paced by the
    client's per-host ``Pacer`` (``refresh.default_http_client``), so the 3 s
    rule holds for every request, retries included."""

    def __init__(self, http, min_interval: float = 3.0, *, batch_size: int = MAX_BATCH,
                 clock=time.monotonic, sleep=time.sleep, api_url: str = API_URL):
        self.http, self.min_interval = http, min_interval
        self.batch_size = max(1, min(batch_size, MAX_BATCH))
        self._clock, self._sleep, self.api_url = clock, sleep, api_url
        self._last_request: float | None = None

    def fetch(self, ids: list[str]) -> list[PaperMetadata]:
        """Records of every readable entry; a failed batch raises ``ArxivError``."""
        records: list[PaperMetadata] = []
        for result in self.fetch_batches(ids):
            if result.error:
                if result.retry_after is not None:
                    raise ArxivRetryLater(result.error, result.retry_after)
                raise ArxivError(result.error)
            records.extend(result.feed.records)
        return records

    def fetch_batches(self, ids: list[str]) -> Iterator[BatchResult]:
        """One result per batch of up to 100 ids; failures are results, not exceptions."""
        wanted = list(dict.fromkeys(i for i in map(normalize_arxiv_id, ids) if i))
        for start in range(0, len(wanted), self.batch_size):
            batch = wanted[start:start + self.batch_size]
            try:
                yield BatchResult(batch, feed=self._fetch_batch(batch))
            except ArxivRetryLater as error:
                yield BatchResult(batch, error=str(error), retry_after=error.seconds)
                return  # arXiv asked us to stop for now: no further batch this run
            except (ArxivError, HttpError) as error:
                yield BatchResult(batch, error=str(error))

    def batch_url(self, batch: list[str]) -> str:
        id_list = urllib.parse.quote(",".join(batch), safe=",/")
        return f"{self.api_url}?id_list={id_list}&max_results={len(batch)}"

    def _wait_turn(self) -> None:
        if self._last_request is not None:
            remaining = self.min_interval - (self._clock() - self._last_request)
            if remaining > 0:
                self._sleep(remaining)
        self._last_request = self._clock()

    def _fetch_batch(self, batch: list[str]) -> AtomFeed:
        self._wait_turn()
        response = self.http.get(self.batch_url(batch), headers={"Accept": "application/atom+xml"})
        if response.status != 200:
            try:
                parse_atom_entries(response.body)  # an error feed explains itself
            except ArxivError as error:
                if "API error" in str(error):
                    raise
            asked = retry_after_seconds(response.headers)
            if asked is not None:
                raise ArxivRetryLater(f"arXiv answered HTTP {response.status} and asked us to "
                                      f"retry after {int(asked)} s", asked)
            raise ArxivError(f"arXiv API answered HTTP {response.status}")
        return parse_atom_entries(response.body)
