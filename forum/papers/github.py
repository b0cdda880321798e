"""GitHub repository links (parsing, finding in prose) and the REST API client.

What counts as a repository link:

- ``github.com/<owner>/<name>`` with or without ``https://``/``http://`` and
  ``www.`` (host in any case), followed by anything: ``/tree/...``,
  ``/blob/...``, ``/issues/N``, ``/pull/N``, ``?query``, ``#fragment``;
  SSH ``git@github.com:owner/name.git`` and ``ssh://git@github.com/...``;
  pip's ``git+https://github.com/owner/name.git@tag#egg=x``.
- A bare ``owner/name`` is not a link (too many false positives: "and/or",
  "TCP/IP", file paths). Subdomains (``gist.github.com``,
  ``api.github.com``, ``raw.githubusercontent.com``) are not repository pages,
  nor is a user or organization page alone (``github.com/torvalds``).
- The first segment must not be one GitHub reserves for its own pages
  (``settings``, ``features``, ``topics``, ``orgs``, ``sponsors``...): see
  ``forum.papers.github_reserved``.

Name rules: an owner is 1-39 ASCII letters, digits or single hyphens, not
starting or ending with a hyphen (GitHub's sign-up form, https://github.com/signup:
"Username may only contain alphanumeric characters or single hyphens, and
cannot begin or end with a hyphen", 39 characters at most); a repository
name is 1-100 characters of ``[A-Za-z0-9._-]`` (GitHub replaces any other
character with ``-`` when creating one; REST API "Create a repository",
https://docs.github.com/en/rest/repos/repos), never ``.`` or ``..``. A few
legacy accounts break the owner rule (e.g. a trailing hyphen); they are not
recognised, a deliberate trade for fewer false positives in prose. A ``.git``
suffix is the clone URL form and is stripped. Trailing dots are stripped
too: in prose "see github.com/a/b." the dot ends the sentence.

Names are returned as written; callers compare them case-insensitively
(GitHub does), and ``find_repos`` dedupes that way, keeping the first form.

``GitHubClient.fetch_repo`` makes one conditional GET (``If-None-Match``) of
``/repos/{owner}/{name}`` per call and turns every answer into a
``RepoFetch`` instead of raising: ``ok``, ``not_modified`` (304),
``not_found`` (404/410), ``moved`` (301/302/307: GitHub answers a renamed or
transferred repository with ``Location: /repositories/<id>``; we follow that
one hop on the same API host to learn the new name), ``rate_limited``
(403/429 with ``x-ratelimit-remaining: 0``, a ``Retry-After`` or a rate-limit
message; ``retry_at`` from Retry-After, else ``x-ratelimit-reset``, else one
minute) or ``error``. Missing fields are tolerated: the 2012 response shape
has ``watchers`` but no ``stargazers_count`` and no ``license``.
"""
from __future__ import annotations

import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

from forum.http import HttpError
from forum.papers.github_reserved import RESERVED

__all__ = ["GitHubClient", "RepoFetch", "RepoMention", "RepoMetadata", "find_repos",
           "iter_repo_mentions", "normalize_repo"]

OWNER = r"[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}"
_MENTION = re.compile(
    r"(?<![\w.@/+\-])"
    r"(?:(?i:git@(?:www\.)?github\.com:)"
    r"|(?i:(?:(?:git\+)?(?:https?|ssh|git)://(?:git@)?)?(?:www\.)?github\.com/))"
    rf"(?P<owner>{OWNER})/(?P<name>[A-Za-z0-9._\-]{{1,100}})(?![A-Za-z0-9._\-])")
_NORMALIZE_REST = re.compile(r"/?(?:[/?#@].*)?|[.,;:!?)\]}'\">]*", re.DOTALL)


@dataclass(frozen=True)
class RepoMention:
    start: int
    end: int
    full_name: str  # owner/name as written


def _clean_name(raw: str) -> tuple[str, int]:
    """(name without trailing dots and ``.git``, length of ``raw`` the link spans)."""
    spanned = raw.rstrip(".")
    name = spanned[:-4] if spanned.lower().endswith(".git") else spanned
    return name, len(spanned)


def iter_repo_mentions(text: str) -> Iterator[RepoMention]:
    """Every GitHub repository link in ``text``, in order, with its span."""
    for match in _MENTION.finditer(text or ""):
        owner = match["owner"]
        name, spanned = _clean_name(match["name"])
        if not name or name in (".", "..") or owner.lower() in RESERVED:
            continue
        yield RepoMention(match.start(), match.start("name") + spanned, f"{owner}/{name}")


def find_repos(text: str) -> list[str]:
    """``owner/name`` of every repository linked in ``text``: first form, case-insensitive dedupe."""
    seen: dict[str, str] = {}
    for mention in iter_repo_mentions(text):
        seen.setdefault(mention.full_name.lower(), mention.full_name)
    return list(seen.values())


def normalize_repo(text: str) -> str | None:
    """One repository URL (any form above) -> ``owner/name``, else None."""
    text = (text or "").strip()
    if not text or any(c.isspace() for c in text):
        return None
    mention = next(iter_repo_mentions(text), None)
    if mention is None or mention.start != 0:
        return None
    rest = text[mention.end:]
    return mention.full_name if _NORMALIZE_REST.fullmatch(rest) else None


# --- REST API client ---------------------------------------------------------

API_URL = "https://api.github.com"


@dataclass
class RepoMetadata:
    full_name: str
    description: str | None = None
    stars: int | None = None
    language: str | None = None
    license: str | None = None
    topics: list[str] = field(default_factory=list)
    pushed_at: datetime | None = None
    html_url: str | None = None
    fork: bool = False
    archived: bool = False


