"""The one outbound HTTP client (arXiv, GitHub), and a replay double for tests.

Decisions:

- stdlib ``urllib`` only; every request carries a descriptive ``User-Agent``
  and a timeout (arXiv and GitHub both ask for an identifying agent).
- Redirects are *not* followed: a 3xx comes back as a ``Response`` so the
  caller decides (GitHub answers 301 for a renamed repository and we want
  to record the new name, not silently follow it).
- Any HTTP status is a ``Response``, never an exception; ``HttpError`` means
  no usable answer (DNS, refused connection, timeout, TLS, truncated body).
- Retries: network errors and 429/502/503/504 are retried ``retries`` times.
  The wait is the larger of an exponential backoff (``backoff``, doubling)
  and the server's ``Retry-After`` (seconds or an HTTP date). A Retry-After
  longer than ``max_retry_wait`` is not slept through: the answer is
  returned so the caller can record it and stop asking (``retry_after_seconds``).
- Pacing: ``pacers`` maps a host to a ``Pacer`` that every attempt to that
  host waits for, retries included, so "at least 3 s between any two arXiv
  requests" holds however a request ends. Clock and sleep are injectable, so
  tests run the rules on a fake clock without sleeping.
- ``transport`` replaces urllib (``ReplayClient.get`` in tests), so retries,
  pacing and Retry-After are tested through this very class.
- Bodies are capped at ``max_bytes`` so a misbehaving server cannot exhaust
  memory.
- Tests use ``ReplayClient``: it answers from recorded responses and raises
  ``UnrecordedRequest`` for anything else, so a test can never reach the
  network by accident.
"""
from __future__ import annotations

import json
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

__all__ = ["Headers", "Response", "HttpError", "HttpClient", "Pacer", "ReplayClient",
           "ReplayTransport", "UnrecordedRequest", "retry_after_seconds"]

RETRY_STATUSES = frozenset({429, 502, 503, 504})
MAX_RETRY_WAIT = 60.0  # seconds; a longer Retry-After ends the request and is left to the caller


class HttpError(Exception):
    """No usable HTTP answer: network failure, timeout, or unreadable response."""


class UnrecordedRequest(LookupError):
    """ReplayClient was asked for a URL it has no recording for."""


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only header mapping (repeated names joined by ", ")."""

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] | None = None):
        self._items: dict[str, tuple[str, str]] = {}
        pairs = items.items() if isinstance(items, Mapping) else (items or ())
        for name, value in pairs:
            key = name.lower()
            if key in self._items:
                value = f"{self._items[key][1]}, {value}"
            self._items[key] = (name, str(value))

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()][1]

    def __iter__(self) -> Iterator[str]:
        return (name for name, _ in self._items.values())

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def __repr__(self) -> str:
        return f"Headers({dict(self.items())!r})"


@dataclass(frozen=True)
class Response:
    status: int
    headers: Headers
    body: bytes
    url: str

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D102
        return None  # urllib then raises HTTPError carrying the 3xx, which we return


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds a ``Retry-After`` header asks us to wait (delta-seconds or an HTTP date), or None."""
    raw = (headers.get("retry-after") or "").strip()
    if not raw:
        return None
    if raw.isdigit():
        return float(raw)
    try:
        when = parsedate_to_datetime(raw)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    current = datetime.now(timezone.utc).timestamp() if now is None else now
    return max(0.0, when.timestamp() - current)


class Pacer:
    """At least ``min_interval`` seconds between the starts of any two requests it paces."""

    def __init__(self, min_interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.min_interval, self._clock, self._sleep = min_interval, clock, sleep
        self._last: float | None = None

    def wait(self) -> None:
        if self._last is not None:
            remaining = self.min_interval - (self._clock() - self._last)
            if remaining > 0:
                self._sleep(remaining)
        self._last = self._clock()


class HttpClient:
    """``get(url, headers=None) -> Response`` over urllib, with timeout, pacing and retries."""

    def __init__(self, user_agent: str, timeout: float = 10.0, retries: int = 2,
                 backoff: float = 1.0, max_bytes: int = 20_000_000, sleep=time.sleep, *,
                 pacers: Mapping[str, Pacer] | None = None, transport=None,
                 max_retry_wait: float = MAX_RETRY_WAIT, wall_clock=None):
        if not user_agent or any(c in user_agent for c in "\r\n"):
            raise ValueError("a descriptive User-Agent (one line) is required")
        self.user_agent, self.timeout, self.retries = user_agent, timeout, retries
        self.backoff, self.max_bytes, self._sleep = backoff, max_bytes, sleep
        self.pacers = dict(pacers or {})
        self.max_retry_wait = max_retry_wait
        self._transport = transport
        self._wall_clock = wall_clock  # seconds since the epoch, for Retry-After dates
        self._opener = urllib.request.build_opener(_NoRedirect)

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        if not url.startswith(("https://", "http://")):
            raise ValueError(f"not an http(s) URL: {url!r}")
        sent = {"User-Agent": self.user_agent, **(headers or {})}
        pacer = self.pacers.get((urllib.parse.urlsplit(url).hostname or "").lower())
        for attempt in range(self.retries + 1):
            if pacer:
                pacer.wait()
            wait = self.backoff * 2 ** attempt
            try:
                response = self._transport(url, sent) if self._transport else self._once(url, sent)
            except HttpError:
                if attempt == self.retries:
                    raise
            else:
                if response.status not in RETRY_STATUSES or attempt == self.retries:
                    return response
                asked = retry_after_seconds(response.headers,
                                            self._wall_clock() if self._wall_clock else None)
                if asked is not None and asked > self.max_retry_wait:
                    return response  # the caller records when to come back
                wait = max(wait, asked or 0.0)
            self._sleep(wait)
        raise AssertionError("unreachable")

    def _once(self, url: str, headers: dict[str, str]) -> Response:
        request = urllib.request.Request(url, headers=headers, method="GET")
        try:
            with self._opener.open(request, timeout=self.timeout) as answer:
                return Response(answer.status, Headers(answer.headers.items()),
                                self._read(answer), answer.geturl())
        except urllib.error.HTTPError as answer:  # 3xx/4xx/5xx: still an answer
            try:
                body = self._read(answer)
            finally:
                answer.close()
            return Response(answer.code, Headers(answer.headers.items()), body, url)
        except (urllib.error.URLError, TimeoutError, OSError, ValueError) as error:
            raise HttpError(f"GET {url} failed: {error}") from error

    def _read(self, answer) -> bytes:
        try:
            body = answer.read(self.max_bytes + 1)
        except (OSError, TimeoutError) as error:
            raise HttpError(f"reading the response failed: {error}") from error
        if len(body) > self.max_bytes:
            raise HttpError(f"response larger than {self.max_bytes} bytes")
        return body


@dataclass
class ReplayClient:
    """Answers ``get`` from recordings: ``{url: (status, headers, body)}``.

    ``headers`` may be a dict or a list of pairs; ``body`` bytes, str, or a
    JSON-able value. ``requests`` lists every ``(url, headers)`` asked for.
    """

    recordings: dict[str, Any] = field(default_factory=dict)
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)

    def add(self, url: str, status: int, headers=None, body: Any = b"") -> None:
        self.recordings[url] = (status, headers or {}, body)

    def add_sequence(self, url: str, answers: list[tuple[int, Any, Any]]) -> None:
        """Answer ``url`` with each ``(status, headers, body)`` in turn, then the last again."""
        self.recordings[url] = [(status, headers or {}, body) for status, headers, body in answers]

    def add_file(self, path: str | Path, url: str | None = None) -> None:
        """Load a PyGithub-style ``{request, status, headers, body}`` JSON file
        or an octokit/nock-style list of ``{scope, method, path, status,
        response, rawHeaders}`` (GET exchanges only). ``url`` re-keys a
        single recording."""
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if isinstance(data, dict):
            self.add(url or data["request"]["url"], data["status"], data.get("headers"), data.get("body"))
            return
        for exchange in data:
            if exchange.get("method", "get").lower() != "get":
                continue
            raw = exchange.get("rawHeaders") or []
            pairs = list(zip(raw[::2], raw[1::2])) if raw and isinstance(raw[0], str) else raw
            scope = exchange["scope"].replace(":443", "")
            self.add(url or scope + exchange["path"], exchange["status"], pairs, exchange.get("response"))

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        self.requests.append((url, dict(headers or {})))
        if url not in self.recordings:
            raise UnrecordedRequest(f"no recording for GET {url}")
        recorded = self.recordings[url]
        if isinstance(recorded, list):  # answers in turn; the last one is repeated
            recorded = recorded.pop(0) if len(recorded) > 1 else recorded[0]
        status, recorded_headers, body = recorded
        if isinstance(body, str):
            body = body.encode("utf-8")
        elif body is None or not isinstance(body, bytes):
            body = b"" if body in (None, "") else json.dumps(body).encode("utf-8")
        return Response(status, Headers(recorded_headers), body, url)


ReplayTransport = ReplayClient