@dataclass
class RepoFetch:
    status: str  # ok, not_modified, not_found, moved, rate_limited, error
    metadata: RepoMetadata | None = None
    etag: str | None = None
    new_full_name: str | None = None
    retry_at: datetime | None = None
    error: str | None = None


def _when(value) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)


def _license(value) -> str | None:
    if not isinstance(value, dict):
        return None
    spdx = value.get("spdx_id")
    if spdx and spdx != "NOASSERTION":
        return spdx
    return value.get("name") or value.get("key") or None


GITHUB_PAGE = re.compile(r"https://github\.com/[A-Za-z0-9._/-]+")


def github_page(url, full_name: str) -> str:
    """``url`` if it is a page on https://github.com/, else the repository's own page: the
    API's ``html_url`` becomes a link, and a hostile answer could put ``javascript:`` there."""
    if isinstance(url, str) and GITHUB_PAGE.fullmatch(url):
        return url
    return f"https://github.com/{full_name}"


def parse_repo(data: dict) -> RepoMetadata:
    """A ``GET /repos/{owner}/{repo}`` body -> ``RepoMetadata`` (missing fields tolerated)."""
    full_name = data.get("full_name") or f"{(data.get('owner') or {}).get('login')}/{data.get('name')}"
    stars = next((data[key] for key in ("stargazers_count", "watchers_count", "watchers")
                  if isinstance(data.get(key), int)), None)
    topics = data.get("topics") if isinstance(data.get("topics"), list) else []
    return RepoMetadata(
        full_name=full_name, description=data.get("description") or None, stars=stars,
        language=data.get("language") or None, license=_license(data.get("license")),
        topics=[t for t in topics if isinstance(t, str)], pushed_at=_when(data.get("pushed_at")),
        html_url=github_page(data.get("html_url"), full_name),
        fork=bool(data.get("fork")), archived=bool(data.get("archived")))


class GitHubClient:
    """``fetch_repo(full_name, etag=None) -> RepoFetch`` over ``forum.http``."""

    def __init__(self, http, token: str | None = None, *, api_url: str = API_URL, now=None):
        self.http, self.token, self.api_url = http, token, api_url.rstrip("/")
        self._now = now or (lambda: datetime.now(timezone.utc))

    def _headers(self, etag: str | None = None) -> dict[str, str]:
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if etag:
            headers["If-None-Match"] = etag
        return headers

    def fetch_repo(self, full_name: str, etag: str | None = None) -> RepoFetch:
        name = normalize_repo(f"https://github.com/{full_name}")
        if name is None:
            return RepoFetch("error", error=f"not a repository name: {full_name!r}")
        url = f"{self.api_url}/repos/{urllib.parse.quote(name, safe='/')}"
        try:
            response = self.http.get(url, headers=self._headers(etag))
        except HttpError as error:
            return RepoFetch("error", error=str(error))
        return self._interpret(response, etag)

    def _interpret(self, response, etag: str | None) -> RepoFetch:
        status, headers = response.status, response.headers
        body = _json(response.body)
        if status == 200:
            if not isinstance(body, dict):
                return RepoFetch("error", error="GitHub answered 200 with an unreadable body")
            return RepoFetch("ok", parse_repo(body), etag=headers.get("etag"))
        if status == 304:
            return RepoFetch("not_modified", etag=headers.get("etag") or etag)
        if status in (404, 410):
            return RepoFetch("not_found")
        if status in (301, 302, 307, 308):
            return self._moved(headers.get("location") or (body or {}).get("url"))
        message = (body or {}).get("message") if isinstance(body, dict) else None
        if status in (403, 429) and _rate_limited(status, headers, message):
            return RepoFetch("rate_limited", retry_at=self._retry_at(headers), error=message
                             or f"GitHub rate limit (HTTP {status})")
        return RepoFetch("error", error=f"GitHub answered HTTP {status}" + (f": {message}" if message else ""))

    def _moved(self, location: str | None) -> RepoFetch:
        if not location:
            return RepoFetch("error", error="GitHub answered a redirect without a location")
        direct = re.match(re.escape(self.api_url) + r"/repos/([^/?#]+/[^/?#]+)/?$", location)
        if direct:
            return RepoFetch("moved", new_full_name=urllib.parse.unquote(direct[1]))
        if not location.startswith(self.api_url + "/"):  # never send the token elsewhere
            return RepoFetch("moved", error=f"moved to an unexpected location: {location}")
        try:
            target = self.http.get(location, headers=self._headers())
        except HttpError as error:
            return RepoFetch("moved", error=str(error))
        body = _json(target.body)
        if target.status == 200 and isinstance(body, dict):
            meta = parse_repo(body)
            return RepoFetch("moved", meta, etag=target.headers.get("etag"), new_full_name=meta.full_name)
        return RepoFetch("moved", error=f"following the move answered HTTP {target.status}")

    def _retry_at(self, headers) -> datetime:
        now = self._now()
        retry_after = (headers.get("retry-after") or "").strip()
        if retry_after.isdigit():
            return now + timedelta(seconds=int(retry_after))
        if retry_after:
            try:
                return parsedate_to_datetime(retry_after).astimezone(timezone.utc)
            except (TypeError, ValueError):
                pass
        reset = (headers.get("x-ratelimit-reset") or "").strip()
        if reset.isdigit():
            return datetime.fromtimestamp(int(reset), timezone.utc)
        return now + timedelta(minutes=1)


def _rate_limited(status: int, headers, message: str | None) -> bool:
    if status == 429 or "retry-after" in headers:
        return True
    if (headers.get("x-ratelimit-remaining") or "").strip() == "0":
        return True
    text = (message or "").lower()
    return "rate limit" in text or "abuse" in text


def _json(body: bytes):
    try:
        return json.loads(body.decode("utf-8")) if body else None
    except (UnicodeDecodeError, ValueError):
        return None
